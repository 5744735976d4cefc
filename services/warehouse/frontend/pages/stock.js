// Stock levels per item and location, with the forms that add an item or a warehouse.
import { h, quantity, table, pageHeader, alertBox, errorText, field, onSubmit } from '/ui/kit.js';

const API = '/api/v1/warehouse';

export async function renderStock({ ctx, can, el }) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading stock…' }));
  let levels;
  try {
    levels = await ctx.api.get(`${API}/stock`, { company_id: ctx.companyId });
  } catch (error) {
    el.replaceChildren(pageHeader('Stock'), h('div', { class: 'alert alert-error', role: 'alert', text: errorText(error) }));
    return;
  }
  const rerender = () => renderStock({ ctx, can, el });
  el.replaceChildren(
    pageHeader(`Stock — ${ctx.company.name}`),
    h('section', { class: 'card' }, table([
      { label: 'SKU', render: (l) => l.sku },
      { label: 'Item', render: (l) => l.name },
      { label: 'Warehouse', render: (l) => l.warehouse },
      { label: 'Location', render: (l) => l.location },
      { label: 'On hand', num: true, render: (l) => `${quantity(l.on_hand)} ${l.unit}` },
      { label: 'Reserved', num: true, render: (l) => quantity(l.reserved) },
      { label: 'Available', num: true, render: (l) => quantity(l.available) },
    ], levels, { empty: 'No stock yet: add an item and a warehouse, then record a receipt on Movements.' })),
    can('warehouse.items.write') ? itemForm(ctx, rerender) : null,
    can('warehouse.items.write') ? warehouseForm(ctx, rerender) : null,
  );
}

function itemForm(ctx, done) {
  const problem = alertBox();
  const sku = h('input', { name: 'sku', maxlength: '64', autocomplete: 'off' });
  const name = h('input', { name: 'name', maxlength: '200' });
  const unit = h('input', { name: 'unit', maxlength: '20', value: 'pcs' });
  const cost = h('input', { name: 'unit_cost', type: 'number', step: 'any', min: '0', value: '0' });
  const threshold = h('input', { name: 'low_stock_threshold', type: 'number', step: 'any', min: '0', value: '0' });
  const form = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'New item' }), problem.el,
    h('div', { class: 'form-row' }, field('SKU', sku, 'item-sku'), field('Item name', name, 'item-name'),
      field('Unit', unit, 'item-unit'), field('Unit cost', cost, 'item-cost'),
      field('Low-stock threshold', threshold, 'item-threshold')),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Add item' })));
  onSubmit(form, problem, async () => {
    await ctx.api.post(`${API}/items`, {
      company_id: ctx.companyId, sku: sku.value.trim(), name: name.value.trim(), unit: unit.value.trim() || 'pcs',
      unit_cost: cost.value || '0', low_stock_threshold: threshold.value || '0',
    });
    ctx.notify(`Item ${sku.value.trim()} added.`, 'success');
    done();
  });
  return form;
}

function warehouseForm(ctx, done) {
  const problem = alertBox();
  const code = h('input', { name: 'code', maxlength: '40', autocomplete: 'off' });
  const name = h('input', { name: 'name', maxlength: '200' });
  const locations = h('input', { name: 'locations', value: 'MAIN', placeholder: 'A1, A2, B1' });
  const form = h('form', { class: 'card', novalidate: true }, h('h2', { text: 'New warehouse' }), problem.el,
    h('div', { class: 'form-row' }, field('Warehouse code', code, 'warehouse-code'), field('Warehouse name', name, 'warehouse-name'),
      field('Locations (comma-separated)', locations, 'warehouse-locations')),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Add warehouse' })));
  onSubmit(form, problem, async () => {
    await ctx.api.post(`${API}/warehouses`, {
      company_id: ctx.companyId, code: code.value.trim(), name: name.value.trim(),
      locations: locations.value.split(',').map((x) => x.trim()).filter(Boolean),
    });
    ctx.notify(`Warehouse ${code.value.trim()} added.`, 'success');
    done();
  });
  return form;
}
