// The sign-in page. `signIn(email, password)` resolves once signed in, or throws with the server's sentence.

import { h } from '/ui/kit.js';
import { errorMessage } from './api.js';

export function loginPage(root, message, signIn) {
  const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: !message, text: message || '' });
  const email = h('input', { id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
  });
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Sign in' });
  const form = h('form', { class: 'login-form', novalidate: true },
    h('h1', { class: 'brand brand-large', text: 'Buildify' }),
    h('p', { class: 'muted', text: 'Sign in to your business platform.' }),
    error,
    h('label', { for: 'login-email', text: 'Email' }), email,
    h('label', { for: 'login-password', text: 'Password' }), password,
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!email.value.trim() || !password.value) {
      error.textContent = 'Enter your email and password.';
      error.hidden = false;
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      await signIn(email.value.trim(), password.value);
    } catch (e) {
      error.textContent = errorMessage(e);
      error.hidden = false;
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });
  root.replaceChildren(h('main', { class: 'login-page' }, h('div', { class: 'card login-card' }, form)));
  email.focus();
}
