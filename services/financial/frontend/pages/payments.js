// Payments received by the company.
import { h, money, day, tablePage } from '/ui/kit.js';

export async function renderPayments({ ctx, el }) {
  return tablePage(el, {
    title: 'Payments',
    loading: 'Loading payments…',
    load: () => ctx.api.get('/api/v1/financial/payments', { company_id: ctx.companyId }),
    columns: [
      { label: 'Date', render: (p) => day(p.paid_on) },
      { label: 'Invoice', render: (p) => h('a', { href: `#/financial/invoices/${p.invoice_id}`, text: 'Open invoice' }) },
      { label: 'Method', render: (p) => String(p.method || '').replace(/_/g, ' ') },
      { label: 'Reference', render: (p) => p.reference || '—' },
      { label: 'Amount', num: true, render: (p) => money(p.amount, p.currency) },
    ],
    empty: 'No payments yet. Record one from an invoice.',
  });
}
