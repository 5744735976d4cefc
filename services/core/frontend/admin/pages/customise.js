// Customising a module: a form generated from its config_schema for the whole tenant or one company,
// each key with its resolved value and tier (default / tenant / company), override or reset per key;
// features as toggles; the configuration history below.

import {
  h, alertBox, badge, button, fieldProblems, labelled, pageHeader, setFieldError, showAlert, table, uid, when,
} from '../ui.js';
import { parse, problems } from '../schema.js';

const TENANT = 'tenant';

export async function renderCustomise({ ctx, el, arg }) {
  const [name, scopeArg] = arg.split('/');
  const scope = scopeArg || (ctx.companyId || TENANT);
  const module = await ctx.api.get(`/api/v1/modules/${encodeURIComponent(name)}`);
  const manifest = module.manifest;
  const notice = alertBox();
  const state = await loadState(ctx, name, manifest, scope);
  const rerender = (next = scope) => renderCustomise({ ctx, el, arg: `${name}/${next}` });

  const scopeSelect = h('select', { id: uid('scope'), name: 'scope' },
    h('option', { value: TENANT, text: 'Whole tenant (every company)', selected: scope === TENANT }),
    ctx.companies.map((c) => h('option', { value: c.id, text: c.name, selected: c.id === scope })));
  scopeSelect.addEventListener('change', () => ctx.navigate(`admin/customise/${name}/${scopeSelect.value}`));

  el.replaceChildren(
    pageHeader(`Customise ${manifest.display_name}`, h('a', { class: 'btn', href: '#/admin/marketplace', text: 'Marketplace' })),
    notice,
    h('div', { class: 'card' }, labelled('Scope', scopeSelect).wrap),
    configForm(ctx, { name, manifest, scope, state, notice, rerender }),
    scope === TENANT ? null : featureToggles(ctx, { name, manifest, scope, state, notice, rerender }),
    await history(ctx, name, scope));
}

async function loadState(ctx, name, manifest, scope) {
  if (scope === TENANT) {
    const tenant = await ctx.api.get(`/api/v1/tenants/${ctx.tenant.id}/modules/${encodeURIComponent(name)}`);
    const defaults = Object.fromEntries(Object.entries(manifest.config_schema.properties || {})
      .filter(([, s]) => 'default' in s).map(([k, s]) => [k, s.default]));
    const values = { ...defaults, ...tenant.configuration };
    const sources = Object.fromEntries(Object.keys(values).map((k) => [k, k in tenant.configuration ? 'tenant' : 'default']));
    return { values, sources, overrides: tenant.configuration };
  }
  const [resolved, company] = await Promise.all([
    ctx.api.get(`/api/v1/companies/${scope}/modules/${encodeURIComponent(name)}/config`),
    ctx.api.get(`/api/v1/companies/${scope}/modules/${encodeURIComponent(name)}`).catch((error) => {
      if (error.status === 404) return { is_enabled: true, configuration: {} }; // not customised yet
      throw error;
    }),
  ]);
  return { values: resolved.values, sources: resolved.sources, overrides: company.configuration,
    features: resolved.enabled_features, company };
}

function control(key, schema, value) {
  const type = [].concat(schema.type || 'string')[0];
  if (Array.isArray(schema.enum)) {
    return h('select', { name: key }, schema.enum.map((x) => h('option', { value: String(x), text: String(x),
      selected: x === value })));
  }
  if (type === 'boolean') return h('input', { type: 'checkbox', name: key, checked: Boolean(value) });
  const attrs = { name: key, value: value === undefined || value === null ? '' : (typeof value === 'object' ? JSON.stringify(value) : String(value)) };
  if (type === 'number' || type === 'integer') {
    Object.assign(attrs, { type: 'number', step: type === 'integer' ? '1' : 'any', min: schema.minimum, max: schema.maximum });
  } else if (type === 'string') {
    Object.assign(attrs, { type: 'text', pattern: schema.pattern, minlength: schema.minLength, maxlength: schema.maxLength });
  }
  return h('input', attrs);
}

function save(ctx, { name, scope, state }, configuration) {
  if (scope === TENANT) {
    return ctx.api.put(`/api/v1/tenants/${ctx.tenant.id}/modules/${encodeURIComponent(name)}`, { is_enabled: true, configuration });
  }
  return ctx.api.put(`/api/v1/companies/${scope}/modules/${encodeURIComponent(name)}`,
    { is_enabled: state.company.is_enabled, configuration });
}

function configForm(ctx, { name, manifest, scope, state, notice, rerender }) {
  const properties = manifest.config_schema.properties || {};
  const tier = scope === TENANT ? 'tenant' : 'company';
  const fields = {};
  const rows = Object.entries(properties).map(([key, schema]) => {
    const input = control(key, schema, state.values[key]);
    const help = [schema.description, schema.minimum !== undefined ? `minimum ${schema.minimum}` : null,
      schema.maximum !== undefined ? `maximum ${schema.maximum}` : null,
      schema.exclusiveMinimum !== undefined ? `above ${schema.exclusiveMinimum}` : null,
      schema.exclusiveMaximum !== undefined ? `below ${schema.exclusiveMaximum}` : null,
      schema.pattern ? `pattern ${schema.pattern}` : null]
      .filter(Boolean).join(' · ');
    const field = labelled(schema.title || key, input, { name: key, help: help || undefined });
    fields[key] = { ...field, schema };
    const source = state.sources[key] || 'default';
    const overridden = key in (state.overrides || {});
    return h('tr', { 'data-key': key },
      h('td', {}, field.wrap),
      h('td', { class: 'admin-tier' }, badge(source, source === 'default' ? 'off' : 'on'),
        h('span', { class: 'muted', text: ` resolved: ${JSON.stringify(state.values[key] ?? null)}` })),
      h('td', {}, overridden ? button(`Reset ${key}`, async () => {
        const rest = { ...state.overrides };
        delete rest[key];
        try {
          await save(ctx, { name, scope, state }, rest);
          ctx.notify(`${key} now inherits its value.`, 'success');
          await rerender();
        } catch (error) {
          showAlert(notice, error.detail || String(error));
        }
      }, 'btn-small') : null));
  });
  const form = h('form', { class: 'card', 'aria-label': 'Configuration' },
    h('h2', { text: scope === TENANT ? 'Tenant configuration' : 'Company configuration' }),
    h('p', { class: 'muted', text: `Changed keys are saved as ${tier} overrides; Reset lets a key inherit again.` }),
    table(['Setting', 'Tier and resolved value', ''], rows, { empty: 'This module has no settings.' }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save overrides' })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.hidden = true;
    const overrides = { ...(state.overrides || {}) };
    let valid = true;
    for (const [key, field] of Object.entries(fields)) {
      const value = field.input.type === 'checkbox' ? field.input.checked : parse(field.input.value, field.schema);
      const found = value === undefined ? ['must be a value of the right type'] : problems(value, field.schema);
      setFieldError(field, found.length ? `${key} ${found.join('; ')}` : '');
      if (found.length) valid = false;
      else if (JSON.stringify(value) !== JSON.stringify(state.values[key]) || key in overrides) overrides[key] = value;
    }
    if (!valid) {
      form.querySelector('[aria-invalid=true]')?.focus();
      return;
    }
    try {
      await save(ctx, { name, scope, state }, overrides);
      ctx.notify('Configuration saved.', 'success');
      await rerender();
    } catch (error) {
      for (const { field, message } of fieldProblems(error)) {
        const key = field.replace(/^configuration\./, '');
        if (fields[key]) setFieldError(fields[key], `${key} ${message}`);
      }
      showAlert(notice, error.detail || String(error));
    }
  });
  return form;
}

function featureToggles(ctx, { name, manifest, scope, state, notice, rerender }) {
  if (!manifest.features.length) return null;
  const boxes = manifest.features.map((f) => {
    const box = h('input', { type: 'checkbox', role: 'switch', id: uid('feature'), name: f.name,
      checked: state.features.includes(f.name) });
    return { feature: f, box };
  });
  const form = h('form', { class: 'card', 'aria-label': 'Features' }, h('h2', { text: 'Features' }),
    boxes.map(({ feature, box }) => h('label', { class: 'admin-toggle', for: box.id }, box,
      h('span', { text: feature.name }), feature.description ? h('span', { class: 'muted', text: `— ${feature.description}` }) : null)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save features' })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const enabled = boxes.filter((b) => b.box.checked && !b.feature.default).map((b) => b.feature.name);
    const disabled = boxes.filter((b) => !b.box.checked && b.feature.default).map((b) => b.feature.name);
    try {
      await ctx.api.put(`/api/v1/companies/${scope}/modules/${encodeURIComponent(name)}`,
        { is_enabled: state.company.is_enabled, enabled_features: enabled, disabled_features: disabled });
      ctx.notify('Features saved.', 'success');
      await rerender();
    } catch (error) {
      showAlert(notice, error.detail || String(error));
    }
  });
  return form;
}

async function history(ctx, name, scope) {
  const query = scope === TENANT ? {} : { company_id: scope };
  const [entries, users] = await Promise.all([
    ctx.api.get(`/api/v1/tenants/${ctx.tenant.id}/modules/${encodeURIComponent(name)}/audit`, query),
    ctx.api.get('/api/v1/users', { tenant_id: ctx.tenant.id, limit: 500 }).catch(() => []),
  ]);
  const who = (id) => (users.find((u) => u.id === id) || { email: id || 'system' }).email;
  const describe = (entry) => {
    const before = entry.before.configuration || {};
    const after = entry.after.configuration || {};
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    return keys.map((k) => `${k}: ${JSON.stringify(before[k] ?? null)} → ${JSON.stringify(after[k] ?? null)}`).join('; ')
      || entry.action;
  };
  return h('section', { class: 'card', 'aria-label': 'Configuration history' }, h('h2', { text: 'History' }),
    table(['When', 'Who', 'Action', 'Change'], entries.map((e) => h('tr', {},
      h('td', { text: when(e.changed_at) }), h('td', { text: who(e.actor_user_id) }),
      h('td', { text: e.action }), h('td', { text: describe(e) }))), { empty: 'No change yet.' }));
}
