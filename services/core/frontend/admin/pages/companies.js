// Companies of the tenant: create, rename, archive and restore. Creating one reloads the session, so
// the new company is in the picker (and in the next access token) at once.

import {
  h, alertBox, badge, button, clearProblems, labelled, pageHeader, panelForm, showAlert, showProblem, table, when,
} from '../ui.js';

export async function renderCompanies({ ctx, el }) {
  const tenant = ctx.tenant;
  const notice = alertBox();
  const rows = await ctx.api.get('/api/v1/companies', { tenant_id: tenant.id, include_archived: true, limit: 500 });
  const name = labelled('New company name', h('input', { name: 'name', required: true, maxlength: 200 }), { name: 'name' });
  const currency = labelled('Currency (ISO 4217, optional)', h('input', { name: 'currency', maxlength: 3, pattern: '[A-Z]{3}' }),
    { name: 'currency' });
  const fields = { name, currency };
  const create = h('form', { class: 'card', 'aria-label': 'Create a company' },
    h('h2', { text: 'Create a company' }),
    h('div', { class: 'form-row' }, name.wrap, currency.wrap),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create company' })));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(fields, notice);
    try {
      await ctx.api.post('/api/v1/companies', {
        name: name.input.value.trim(), tenant_id: tenant.id, currency: currency.input.value.trim() || null,
      });
      ctx.notify(`Company ${name.input.value.trim()} created.`, 'success');
      await ctx.reload();
    } catch (error) {
      showProblem(error, fields, notice);
    }
  });
  const body = rows.map((company) => h('tr', {},
    h('td', {}, h('strong', { text: company.name })),
    h('td', { text: company.currency || '—' }),
    h('td', { text: when(company.created_at) }),
    h('td', {}, company.archived_at ? badge('archived', 'off') : badge('active', 'on')),
    h('td', {}, h('div', { class: 'admin-actions' },
      button('Rename', () => renameForm(ctx, company, el, notice), 'btn-small'),
      button(company.archived_at ? 'Restore' : 'Archive', async () => {
        try {
          await ctx.api.patch(`/api/v1/companies/${company.id}`, { archived: !company.archived_at });
          await ctx.reload();
        } catch (error) {
          showAlert(notice, error.detail || String(error));
        }
      }, 'btn-small')))));
  el.replaceChildren(
    pageHeader('Companies'),
    notice,
    h('section', { class: 'card', 'aria-label': 'Companies of the tenant' },
      table(['Name', 'Currency', 'Created', 'State', 'Actions'], body, { empty: 'No company yet.' })),
    create);
}

function renameForm(ctx, company, el, notice) {
  const name = labelled(`New name for ${company.name}`, h('input', { name: 'name', value: company.name, required: true }),
    { name: 'name' });
  const form = panelForm(`Rename ${company.name}`, [name.wrap], 'Save name', async () => {
    clearProblems({ name }, notice);
    try {
      await ctx.api.patch(`/api/v1/companies/${company.id}`, { name: name.input.value.trim() });
      await ctx.reload();
    } catch (error) {
      showProblem(error, { name }, notice);
    }
  });
  el.querySelector('.admin-panel')?.remove();
  el.insertBefore(form, el.children[2] || null);
  name.input.focus();
}
