// Dead letters: filter, pick letters, redrive (same event id) or purge, each after a dry run.

import {
  API, h, alertBox, confirmPanel, count, field, pageHeader, plural, showAlert, table, errorText, when,
} from '../ui.js';

export async function renderDeadLetters({ ctx, el }, presetSubscription = '') {
  const filter = { subscription: decodeURIComponent(presetSubscription || ''), error: '', pattern: '' };
  const selected = new Set();
  const alert = alertBox();
  const subscription = h('input', { id: 'dl-subscription', name: 'subscription', list: 'dl-subscriptions', value: filter.subscription,
    placeholder: 'any', autocomplete: 'off' });
  const subscriptionList = h('datalist', { id: 'dl-subscriptions' });
  const error = h('input', { id: 'dl-error', name: 'error', placeholder: 'text in the reason or error', autocomplete: 'off' });
  const pattern = h('input', { id: 'dl-pattern', name: 'pattern', placeholder: 'e.g. core.company.*', autocomplete: 'off' });
  const form = h('form', { class: 'card bus-filter', 'aria-label': 'Filter dead letters' },
    h('div', { class: 'form-row' },
      field('Subscription', subscription), field('Error contains', error), field('Event type pattern', pattern),
      h('div', { class: 'field bus-filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Filter' }))),
    subscriptionList);
  const redrive = h('button', { type: 'button', class: 'btn btn-primary', id: 'dl-redrive', text: 'Redrive…', disabled: true });
  const purge = h('button', { type: 'button', class: 'btn btn-danger', id: 'dl-purge', text: 'Purge…', disabled: true });
  const chosen = h('span', { class: 'muted', id: 'dl-chosen', text: 'No letter selected' });
  const panel = h('div', { class: 'bus-panel' });
  const list = h('section', { class: 'card' }, h('p', { class: 'loading', text: 'Loading the dead letters…' }));
  el.replaceChildren(pageHeader('Dead letters', chosen, redrive, purge), alert, form, panel, list);

  ctx.api.get(`${API}/stats`, { window: 60 }).then((stats) => {
    subscriptionList.replaceChildren(...stats.subscriptions.map((s) => h('option', { value: s.name })));
  }).catch(() => { /* suggestions only */ });

  function updateButtons() {
    redrive.disabled = purge.disabled = selected.size === 0;
    chosen.textContent = selected.size ? `${plural(selected.size, 'letter')} selected` : 'No letter selected';
  }

  async function load() {
    try {
      const letters = await ctx.api.get(`${API}/dead-letters`, { ...filter, limit: 200 });
      showAlert(alert, '');
      for (const id of [...selected]) if (!letters.some((l) => l.id === id)) selected.delete(id);
      draw(letters);
    } catch (e) {
      list.replaceChildren(h('p', { class: 'empty', text: 'The dead letters could not be read.' }));
      showAlert(alert, errorText(e));
    }
    updateButtons();
  }

  function draw(letters) {
    const all = h('input', { type: 'checkbox', 'aria-label': 'Select all letters', class: 'bus-check' });
    all.checked = letters.length > 0 && letters.every((l) => selected.has(l.id));
    const boxes = [];
    const rows = letters.map((letter) => {
      const box = h('input', { type: 'checkbox', class: 'bus-check', 'aria-label': `Select dead letter ${letter.id}`, value: letter.id });
      box.checked = selected.has(letter.id);
      box.addEventListener('change', () => {
        if (box.checked) selected.add(letter.id); else selected.delete(letter.id);
        all.checked = boxes.every((b) => b.checked);
        updateButtons();
      });
      boxes.push(box);
      const reason = letter.error && letter.error !== letter.reason
        ? h('details', { class: 'bus-reason' }, h('summary', { text: letter.reason }), h('pre', { class: 'bus-pre', text: letter.error }))
        : h('span', { class: 'bus-reason', text: letter.reason });
      return h('tr', { 'data-letter': letter.id },
        h('td', {}, box),
        h('td', { text: letter.subscription }),
        h('td', {}, h('a', { href: `#/bus/events/${letter.event_id}`, text: letter.event_type || letter.event_id })),
        h('td', { class: 'num', text: count(letter.attempts) }),
        h('td', {}, reason),
        h('td', { class: 'bus-nowrap', text: when(letter.failed_at) }));
    });
    all.addEventListener('change', () => {
      for (const box of boxes) {
        box.checked = all.checked;
        if (all.checked) selected.add(Number(box.value)); else selected.delete(Number(box.value));
      }
      updateButtons();
    });
    const shown = h('p', { class: 'muted bus-small', text: letters.length ? `${plural(letters.length, 'open dead letter')} (newest first).` : '' });
    list.replaceChildren(shown, table(
      [{ text: '', class: 'bus-check-col' }, 'Subscription', 'Event type', { text: 'Attempts', class: 'num' }, 'Reason', 'Failed at'],
      rows, { empty: 'No open dead letter matches: the bus is healthy.', className: 'bus-letters' }));
    const head = list.querySelector('th.bus-check-col');
    if (head) head.append(all);
  }

  function action(kind) {
    const ids = [...selected].sort((a, b) => a - b);
    const body = (dryRun) => ({ selection: { ids }, dry_run: dryRun });
    panel.replaceChildren(confirmPanel({
      title: kind === 'redrive' ? 'Redrive dead letters' : 'Purge dead letters',
      danger: kind === 'purge',
      confirmLabel: kind === 'redrive' ? 'Confirm redrive' : 'Purge for good',
      plan: async () => {
        const plan = await ctx.api.post(`${API}/dead-letters/${kind}`, body(true));
        const message = kind === 'redrive'
          ? `Dry run: ${plural(plan.letters, 'letter')} would be sent again (${plural(plan.deliveries, 'delivery')}), with the original event ids.`
          : `Dry run: ${plural(plan.letters, 'letter')} would be discarded for good. This cannot be undone.`;
        return { message, proceed: plan.letters > 0 };
      },
      run: async () => {
        const done = await ctx.api.post(`${API}/dead-letters/${kind}`, body(false));
        selected.clear();
        const audit = done.audit_id ? ` (audit #${done.audit_id})` : '';
        return kind === 'redrive'
          ? `Redriven: ${plural(done.letters, 'letter')}, ${plural(done.deliveries, 'delivery')} queued again${audit}.`
          : `Purged: ${plural(done.letters, 'letter')}${audit}.`;
      },
      onDone: load,
    }));
    panel.querySelector('button')?.focus();
  }

  redrive.addEventListener('click', () => action('redrive'));
  purge.addEventListener('click', () => action('purge'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filter.subscription = subscription.value.trim();
    filter.error = error.value.trim();
    filter.pattern = pattern.value.trim();
    selected.clear();
    panel.replaceChildren();
    load();
  });
  await load();
}
