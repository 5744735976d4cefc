// Loads each enabled module's frontend with import() from its manifest's `frontend.entry`.

export class ModuleLoader {
  constructor() {
    this.modules = new Map(); // name -> { info, instance }
    this.failures = [];
  }

  // Import every module's entry, instantiate its default export and init() it with its context.
  async loadEnabledModules(infos, makeContext) {
    this.failures = [];
    const loaded = await Promise.all(infos.filter((info) => info.entry).map(async (info) => {
      try {
        const url = new URL(info.entry, window.location.origin);
        if (info.version) url.searchParams.set('v', info.version);
        const exported = await import(url.href);
        const ModuleClass = exported.default;
        if (typeof ModuleClass !== 'function') throw new Error('its entry has no default export class');
        const instance = new ModuleClass();
        for (const method of ['init', 'render', 'cleanup']) {
          if (typeof instance[method] !== 'function') throw new Error(`its class has no ${method}() method`);
        }
        await instance.init(makeContext(info));
        return { info, instance };
      } catch (error) {
        this.failures.push({ info, error });
        return null;
      }
    }));
    for (const entry of loaded) if (entry) this.modules.set(entry.info.name, entry);
    return this.failures;
  }

  owner(route) {
    return this.modules.get(route.split('/')[0]) || null;
  }

  async render(route, element) {
    const owner = this.owner(route);
    if (!owner) return false;
    await owner.instance.render(route, element);
    return true;
  }

  async cleanup() {
    for (const { info, instance } of this.modules.values()) {
      try {
        await instance.cleanup();
      } catch (error) {
        console.warn(`module ${info.name} failed to clean up`, error);
      }
    }
    this.modules.clear();
  }
}
