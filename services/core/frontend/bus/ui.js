// Helpers of the bus pages beyond the shared ones (`h`, `errorText` come from /ui/kit.js, served by core
// for every module's pages). Text only goes in through textContent.

import { h } from '/ui/kit.js';

export { h, errorText } from '/ui/kit.js';

export const API = '/api/v1/admin/bus';

export function alertBox() {
  return h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
}

export function showAlert(box, message, kind = 'error') {
  box.className = `alert alert-${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.textContent = message;
  box.hidden = !message;
}

export function count(n) {
  return Number(n ?? 0).toLocaleString('en-US');
}

export function rate(perSecond) {
  const value = Number(perSecond ?? 0);
  return `${value.toLocaleString('en-US', { maximumFractionDigits: value < 10 ? 2 : 0 })}/s`;
}

// 75.4 -> "1 min 15 s"; null -> "—"
export function age(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// ISO timestamp -> "2026-11-26 14:03:12" in the browser's time zone
export function when(value) {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function plural(n, word) {
  if (Number(n) === 1) return `${count(n)} ${word}`;
  return `${count(n)} ${word.endsWith('y') ? `${word.slice(0, -1)}ies` : `${word}s`}`;
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-header' }, h('h1', { text: title }), h('div', { class: 'spacer' }), actions);
}

export function field(label, input) {
  return h('div', { class: 'field' }, h('label', { for: input.id, text: label }), input);
}

export function table(headers, rows, { empty = 'Nothing to show.', className = '' } = {}) {
  if (!rows.length) return h('p', { class: 'empty', text: empty });
  return h('div', { class: 'bus-table-wrap' },
    h('table', { class: `bus-table ${className}`.trim() },
      h('thead', {}, h('tr', {}, headers.map((x) => (typeof x === 'string'
        ? h('th', { text: x }) : h('th', { class: x.class || '', text: x.text }))))),
      h('tbody', {}, rows)));
}

export function num(value) {
  return h('td', { class: 'num', text: value });
}

export function badge(text, kind) {
  return h('span', { class: `badge${kind ? ` badge-${kind}` : ''}`, text });
}

// A two-step action: dry run, then confirmation. `plan()` resolves to { message, proceed: bool };
// `run()` performs the real action and resolves to a success message.
export function confirmPanel({ title, plan, confirmLabel, run, danger = false, onDone }) {
  const box = h('div', { class: 'card bus-confirm', role: 'region', 'aria-label': title });
  const close = () => box.remove();
  (async () => {
    box.replaceChildren(h('h3', { text: title }), h('p', { class: 'muted', text: 'Checking what would happen (dry run)…' }));
    let planned;
    try {
      planned = await plan();
    } catch (error) {
      box.replaceChildren(h('h3', { text: title }), h('p', { class: 'alert alert-error', role: 'alert', text: errorText(error) }),
        h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'btn', text: 'Close', onclick: close })));
      return;
    }
    const result = h('div', { class: 'bus-result' });
    const confirm = h('button', {
      type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, text: confirmLabel, disabled: !planned.proceed,
    });
    const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: close });
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      cancel.disabled = true;
      confirm.textContent = 'Working…';
      try {
        const message = await run();
        box.replaceChildren(h('h3', { text: title }),
          h('p', { class: 'alert alert-success', role: 'status', id: 'bus-action-result', text: message }),
          h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'btn', text: 'Close', onclick: close })));
        if (onDone) onDone();
      } catch (error) {
        result.replaceChildren(h('p', { class: 'alert alert-error', role: 'alert', text: errorText(error) }));
        confirm.textContent = confirmLabel;
        cancel.disabled = false;
      }
    });
    box.replaceChildren(h('h3', { text: title }),
      h('p', { class: 'bus-plan', id: 'bus-dry-run', text: planned.message }),
      result,
      h('div', { class: 'form-actions' }, confirm, cancel));
  })();
  return box;
}
