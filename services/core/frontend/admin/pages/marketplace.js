// The module marketplace: the catalogue of registered modules with search, and for a tenant
// administrator enable (the registry's dry-run plan first, then confirm), disable, customise and
// remove (keep or purge; purge shows its plan and asks for the module's name typed).

import { h, alertBox, badge, button, labelled, list, pageHeader, showAlert, uid } from '../ui.js';
import { parse, problems } from '../schema.js';

const enc = encodeURIComponent;

function searchable(manifest) {
  return [manifest.name, manifest.display_name, manifest.description, ...manifest.permissions.map((p) => p.name),
    ...manifest.events.publishes, ...manifest.events.consumes].join(' ').toLowerCase();
}

export async function renderMarketplace({ ctx, el }) {
  const tenantAdmin = Boolean(ctx.user.tenant_admin && ctx.tenant);
  const notice = alertBox();
  const [modules, states] = await Promise.all([
    ctx.api.get('/api/v1/modules'),
    tenantAdmin ? ctx.api.get(`/api/v1/tenants/${ctx.tenant.id}/modules`) : Promise.resolve([]),
  ]);
  const stateOf = (name) => states.find((s) => s.module === name) || null;
  const search = h('input', { type: 'search', id: uid('search'), name: 'search', placeholder: 'name, permission, event…' });
  const show = h('select', { id: uid('show'), name: 'show' },
    h('option', { value: 'all', text: 'All modules' }),
    tenantAdmin ? h('option', { value: 'enabled', text: 'Enabled for the tenant' }) : null,
    tenantAdmin ? h('option', { value: 'available', text: 'Not enabled' }) : null);
  const grid = h('div', { class: 'admin-grid', role: 'list', 'aria-label': 'Modules' });
  const refresh = () => renderMarketplace({ ctx, el });
  const cards = modules.map((m) => ({ m, text: searchable(m.manifest), card: moduleCard(ctx, m, stateOf(m.name),
    { tenantAdmin, notice, refresh }) }));
  const filter = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = cards.filter(({ m, text }) => {
      const enabled = Boolean(stateOf(m.name) && stateOf(m.name).is_enabled);
      if (show.value === 'enabled' && !enabled) return false;
      if (show.value === 'available' && enabled) return false;
      return words.every((w) => text.includes(w));
    });
    grid.replaceChildren(...shown.map((c) => c.card));
    if (!shown.length) grid.append(h('p', { class: 'empty', text: 'No module matches.' }));
  };
  search.addEventListener('input', filter);
  show.addEventListener('change', filter);
  filter();
  el.replaceChildren(
    pageHeader('Marketplace', ctx.user.platform_admin ? h('a', { class: 'btn', href: '#/admin/register', text: 'Register a module' }) : null),
    notice,
    h('div', { class: 'card admin-toolbar' }, labelled('Search', search).wrap, labelled('Show', show).wrap),
    grid);
}

function moduleCard(ctx, module, state, { tenantAdmin, notice, refresh }) {
  const m = module.manifest;
  const requires = [m.requires.platform ? `platform ${m.requires.platform}` : null,
    ...Object.entries(m.requires.modules).map(([n, r]) => `${n} ${r}`)].filter(Boolean);
  const enabled = Boolean(state && state.is_enabled);
  const status = state ? (enabled ? badge('enabled', 'on') : badge('disabled', 'off')) : badge('not enabled', 'off');
  const actions = h('div', { class: 'admin-actions' });
  const panel = h('div', { class: 'admin-plan' });
  const open = (content) => {
    panel.replaceChildren(content);
    content.querySelector('input, button')?.focus();
  };
  if (tenantAdmin) {
    if (!enabled) actions.append(button(`Enable ${m.display_name}`, () => open(enablePanel(ctx, m, state, refresh)), 'btn-primary btn-small'));
    else {
      actions.append(h('a', { class: 'btn btn-small', href: `#/admin/customise/${m.name}`, text: `Customise ${m.display_name}` }));
      actions.append(button(`Disable ${m.display_name}`, () => open(disablePanel(ctx, m, refresh)), 'btn-small'));
    }
    if (state) actions.append(button(`Remove ${m.display_name}`, () => open(removePanel(ctx, m, refresh)), 'btn-small btn-danger'));
  }
  return h('article', { class: 'card admin-card', role: 'listitem', 'aria-label': m.display_name, 'data-module': m.name },
    h('h2', {}, `${m.display_name} `, status),
    h('p', { class: 'muted', text: `${m.name} · version ${m.version}` }),
    m.description ? h('p', { text: m.description }) : null,
    h('dl', {},
      h('dt', { text: 'Requires' }), h('dd', {}, list(requires)),
      h('dt', { text: 'Permissions' }), h('dd', {}, list(m.permissions.map((p) => p.name))),
      h('dt', { text: 'Publishes' }), h('dd', {}, list(m.events.publishes)),
      h('dt', { text: 'Consumes' }), h('dd', {}, list(m.events.consumes)),
      h('dt', { text: 'Menu' }), h('dd', {}, list((m.frontend ? m.frontend.menu : []).map((e) => e.label)))),
    actions, panel);
}

// Tenant-tier values asked at enable time (e.g. EUR / 0.20), checked in the browser as the server does.
function tenantFields(m, state) {
  const current = state ? state.configuration : {};
  return Object.entries(m.config_schema.properties || {}).map(([key, schema]) => {
    const input = h('input', { name: key, value: key in current ? String(current[key]) : '',
      placeholder: 'default' in schema ? `default ${schema.default}` : '' });
    const field = labelled(`${m.display_name} ${key}`, input, { name: key, help: schema.description });
    return { key, schema, field };
  });
}

function enablePanel(ctx, m, state, refresh) {
  const fields = tenantFields(m, state);
  const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const planBox = h('div', { class: 'admin-plan-result', 'aria-live': 'polite' });
  const configuration = () => {
    const out = {};
    for (const { key, schema, field } of fields) {
      if (field.input.value.trim() === '') continue;
      const value = parse(field.input.value.trim(), schema);
      const found = value === undefined ? ['must be a value of the right type'] : problems(value, schema);
      if (found.length) throw new Error(`${key} ${found.join('; ')}`);
      out[key] = value;
    }
    return out;
  };
  const planButton = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Show the plan' });
  const form = h('form', { class: 'card admin-panel', 'aria-label': `Enable ${m.display_name}` },
    h('h3', { text: `Enable ${m.display_name} for the tenant` }),
    h('p', { class: 'muted', text: 'Tenant values (leave empty for the default); every company inherits them.' }),
    h('div', { class: 'form-row' }, fields.map((f) => f.field.wrap)), error,
    h('div', { class: 'form-actions' }, planButton, button('Cancel', () => form.remove())), planBox);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    let body;
    try {
      body = { is_enabled: true, configuration: configuration() };
    } catch (e) {
      showAlert(error, e.message);
      return;
    }
    try {
      const plan = await ctx.api.put(`/api/v1/tenants/${ctx.tenant.id}/modules/${enc(m.name)}`, body, { dry_run: true });
      planBox.replaceChildren(planView(plan), h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'btn btn-primary', text: `Confirm: enable ${m.display_name}`, disabled: !plan.allowed,
          onclick: async () => {
            try {
              await ctx.api.put(`/api/v1/tenants/${ctx.tenant.id}/modules/${enc(m.name)}`, body);
              ctx.notify(`${m.display_name} enabled for the tenant.`, 'success');
              await ctx.reload();
            } catch (e) {
              showAlert(error, e.detail || String(e));
            }
          } })));
      planBox.querySelector('button')?.focus();
    } catch (e) {
      showAlert(error, e.detail || String(e));
    }
  });
  return form;
}

function planView(plan) {
  return h('section', { class: 'admin-plan-view', 'aria-label': 'Plan' },
    h('h3', { text: `Plan: ${plan.action} ${plan.module} ${plan.version}` }),
    plan.problems.length ? h('div', { class: 'alert alert-error', role: 'alert' }, list(plan.problems)) : null,
    plan.warnings.length ? h('div', { class: 'admin-warning', role: 'note' }, h('h4', { text: 'Warnings' }), list(plan.warnings)) : null,
    h('dl', { class: 'admin-card' },
      h('dt', { text: 'Depends on' }), h('dd', {}, list(plan.depends_on.map((d) =>
        `${d.name} ${d.range}: ${d.satisfied ? 'satisfied' : 'NOT satisfied'}`))),
      h('dt', { text: 'Permissions added' }), h('dd', {}, list(plan.permissions_added)),
      h('dt', { text: 'Menu entries' }), h('dd', {}, list(plan.menu_entries_added.map((e) => e.label))),
      h('dt', { text: 'Subscriptions' }), h('dd', {}, list(plan.subscriptions)),
      h('dt', { text: 'Configuration' }), h('dd', {}, list(Object.entries(plan.configuration).map(([k, v]) =>
        `${k} = ${JSON.stringify(v.value)} (${v.source})`)))));
}

function disablePanel(ctx, m, refresh) {
  const box = h('div', { class: 'card admin-panel', role: 'region', 'aria-label': `Disable ${m.display_name}` },
    h('p', { text: `Disable ${m.display_name} for every company of the tenant? Its settings and data stay.` }),
    h('div', { class: 'form-actions' },
      button(`Confirm: disable ${m.display_name}`, async () => {
        await ctx.api.put(`/api/v1/tenants/${ctx.tenant.id}/modules/${enc(m.name)}`, { is_enabled: false });
        ctx.notify(`${m.display_name} disabled.`, 'success');
        await ctx.reload();
      }, 'btn-primary'),
      button('Cancel', () => box.remove())));
  return box;
}

function removePanel(ctx, m, refresh) {
  const keep = h('input', { type: 'radio', name: `mode-${m.name}`, value: 'keep', id: uid('keep'), checked: true });
  const purge = h('input', { type: 'radio', name: `mode-${m.name}`, value: 'purge', id: uid('purge') });
  const planBox = h('div', { 'aria-live': 'polite' });
  const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const confirmName = h('input', { name: 'confirm', autocomplete: 'off' });
  const typed = labelled(`Type ${m.name} to confirm the purge`, confirmName);
  const go = h('button', { type: 'button', class: 'btn btn-danger', text: `Confirm: remove ${m.display_name}` });
  const mode = () => (purge.checked ? 'purge' : 'keep');
  const showPlan = async () => {
    error.hidden = true;
    try {
      const plan = await ctx.api.delete(`/api/v1/tenants/${ctx.tenant.id}/modules/${enc(m.name)}`, { mode: mode(), dry_run: true });
      planBox.replaceChildren(h('h4', { text: 'Deletes' }), list(plan.deletes), h('h4', { text: 'Keeps' }), list(plan.keeps),
        mode() === 'purge' ? typed.wrap : null);
      go.disabled = mode() === 'purge' && confirmName.value.trim() !== m.name;
    } catch (e) {
      showAlert(error, e.detail || String(e));
    }
  };
  confirmName.addEventListener('input', () => { go.disabled = mode() === 'purge' && confirmName.value.trim() !== m.name; });
  keep.addEventListener('change', showPlan);
  purge.addEventListener('change', showPlan);
  go.addEventListener('click', async () => {
    try {
      await ctx.api.delete(`/api/v1/tenants/${ctx.tenant.id}/modules/${enc(m.name)}`,
        mode() === 'purge' ? { mode: 'purge', confirm: true } : { mode: 'keep' });
      ctx.notify(`${m.display_name} removed (${mode() === 'purge' ? 'data purged' : 'data kept'}).`, 'success');
      await ctx.reload();
    } catch (e) {
      showAlert(error, e.detail || String(e));
    }
  });
  const box = h('div', { class: 'card admin-panel', role: 'region', 'aria-label': `Remove ${m.display_name}` },
    h('fieldset', { class: 'admin-checks' }, h('legend', { text: 'The module\'s data' }),
      h('label', { for: keep.id }, keep, 'Keep it (enable again later and find it)'),
      h('label', { for: purge.id }, purge, 'Purge it (the module deletes this tenant\'s rows)')),
    planBox, error, h('div', { class: 'form-actions' }, go, button('Cancel', () => box.remove())));
  showPlan();
  return box;
}
