// Users of the tenant: create with roles in companies, change roles per company, deactivate or
// reactivate, reset a password.

import {
  h, alertBox, badge, button, clearProblems, labelled, pageHeader, panelForm, showAlert, showProblem, table,
} from '../ui.js';

function companyName(companies, id) {
  const found = companies.find((c) => c.id === id);
  return found ? found.name : id;
}

export async function renderUsers({ ctx, el }) {
  const tenant = ctx.tenant;
  const notice = alertBox();
  const [users, companies, roles] = await Promise.all([
    ctx.api.get('/api/v1/users', { tenant_id: tenant.id, limit: 500 }),
    ctx.api.get('/api/v1/companies', { tenant_id: tenant.id, limit: 500 }),
    ctx.api.get('/api/v1/roles'),
  ]);
  const refresh = () => renderUsers({ ctx, el });
  const body = users.map((user) => h('tr', {},
    h('td', {}, h('strong', { text: user.email })),
    h('td', {}, user.tenant_admin ? 'tenant administrator'
      : h('ul', { class: 'plain-list' }, user.companies.map((m) => h('li', {
        text: `${companyName(companies, m.company_id)}: ${m.roles.join(', ') || '—'}` })))),
    h('td', {}, user.is_active ? badge('active', 'on') : badge('deactivated', 'off')),
    h('td', {}, h('div', { class: 'admin-actions' },
      button('Roles', () => rolesPanel(ctx, { user, companies, roles, el, notice, refresh }), 'btn-small'),
      user.id === ctx.user.id ? null : button(user.is_active ? 'Deactivate' : 'Reactivate', async () => {
        try {
          await ctx.api.patch(`/api/v1/users/${user.id}`, { is_active: !user.is_active });
          await refresh();
        } catch (error) {
          showAlert(notice, error.detail || String(error));
        }
      }, 'btn-small'),
      button('Reset password', () => passwordPanel(ctx, { user, el, notice }), 'btn-small')))));
  el.replaceChildren(
    pageHeader('Users'),
    notice,
    h('section', { class: 'card', 'aria-label': 'Users of the tenant' },
      table(['Email', 'Companies and roles', 'State', 'Actions'], body, { empty: 'No user yet.' })),
    createForm(ctx, { companies, roles, notice, refresh }));
}

function roleSelect(roles, selected) {
  return h('select', { name: 'role' }, h('option', { value: '', text: '— no access —' }),
    roles.map((r) => h('option', { value: r.name, text: r.built_in ? r.name : `${r.name} (tenant role)`,
      selected: r.name === selected })));
}

function createForm(ctx, { companies, roles, notice, refresh }) {
  const email = labelled('Email', h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' }),
    { name: 'email' });
  const password = labelled('Initial password', h('input', { type: 'password', name: 'password', required: true,
    minlength: 8, autocomplete: 'new-password' }), { name: 'password', help: 'At least 8 characters; tell it to the user.' });
  const company = labelled('Company', h('select', { name: 'company' },
    companies.map((c) => h('option', { value: c.id, text: c.name }))), { name: 'company_ids' });
  const role = labelled('Role in that company', roleSelect(roles, 'member'), { name: 'roles' });
  const fields = { email, password, company_ids: company, roles: role };
  const form = h('form', { class: 'card', 'aria-label': 'Create a user' }, h('h2', { text: 'Create a user' }),
    h('div', { class: 'form-row' }, email.wrap, password.wrap),
    h('div', { class: 'form-row' }, company.wrap, role.wrap),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create user' })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(fields, notice);
    const chosen = role.input.value;
    try {
      await ctx.api.post('/api/v1/users', {
        email: email.input.value.trim(), password: password.input.value, tenant_id: ctx.tenant.id,
        company_ids: chosen ? [company.input.value] : [], roles: chosen ? [chosen] : [],
      });
      ctx.notify(`User ${email.input.value.trim()} created.`, 'success');
      await refresh();
    } catch (error) {
      showProblem(error, fields, notice);
    }
  });
  return form;
}

function panel(el, form) {
  el.querySelector('.admin-panel')?.remove();
  el.insertBefore(form, el.children[2] || null);
  form.querySelector('input, select')?.focus();
}

function rolesPanel(ctx, { user, companies, roles, el, notice, refresh }) {
  const rows = companies.map((c) => {
    const current = (user.companies.find((m) => m.company_id === c.id) || { roles: [] }).roles[0] || '';
    return { company: c, field: labelled(c.name, roleSelect(roles, current), { name: 'roles' }), current };
  });
  const selects = h('div', { class: 'form-row' }, rows.map((r) => r.field.wrap));
  const form = panelForm(`Roles of ${user.email}`, [selects], 'Save roles', async () => {
    notice.hidden = true;
    try {
      for (const row of rows) {
        const chosen = row.field.input.value;
        if (chosen === row.current) continue;
        await ctx.api.put(`/api/v1/users/${user.id}/companies/${row.company.id}`, { roles: chosen ? [chosen] : [] });
      }
      ctx.notify(`Roles of ${user.email} saved.`, 'success');
      await refresh();
    } catch (error) {
      showAlert(notice, error.detail || String(error));
    }
  });
  panel(el, form);
}

function passwordPanel(ctx, { user, el, notice }) {
  const password = labelled('New password', h('input', { type: 'password', name: 'password', minlength: 8,
    autocomplete: 'new-password', required: true }), { name: 'password' });
  const form = panelForm(`New password for ${user.email}`, [password.wrap,
    h('p', { class: 'muted', text: 'Their sessions end: they sign in again with the new password.' })], 'Set password', async () => {
    clearProblems({ password }, notice);
    try {
      await ctx.api.post(`/api/v1/users/${user.id}/password`, { password: password.input.value });
      ctx.notify(`Password of ${user.email} changed.`, 'success');
      form.remove();
    } catch (error) {
      showProblem(error, { password }, notice);
    }
  });
  panel(el, form);
}
