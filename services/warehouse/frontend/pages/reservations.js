// Stock held for open invoices and issued for paid ones.
import { h, quantity, day, statusBadge, table, pageHeader, errorText } from '/ui/kit.js';

export async function renderReservations({ ctx, el }) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading reservations…' }));
  try {
    const rows = await ctx.api.get('/api/v1/warehouse/reservations', { company_id: ctx.companyId });
    el.replaceChildren(pageHeader('Reservations'), h('section', { class: 'card' }, table([
      { label: 'Date', render: (r) => day(r.created_at) },
      { label: 'Invoice', render: (r) => h('a', { href: `#/financial/invoices/${r.invoice_id}`, text: 'Open invoice' }) },
      { label: 'SKU', render: (r) => r.sku },
      { label: 'Location', render: (r) => r.location },
      { label: 'Quantity', num: true, render: (r) => quantity(r.quantity) },
      { label: 'Status', render: (r) => statusBadge(r.status) },
    ], rows, { empty: 'No reservations: invoices with SKU lines reserve stock here.' })));
  } catch (error) {
    el.replaceChildren(pageHeader('Reservations'), h('div', { class: 'alert alert-error', role: 'alert', text: errorText(error) }));
  }
}
