// The journal: posted entries, newest first, with their debit and credit lines.
import { h, money, day, tablePage } from '/ui/kit.js';

export async function renderJournal({ ctx, el }) {
  return tablePage(el, {
    title: 'Journal',
    loading: 'Loading the journal…',
    load: () => ctx.api.get('/api/v1/financial/transactions', { company_id: ctx.companyId }),
    columns: [
      { label: 'Date', render: (e) => day(e.entry_date) },
      {
        label: 'Description',
        render: (e) => h('div', {}, e.description || '—', h('ul', { class: 'fin-entry-lines' }, (e.lines || []).map((l) => h('li', {
          text: `${l.account_code} ${l.account_name}: ${Number(l.debit) ? `debit ${money(l.debit, e.currency)}` : `credit ${money(l.credit, e.currency)}`}`,
        })))),
      },
      { label: 'Source', render: (e) => e.source || 'manual' },
      { label: 'Amount', num: true, render: (e) => money(e.total, e.currency) },
    ],
    empty: 'No journal entries yet.',
  });
}
