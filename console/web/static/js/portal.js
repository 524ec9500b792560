// portal.js: the developer portal (/portal): who am I, token expiry, the
// API key (created once, copied, revoked), usage charts and the password.

import { api, me, saveSession, session } from './api.js';
import { legend, stackedBars } from './chart.js';
import {
  $, busy, confirmAction, el, errorText, facts, initChrome, num, panelError, setPanel, table, time, toast, usd,
} from './ui.js';

function remaining(ms) {
  if (ms <= 0) return 'expired';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h >= 48) return `in ${Math.floor(h / 24)} days`;
  if (h > 0) return `in ${h} h ${m} min`;
  return `in ${m} min ${s % 60} s`;
}

// Token expiry, refreshed every second from the session.
function tickExpiry(m) {
  const s = session();
  if (!s) return;
  const access = $('#token-expiry');
  const at = new Date(s.access_expires_at);
  access.replaceChildren(time(at.toISOString()), ` (${remaining(s.access_expires_at - Date.now())})`);
  const end = $('#session-expiry');
  end.replaceChildren(s.refresh_expires_at ? time(new Date(s.refresh_expires_at).toISOString()) : '—',
    s.refresh_expires_at ? ` (${remaining(s.refresh_expires_at - Date.now())}, at the latest)` : '');
  if (m && m.auth && m.auth.method !== 'jwt' && m.auth.expires_at) {
    access.replaceChildren(time(m.auth.expires_at));
  }
}

function renderMe(m) {
  const u = m.user;
  setPanel($('#panel-me'), 'ready', facts([
    ['Email', u.email || '—'],
    ['Name', u.name || '—'],
    ['Role', u.role],
    ['User id', el('code', {}, u.id)],
    ['Member since', time(u.created_at)],
    ['Last sign-in', time(u.last_login_at)],
    ['Signed in with', `${m.auth.method.replaceAll('_', ' ')}${m.auth.token_id ? ' · ' + m.auth.token_id : ''}`],
  ]));
}

function renderKey(m) {
  const k = m.api_key;
  $('#revoke-key').hidden = !k;
  setPanel($('#panel-key'), 'ready', k
    ? facts([
      ['Key', el('code', {}, k.prefix + '_…')],
      ['Name', k.name || '—'],
      ['Created', time(k.created_at)],
      ['Last used', time(k.last_used_at)],
      ['Expires', time(k.expires_at)],
    ])
    : el('p', { class: 'muted' }, 'You have no API key.'));
}

async function refreshMe(known) {
  const m = known || (await me());
  renderMe(m);
  renderKey(m);
  tickExpiry(m);
  return m;
}

async function createKey(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const days = Number($('#key-days').value);
  if (!Number.isInteger(days) || days < 1 || days > 730) {
    toast('The key must be valid for 1 to 730 days.', true);
    $('#key-days').focus();
    return;
  }
  const hasKey = !$('#revoke-key').hidden;
  if (hasKey && !(await confirmAction('Replace your API key?', 'Creating a new key revokes the current one at once.', 'Create new key'))) return;
  await busy(form, async () => {
    try {
      const body = { expires_in_days: days };
      const name = $('#key-name').value.trim();
      if (name) body.name = name;
      const k = await api('/api/auth/api-key', { method: 'POST', body });
      $('#new-key').hidden = false;
      const input = $('#new-key-value');
      input.value = k.api_key;
      $('#new-key-note').textContent = `Prefix ${k.prefix}, expires ${new Date(k.expires_at).toLocaleDateString()}` +
        (k.replaced_prefix ? `; the previous key ${k.replaced_prefix} is revoked.` : '.');
      input.focus();
      input.select();
      toast('API key created: copy it now.');
      await refreshMe();
    } catch (err) {
      toast(errorText(err), true);
    }
  });
}

async function copyKey() {
  const input = $('#new-key-value');
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // No clipboard API (insecure context, no permission): select the
    // text and use the legacy command.
    input.select();
    if (!document.execCommand('copy')) {
      toast('Copy failed: select the key and copy it yourself.', true);
      return;
    }
  }
  $('#copy-key').textContent = 'Copied';
  toast('API key copied to the clipboard.');
}

async function revokeKey() {
  if (!(await confirmAction('Revoke your API key?', 'Programs that use it get 401 from now on.', 'Revoke key'))) return;
  await busy($('#revoke-key'), async () => {
    try {
      const r = await api('/api/auth/api-key', { method: 'DELETE' });
      toast(`API key ${r.prefix} revoked.`);
      $('#new-key').hidden = true;
      $('#new-key-value').value = '';
      await refreshMe();
      $('#key-name').focus();
    } catch (err) {
      toast(errorText(err), true);
    }
  });
}

function monthOptions() {
  const sel = $('#usage-period');
  const d = new Date();
  for (let i = 1; i <= 6; i++) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    const v = m.toISOString().slice(0, 7);
    sel.append(el('option', { value: v }, m.toLocaleDateString(undefined, { year: 'numeric', month: 'long', timeZone: 'UTC' })));
  }
}

// The columns a usage row (per provider or per day) ends with.
const usageColumns = [
  { label: 'Input tokens', num: true, value: (r) => num(r.tokens.input) },
  { label: 'Output tokens', num: true, value: (r) => num(r.tokens.output) },
  { label: 'Cost', num: true, value: (r) => usd(r.cost_usd) },
];

async function loadUsage() {
  const panel = $('#panel-usage');
  panel.setAttribute('aria-busy', 'true');
  try {
    const u = await api('/api/billing/usage?period=' + encodeURIComponent($('#usage-period').value));
    const tok = (t) => (t ? t.input + t.output : 0);
    const days = u.by_day.map((d) => ({
      label: d.date, short: d.date.slice(5), a: d.tokens.input, b: d.tokens.output,
      title: `${d.date}: ${num(d.tokens.input)} input and ${num(d.tokens.output)} output tokens, ${num(d.debates)} debates, ${usd(d.cost_usd)}`,
    }));
    const providers = u.by_provider.map((p) => ({
      label: p.provider, a: p.tokens.input, b: p.tokens.output,
      title: `${p.provider}: ${num(p.tokens.input)} input and ${num(p.tokens.output)} output tokens in ${num(p.requests)} requests, ${usd(p.cost_usd)}`,
    }));
    const empty = days.every((d) => d.a + d.b === 0) && providers.length === 0;
    setPanel(panel, 'ready',
      el('div', { class: 'totals' },
        el('div', {}, el('span', { class: 'muted' }, 'Debates'), el('strong', {}, num(u.debates.total))),
        el('div', {}, el('span', { class: 'muted' }, 'Input tokens'), el('strong', {}, num(u.tokens.input))),
        el('div', {}, el('span', { class: 'muted' }, 'Output tokens'), el('strong', {}, num(u.tokens.output))),
        el('div', {}, el('span', { class: 'muted' }, 'Cost'), el('strong', {}, usd(u.cost_usd)))),
      el('p', { class: 'muted small' }, `Period ${u.period.label}: `, time(u.period.from), ' to ', time(u.period.to), ' (UTC days).'),
      empty ? el('p', { class: 'muted', id: 'usage-empty' }, 'No usage in this period.') : [
        el('h3', {}, 'Tokens per day'),
        legend('input tokens', 'output tokens'),
        stackedBars(days, { label: `Tokens per day, ${u.period.label}: ${days.filter((d) => d.a + d.b > 0).length} days with usage, ${num(tok(u.tokens))} tokens in all` }),
        el('h3', {}, 'Tokens per provider'),
        stackedBars(providers, { label: `Tokens per provider, ${u.period.label}: ` + providers.map((p) => `${p.label} ${num(p.a + p.b)}`).join(', ') }),
        el('details', {}, el('summary', {}, 'Show the numbers as tables'),
          table([
            { label: 'Provider', value: (p) => p.provider },
            { label: 'Requests', num: true, value: (p) => num(p.requests) },
            ...usageColumns,
          ], u.by_provider, { caption: 'Usage per provider', rowHeader: true }),
          table([
            { label: 'Day', value: (d) => d.date },
            { label: 'Debates', num: true, value: (d) => num(d.debates) },
            ...usageColumns,
          ], u.by_day.filter((d) => d.debates || tok(d.tokens)), { caption: 'Usage per day', rowHeader: true, empty: 'No usage.' })),
      ]);
  } catch (err) {
    panelError(panel, err);
  }
}

async function changePassword(ev) {
  ev.preventDefault();
  const errNode = $('#password-error');
  const show = (msg) => {
    errNode.textContent = msg;
    errNode.hidden = !msg;
  };
  const cur = $('#pw-current').value;
  const pw = $('#pw-new').value;
  if (pw.length < 12 || pw.length > 128) return show('The new password must be 12 to 128 characters long.');
  if (pw !== $('#pw-confirm').value) return show('The two new passwords differ.');
  show('');
  await busy(ev.currentTarget, async () => {
    try {
      const pair = await api('/api/auth/password', { method: 'POST', body: { current_password: cur, new_password: pw }, keepSession: true });
      saveSession(pair);
      ev.target.reset();
      toast('Password changed. Your other sessions are signed out.');
    } catch (err) {
      show(err.code === 'invalid_credentials' || err.status === 401 ? 'The current password is wrong.' : errorText(err));
    }
  });
}

async function init() {
  let m = await initChrome();
  try {
    m = await refreshMe(m);
  } catch (err) {
    panelError($('#panel-me'), err);
    panelError($('#panel-key'), err);
  }
  setInterval(() => tickExpiry(m), 1000);
  $('#key-form').addEventListener('submit', createKey);
  $('#copy-key').addEventListener('click', copyKey);
  $('#revoke-key').addEventListener('click', revokeKey);
  $('#password-form').addEventListener('submit', changePassword);
  monthOptions();
  $('#usage-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadUsage();
  });
  await loadUsage();
}

init().catch((err) => toast(errorText(err), true));
