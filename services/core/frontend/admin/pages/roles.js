// Roles: built-in ones (read-only) and the tenant's own, whose permissions are picked per module.

import {
  h, alertBox, badge, button, clearProblems, labelled, list, pageHeader, panelForm, problemField, showAlert, showProblem, table, uid,
} from '../ui.js';

export async function renderRoles({ ctx, el }) {
  const notice = alertBox();
  const [roles, permissions] = await Promise.all([ctx.api.get('/api/v1/roles'), ctx.api.get('/api/v1/permissions')]);
  const refresh = () => renderRoles({ ctx, el });
  const body = roles.map((role) => h('tr', {},
    h('td', {}, h('strong', { text: role.name }), role.description ? h('div', { class: 'muted', text: role.description }) : null),
    h('td', {}, role.built_in ? badge('built-in', 'off') : badge('tenant role', 'on')),
    h('td', {}, list(role.permissions)),
    h('td', {}, role.built_in ? null : h('div', { class: 'admin-actions' },
      button('Edit', () => place(el, roleForm(ctx, { role, permissions, notice, refresh })), 'btn-small'),
      button('Delete', async () => {
        try {
          await ctx.api.delete(`/api/v1/roles/${role.id}`);
          ctx.notify(`Role ${role.name} deleted.`, 'success');
          await refresh();
        } catch (error) {
          showAlert(notice, error.detail || String(error));
        }
      }, 'btn-small btn-danger')))));
  el.replaceChildren(
    pageHeader('Roles', button('New role', () => place(el, roleForm(ctx, { role: null, permissions, notice, refresh })),
      'btn-primary')),
    notice,
    h('section', { class: 'card', 'aria-label': 'Roles' }, table(['Role', 'Kind', 'Permissions', 'Actions'], body)));
}

function place(el, form) {
  el.querySelector('.admin-panel')?.remove();
  el.insertBefore(form, el.children[2] || null);
  form.querySelector('input')?.focus();
}

// Permissions grouped by the module that declares them (core's own first), one checkbox each.
function permissionGroups(permissions, held) {
  const groups = new Map();
  for (const p of permissions) {
    if (!groups.has(p.source)) groups.set(p.source, []);
    groups.get(p.source).push(p);
  }
  const boxes = [];
  const sets = [...groups.entries()].sort(([a], [b]) => (a === 'core' ? -1 : b === 'core' ? 1 : a.localeCompare(b)))
    .map(([source, items]) => h('fieldset', { class: 'admin-checks' }, h('legend', { text: source }),
      items.map((p) => {
        const box = h('input', { type: 'checkbox', id: uid('perm'), value: p.name, checked: held.includes(p.name) });
        boxes.push(box);
        return h('label', { for: box.id }, box, h('span', { text: p.name }),
          p.description ? h('span', { class: 'muted', text: `— ${p.description}` }) : null);
      })));
  return { sets, chosen: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

function roleForm(ctx, { role, permissions, notice, refresh }) {
  const name = labelled('Name', h('input', { name: 'name', value: role ? role.name : '', required: true,
    disabled: Boolean(role), pattern: '[a-z][a-z0-9_\\-]{1,99}' }), { name: 'name', help: 'Lower case letters, digits, - and _.' });
  const description = labelled('Description', h('input', { name: 'description', value: role ? role.description : '' }),
    { name: 'description' });
  const held = role ? role.permissions : [];
  const assignable = permissions.filter((p) => !['core.tenants.manage', 'platform.bus.admin'].includes(p.name));
  const groups = permissionGroups(assignable, held);
  const wildcards = held.filter((p) => p.includes('*'));
  const permissionsError = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const fields = { name, description };
  const title = role ? `Edit role ${role.name}` : 'New role';
  const form = panelForm(title, [
    h('div', { class: 'form-row' }, name.wrap, description.wrap),
    h('h3', { text: 'Permissions' }),
    wildcards.length ? h('p', { class: 'muted', text: `Also kept: ${wildcards.join(', ')}` }) : null,
    groups.sets, permissionsError,
  ], 'Save role', async () => {
    clearProblems(fields, notice);
    permissionsError.hidden = true;
    const chosen = [...wildcards, ...groups.chosen()];
    try {
      if (role) {
        await ctx.api.patch(`/api/v1/roles/${role.id}`, { permissions: chosen, description: description.input.value });
      } else {
        await ctx.api.post('/api/v1/roles', { name: name.input.value.trim(), tenant_id: ctx.tenant.id,
          permissions: chosen, description: description.input.value });
      }
      ctx.notify(`Role ${role ? role.name : name.input.value.trim()} saved.`, 'success');
      await refresh();
    } catch (error) {
      if (problemField(error) === 'permissions') {
        permissionsError.textContent = error.detail;
        permissionsError.hidden = false;
      } else {
        showProblem(error, fields, notice);
      }
    }
  });
  return form;
}
