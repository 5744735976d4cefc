// One invoice: its lines and totals, its payments, and the form that records a payment.
import { h, money, quantity, percent, day, statusBadge, table, pageHeader, alertBox, errorAlert, errorText, field, today } from '/ui/kit.js';

export async function renderInvoice({ ctx, can, el }, invoiceId) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading the invoice…' }));
  let invoice;
  let payments = [];
  try {
    invoice = await ctx.api.get(`/api/v1/financial/invoices/${encodeURIComponent(invoiceId)}`);
    if (can('financial.payments.read')) {
      payments = await ctx.api.get('/api/v1/financial/payments', { company_id: invoice.company_id, invoice_id: invoice.id });
    }
  } catch (error) {
    el.replaceChildren(pageHeader('Invoice'), errorAlert(error),
      h('a', { class: 'btn', href: '#/financial/invoices', text: 'Back to invoices' }));
    return;
  }
  const cur = invoice.currency;
  const meta = h('div', { class: 'fin-meta' },
    metaItem('Number', h('span', { class: 'fin-invoice-number', id: 'invoice-number', text: invoice.number })),
    metaItem('Customer', invoice.customer),
    metaItem('Status', h('span', { id: 'invoice-status' }, statusBadge(invoice.status))),
    metaItem('Issued', day(invoice.issue_date)),
    metaItem('Due', day(invoice.due_date)),
    metaItem('Currency', h('span', { id: 'invoice-currency', text: cur })));

  const totals = h('table', { class: 'fin-totals' }, h('tbody', {},
    totalRow('Subtotal', money(invoice.subtotal, cur)),
    totalRow(`Tax (${percent(invoice.tax_rate)})`, money(invoice.tax, cur), 'invoice-tax'),
    totalRow('Total', money(invoice.total, cur), 'invoice-total', 'grand'),
    totalRow('Paid', money(invoice.amount_paid, cur)),
    totalRow('Amount due', money(invoice.amount_due, cur), 'invoice-due')));

  const sections = [
    pageHeader(`Invoice ${invoice.number}`, h('a', { class: 'btn', href: '#/financial/invoices', text: 'All invoices' })),
    h('section', { class: 'card' }, meta,
      table([
        { label: 'Description', render: (l) => l.description || '—' },
        { label: 'SKU', render: (l) => l.sku || '—' },
        { label: 'Quantity', num: true, render: (l) => quantity(l.quantity) },
        { label: 'Unit price', num: true, render: (l) => money(l.unit_price, cur) },
        { label: 'Amount', num: true, render: (l) => money(l.amount, cur) },
      ], invoice.lines || [], { empty: 'This invoice has no lines (entered as a total).' }),
      totals),
  ];

  if (can('financial.payments.read')) {
    sections.push(h('section', { class: 'card' }, h('h2', { text: 'Payments' }), table([
      { label: 'Date', render: (p) => day(p.paid_on) },
      { label: 'Method', render: (p) => String(p.method || '').replace(/_/g, ' ') },
      { label: 'Reference', render: (p) => p.reference || '—' },
      { label: 'Amount', num: true, render: (p) => money(p.amount, p.currency) },
    ], payments, { empty: 'No payment recorded yet.' })));
  }
  if (can('financial.payments.write') && Number(invoice.amount_due) > 0) {
    sections.push(paymentForm(ctx, invoice));
  }
  el.replaceChildren(...sections);
}

function paymentForm(ctx, invoice) {
  const problem = alertBox();
  const amount = h('input', { name: 'amount', type: 'number', step: 'any', min: '0', value: String(invoice.amount_due) });
  const paidOn = h('input', { name: 'paid_on', type: 'date', value: today() });
  const method = h('select', { name: 'method' },
    [['bank_transfer', 'Bank transfer'], ['card', 'Card'], ['cash', 'Cash'], ['cheque', 'Cheque']]
      .map(([value, label]) => h('option', { value, text: label })));
  const reference = h('input', { name: 'reference', maxlength: '200', placeholder: 'e.g. bank statement line' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Record payment' });
  const form = h('form', { class: 'card payment-form', novalidate: true },
    h('h2', { text: 'Record a payment' }), problem.el,
    h('div', { class: 'form-row' },
      field(`Amount (${invoice.currency})`, amount, 'payment-amount'),
      field('Paid on', paidOn, 'payment-date'),
      field('Method', method, 'payment-method'),
      field('Reference', reference, 'payment-reference')),
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hide();
    if (!amount.value || Number(amount.value) <= 0) {
      problem.show('Enter an amount greater than zero.');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Recording…';
    try {
      const payment = await ctx.api.post('/api/v1/financial/payments', {
        invoice_id: invoice.id, amount: amount.value, paid_on: paidOn.value || undefined,
        method: method.value, reference: reference.value.trim(),
      });
      ctx.notify(`Payment of ${money(payment.amount, payment.currency)} recorded for ${invoice.number}.`, 'success');
      ctx.navigate(`financial/invoices/${invoice.id}`);
    } catch (error) {
      problem.show(errorText(error));
      submit.disabled = false;
      submit.textContent = 'Record payment';
    }
  });
  return form;
}

function metaItem(label, value) {
  return h('div', {}, h('div', { class: 'stat-label', text: label }), h('div', { class: 'stat-value' }, value));
}

function totalRow(label, value, id, cls) {
  return h('tr', { class: cls }, h('td', { text: label }), h('td', { class: 'num', id, text: value }));
}
