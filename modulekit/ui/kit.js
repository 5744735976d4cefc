// The shared DOM and formatting helpers of every module's pages, served once by core at /ui/kit.js
// (modules import it from there, so none carries a copy). Text only goes in through textContent.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const digitsCache = new Map();
function fractionDigits(currency) {
  if (!digitsCache.has(currency)) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch { /* unknown code: keep 2 */ }
    digitsCache.set(currency, digits);
  }
  return digitsCache.get(currency);
}

// "1190.00", "EUR" -> "1,190.00 EUR" (the code, not a symbol: several currencies share "$").
export function money(value, currency) {
  const number = Number(value ?? 0) || 0; // also turns -0 into 0
  const digits = fractionDigits(currency || 'USD');
  const text = number.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return currency ? `${text} ${currency}` : text;
}

// "1E+1" (a normalised decimal) -> "10"
export function quantity(value) {
  return Number(value ?? 0).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export function percent(rate) {
  const value = Number(rate ?? 0) * 100;
  return `${Number(value.toFixed(4))}%`;
}

export function day(value) {
  return value ? String(value).slice(0, 10) : '—';
}

export function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}`, text: String(status || '').replace(/_/g, ' ') });
}

// A module's own stylesheet, added to <head> once (init may run again); cleanup() removes it by `id`.
export function addStylesheet(id, href) {
  if (!document.getElementById(id)) document.head.append(h('link', { id, rel: 'stylesheet', href }));
}

export function errorText(error) {
  return (error && (error.detail || error.message)) || String(error);
}

export function alertBox() {
  const box = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  return {
    el: box,
    show(message, kind = 'error') {
      box.className = `alert alert-${kind}`;
      box.textContent = message;
      box.hidden = false;
    },
    hide() {
      box.hidden = true;
      box.textContent = '';
    },
  };
}

// A form's submit: the browser does not submit it, the previous problem goes, and what `action()`
// throws shows in `problem` (an alertBox) for the user to correct.
export function onSubmit(form, problem, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hide();
    try {
      await action();
    } catch (error) {
      problem.show(errorText(error));
    }
  });
}

// What a module's render() shows for a route it has no page for; `owner` names it ("The warehouse module").
export function pageNotFound(el, owner, page) {
  el.replaceChildren(h('div', { class: 'card' }, h('h2', { text: 'Page not found' }),
    h('p', { text: `${owner} has no page “${page}”.` })));
}

export function table(columns, rows, { empty = 'Nothing here yet.', footer = null } = {}) {
  if (!rows.length) return h('p', { class: 'empty', text: empty });
  const head = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null, text: c.label }))));
  const body = h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => {
    const value = c.render(row);
    return h('td', { class: c.num ? 'num' : null }, value instanceof Node ? value : String(value ?? ''));
  }))));
  const foot = footer ? h('tfoot', {}, h('tr', {}, footer.map((cell, i) => h('td', {
    class: columns[i] && columns[i].num ? 'num' : null,
  }, cell ?? '')))) : null;
  return h('div', { class: 'table-wrap' }, h('table', {}, head, body, foot));
}

export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-header' }, h('h1', { text: title }), h('div', { class: 'spacer' }), actions);
}

export function errorAlert(error) {
  return h('div', { class: 'alert alert-error', role: 'alert', text: errorText(error) });
}

// A page that is one table: a loading line, then the title over the rows `load()` answers (or over the error).
export async function tablePage(el, { title, loading, load, columns, empty }) {
  el.replaceChildren(h('p', { class: 'loading', text: loading }));
  try {
    const rows = await load();
    el.replaceChildren(pageHeader(title), h('section', { class: 'card' }, table(columns, rows, { empty })));
  } catch (error) {
    el.replaceChildren(pageHeader(title), errorAlert(error));
  }
}

export function field(label, input, id) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
}
