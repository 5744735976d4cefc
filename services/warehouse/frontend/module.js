// The warehouse module's frontend: loaded by the core shell with import(), one instance per company.
// Contract: init(ctx) once, render(route, element) per page, cleanup() on company switch or sign-out.

import { pageNotFound } from '/ui/kit.js';
import { renderStock } from './pages/stock.js';
import { renderMovements } from './pages/movements.js';
import { renderReservations } from './pages/reservations.js';
import { renderLowStock } from './pages/low-stock.js';

export default class WarehouseModule {
  async init(ctx) {
    this.ctx = ctx;
  }

  can(permission) {
    return this.ctx.permissions.includes(permission);
  }

  // route: "warehouse", "warehouse/stock", "warehouse/movements", "warehouse/reservations", "warehouse/low-stock"
  async render(route, el) {
    const [, page = 'stock'] = route.split('/');
    const view = { ctx: this.ctx, can: (p) => this.can(p), el };
    switch (page) {
      case 'stock':
        return renderStock(view);
      case 'movements':
        return renderMovements(view);
      case 'reservations':
        return renderReservations(view);
      case 'low-stock':
        return renderLowStock(view);
      default:
        pageNotFound(el, 'The warehouse module', page);
        return undefined;
    }
  }

  cleanup() {
    this.ctx = null;
  }
}
