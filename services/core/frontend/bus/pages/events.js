// Events: newest first with delivery counts, an event's detail, and replay after a dry run.

import {
  API, h, alertBox, badge, confirmPanel, count, field, json, num, pageHeader, plural, showAlert, table, errorText, when,
} from '../ui.js';

// A form choosing the subscription to replay `selection` into; dry run first, then confirm.
function replayForm(ctx, selection, subscriptions, label) {
  const box = h('div', { class: 'bus-replay' });
  const select = h('select', { id: 'replay-subscription', name: 'subscription' },
    h('option', { value: '', text: 'Every matching subscription' }),
    subscriptions.map((name) => h('option', { value: name, text: name })));
  const start = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Dry run' });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => box.remove() });
  const panel = h('div');
  const form = h('form', { class: 'card', 'aria-label': 'Replay' },
    h('h3', { text: label }),
    h('div', { class: 'form-row' }, field('Into subscription', select)),
    h('div', { class: 'form-actions' }, start, cancel));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const target = select.value ? { subscription: select.value } : { all_subscriptions: true };
    panel.replaceChildren(confirmPanel({
      title: 'Replay',
      confirmLabel: 'Confirm replay',
      plan: async () => {
        const plan = await ctx.api.post(`${API}/replays`, { selection, ...target, dry_run: true });
        const into = plan.subscriptions.length ? plan.subscriptions.join(', ') : 'no subscription';
        return {
          message: `Dry run: ${plural(plan.events, 'event')} would be delivered again `
            + `(${plural(plan.deliveries, 'delivery')}) into ${into}.`,
          proceed: plan.deliveries > 0,
        };
      },
      run: async () => {
        const started = await ctx.api.post(`${API}/replays`, { selection, ...target });
        return `Replay ${started.run_id} started in the background: follow it on the Audit page.`;
      },
    }));
  });
  box.append(form, panel);
  return box;
}

async function subscriptionNames(ctx) {
  try {
    const stats = await ctx.api.get(`${API}/stats`, { window: 60 });
    return stats.subscriptions.filter((s) => s.active || s.rabbitmq).map((s) => s.name);  // what a replay can reach
  } catch {
    return [];
  }
}

export async function renderEvents({ ctx, el, state }) {
  const alert = alertBox();
  const pattern = h('input', { id: 'ev-pattern', name: 'pattern', value: state.eventPattern || '', placeholder: 'e.g. core.company.* or financial.#',
    autocomplete: 'off' });
  const limit = h('select', { id: 'ev-limit', name: 'limit' }, [50, 200, 1000].map((n) => h('option', { value: n, text: n })));
  const replay = h('button', { type: 'button', class: 'btn', id: 'ev-replay', text: 'Replay matching…' });
  const form = h('form', { class: 'card bus-filter', 'aria-label': 'Filter events' },
    h('div', { class: 'form-row' }, field('Event type pattern', pattern), field('Show', limit),
      h('div', { class: 'field bus-filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Filter' }))));
  const panel = h('div', { class: 'bus-panel' });
  const list = h('section', { class: 'card' }, h('p', { class: 'loading', text: 'Loading the events…' }));
  el.replaceChildren(pageHeader('Events', replay), alert, form, panel, list);

  async function load() {
    try {
      const events = await ctx.api.get(`${API}/events`, { pattern: state.eventPattern, limit: limit.value });
      showAlert(alert, '');
      list.replaceChildren(table(
        ['Recorded', 'Type', 'Source', 'Ordering key', { text: 'Pending', class: 'num' }, { text: 'Done', class: 'num' },
          { text: 'Dead', class: 'num' }],
        events.map((e) => {
          const row = h('tr', { class: 'bus-clickable', 'data-event': e.id, tabindex: 0 },
            h('td', { class: 'bus-nowrap', text: when(e.recorded_at) }),
            h('td', {}, h('a', { href: `#/bus/events/${e.id}`, text: e.type }), e.version > 1 ? ` v${e.version}` : ''),
            h('td', { text: e.source }),
            h('td', { class: 'muted', text: e.ordering_key || '—' }),
            num(count(e.pending)), num(count(e.done)),
            h('td', { class: `num${e.dead ? ' bus-danger-text' : ''}`, text: count(e.dead) }));
          const open = () => ctx.navigate(`bus/events/${e.id}`);
          row.addEventListener('click', (event) => { if (!event.target.closest('a')) open(); });
          row.addEventListener('keydown', (event) => { if (event.key === 'Enter') open(); });
          return row;
        }),
        { empty: state.eventPattern ? `No event matches “${state.eventPattern}”.` : 'No event on the bus yet.' }));
    } catch (e) {
      list.replaceChildren(h('p', { class: 'empty', text: 'The events could not be read.' }));
      showAlert(alert, errorText(e));
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    state.eventPattern = pattern.value.trim();
    load();
  });
  replay.addEventListener('click', async () => {
    state.eventPattern = pattern.value.trim();
    const selection = state.eventPattern ? { pattern: state.eventPattern } : {};
    const label = state.eventPattern ? `Replay every “${state.eventPattern}” event` : 'Replay every event';
    panel.replaceChildren(replayForm(ctx, selection, await subscriptionNames(ctx), label));
  });
  await load();
}

export async function renderEvent({ ctx, el }, eventId) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading the event…' }));
  let detail;
  try {
    detail = await ctx.api.get(`${API}/events/${encodeURIComponent(eventId)}`);
  } catch (e) {
    el.replaceChildren(pageHeader('Event'), h('p', { class: 'alert alert-error', role: 'alert', text: errorText(e) }),
      h('a', { href: '#/bus/events', class: 'btn', text: 'Back to events' }));
    return;
  }
  const e = detail.event;
  const envelope = [
    ['Id', e.id], ['Type', e.type], ['Version', e.version], ['Source', e.source], ['Tenant', e.tenant_id || '—'],
    ['Company', e.company_id || '—'], ['Ordering key', e.ordering_key || '—'], ['Occurred', when(e.occurred_at)],
    ['Recorded', when(e.recorded_at)], ['Expires', when(detail.expires_at)], ['Correlation', e.correlation_id || '—'],
    ['Causation', e.causation_id || '—'],
  ];
  const payloads = [h('h3', { text: `Payload (as stored, v${e.version})` }), h('pre', { class: 'bus-pre', id: 'event-payload', text: json(detail.payload) })];
  if (detail.current_version && detail.current_version !== e.version) {
    payloads.push(h('h3', { text: `Upcast to v${detail.current_version}` }),
      detail.upcast_error ? h('p', { class: 'alert alert-error', text: detail.upcast_error })
        : h('pre', { class: 'bus-pre', text: json(detail.current_payload) }));
  }
  const deliveries = table(
    ['Subscription', 'Status', { text: 'Attempts', class: 'num' }, 'Next try', 'Finished', 'Last error'],
    detail.deliveries.map((d) => h('tr', {},
      h('td', { text: d.subscription }),
      h('td', {}, badge(d.status, { done: 'ok', dead: 'void', pending: 'open' }[d.status])),
      num(count(d.attempts)),
      h('td', { class: 'bus-nowrap', text: d.status === 'pending' ? when(d.available_at) : '—' }),
      h('td', { class: 'bus-nowrap', text: when(d.finished_at) }),
      h('td', {}, d.last_error ? h('pre', { class: 'bus-pre bus-pre-small', text: d.last_error }) : '—'))),
    { empty: 'No subscription received this event.' });
  const letters = table(
    ['Subscription', { text: 'Attempts', class: 'num' }, 'Reason', 'Failed at', 'State'],
    detail.dead_letters.map((d) => h('tr', {},
      h('td', {}, h('a', { href: `#/bus/dead-letters/${encodeURIComponent(d.subscription)}`, text: d.subscription })),
      num(count(d.attempts)),
      h('td', {}, h('div', { text: d.reason }), d.error && d.error !== d.reason ? h('pre', { class: 'bus-pre bus-pre-small', text: d.error }) : null),
      h('td', { class: 'bus-nowrap', text: when(d.failed_at) }),
      h('td', { text: d.redriven_at ? `redriven ${when(d.redriven_at)} by ${d.redriven_by || '?'}` : 'open' }))),
    { empty: 'No dead letter.' });
  const panel = h('div', { class: 'bus-panel' });
  const replay = h('button', { type: 'button', class: 'btn btn-primary', id: 'event-replay', text: 'Replay into subscription…' });
  replay.addEventListener('click', async () => {
    const names = new Set(detail.deliveries.map((d) => d.subscription));
    for (const name of await subscriptionNames(ctx)) names.add(name);
    panel.replaceChildren(replayForm(ctx, { event_ids: [e.id] }, [...names].sort(), `Replay ${e.type} ${e.id}`));
  });
  el.replaceChildren(
    h('p', {}, h('a', { href: '#/bus/events', text: '← Events' })),
    pageHeader(e.type, replay),
    panel,
    h('section', { class: 'card' }, h('h2', { text: 'Envelope' }),
      h('dl', { class: 'bus-envelope' }, envelope.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })]))),
    h('section', { class: 'card' }, payloads),
    h('section', { class: 'card' }, h('h2', { text: `Deliveries (${detail.deliveries.length})` }), deliveries),
    h('section', { class: 'card' }, h('h2', { text: `Dead letters (${detail.dead_letters.length})` }), letters));
}
