// Invoices: the list, and the form that creates one (customer and lines; number, tax and currency
// come from the company's configuration on the server).
import { h, money, day, statusBadge, table, pageHeader, alertBox, errorText, field, today } from '/ui/kit.js';

export async function renderInvoices({ ctx, can, el }) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading invoices…' }));
  const status = h('select', {},
    h('option', { value: '', text: 'All' }),
    ['open', 'partially_paid', 'paid'].map((s) => h('option', { value: s, text: s.replace('_', ' ') })));
  const list = h('div');
  const problem = alertBox();
  async function load() {
    problem.hide();
    try {
      const invoices = await ctx.api.get('/api/v1/financial/invoices', { company_id: ctx.companyId, status: status.value });
      list.replaceChildren(table([
        { label: 'Number', render: (i) => h('a', { href: `#/financial/invoices/${i.id}`, class: 'fin-invoice-number', text: i.number }) },
        { label: 'Customer', render: (i) => i.customer },
        { label: 'Issued', render: (i) => day(i.issue_date) },
        { label: 'Due', render: (i) => day(i.due_date) },
        { label: 'Status', render: (i) => statusBadge(i.status) },
        { label: 'Total', num: true, render: (i) => money(i.total, i.currency) },
        { label: 'Due amount', num: true, render: (i) => money(i.amount_due, i.currency) },
      ], invoices, { empty: 'No invoices yet.' }));
    } catch (error) {
      list.replaceChildren();
      problem.show(errorText(error));
    }
  }
  status.addEventListener('change', load);
  el.replaceChildren(
    pageHeader('Invoices', can('financial.invoices.write')
      ? h('a', { class: 'btn btn-primary', href: '#/financial/invoices/new', text: 'New invoice' }) : null),
    h('section', { class: 'card' },
      h('div', { class: 'fin-filter' }, field('Status', status, 'invoice-status-filter')),
      problem.el, list));
  await load();
}

function lineRow(onRemove) {
  const description = h('input', { name: 'description', placeholder: 'What was sold', 'aria-label': 'Description' });
  const quantity = h('input', { name: 'quantity', type: 'number', step: 'any', min: '0', value: '1', 'aria-label': 'Quantity' });
  const price = h('input', { name: 'unit_price', type: 'number', step: 'any', placeholder: '0.00', 'aria-label': 'Unit price' });
  const remove = h('button', { type: 'button', class: 'btn btn-small', text: 'Remove', 'aria-label': 'Remove line' });
  const row = h('tr', { class: 'invoice-line' },
    h('td', { class: 'col-description' }, description), h('td', {}, quantity), h('td', {}, price), h('td', {}, remove));
  remove.addEventListener('click', () => onRemove(row));
  return { row, description, quantity, price };
}

export async function renderNewInvoice({ ctx, can, el }) {
  if (!can('financial.invoices.write')) {
    el.replaceChildren(h('div', { class: 'alert alert-error', role: 'alert', text: 'You may not create invoices.' }));
    return;
  }
  const problem = alertBox();
  const customer = h('input', { name: 'customer', autocomplete: 'off', maxlength: '200' });
  const issueDate = h('input', { name: 'issue_date', type: 'date', value: today() });
  const dueDate = h('input', { name: 'due_date', type: 'date' });
  const lines = [];
  const body = h('tbody');
  const removeLine = (row) => {
    if (lines.length === 1) return;
    const index = lines.findIndex((l) => l.row === row);
    lines.splice(index, 1);
    row.remove();
  };
  const addLine = () => {
    const line = lineRow(removeLine);
    lines.push(line);
    body.append(line.row);
    return line;
  };
  addLine();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create invoice' });
  const form = h('form', { class: 'card invoice-form', novalidate: true },
    problem.el,
    h('div', { class: 'form-row' },
      field('Customer', customer, 'invoice-customer'),
      field('Issue date', issueDate, 'invoice-issue-date'),
      field('Due date (optional)', dueDate, 'invoice-due-date')),
    h('h3', { class: 'section-title', text: 'Lines' }),
    h('table', { class: 'fin-lines' },
      h('thead', {}, h('tr', {}, ['Description', 'Quantity', 'Unit price', ''].map((t) => h('th', { text: t })))),
      body),
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn', text: 'Add line', onclick: () => addLine().description.focus() }),
      h('div', { class: 'spacer' }),
      h('a', { class: 'btn', href: '#/financial/invoices', text: 'Cancel' }),
      submit),
    h('p', { class: 'muted', text: 'Number, tax rate and currency come from the company’s financial settings.' }));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hide();
    const missing = [];
    if (!customer.value.trim()) missing.push('the customer');
    const filled = lines.filter((l) => l.description.value.trim() || l.price.value !== '');
    if (!filled.length) missing.push('at least one line with a unit price');
    if (filled.some((l) => l.price.value === '')) missing.push('a unit price on every line');
    if (missing.length) {
      problem.show(`Please enter ${missing.join(' and ')}.`);
      return;
    }
    const payload = {
      company_id: ctx.companyId,
      customer: customer.value.trim(),
      lines: filled.map((l) => ({
        description: l.description.value.trim(),
        quantity: l.quantity.value === '' ? '1' : l.quantity.value,
        unit_price: l.price.value,
      })),
    };
    if (issueDate.value) payload.issue_date = issueDate.value;
    if (dueDate.value) payload.due_date = dueDate.value;
    submit.disabled = true;
    submit.textContent = 'Creating…';
    try {
      const invoice = await ctx.api.post('/api/v1/financial/invoices', payload);
      ctx.notify(`Invoice ${invoice.number} created: ${money(invoice.total, invoice.currency)} including `
        + `${money(invoice.tax, invoice.currency)} tax.`, 'success');
      ctx.navigate(`financial/invoices/${invoice.id}`);
    } catch (error) {
      problem.show(errorText(error));
      submit.disabled = false;
      submit.textContent = 'Create invoice';
    }
  });
  el.replaceChildren(pageHeader('New invoice'), form);
  customer.focus();
}
