// Items whose available stock is below their low-stock threshold, lowest first.
import { h, quantity, table, pageHeader, errorText } from '/ui/kit.js';

export async function renderLowStock({ ctx, el }) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading low stock…' }));
  try {
    const rows = await ctx.api.get('/api/v1/warehouse/stock/low', { company_id: ctx.companyId });
    el.replaceChildren(pageHeader('Low stock'), h('section', { class: 'card' }, table([
      { label: 'SKU', render: (r) => r.sku },
      { label: 'Item', render: (r) => r.name },
      { label: 'Available', num: true, render: (r) => `${quantity(r.available)} ${r.unit}` },
      { label: 'Threshold', num: true, render: (r) => quantity(r.threshold) },
    ], rows, { empty: 'Every item is above its threshold.' })));
  } catch (error) {
    el.replaceChildren(pageHeader('Low stock'), h('div', { class: 'alert alert-error', role: 'alert', text: errorText(error) }));
  }
}
