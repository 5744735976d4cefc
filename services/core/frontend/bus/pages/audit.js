// Audit: every replay, redrive and purge, who did it and how many it touched.

import { API, h, alertBox, badge, count, pageHeader, showAlert, table, errorText, when } from '../ui.js';

function describe(selection) {
  if (!selection || typeof selection !== 'object') return selection ? String(selection) : '—';
  const parts = Object.entries(selection).filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : v}`);
  return parts.length ? parts.join('; ') : 'everything';
}

export async function renderAudit({ ctx, el }) {
  const alert = alertBox();
  const refresh = h('button', { type: 'button', class: 'btn', text: 'Refresh' });
  const list = h('section', { class: 'card' }, h('p', { class: 'loading', text: 'Loading the audit log…' }));
  el.replaceChildren(pageHeader('Audit', refresh), alert, list);
  async function load() {
    try {
      const entries = await ctx.api.get(`${API}/audit`, { limit: 200 });
      showAlert(alert, '');
      list.replaceChildren(table(
        ['Started', 'Action', 'Actor', 'Selection', { text: 'Affected', class: 'num' }, 'Status', 'Finished'],
        entries.map((a) => h('tr', { 'data-audit': a.id },
          h('td', { class: 'bus-nowrap', text: when(a.started_at) }),
          h('td', {}, h('strong', { text: a.action })),
          h('td', { text: a.actor }),
          h('td', { class: 'bus-selection', text: describe(a.selection) }),
          h('td', { class: 'num', text: count(a.affected) }),
          h('td', {}, badge(a.status, { done: 'ok', failed: 'void', running: 'open' }[a.status])),
          h('td', { class: 'bus-nowrap', text: when(a.finished_at) }))),
        { empty: 'Nobody replayed, redrove or purged anything yet.' }));
    } catch (e) {
      list.replaceChildren(h('p', { class: 'empty', text: 'The audit log could not be read.' }));
      showAlert(alert, errorText(e));
    }
  }
  refresh.addEventListener('click', load);
  await load();
}
