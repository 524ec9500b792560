// ui.js: DOM helpers shared by the console's pages. Everything is built
// with createElement and textContent: the pages run under Trusted Types
// with no policy, so no string ever becomes HTML.

import { atLeast, logout, me } from './api.js';

const SVGNS = 'http://www.w3.org/2000/svg';

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else if (k === 'class') node.setAttribute('class', v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// el creates an HTML element: el('p', {class: 'muted'}, 'text', child).
export function el(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// svg creates an SVG element.
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVGNS, tag), attrs, children);
}

export function $(sel, root) {
  return (root || document).querySelector(sel);
}

export function $$(sel, root) {
  return Array.from((root || document).querySelectorAll(sel));
}

// badge is a coloured label; kind is ok, warn, bad, info or '' (neutral).
export function badge(text, kind) {
  return el('span', { class: 'badge' + (kind ? ' ' + kind : '') }, text);
}

const kinds = {
  healthy: 'ok', ok: 'ok', ready: 'ok', closed: 'ok', alive: 'ok', active: 'ok', running: 'info', success: 'ok',
  consensus_reached: 'ok', approved: 'ok', approved_with_conditions: 'ok', idle: '', disabled: '', pending: '',
  degraded: 'warn', half_open: 'warn', paused: 'warn', no_consensus: 'warn', needs_review: 'warn', stuck: 'warn', denied: 'warn',
  cancelled: 'warn', budget_exceeded: 'warn', circuit_open: 'bad',
  unhealthy: 'bad', error: 'bad', not_ready: 'bad', open: 'bad', failed: 'bad', failure: 'bad', timeout: 'bad', rejected: 'bad',
  stopped: '',
};

// stateBadge is a badge coloured after a well-known state word.
export function stateBadge(state) {
  const s = state === null || state === undefined ? 'unknown' : String(state);
  return badge(s.replaceAll('_', ' '), kinds[s] || '');
}

// time renders an RFC 3339 timestamp in local time, with the exact UTC
// value in the datetime attribute and the title.
export function time(iso) {
  if (!iso) return el('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return el('span', {}, String(iso));
  const text = d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return el('time', { datetime: iso, title: iso }, text);
}

// duration formats seconds as "1 h 2 min", "3 min 4 s" or "5.2 s".
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Number(seconds);
  if (s < 60) return (Math.round(s * 10) / 10) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function num(n) {
  if (n === null || n === undefined || n === '') return '—';
  return typeof n === 'number' ? n.toLocaleString() : String(n);
}

export function usd(n) {
  if (n === null || n === undefined) return '—';
  const v = Number(n);
  return '$' + v.toFixed(v >= 1 || v === 0 ? 2 : 4);
}

// plural returns "1 breaker" or "2 breakers".
export function plural(n, one, many) {
  return `${num(n)} ${n === 1 ? one : many || one + 's'}`;
}

export function pct(f) {
  if (f === null || f === undefined) return '—';
  return Math.round(Number(f) * 1000) / 10 + '%';
}

// facts renders [label, value] pairs as a definition list.
export function facts(pairs) {
  const dl = el('dl', { class: 'facts' });
  for (const [k, v] of pairs) {
    dl.append(el('dt', {}, k), el('dd', {}, v === null || v === undefined || v === '' ? '—' : v));
  }
  return dl;
}

// table renders rows with columns [{label, num, wrap, value(row) -> Node|string}].
export function table(columns, rows, opts = {}) {
  if (!rows || rows.length === 0) return el('p', { class: 'muted' }, opts.empty || 'Nothing to show.');
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = rows.map((r) =>
    el('tr', opts.rowAttrs ? opts.rowAttrs(r) : {}, columns.map((c, i) => {
      const v = c.value(r);
      const cls = [c.num ? 'num' : '', c.wrap ? 'wrap' : ''].join(' ').trim() || null;
      return i === 0 && opts.rowHeader ? el('th', { scope: 'row', class: cls }, v ?? '—') : el('td', { class: cls }, v ?? '—');
    })));
  const t = el('table', {}, opts.caption ? el('caption', {}, opts.caption) : null, el('thead', {}, head), el('tbody', {}, body));
  return el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': opts.caption || opts.label || 'table' }, t);
}

// errorText describes a failed call for people.
export function errorText(err) {
  if (!err) return 'Unknown error.';
  let msg = err.message || String(err);
  if (err.code === 'rate_limited') msg = `Rate limited: ${msg}`;
  if (err.status === 403 && err.code === 'forbidden') msg = 'Forbidden: your role cannot do this.';
  if (err.correlationID) msg += ` (correlation id ${err.correlationID})`;
  return msg;
}

// setPanel shows content in a panel's .panel-data and records its state
// (loading, ready, error, disabled) in data-state.
export function setPanel(panel, state, ...content) {
  panel.dataset.state = state;
  panel.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  const data = panel.querySelector('.panel-data');
  data.replaceChildren(...content.flat().filter((c) => c !== null && c !== undefined));
}

// panelError shows a failed call in a panel.
export function panelError(panel, err) {
  setPanel(panel, 'error', el('p', { class: 'error', role: 'alert' }, errorText(err)));
}

let toastTimer = null;

// toast announces msg in the page's live region for a few seconds.
export function toast(msg, bad) {
  const t = document.getElementById('toast');
  t.classList.toggle('bad', Boolean(bad));
  t.textContent = msg;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    t.textContent = '';
  }, 6000);
}

// confirmAction asks in the page's modal dialog; resolves true on OK.
export function confirmAction(title, text, okLabel) {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel || 'Confirm';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.returnValue = '';
    d.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

// busy disables a button (or a form's submit button) while fn runs.
export async function busy(control, fn) {
  const btn = control instanceof HTMLFormElement ? control.querySelector('[type=submit]') : control;
  if (btn) btn.disabled = true;
  try {
    return await fn();
  } finally {
    if (btn) btn.disabled = false;
  }
}

// initChrome fills the header (user, sign-out, admin link) and returns
// GET /api/auth/me; without a session it goes to the sign-in page.
export async function initChrome() {
  const m = await me();
  const who = document.getElementById('who');
  document.getElementById('who-name').textContent = `${m.user.email || m.user.id} (${m.user.role})`;
  who.hidden = false;
  document.getElementById('logout').addEventListener('click', () => logout());
  document.getElementById('nav-admin').hidden = !atLeast(m.user.role, 'admin');
  return m;
}
