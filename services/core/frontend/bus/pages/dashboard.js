// Event bus dashboard: totals and per-subscription backlog from GET /stats, refreshed every few seconds;
// on the RabbitMQ transport, platform administrators also see each subscription's queues from GET /queues.

import { API, h, age, alertBox, count, num, pageHeader, rate, showAlert, table, errorText, when } from '../ui.js';

const WINDOWS = [[60, 'last minute'], [300, 'last 5 minutes'], [3600, 'last hour'], [86400, 'last 24 hours']];

function stat(label, value, { id, warn = false } = {}) {
  return h('section', { class: `card bus-stat${warn ? ' bus-stat-warn' : ''}` },
    h('div', { class: 'stat-label', text: label }),
    h('div', { class: 'stat-value', id, text: value }));
}

// Unserved: active (or consumed over RabbitMQ), but no running process has marked it served lately —
// its events wait. RabbitMQ: switched off in Postgres, its events go to its queue (the queues card).
function stateBadge(sub) {
  const unserved = 'No running process serves this subscription';
  if (sub.retired) return h('span', { class: 'badge', text: 'retired' });
  if (sub.rabbitmq) {
    return sub.unserved
      ? h('span', { class: 'badge bus-warn-text', text: 'unserved (RabbitMQ)', title: unserved })
      : h('span', { class: 'badge bus-rabbitmq', text: 'RabbitMQ', title: 'Consumed from its RabbitMQ queue: its backlog is the queue (see RabbitMQ queues)' });
  }
  if (!sub.active) return h('span', { class: 'badge', text: 'inactive' });
  if (sub.unserved) return h('span', { class: 'badge bus-warn-text', text: 'unserved', title: unserved });
  return h('span', { class: 'badge badge-ok', text: 'active' });
}

function subscriptionRow(sub) {
  const lettersCell = sub.dead_letters
    ? h('td', { class: 'num' }, h('a', {
      href: `#/bus/dead-letters/${encodeURIComponent(sub.name)}`, class: 'bus-danger-text', text: count(sub.dead_letters),
    }))
    : num('0');
  const stale = sub.oldest_pending_seconds !== null && sub.oldest_pending_seconds > 60;
  return h('tr', { 'data-subscription': sub.name, class: sub.active || sub.rabbitmq ? '' : 'bus-inactive' },
    h('td', {}, h('div', { class: 'bus-sub-name', text: sub.name }), h('div', { class: 'muted bus-small', text: sub.pattern })),
    h('td', { text: sub.module }),
    h('td', {}, stateBadge(sub)),
    num(count(sub.pending)),
    num(count(sub.due)),
    num(count(sub.in_flight)),
    h('td', { class: `num${sub.retrying ? ' bus-warn-text' : ''}`, text: count(sub.retrying) }),
    h('td', { class: `num${stale ? ' bus-warn-text' : ''}`, text: age(sub.oldest_pending_seconds) }),
    lettersCell);
}

// One subscription's RabbitMQ queues: messages ready, consumers, dead-letter queue depth and open letters.
function queueRow(queue) {
  const idle = queue.ready > 0 && queue.consumers === 0;
  return h('tr', { 'data-queue': queue.main_queue },
    h('td', {}, h('div', { class: 'bus-sub-name', text: queue.subscription }), h('div', { class: 'muted bus-small', text: queue.main_queue })),
    h('td', { class: `num${idle ? ' bus-warn-text' : ''}`, text: count(queue.ready) }),
    h('td', { class: `num${queue.consumers === 0 ? ' bus-warn-text' : ''}`, text: count(queue.consumers) }),
    h('td', { class: `num${queue.messages ? ' bus-danger-text' : ''}`, text: count(queue.messages) }),
    num(count(queue.open_letters)));
}

// `queues` is the answer of GET /queues, or { error } when it failed (RabbitMQ away, say): the card
// says so, and the rest of the dashboard, read from Postgres, still shows.
function queuesCard(queues) {
  if (queues && queues.error) {
    return h('section', { class: 'card', id: 'bus-queues' }, h('h2', { text: 'RabbitMQ queues' }),
      h('p', { class: 'bus-danger-text', text: `The queues could not be read: ${errorText(queues.error)}` }));
  }
  if (!queues || !queues.length) return null;  // the Postgres transport, or not a platform administrator
  return h('section', { class: 'card', id: 'bus-queues' }, h('h2', { text: 'RabbitMQ queues' }),
    table(['Subscription', { text: 'Ready', class: 'num' }, { text: 'Consumers', class: 'num' },
      { text: 'Dead-letter queue', class: 'num' }, { text: 'Open dead letters', class: 'num' }],
    queues.map(queueRow), { className: 'bus-queues' }),
    h('p', { class: 'muted bus-small', text: 'Unacknowledged messages are not counted: AMQP reports ready messages and consumers only.' }));
}

export async function renderDashboard({ ctx, el, state, every }, refreshMs) {
  let windowSeconds = 300;
  const alert = alertBox();
  const select = h('select', { id: 'bus-window', 'aria-label': 'Rates over', class: 'bus-inline-select' },
    WINDOWS.map(([s, label]) => h('option', { value: s, text: label, selected: s === windowSeconds })));
  const updated = h('span', { class: 'muted bus-small', id: 'bus-updated', text: '' });
  const body = h('div', { class: 'bus-dashboard' }, h('p', { class: 'loading', text: 'Loading the bus statistics…' }));
  const refreshButton = h('button', { type: 'button', class: 'btn', text: 'Refresh' });
  el.replaceChildren(
    pageHeader('Event bus', updated, h('label', { class: 'bus-inline-label', for: 'bus-window', text: 'Rates over' }), select, refreshButton),
    alert, body);

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const [stats, queues] = await Promise.all([
        ctx.api.get(`${API}/stats`, { window: windowSeconds }),
        ctx.user.platform_admin ? ctx.api.get(`${API}/queues`).catch((error) => ({ error })) : Promise.resolve([]),
      ]);
      showAlert(alert, '');
      draw(stats, queues);
      updated.textContent = `Updated ${when(new Date().toISOString()).slice(11)} · every ${refreshMs / 1000} s`;
    } catch (error) {
      showAlert(alert, `The statistics could not be read: ${errorText(error)}`);
    } finally {
      busy = false;
    }
  }

  function draw(stats, queues) {
    const windowLabel = (WINDOWS.find(([s]) => s === windowSeconds) || [0, `${stats.window_seconds} s`])[1];
    const cards = h('div', { class: 'card-grid bus-stats' },
      stat('Events published', rate(stats.events_per_second), { id: 'bus-events-rate' }),
      stat('Deliveries handled', rate(stats.delivered_per_second), { id: 'bus-delivered-rate' }),
      stat('Backlog', count(stats.pending), { id: 'bus-pending' }),
      stat('Retrying', count(stats.retrying), { id: 'bus-retrying', warn: stats.retrying > 0 }),
      stat('Oldest pending', age(stats.oldest_pending_seconds), { id: 'bus-oldest' }),
      stat('Open dead letters', count(stats.dead_letters_open), { id: 'bus-dead-letters', warn: stats.dead_letters_open > 0 }));
    const window = h('p', { class: 'muted bus-small' },
      `In the ${windowLabel}: ${count(stats.events)} events, ${count(stats.delivered)} deliveries handled`
      + ` (${count(stats.delivered_after_retry)} after a retry), ${count(stats.dead_lettered)} dead-lettered.`,
      stats.outbox_rows !== null && stats.outbox_rows !== undefined
        ? ` Outbox: ${count(stats.outbox_rows)} waiting, oldest ${age(stats.outbox_oldest_seconds)}.` : '');
    const subs = table(
      ['Subscription', 'Module', 'State', { text: 'Backlog', class: 'num' }, { text: 'Due', class: 'num' },
        { text: 'In flight', class: 'num' }, { text: 'Retrying', class: 'num' }, { text: 'Oldest pending', class: 'num' },
        { text: 'Dead letters', class: 'num' }],
      stats.subscriptions.map(subscriptionRow),
      { empty: 'No subscription is registered on the bus yet.', className: 'bus-subscriptions' });
    const types = table(['Event type', { text: 'Events', class: 'num' }],
      stats.types.map((t) => h('tr', {},
        h('td', {}, h('a', {
          href: '#/bus/events', text: t.event_type, onclick: () => { state.eventPattern = t.event_type; },
        })), num(count(t.events)))),
      { empty: `No event in the ${windowLabel}.` });
    body.replaceChildren(...[cards, window,
      h('section', { class: 'card' }, h('h2', { text: 'Subscriptions' }), subs),
      queuesCard(queues),
      h('section', { class: 'card' }, h('h2', { text: `Event types (${windowLabel})` }), types)].filter(Boolean));
  }

  select.addEventListener('change', () => {
    windowSeconds = Number(select.value);
    refresh();
  });
  refreshButton.addEventListener('click', () => refresh());
  await refresh();
  every(refreshMs, refresh);
}
