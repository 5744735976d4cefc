// Buildify's browser shell: sign-in, company picker, menu and hash routing. Each enabled module's
// frontend is an ES module loaded with import() from its manifest's `frontend.entry`.
// The gateway's CSP allows scripts and styles from 'self' only: no inline code, no style attributes.

const TOKEN_KEY = 'buildify.token';
// Access tokens live minutes (modules trust their companies and roles until they expire); the refresh
// token gets a new one, with memberships read again, whenever an answer is 401 (once per request).
const REFRESH_KEY = 'buildify.refresh';
const COMPANY_KEY = 'buildify.company';
// Core's own pages, loaded like a module's but only for platform and tenant administrators.
const BUS_MODULE = Object.freeze({
  name: 'bus', display_name: 'Operations', entry: '/app/bus/module.js', version: null, permissions: [], features: [],
  menu: [
    { path: 'bus/dashboard', label: 'Event bus', icon: 'dashboard' },
    { path: 'bus/dead-letters', label: 'Dead letters', icon: 'box' },
    { path: 'bus/events', label: 'Events', icon: 'list' },
    { path: 'bus/audit', label: 'Audit', icon: 'file-text' },
  ],
});

// ---------- DOM helper (textContent only: data never becomes markup) ----------
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'style') throw new Error('inline styles are blocked by the CSP: use a class');
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// ---------- API client ----------
export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

function createApi({ token, refresh, onUnauthorized }) {
  async function request(method, path, { query, body } = {}, retried = false) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
    }
    const headers = { Accept: 'application/json' };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.', null);
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = text; }
    }
    if (!response.ok) {
      let detail = data && typeof data === 'object' && typeof data.detail === 'string' ? data.detail : null;
      if (!detail && response.status === 429) detail = 'Too many requests: wait a moment and try again.';
      if (!detail) detail = `The server answered ${response.status} ${response.statusText}.`;
      const error = new ApiError(response.status, detail, data);
      if (response.status === 401 && bearer && !retried && await refresh()) {
        return request(method, path, { query, body }, true);
      }
      if (response.status === 401 && bearer) onUnauthorized(error);
      throw error;
    }
    return data;
  }
  return {
    request,
    get: (path, query) => request('GET', path, { query }),
    post: (path, body, query) => request('POST', path, { body, query }),
    put: (path, body, query) => request('PUT', path, { body, query }),
    patch: (path, body, query) => request('PATCH', path, { body, query }),
    delete: (path, query) => request('DELETE', path, { query }),
  };
}

export function errorMessage(error) {
  if (error instanceof ApiError) return error.detail;
  return error && error.message ? error.message : String(error);
}

// ---------- Module loader ----------
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

// ---------- Shell ----------
// Plain symbols that common system fonts carry (no emoji font on many Linux desktops).
const ICONS = {
  book: '▦', list: '☰', 'file-text': '▤', 'credit-card': '▭', 'bar-chart': '▥', home: '⌂',
  dashboard: '▦', 'layout-dashboard': '▦', box: '□', users: '◎', settings: '⚙',
};

class Shell {
  constructor(root) {
    this.root = root;
    this.loader = new ModuleLoader();
    this.me = null;
    this.company = null;
    this.modules = [];
    this.renderSeq = 0;
    this.carrySeq = null;
    this.refreshing = null;
    this.api = createApi({
      token: () => sessionStorage.getItem(TOKEN_KEY),
      refresh: () => this.refreshSession(),
      onUnauthorized: () => this.expired(),
    });
    window.addEventListener('hashchange', () => this.route());
  }

  async start() {
    if (sessionStorage.getItem(TOKEN_KEY)) await this.openSession();
    else this.showLogin();
  }

  // ----- tokens: one refresh at a time, shared by every request that needs it -----
  refreshSession() {
    const stored = sessionStorage.getItem(REFRESH_KEY);
    if (!stored) return Promise.resolve(false);
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const response = await fetch('/api/v1/auth/refresh', {
            method: 'POST',
            headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
            body: JSON.stringify({ refresh_token: stored }),
          });
          if (!response.ok) return false;
          const answer = await response.json();
          this.storeTokens(answer);
          return true;
        } catch {
          return false;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  storeTokens(answer) {
    sessionStorage.setItem(TOKEN_KEY, answer.access_token);
    sessionStorage.setItem(REFRESH_KEY, answer.refresh_token);
  }

  tokenNames(companyId) {
    try {
      const part = (sessionStorage.getItem(TOKEN_KEY) || '').split('.')[1] || '';
      const claims = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')));
      return Boolean(claims.companies && companyId in claims.companies);
    } catch {
      return false;
    }
  }

  // ----- sign-in -----
  showLogin(message) {
    const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: !message, text: message || '' });
    const email = h('input', { id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
    const password = h('input', {
      id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    });
    const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Sign in' });
    const form = h('form', { class: 'login-form', novalidate: true },
      h('h1', { class: 'brand brand-large', text: 'Buildify' }),
      h('p', { class: 'muted', text: 'Sign in to your business platform.' }),
      error,
      h('label', { for: 'login-email', text: 'Email' }), email,
      h('label', { for: 'login-password', text: 'Password' }), password,
      button);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      if (!email.value.trim() || !password.value) {
        error.textContent = 'Enter your email and password.';
        error.hidden = false;
        return;
      }
      button.disabled = true;
      button.textContent = 'Signing in…';
      try {
        const answer = await this.api.post('/api/v1/auth/login', { email: email.value.trim(), password: password.value });
        this.storeTokens(answer);
        await this.openSession();
      } catch (e) {
        error.textContent = errorMessage(e);
        error.hidden = false;
        button.disabled = false;
        button.textContent = 'Sign in';
      }
    });
    this.root.replaceChildren(h('main', { class: 'login-page' }, h('div', { class: 'card login-card' }, form)));
    email.focus();
  }

  async expired() {
    await this.closeSession();
    this.showLogin('Your session has ended: sign in again.');
  }

  async logout() {
    const stored = sessionStorage.getItem(REFRESH_KEY);
    if (stored) {
      try {
        await fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: stored }) });
      } catch { /* signing out locally is enough: the refresh token expires on its own */ }
    }
    await this.closeSession();
    this.showLogin();
  }

  async closeSession() {
    await this.loader.cleanup();
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
    sessionStorage.removeItem(COMPANY_KEY);
    this.me = null;
    this.company = null;
    this.modules = [];
  }

  // ----- session: /me, company, modules -----
  async openSession() {
    this.root.replaceChildren(h('p', { class: 'loading', text: 'Loading your workspace…' }));
    try {
      this.me = await this.api.get('/api/v1/me');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // expired() already showed the login
      this.showLogin(errorMessage(e));
      return;
    }
    this.buildLayout();
    const companies = this.me.companies || [];
    if (companies.length === 0) {
      this.notify('Your account has no company yet: ask an administrator to give you access to one.', 'info');
      this.renderHome();
      return;
    }
    const saved = sessionStorage.getItem(COMPANY_KEY);
    const chosen = companies.find((c) => c.company.id === saved) || companies[0];
    await this.selectCompany(chosen.company.id, { keepRoute: true });
  }

  buildLayout() {
    const companies = this.me.companies || [];
    this.companySelect = h('select', { id: 'company-select', 'aria-label': 'Company', class: 'company-select' },
      companies.map((c) => h('option', { value: c.company.id, text: c.company.name })));
    this.companySelect.disabled = companies.length < 2;
    this.companySelect.addEventListener('change', () => this.selectCompany(this.companySelect.value));
    const tenant = this.me.tenant ? this.me.tenant.name : 'Platform';
    this.menu = h('nav', { class: 'sidebar', 'aria-label': 'Main menu' });
    this.notice = h('div', { class: 'notices', role: 'status' });
    this.content = h('div', { class: 'content-body' });
    this.root.replaceChildren(
      h('header', { class: 'topbar' },
        h('a', { class: 'brand', href: '#/', text: 'Buildify' }),
        h('span', { class: 'tenant', text: tenant }),
        h('div', { class: 'topbar-spacer' }),
        h('label', { class: 'company-picker' }, h('span', { class: 'muted', text: 'Company' }), this.companySelect),
        h('span', { class: 'user', text: this.me.user.email }),
        h('button', { type: 'button', class: 'btn btn-ghost', id: 'logout', text: 'Sign out', onclick: () => this.logout() })),
      h('div', { class: 'layout' }, this.menu, h('main', { class: 'content' }, this.notice, this.content)));
  }

  async selectCompany(companyId, { keepRoute = false } = {}) {
    const membership = (this.me.companies || []).find((c) => c.company.id === companyId);
    if (!membership) return;
    await this.loader.cleanup();
    this.clearNotices();
    this.company = membership;
    sessionStorage.setItem(COMPANY_KEY, companyId);
    // a company given (or created) after sign-in is in /me but not yet in the token modules read
    if (!this.tokenNames(companyId)) await this.refreshSession();
    this.companySelect.value = companyId;
    this.content.replaceChildren(h('p', { class: 'loading', text: `Loading the modules of ${membership.company.name}…` }));
    try {
      this.modules = await this.api.get('/api/v1/me/modules', { company_id: companyId });
    } catch (e) {
      this.modules = [];
      this.notify(`The modules could not be loaded: ${errorMessage(e)}`);
    }
    if (this.me.user.platform_admin || this.me.user.tenant_admin) this.modules = [...this.modules, BUS_MODULE];
    const failures = await this.loader.loadEnabledModules(this.modules, (info) => this.contextFor(info));
    for (const { info, error } of failures) {
      this.notify(`The ${info.display_name} module could not be started: ${errorMessage(error)}`);
    }
    this.buildMenu();
    if (!keepRoute && window.location.hash && window.location.hash !== '#/') window.location.hash = '#/';
    else await this.route();
  }

  contextFor(info) {
    const company = this.company.company;
    return Object.freeze({
      api: this.api,
      companyId: company.id,
      company,
      user: this.me.user,
      tenant: this.me.tenant,
      permissions: [...(info.permissions || [])],
      features: [...(info.features || [])],
      module: info,
      navigate: (path) => this.navigate(path),
      notify: (message, kind = 'error') => this.notify(message, kind),
    });
  }

  buildMenu() {
    const items = [h('a', { class: 'menu-item', href: '#/', 'data-route': '' },
      h('span', { class: 'menu-icon', 'aria-hidden': 'true', text: ICONS.home }), 'Home')];
    for (const module of this.modules) {
      if (!this.loader.modules.has(module.name) || !(module.menu || []).length) continue;
      items.push(h('div', { class: 'menu-group', text: module.display_name }));
      for (const entry of module.menu) {
        items.push(h('a', { class: 'menu-item', href: `#/${entry.path}`, 'data-route': entry.path },
          h('span', { class: 'menu-icon', 'aria-hidden': 'true', text: ICONS[entry.icon] || '•' }), entry.label));
      }
    }
    this.menu.replaceChildren(...items);
  }

  navigate(path) {
    this.carrySeq = this.renderSeq;
    const target = `#/${String(path).replace(/^[#/]+/, '')}`;
    if (window.location.hash === target) this.route();
    else window.location.hash = target;
  }

  currentRoute() {
    return decodeURIComponent(window.location.hash.replace(/^#\/?/, '')).replace(/\/+$/, '');
  }

  highlightMenu(route) {
    let best = null;
    for (const link of this.menu.querySelectorAll('a.menu-item')) {
      link.classList.remove('active');
      const path = link.dataset.route;
      if ((path === '' && route === '') || (path && (route === path || route.startsWith(`${path}/`)))) {
        if (!best || path.length > best.dataset.route.length) best = link;
      }
    }
    if (best) best.classList.add('active');
  }

  async route() {
    if (!this.me || !this.content) return;
    const route = this.currentRoute();
    this.highlightMenu(route);
    this.dropStaleNotices();
    const seq = ++this.renderSeq;
    const page = h('div', { class: 'page' });
    this.content.replaceChildren(page);
    if (!route) {
      this.renderHome(page);
      return;
    }
    try {
      const handled = await this.loader.render(route, page);
      if (!handled && seq === this.renderSeq) {
        page.replaceChildren(h('div', { class: 'card' },
          h('h2', { text: 'Page not found' }),
          h('p', { text: `No enabled module shows “${route}”.` }),
          h('a', { href: '#/', class: 'btn', text: 'Back to home' })));
      }
    } catch (e) {
      if (seq === this.renderSeq) this.notify(errorMessage(e));
    }
  }

  renderHome(page = this.content) {
    const company = this.company ? this.company.company : null;
    const cards = this.modules.filter((m) => this.loader.modules.has(m.name)).map((m) => h('section', { class: 'card module-card' },
      h('h3', { text: m.display_name }),
      h('p', { class: 'muted', text: m.version ? `Version ${m.version}` : 'Built in' }),
      h('ul', { class: 'link-list' }, (m.menu || []).map((e) => h('li', {}, h('a', { href: `#/${e.path}`, text: e.label }))))));
    page.replaceChildren(
      h('h1', { text: company ? company.name : 'Welcome' }),
      h('p', { class: 'muted', text: cards.length ? 'Your modules:' : 'No module is enabled for this company yet.' }),
      h('div', { class: 'card-grid' }, cards));
  }

  notify(message, kind = 'error') {
    if (!this.notice) {
      console.warn(message);
      return;
    }
    const close = h('button', { type: 'button', class: 'alert-close', 'aria-label': 'Dismiss', text: '×' });
    const alert = h('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-seq': this.renderSeq },
      h('span', { text: message }), close);
    close.addEventListener('click', () => alert.remove());
    this.notice.append(alert);
    if (kind !== 'error') setTimeout(() => alert.remove(), 6000);
  }

  // A page change drops the notices of the page left, except those raised just before navigate()
  // ("Invoice created" shown on the invoice page it leads to).
  dropStaleNotices() {
    const keep = this.carrySeq;
    this.carrySeq = null;
    if (!this.notice) return;
    for (const alert of [...this.notice.children]) {
      if (keep === null || alert.dataset.seq !== String(keep)) alert.remove();
    }
  }

  clearNotices() {
    if (this.notice) this.notice.replaceChildren();
  }
}

const shell = new Shell(document.getElementById('app'));
window.addEventListener('unhandledrejection', (event) => {
  shell.notify(errorMessage(event.reason));
});
shell.start();
