// Platform administrators register or upgrade a module from its manifest (pasted or uploaded); the
// server's validation problems are listed per manifest field.

import { h, alertBox, fieldProblems, labelled, pageHeader, showAlert } from '../ui.js';

export async function renderRegister({ ctx, el }) {
  const notice = alertBox();
  const text = labelled('Manifest (JSON)', h('textarea', { name: 'manifest', class: 'admin-textarea', spellcheck: 'false' }),
    { name: 'manifest', help: 'Paste manifest.json, or choose the file below.' });
  const file = labelled('Manifest file', h('input', { type: 'file', name: 'file', accept: 'application/json,.json' }));
  const problems = h('section', { class: 'card', 'aria-label': 'Problems', hidden: true });
  file.input.addEventListener('change', async () => {
    const chosen = file.input.files && file.input.files[0];
    if (chosen) text.input.value = await chosen.text();
  });
  const form = h('form', { class: 'card', 'aria-label': 'Register a module' },
    text.wrap, file.wrap,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Register module' })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.hidden = true;
    problems.hidden = true;
    let manifest;
    try {
      manifest = JSON.parse(text.input.value);
    } catch (e) {
      showAlert(notice, `The manifest is not valid JSON: ${e.message}`);
      return;
    }
    try {
      const result = await ctx.api.post('/api/v1/modules', manifest);
      const m = result.module;
      showAlert(notice, result.changed
        ? `${m.display_name} ${m.version} registered${result.previous_version ? ` (was ${result.previous_version})` : ''}.`
        : `${m.display_name} ${m.version} was already registered with this manifest.`, 'success');
    } catch (e) {
      const found = fieldProblems(e);
      if (!found.length) {
        showAlert(notice, e.detail || String(e));
        return;
      }
      problems.replaceChildren(h('h2', { text: `${found.length} problem(s) in the manifest` }),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Field' }), h('th', { text: 'Problem' }))),
          h('tbody', {}, found.map((p) => h('tr', {}, h('td', {}, h('code', { text: p.field })),
            h('td', { text: p.message }))))));
      problems.hidden = false;
      problems.focus?.();
    }
  });
  el.replaceChildren(pageHeader('Register a module'), notice, form, problems);
}
