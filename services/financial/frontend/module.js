// The financial module's frontend: loaded by the core shell with import(), one instance per company.
// Contract: init(ctx) once, render(route, element) per page, cleanup() on company switch or sign-out.

import { addStylesheet, pageNotFound } from '/ui/kit.js';
import { renderDashboard } from './pages/dashboard.js';
import { renderInvoices, renderNewInvoice } from './pages/invoices.js';
import { renderInvoice } from './pages/invoice.js';
import { renderPayments } from './pages/payments.js';
import { renderJournal } from './pages/journal.js';
import { renderReports } from './pages/reports.js';

const STYLESHEET_ID = 'financial-module-css';

export default class FinancialModule {
  async init(ctx) {
    this.ctx = ctx;
    this.alive = true;
    addStylesheet(STYLESHEET_ID, new URL('./financial.css', import.meta.url).href);
  }

  can(permission) {
    return this.ctx.permissions.includes(permission);
  }

  // route: "financial", "financial/dashboard", "financial/invoices", "financial/invoices/new",
  // "financial/invoices/<id>", "financial/payments", "financial/transactions",
  // "financial/reports[/trial-balance|/income-statement|/balance-sheet]"
  async render(route, el) {
    const [, page = 'dashboard', arg = '', ...rest] = route.split('/');
    const view = { ctx: this.ctx, can: (p) => this.can(p), el };
    switch (page) {
      case 'dashboard':
      case 'accounts':
        return renderDashboard(view);
      case 'invoices':
        if (arg === 'new') return renderNewInvoice(view);
        if (arg) return renderInvoice(view, arg);
        return renderInvoices(view);
      case 'payments':
        return renderPayments(view);
      case 'transactions':
      case 'journal':
        return renderJournal(view);
      case 'reports':
        return renderReports(view, arg || 'trial-balance', rest);
      default:
        pageNotFound(el, 'The financial module', page);
        return undefined;
    }
  }

  cleanup() {
    this.alive = false;
    document.getElementById(STYLESHEET_ID)?.remove();
    this.ctx = null;
  }
}
