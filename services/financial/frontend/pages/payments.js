// Payments received by the company.
import { h, money, day, table, pageHeader, errorText } from '/ui/kit.js';

export async function renderPayments({ ctx, el }) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading payments…' }));
  try {
    const payments = await ctx.api.get('/api/v1/financial/payments', { company_id: ctx.companyId });
    el.replaceChildren(pageHeader('Payments'), h('section', { class: 'card' }, table([
      { label: 'Date', render: (p) => day(p.paid_on) },
      { label: 'Invoice', render: (p) => h('a', { href: `#/financial/invoices/${p.invoice_id}`, text: 'Open invoice' }) },
      { label: 'Method', render: (p) => String(p.method || '').replace(/_/g, ' ') },
      { label: 'Reference', render: (p) => p.reference || '—' },
      { label: 'Amount', num: true, render: (p) => money(p.amount, p.currency) },
    ], payments, { empty: 'No payments yet. Record one from an invoice.' })));
  } catch (error) {
    el.replaceChildren(pageHeader('Payments'), h('div', { class: 'alert alert-error', role: 'alert', text: errorText(error) }));
  }
}
