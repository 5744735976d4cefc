// Reports: trial balance, income statement and balance sheet, as computed by the server from the journal.
import { h, money, table, pageHeader, errorAlert, field } from '/ui/kit.js';

const REPORTS = [
  ['trial-balance', 'Trial balance'],
  ['income-statement', 'Income statement'],
  ['balance-sheet', 'Balance sheet'],
];

export async function renderReports({ ctx, el }, which) {
  const known = REPORTS.find(([key]) => key === which) || REPORTS[0];
  const [key, title] = known;
  const tabs = h('nav', { class: 'fin-tabs', 'aria-label': 'Reports' }, REPORTS.map(([k, label]) => h('a', {
    href: `#/financial/reports/${k}`, class: k === key ? 'active' : null, text: label,
  })));
  const from = h('input', { type: 'date' });
  const to = h('input', { type: 'date' });
  const body = h('div');
  const refresh = h('button', { type: 'submit', class: 'btn', text: 'Update' });
  const filter = h('form', { class: 'fin-filter' },
    key === 'balance-sheet' ? field('As of', to, 'report-as-of')
      : [field('From', from, 'report-from'), field('To', to, 'report-to')],
    refresh);
  filter.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  el.replaceChildren(pageHeader(`Reports — ${title}`), tabs, h('section', { class: 'card' }, filter, body));

  async function load() {
    body.replaceChildren(h('p', { class: 'loading', text: 'Computing…' }));
    const query = { company_id: ctx.companyId };
    if (key === 'balance-sheet') query.as_of = to.value;
    else Object.assign(query, { date_from: from.value, date_to: to.value });
    try {
      const report = await ctx.api.get(`/api/v1/financial/reports/${key}`, query);
      body.replaceChildren(...RENDER[key](report));
    } catch (error) {
      body.replaceChildren(errorAlert(error));
    }
  }
  await load();
}

function balanceNote(balanced, text) {
  return h('p', { class: balanced ? 'fin-balanced' : 'fin-unbalanced', text: balanced ? `✓ ${text}` : `✗ Not balanced` });
}

function accountTable(rows, currency, totalLabel, total) {
  return table([
    { label: 'Code', render: (r) => r.code },
    { label: 'Account', render: (r) => r.name },
    { label: 'Amount', num: true, render: (r) => money(r.amount ?? r.balance, currency) },
  ], rows, { empty: 'Nothing to show.', footer: ['', totalLabel, money(total, currency)] });
}

const RENDER = {
  'trial-balance': (r) => [
    h('h2', { text: `Trial balance (${r.currency})` }),
    table([
      { label: 'Code', render: (a) => a.code },
      { label: 'Account', render: (a) => a.name },
      { label: 'Type', render: (a) => a.type },
      { label: 'Debit', num: true, render: (a) => (Number(a.debit) ? money(a.debit, r.currency) : '') },
      { label: 'Credit', num: true, render: (a) => (Number(a.credit) ? money(a.credit, r.currency) : '') },
    ], r.accounts, {
      empty: 'No entries posted in this period.',
      footer: ['', 'Total', '', money(r.total_debit, r.currency), money(r.total_credit, r.currency)],
    }),
    balanceNote(r.balanced, 'Debits equal credits'),
  ],
  'income-statement': (r) => [
    h('h2', { text: `Revenue (${r.currency})` }),
    accountTable(r.revenue, r.currency, 'Total revenue', r.total_revenue),
    h('h2', { text: 'Expenses' }),
    accountTable(r.expenses, r.currency, 'Total expenses', r.total_expenses),
    h('p', { class: 'stat-value', id: 'net-income', text: `Net income: ${money(r.net_income, r.currency)}` }),
  ],
  'balance-sheet': (r) => [
    h('h2', { text: `Assets (${r.currency})` }),
    accountTable(r.assets, r.currency, 'Total assets', r.total_assets),
    h('h2', { text: 'Liabilities' }),
    accountTable(r.liabilities, r.currency, 'Total liabilities', r.total_liabilities),
    h('h2', { text: 'Equity' }),
    accountTable(r.equity, r.currency, 'Total equity', r.total_equity),
    h('p', { text: `Current earnings (not yet closed): ${money(r.current_earnings, r.currency)}` }),
    balanceNote(r.balanced, 'Assets equal liabilities plus equity'),
  ],
};
