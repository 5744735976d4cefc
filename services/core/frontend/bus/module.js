// The event bus pages (issue 6): operators see and repair the bus from the browser.
// A built-in module of the core shell, loaded only for platform and tenant administrators;
// it talks to core's admin API at /api/v1/admin/bus (tenant admins see their tenant only).
// Contract: init(ctx) once, render(route, element) per page, cleanup() on company switch or sign-out.

import { addStylesheet, pageNotFound } from '/ui/kit.js';
import { renderDashboard } from './pages/dashboard.js';
import { renderDeadLetters } from './pages/dead-letters.js';
import { renderEvents, renderEvent } from './pages/events.js';
import { renderAudit } from './pages/audit.js';

const STYLESHEET_ID = 'bus-module-css';
export const REFRESH_MS = 5000;

export default class BusModule {
  async init(ctx) {
    this.ctx = ctx;
    this.timers = new Set();
    this.state = { eventPattern: '' };
    addStylesheet(STYLESHEET_ID, new URL('./bus.css', import.meta.url).href);
  }

  // Runs `tick` every `ms` while `el` is on screen; stops on the next render or cleanup().
  every(el, ms, tick) {
    const id = setInterval(() => {
      if (!el.isConnected) {
        clearInterval(id);
        this.timers.delete(id);
        return;
      }
      tick();
    }, ms);
    this.timers.add(id);
    return id;
  }

  stopTimers() {
    for (const id of this.timers) clearInterval(id);
    this.timers.clear();
  }

  // route: "bus", "bus/dashboard", "bus/dead-letters[/<subscription>]", "bus/events", "bus/events/<id>", "bus/audit"
  async render(route, el) {
    this.stopTimers();
    const [, page = 'dashboard', ...rest] = route.split('/');
    const arg = rest.join('/');
    const view = { ctx: this.ctx, el, state: this.state, every: (ms, tick) => this.every(el, ms, tick) };
    switch (page) {
      case 'dashboard':
        return renderDashboard(view, REFRESH_MS);
      case 'dead-letters':
        return renderDeadLetters(view, arg);
      case 'events':
        return arg ? renderEvent(view, arg) : renderEvents(view);
      case 'audit':
        return renderAudit(view);
      default:
        pageNotFound(el, 'The event bus pages', page);
        return undefined;
    }
  }

  cleanup() {
    this.stopTimers();
    document.getElementById(STYLESHEET_ID)?.remove();
    this.ctx = null;
  }
}
