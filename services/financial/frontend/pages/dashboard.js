// Dashboard: key figures and the chart of accounts with each account's balance.
import { h, money, table, pageHeader, errorAlert } from '/ui/kit.js';

const DEBIT_NATURE = new Set(['asset', 'expense']);

export async function renderDashboard({ ctx, can, el }) {
  el.replaceChildren(h('p', { class: 'loading', text: 'Loading accounts…' }));
  const companyId = ctx.companyId;
  const [accounts, trial, income, aging] = await Promise.all([
    can('financial.accounts.read') ? ctx.api.get('/api/v1/financial/accounts', { company_id: companyId }) : null,
    can('financial.reports.read')
      ? ctx.api.get('/api/v1/financial/reports/trial-balance', { company_id: companyId }) : null,
    can('financial.reports.read')
      ? ctx.api.get('/api/v1/financial/reports/income-statement', { company_id: companyId }) : null,
    can('financial.reports.read')
      ? ctx.api.get('/api/v1/financial/reports/receivables-aging', { company_id: companyId }).catch(() => null) : null,
  ]).catch((error) => {
    el.replaceChildren(errorAlert(error));
    return [];
  });
  if (accounts === undefined) return;
  const currency = (trial && trial.currency) || (income && income.currency) || '';
  const net = new Map();
  for (const row of (trial && trial.accounts) || []) net.set(row.account_id, Number(row.debit) - Number(row.credit));
  const balanceOf = (account) => {
    const value = net.get(account.id) || 0;
    return DEBIT_NATURE.has(account.type) ? value : -value;
  };

  const stats = [];
  if (income) {
    stats.push(stat('Revenue', money(income.total_revenue, currency)));
    stats.push(stat('Expenses', money(income.total_expenses, currency)));
    stats.push(stat('Net income', money(income.net_income, currency)));
  }
  if (aging) stats.push(stat('Open receivables', money(aging.total, currency)));

  const actions = [];
  if (can('financial.invoices.write')) {
    actions.push(h('a', { class: 'btn btn-primary', href: '#/financial/invoices/new', text: 'New invoice' }));
  }
  el.replaceChildren(
    pageHeader(`Financial overview — ${ctx.company.name}`, actions),
    stats.length ? h('div', { class: 'card-grid' }, stats) : null,
    h('section', { class: 'card fin-accounts' },
      h('h2', { text: 'Chart of accounts' }),
      accounts ? table([
        { label: 'Code', render: (a) => a.code },
        { label: 'Account', render: (a) => a.name },
        { label: 'Type', render: (a) => a.type },
        { label: 'Balance', num: true, render: (a) => (trial ? money(balanceOf(a), currency) : '—') },
      ], accounts, { empty: 'This company has no accounts yet: they appear once the company is set up.' })
        : h('p', { class: 'muted', text: 'You may not see the chart of accounts.' })),
  );
}

function stat(label, value) {
  return h('div', { class: 'card stat' }, h('div', { class: 'stat-label', text: label }),
    h('div', { class: 'stat-value', text: value }));
}
