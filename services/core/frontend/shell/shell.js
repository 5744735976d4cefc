// The shell: session and tokens, company picker, menu and hash routing. Each enabled module's
// frontend is an ES module loaded with import() from its manifest's `frontend.entry`; core's own
// pages (administration, operations) are loaded the same way for administrators.

import { h } from '/ui/kit.js';
import { ApiError, createApi, errorMessage } from './api.js';
import { ModuleLoader } from './loader.js';
import { loginPage } from './login.js';

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

// The administration console (issue 16): tenant administrators manage companies, people, roles and
// modules; platform administrators the module catalogue.
function adminModule(user) {
  const menu = user.tenant_admin ? [
    { path: 'admin/companies', label: 'Companies', icon: 'home' },
    { path: 'admin/users', label: 'Users', icon: 'users' },
    { path: 'admin/roles', label: 'Roles', icon: 'list' },
    { path: 'admin/marketplace', label: 'Marketplace', icon: 'box' },
  ] : [{ path: 'admin/marketplace', label: 'Marketplace', icon: 'box' }];
  if (user.platform_admin) menu.push({ path: 'admin/register', label: 'Register a module', icon: 'file-text' });
  return Object.freeze({ name: 'admin', display_name: 'Administration', entry: '/app/admin/module.js', version: null,
    permissions: [], features: [], menu });
}

// Plain symbols that common system fonts carry (no emoji font on many Linux desktops).
const ICONS = {
  book: '▦', list: '☰', 'file-text': '▤', 'credit-card': '▭', 'bar-chart': '▥', home: '⌂',
  dashboard: '▦', 'layout-dashboard': '▦', box: '□', users: '◎', settings: '⚙',
};

export class Shell {
  constructor(root) {
    this.root = root;
    this.loader = new ModuleLoader();
    this.me = null;
    this.company = null;
    this.modules = [];
    this.renderSeq = 0;
    this.switching = false; // a company switch is loading modules: route() waits for its end
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
    loginPage(this.root, message, async (email, password) => {
      this.storeTokens(await this.api.post('/api/v1/auth/login', { email, password }));
      await this.openSession();
    });
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
      if (this.isAdmin()) { // a platform administrator (no company) still gets the console
        await this.loadModules([]);
        await this.route();
        return;
      }
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

  // While a switch loads the next company's modules, the menu still holds the previous company's
  // pages: a click then only moves the hash, and the page opens once the switch is done.
  async selectCompany(companyId, { keepRoute = false } = {}) {
    const membership = (this.me.companies || []).find((c) => c.company.id === companyId);
    if (!membership) return;
    const hashAtStart = window.location.hash;
    this.switching = true;
    try {
      await this.loader.cleanup();
      this.clearNotices();
      this.company = membership;
      sessionStorage.setItem(COMPANY_KEY, companyId);
      // a company given (or created) after sign-in is in /me but not yet in the token modules read
      if (!this.tokenNames(companyId)) await this.refreshSession();
      this.companySelect.value = companyId;
      this.content.replaceChildren(h('p', { class: 'loading', text: `Loading the modules of ${membership.company.name}…` }));
      let modules = [];
      try {
        modules = await this.api.get('/api/v1/me/modules', { company_id: companyId });
      } catch (e) {
        this.notify(`The modules could not be loaded: ${errorMessage(e)}`);
      }
      await this.loadModules(modules);
    } finally {
      this.switching = false;
    }
    const navigated = window.location.hash !== hashAtStart;
    if (!keepRoute && !navigated && window.location.hash && window.location.hash !== '#/') window.location.hash = '#/';
    else await this.route();
  }

  isAdmin() {
    return Boolean(this.me && (this.me.user.platform_admin || this.me.user.tenant_admin));
  }

  async loadModules(modules) {
    this.modules = this.isAdmin() ? [...modules, adminModule(this.me.user), BUS_MODULE] : modules;
    const failures = await this.loader.loadEnabledModules(this.modules, (info) => this.contextFor(info));
    for (const { info, error } of failures) {
      this.notify(`The ${info.display_name} module could not be started: ${errorMessage(error)}`);
    }
    this.buildMenu();
  }

  // After a change to the caller's own companies or roles: new tokens and /me, same company and page.
  async reload() {
    await this.loader.cleanup();
    await this.refreshSession();
    await this.openSession();
  }

  contextFor(info) {
    const company = this.company ? this.company.company : null;
    return Object.freeze({
      api: this.api,
      companyId: company ? company.id : null,
      company,
      companies: (this.me.companies || []).map((c) => c.company),
      reload: () => this.reload(),
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
    if (!this.me || !this.content || this.switching) return;
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

