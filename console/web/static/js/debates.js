// debates.js: the debate list (/debates) with a status filter and paging
// by cursor, and the form that starts a debate.

import { api, apiWithLink, atLeast, idempotencyKey } from './api.js';
import { $, $$, busy, el, errorText, initChrome, panelError, setPanel, stateBadge, table, time, toast, usd } from './ui.js';

// The list's position: the cursor of the page shown and those before it.
const list = { cursor: null, next: null, back: [] };

function filterQuery() {
  const form = $('#list-filter');
  const q = new URLSearchParams();
  const statuses = $$('input[name=status]:checked', form).map((c) => c.value);
  if (statuses.length) q.set('status', statuses.join(','));
  if ($('#list-mine').checked) q.set('owner', 'me');
  q.set('limit', $('#list-limit').value);
  return q;
}

// The filter lives in the page's address, so a reload or a shared link
// shows the same list.
function restoreFilter() {
  const q = new URLSearchParams(location.search);
  const statuses = (q.get('status') || '').split(',');
  for (const c of $$('#list-filter input[name=status]')) c.checked = statuses.includes(c.value);
  $('#list-mine').checked = q.get('owner') === 'me';
  if (q.get('limit')) $('#list-limit').value = q.get('limit');
}

async function loadList() {
  const panel = $('#panel-list');
  panel.setAttribute('aria-busy', 'true');
  const q = filterQuery();
  history.replaceState(null, '', '/debates?' + q);
  if (list.cursor) q.set('cursor', list.cursor);
  try {
    const { body, next } = await apiWithLink('/api/debates?' + q);
    list.next = next;
    $('#list-older').disabled = !next;
    $('#list-newer').disabled = list.back.length === 0;
    $('#list-page').textContent = `Page ${list.back.length + 1}`;
    setPanel(panel, 'ready', table([
      { label: 'Topic', wrap: true, value: (d) => el('a', { href: '/debates/' + encodeURIComponent(d.id) }, d.topic) },
      { label: 'Status', value: (d) => stateBadge(d.status) },
      { label: 'Verdict', value: (d) => (d.verdict ? stateBadge(d.verdict) : '—') },
      { label: 'Agents', value: (d) => d.agents.join(', ') },
      { label: 'Rounds', num: true, value: (d) => `${d.rounds_used ?? 0} / ${d.rounds}` },
      { label: 'Started', value: (d) => time(d.created_at) },
      { label: 'Cost', num: true, value: (d) => usd(d.cost_usd) },
    ], body, {
      caption: 'Debates, newest first', empty: 'No debate matches the filter.', rowHeader: true,
      rowAttrs: (d) => ({ 'data-debate': d.id, 'data-status': d.status }),
    }));
  } catch (err) {
    panelError(panel, err);
  }
}

// The start form.

function fieldError(name, msg) {
  const node = document.getElementById(`start-${name}-error`);
  const input = document.getElementById(`start-${name}`);
  if (node) {
    node.textContent = msg || '';
    node.hidden = !msg;
  }
  if (input && input.tagName !== 'FIELDSET') input.setAttribute('aria-invalid', msg ? 'true' : 'false');
}

function clearErrors() {
  for (const n of ['topic', 'agents', 'rounds', 'min_rounds', 'threshold']) fieldError(n, '');
  const e = $('#start-error');
  e.textContent = '';
  e.hidden = true;
}

async function loadAgents() {
  const box = $('#start-agent-list');
  try {
    const agents = await api('/api/agents/status');
    const usable = agents.filter((a) => a.available);
    box.replaceChildren(...usable.map((a) => el('label', { class: 'check' },
      el('input', { type: 'checkbox', name: 'agent', value: a.name }), ` ${a.name}`,
      el('span', { class: 'muted small' }, ` (${a.provider})`))));
    if (!usable.length) box.append(el('p', { class: 'muted small' }, 'No provider agent is configured; name demo agents below or use the defaults.'));
  } catch (err) {
    box.replaceChildren(el('p', { class: 'muted small' }, `Agent list unavailable: ${errorText(err)}`));
  }
}

function startRequest() {
  const topic = $('#start-topic').value.trim();
  const picked = $$('#start-agent-list input:checked').map((c) => c.value);
  const specs = $('#start-agent-specs').value.split(',').map((s) => s.trim()).filter(Boolean);
  const agents = [...new Set([...picked, ...specs])];
  const rounds = Number($('#start-rounds').value);
  const minRounds = Number($('#start-min_rounds').value);
  const consensus = $('#start-consensus').value;
  const threshold = $('#start-threshold').value;
  const errors = {};
  if (!topic) errors.topic = 'Enter the topic or question to debate.';
  if (agents.length === 1) errors.agents = 'A debate needs at least two agents (or none, for the defaults).';
  if (agents.length > 10) errors.agents = 'At most ten agents.';
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 12) errors.rounds = 'Rounds must be a whole number from 1 to 12.';
  if (!Number.isInteger(minRounds) || minRounds < 1 || minRounds > rounds) errors.min_rounds = 'Minimum rounds must be a whole number from 1 to the number of rounds.';
  const body = { topic, rounds, min_rounds: minRounds, consensus };
  if (agents.length) body.agents = agents;
  if (threshold !== '') {
    const t = Number(threshold);
    if (!(t > 0 && t <= 1)) errors.threshold = 'The threshold is a number above 0 and at most 1.';
    else body.threshold = t;
  }
  return { body, errors };
}

async function start(ev) {
  ev.preventDefault();
  clearErrors();
  const { body, errors } = startRequest();
  const names = Object.keys(errors);
  if (names.length) {
    for (const n of names) fieldError(n, errors[n]);
    const first = names[0] === 'agents' ? $('#start-agent-specs') : document.getElementById('start-' + names[0]);
    first.focus();
    return;
  }
  await busy(ev.currentTarget, async () => {
    try {
      const d = await api('/api/debates', { method: 'POST', body, headers: { 'Idempotency-Key': idempotencyKey() } });
      location.assign('/debates/' + encodeURIComponent(d.id));
    } catch (err) {
      const fields = (err.details && err.details.fields) || {};
      for (const [k, v] of Object.entries(fields)) fieldError(k === 'agents' || k === 'judge' ? 'agents' : k, v);
      if (err.code === 'unknown_agent' || err.code === 'agent_unavailable') {
        fieldError('agents', `${err.details.agent || 'agent'}: ${err.message}`);
      }
      const e = $('#start-error');
      e.textContent = errorText(err);
      e.hidden = false;
      e.focus();
    }
  });
}

function thresholdRule() {
  const c = $('#start-consensus').value;
  const t = $('#start-threshold');
  t.disabled = c !== 'weighted' && c !== 'supermajority';
  if (t.disabled) t.value = '';
}

async function init() {
  const m = await initChrome();
  restoreFilter();
  for (const b of $$('[data-refresh]')) b.addEventListener('click', loadList);
  $('#list-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(list, { cursor: null, next: null, back: [] });
    loadList();
  });
  $('#list-older').addEventListener('click', () => {
    list.back.push(list.cursor);
    list.cursor = list.next;
    loadList();
  });
  $('#list-newer').addEventListener('click', () => {
    list.cursor = list.back.pop() || null;
    loadList();
  });
  const canStart = atLeast(m.user.role, 'member');
  $('#start-form').hidden = !canStart;
  $('#start-denied').hidden = canStart;
  if (canStart) {
    $('#start-error').setAttribute('tabindex', '-1');
    $('#start-form').addEventListener('submit', start);
    $('#start-consensus').addEventListener('change', thresholdRule);
    thresholdRule();
    loadAgents();
  }
  await loadList();
}

init().catch((err) => toast(errorText(err), true));
