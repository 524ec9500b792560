// login.js: the sign-in page. POST /api/auth/login, keep the pair in
// sessionStorage, change the password when the server requires it, then
// go back to the page that sent the user here.

import { api, APIError, clearSession, request, saveSession, session } from './api.js';
import { $ } from './ui.js';

const reasons = {
  expired: 'Your session has ended. Please sign in again.',
  revoked: 'Your session was revoked. Please sign in again.',
  signed_out: 'You have signed out.',
  password: 'You must choose a new password before you continue.',
};

// nextPage returns the same-origin path to go to after signing in.
function nextPage() {
  const next = new URLSearchParams(location.search).get('next') || '';
  // Only a path of this origin: "/x", never "//host" or "/\host".
  if (/^\/(?![/\\])[^\s]*$/.test(next) && !next.startsWith('/login')) return next;
  return '/debates';
}

function showError(node, msg) {
  node.textContent = msg;
  node.hidden = !msg;
}

function loginError(err) {
  if (err.code === 'invalid_credentials') return 'Wrong email or password.';
  if (err.code === 'rate_limited') return `Too many attempts. Try again in ${err.retryAfter || 60} seconds.`;
  if (err.status === 0) return 'The server did not answer. Check your connection and try again.';
  return err.message;
}

function passwordForm(currentPassword) {
  const form = $('#password-form');
  $('#login-form').hidden = true;
  form.hidden = false;
  $('#pw-new').focus();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pw = $('#pw-new').value;
    const errNode = $('#password-error');
    if (pw.length < 12 || pw.length > 128) return showError(errNode, 'The new password must be 12 to 128 characters long.');
    if (pw !== $('#pw-confirm').value) return showError(errNode, 'The two passwords differ.');
    if (pw === currentPassword) return showError(errNode, 'Choose a password different from the current one.');
    showError(errNode, '');
    try {
      const pair = await api('/api/auth/password', { method: 'POST', body: { current_password: currentPassword, new_password: pw }, keepSession: true });
      saveSession(pair);
      location.assign(nextPage());
    } catch (err) {
      showError(errNode, err.message);
    }
  });
}

function init() {
  const reason = new URLSearchParams(location.search).get('reason');
  if (reasons[reason]) {
    const note = $('#login-note');
    note.textContent = reasons[reason];
    note.hidden = false;
  }
  const s = session();
  if (s && s.user && reason !== 'password') {
    $('#signed-in').hidden = false;
    $('#signed-in-as').textContent = s.user.email || s.user.id;
    $('#continue').setAttribute('href', nextPage());
  }
  if (reason === 'password') clearSession();
  const form = $('#login-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = $('#email').value.trim();
    const password = $('#password').value;
    const errNode = $('#login-error');
    if (!email || !password) return showError(errNode, 'Enter your email and password.');
    showError(errNode, '');
    const btn = form.querySelector('[type=submit]');
    btn.disabled = true;
    try {
      const res = await request('/api/auth/login', { method: 'POST', body: { email, password }, auth: false });
      const body = await res.json();
      if (!res.ok) throw new APIError(res.status, body, res.headers.get('Retry-After'));
      saveSession(body, body.user);
      if (body.password_change_required) {
        passwordForm(password);
        return;
      }
      location.assign(nextPage());
    } catch (err) {
      showError(errNode, loginError(err));
      $('#password').select();
    } finally {
      btn.disabled = false;
    }
  });
  $('#email').focus();
}

init();
