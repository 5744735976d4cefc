// Movements, newest first, and the form that records one (receipt, issue, transfer, adjustment).
import { h, quantity, money, day, table, pageHeader, alertBox, errorText, field, onSubmit } from '/ui/kit.js';

const API = '/api/v1/warehouse';

export async function renderMovements({ ctx, can, el }) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading movements…' }));
  let movements; let items; let warehouses;
  try {
    [movements, items, warehouses] = await Promise.all([
      ctx.api.get(`${API}/movements`, { company_id: ctx.companyId }),
      can('warehouse.items.read') ? ctx.api.get(`${API}/items`, { company_id: ctx.companyId }) : [],
      can('warehouse.items.read') ? ctx.api.get(`${API}/warehouses`, { company_id: ctx.companyId }) : [],
    ]);
  } catch (error) {
    el.replaceChildren(pageHeader('Movements'), h('div', { class: 'alert alert-error', role: 'alert', text: errorText(error) }));
    return;
  }
  const skus = new Map(items.map((i) => [i.id, i.sku]));
  const places = new Map(warehouses.flatMap((w) => w.locations.map((l) => [l.id, `${w.code}/${l.code}`])));
  const place = (id) => (id ? places.get(id) || '—' : '—');
  el.replaceChildren(
    pageHeader('Movements'),
    can('warehouse.movements.write') && items.length && places.size
      ? movementForm(ctx, items, places, () => renderMovements({ ctx, can, el })) : null,
    h('section', { class: 'card' }, table([
      { label: 'Date', render: (m) => day(m.created_at) },
      { label: 'Kind', render: (m) => m.kind },
      { label: 'SKU', render: (m) => skus.get(m.item_id) || m.item_id },
      { label: 'From', render: (m) => place(m.from_location_id) },
      { label: 'To', render: (m) => place(m.to_location_id) },
      { label: 'Quantity', num: true, render: (m) => quantity(m.quantity) },
      { label: 'Unit cost', num: true, render: (m) => money(m.unit_cost) },
      { label: 'Reason', render: (m) => m.reason || '—' },
    ], movements, { empty: 'No movements yet.' })),
  );
}

function movementForm(ctx, items, places, done) {
  const problem = alertBox();
  const options = (pairs) => pairs.map(([value, label]) => h('option', { value, text: label }));
  const kind = h('select', { name: 'kind' }, options([['receipt', 'Receipt'], ['issue', 'Issue'],
    ['transfer', 'Transfer'], ['adjustment', 'Adjustment (signed quantity)']]));
  const item = h('select', { name: 'item_id' }, options(items.map((i) => [i.id, `${i.sku} — ${i.name}`])));
  const location = h('select', { name: 'location_id' }, options([...places]));
  const target = h('select', { name: 'to_location_id' }, options([['', '—'], ...places]));
  const amount = h('input', { name: 'quantity', type: 'number', step: 'any', value: '1' });
  const reason = h('input', { name: 'reason', maxlength: '500', placeholder: 'Needed for adjustments' });
  const form = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'Record a movement' }), problem.el,
    h('div', { class: 'form-row' }, field('Kind', kind, 'movement-kind'), field('Item', item, 'movement-item'),
      field('Location', location, 'movement-location'), field('To (transfers)', target, 'movement-to'),
      field('Quantity', amount, 'movement-quantity'), field('Reason', reason, 'movement-reason')),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Record' })));
  onSubmit(form, problem, async () => {
    const body = { company_id: ctx.companyId, kind: kind.value, item_id: item.value, location_id: location.value,
      quantity: amount.value, reason: reason.value.trim() };
    if (target.value) body.to_location_id = target.value;
    await ctx.api.post(`${API}/movements`, body);
    ctx.notify('Movement recorded.', 'success');
    done();
  });
  return form;
}
