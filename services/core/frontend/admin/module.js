// The administration console (issue 16), a built-in module of the core shell loaded for platform and
// tenant administrators: companies, users, roles, the module marketplace, per-company customisation and
// (platform administrators) registering modules. Contract: init(ctx), render(route, element), cleanup().

import { addStylesheet } from '/ui/kit.js';
import { h } from './ui.js';
import { renderCompanies } from './pages/companies.js';
import { renderUsers } from './pages/users.js';
import { renderRoles } from './pages/roles.js';
import { renderMarketplace } from './pages/marketplace.js';
import { renderCustomise } from './pages/customise.js';
import { renderRegister } from './pages/register.js';

const STYLESHEET_ID = 'admin-module-css';

const PAGES = {
  companies: renderCompanies,
  users: renderUsers,
  roles: renderRoles,
  marketplace: renderMarketplace,
  customise: renderCustomise,
  register: renderRegister,
};

export default class AdminModule {
  async init(ctx) {
    this.ctx = ctx;
    addStylesheet(STYLESHEET_ID, new URL('./admin.css', import.meta.url).href);
  }

  // route: "admin/<page>[/<argument>]", e.g. "admin/customise/financial"
  async render(route, el) {
    const [, page = 'marketplace', ...rest] = route.split('/');
    const renderPage = PAGES[page];
    if (!renderPage) {
      el.replaceChildren(h('div', { class: 'card' }, h('h1', { text: 'Page not found' }),
        h('p', { text: `The administration has no page “${page}”.` })));
      return;
    }
    await renderPage({ ctx: this.ctx, el, arg: rest.join('/') });
  }

  cleanup() {
    document.getElementById(STYLESHEET_ID)?.remove();
    this.ctx = null;
  }
}
