// The warehouse module's frontend: loaded by the core shell with import(), one instance per company.
// Contract: init(ctx) once, render(route, element) per page, cleanup() on company switch or sign-out.

import { pageNotFound } from '/ui/kit.js';
import { renderStock } from './pages/stock.js';
import { renderMovements } from './pages/movements.js';
import { renderReservations } from './pages/reservations.js';
import { renderLowStock } from './pages/low-stock.js';

// Each page of the module by its route segment.
const PAGES = {
  stock: renderStock, movements: renderMovements, reservations: renderReservations, 'low-stock': renderLowStock,
};

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
    const show = Object.hasOwn(PAGES, page) ? PAGES[page] : undefined;  // not Object's own names
    if (!show) {
      pageNotFound(el, 'The warehouse module', page);
      return undefined;
    }
    return show({ ctx: this.ctx, can: (p) => this.can(p), el });
  }

  cleanup() {
    this.ctx = null;
  }
}
