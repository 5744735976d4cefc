// Helpers of the administration pages: the bus pages' DOM helpers, plus forms that show the server's
// problem per field and a typed confirmation.

import { h, errorText } from '../bus/ui.js';

export { h, errorText, alertBox, showAlert, badge, pageHeader, table, when } from '../bus/ui.js';

let seq = 0;
export function uid(prefix) {
  seq += 1;
  return `${prefix}-${seq}`;
}

// A labelled control with a description and a slot for its error, tied together with aria attributes.
export function labelled(label, input, { help, name } = {}) {
  input.id = input.id || uid('f');
  const error = h('p', { class: 'field-error', id: `${input.id}-error`, hidden: true });
  const described = [error.id];
  const parts = [h('label', { for: input.id, text: label })];
  if (help) {
    const note = h('p', { class: 'muted field-help', id: `${input.id}-help`, text: help });
    described.push(note.id);
    parts.push(input, note);
  } else {
    parts.push(input);
  }
  input.setAttribute('aria-describedby', described.join(' '));
  const wrap = h('div', { class: 'field', 'data-field': name || '' }, parts, error);
  return { wrap, input, error };
}

export function setFieldError(field, message) {
  field.error.textContent = message || '';
  field.error.hidden = !message;
  if (message) field.input.setAttribute('aria-invalid', 'true');
  else field.input.removeAttribute('aria-invalid');
}

// The per-field problems of an RFC 9457 answer (`errors: [{field, message}]`), or [].
export function fieldProblems(error) {
  const found = error && error.body && Array.isArray(error.body.errors) ? error.body.errors : [];
  return found.filter((p) => p && typeof p.field === 'string');
}

// The field an error answer names (its first `errors[].field`, or "`name`: ..." at the start of the detail).
export function problemField(error) {
  const found = fieldProblems(error);
  if (found.length) return found[0].field;
  const match = /^`([^`]+)`/.exec(errorText(error));
  return match ? match[1] : null;
}

// Show an error answer next to its field when one is named, else in `box`.
export function showProblem(error, fields, box) {
  const name = problemField(error);
  const field = name && fields[name];
  if (field) {
    setFieldError(field, errorText(error));
    field.input.focus();
  } else {
    box.textContent = errorText(error);
    box.hidden = false;
  }
}

export function clearProblems(fields, box) {
  for (const field of Object.values(fields)) setFieldError(field, '');
  box.hidden = true;
}

export function button(text, onclick, kind = '') {
  return h('button', { type: 'button', class: `btn ${kind}`.trim(), text, onclick });
}

// A titled form panel of the console: `children`, then the submit button and Cancel (which removes the panel).
// `onSubmit(form)` runs on submit, the browser's own submission prevented.
export function panelForm(title, children, submitText, onSubmit) {
  const form = h('form', { class: 'card admin-panel', 'aria-label': title }, h('h2', { text: title }), children,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: submitText }),
      button('Cancel', () => form.remove())));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onSubmit(form);
  });
  return form;
}

export function list(items, empty = 'none') {
  if (!items || !items.length) return h('span', { class: 'muted', text: empty });
  return h('ul', { class: 'plain-list' }, items.map((x) => h('li', { text: x })));
}
