// Signing in and out with the admin token.
import { TOKEN_KEY, onUnauthorized, state } from './api.js';
import { field, h, showNow } from './dom.js';
import { route } from './nav.js';

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  document.querySelector('header.top').hidden = true;
  signIn(message);
}

function signIn(message) {
  const token = field('Admin token', h('input', { type: 'password', autocomplete: 'current-password', required: true }),
    'The token is SLUICE_ADMIN_TOKEN, or the file admin-token in the data directory.');
  const form = h('form', { class: 'panel signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Sluice'),
    h('p', {}, 'Routes, guards and revisions of this gateway. Changes are checked before they apply.'),
    message ? h('div', { class: 'errors', role: 'alert' }, message) : null,
    token.wrap,
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    token.error.textContent = '';
    state.token = token.input.value.trim();
    try {
      // Reads may be open; a dry run needs the token, and changes nothing.
      const config = await fetch('/v1/config', { headers: { authorization: `Bearer ${state.token}` } });
      const etag = config.headers.get('etag');
      const check = await fetch('/v1/config?dry_run=true', {
        method: 'PUT',
        headers: { authorization: `Bearer ${state.token}`, 'content-type': 'application/json', ...(etag ? { 'if-match': etag } : {}) },
        body: await config.text(),
      });
      if (check.status === 401) {
        token.error.textContent = 'This token was refused.';
        token.input.setAttribute('aria-invalid', 'true');
        state.token = null;
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, state.token);
      document.querySelector('header.top').hidden = false;
      if (!location.hash || location.hash === '#/') location.hash = '#/routes';
      else route();
    } catch (error) {
      token.error.textContent = `The admin API did not answer: ${error.message}`;
    }
  });
  showNow(form);
  token.input.focus();
}

onUnauthorized(signOut);

export { signIn, signOut };
