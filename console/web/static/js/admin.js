// admin.js: the admin console (/admin). Each panel loads on its own and
// shows its data, a "not enabled" note (an optional API that answers
// 404) or the error it got: one failing API never breaks another panel.
// A role below admin gets the 403 view and no admin API is called.

import { api, APIError, atLeast, clearSession, request } from './api.js';
import {
  $, $$, badge, busy, confirmAction, duration, el, errorText, facts, initChrome, num, panelError, pct, plural, setPanel,
  stateBadge, table, time, toast,
} from './ui.js';

// optional GETs an API that may not exist on this server: null on 404.
async function optional(path) {
  const res = await request(path);
  if (res.status === 404) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new APIError(res.status, body, res.headers.get('Retry-After'));
  return body;
}

// publicJSON GETs a public endpoint whose body is JSON whatever the
// status (health and readiness answer 503 with a body).
async function publicJSON(path) {
  const res = await request(path, { auth: false });
  const body = await res.json().catch(() => null);
  if (!body) throw new APIError(res.status, null);
  return body;
}

// post sends a command and reports its outcome in the toast.
async function post(path, body, done) {
  try {
    const res = await api(path, { method: 'POST', body });
    toast(done(res));
    return res;
  } catch (err) {
    toast(errorText(err), true);
    return null;
  }
}

function yesNo(v) {
  return v ? 'yes' : 'no';
}

function notEnabled(panel, what) {
  setPanel(panel, 'disabled', el('p', { class: 'not-enabled' }, `Not enabled on this server: ${what}`));
}

// Health and readiness (public endpoints).
async function loadHealth(panel) {
  const [h, ready] = await Promise.all([publicJSON('/api/health'), publicJSON('/api/health/ready')]);
  const c = h.checks || {};
  const db = c.database || {};
  const redis = c.redis || {};
  const ws = c.websocket || {};
  const cb = c.circuit_breakers || {};
  const lat = (x) => (x.latency_ms === null || x.latency_ms === undefined ? '' : `${x.latency_ms} ms`);
  setPanel(panel, 'ready',
    facts([
      ['Status', stateBadge(h.status)],
      ['Readiness', el('span', {}, stateBadge(ready.status), ready.reason ? ` ${ready.reason.replaceAll('_', ' ')}` : '')],
      ['Version', h.version],
      ['Uptime', duration(h.uptime_seconds)],
    ]),
    table([
      { label: 'Check', value: (r) => r[0] },
      { label: 'Status', value: (r) => r[1] },
      { label: 'Detail', value: (r) => r[2] },
    ], [
      ['Database', stateBadge(db.status), lat(db)],
      ['Redis', stateBadge(redis.status), lat(redis)],
      ['WebSocket', stateBadge(ws.status), `${num(ws.connections)} of ${num(ws.max_connections)} connections`],
      ['Circuit breakers', badge(`${cb.open || 0} open`, cb.open ? 'bad' : 'ok'), `${cb.half_open || 0} half open`],
      ['Memory', '', `${num(c.memory_mb)} MiB resident`],
      ['Debates', '', `${num(c.active_debates)} running on this replica`],
    ], { caption: 'Checks', rowHeader: true }));
}

// WebSocket statistics.
async function loadWS(panel) {
  const s = await api('/api/ws/stats');
  const meter = el('meter', { min: '0', max: String(s.max_connections), value: String(s.connections), 'aria-label': 'Connections in use' });
  setPanel(panel, 'ready',
    el('p', {}, `${num(s.connections)} of ${num(s.max_connections)} connections (${pct(s.utilization)})`), meter,
    facts([
      ['By listener', `API ${num(s.by_listener.api)} · WebSocket ${num(s.by_listener.ws)}`],
      ['By stream', `debate ${num(s.by_stream.debate)} · control ${num(s.by_stream.control)}`],
      ['Subscriptions', `${num(s.subscriptions)} on ${num(s.debates_streaming)} debates`],
      ['Limits', `${num(s.per_ip_limit)} per IP · ${num(s.send_buffer_frames)} frames buffer · heartbeat ${s.heartbeat_seconds} s`],
      ['Messages sent', num(s.messages_sent_total)],
      ['Dropped slow clients', num(s.dropped_clients_total)],
      ['Connection errors', num(s.connection_errors_total)],
      ['Last reload (SIGUSR1)', time(s.last_reload_at)],
    ]),
    s.top_ips ? table([
      { label: 'Client IP', value: (r) => r.ip },
      { label: 'Connections', num: true, value: (r) => num(r.connections) },
    ], s.top_ips, { caption: 'Busiest addresses', empty: 'No connection at the moment.' }) : null);
}

// Agents and circuit breakers, with a reset button per agent.
async function loadAgents(panel) {
  const [agents, sys] = await Promise.all([api('/api/agents/status'), api('/api/system/circuit-breakers')]);
  const breakers = sys.breakers || {};
  const rows = agents.map((a) => ({ a, b: breakers['agent:' + a.name] || null }));
  for (const [key, b] of Object.entries(breakers)) {
    const name = key.slice(key.indexOf(':') + 1);
    if (b.kind === 'agent' && !agents.some((a) => a.name === name)) rows.push({ a: { name }, b });
  }
  const others = Object.entries(breakers).filter(([, b]) => b.kind !== 'agent');
  const sum = sys.summary || {};
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.agent : null;
  setPanel(panel, 'ready',
    el('p', {}, `${plural(sum.total || 0, 'breaker')} in use: ${num(sum.closed)} closed, ${num(sum.half_open)} half open, ${num(sum.open)} open.`),
    table([
      { label: 'Agent', value: (r) => r.a.name },
      { label: 'Provider · model', value: (r) => (r.a.provider ? `${r.a.provider} · ${r.a.model}` : '—') },
      { label: 'Available', value: (r) => (r.a.available === undefined ? '—' : yesNo(r.a.available)) },
      { label: 'Circuit', value: (r) => stateBadge((r.b && r.b.state) || r.a.circuit_state || 'closed') },
      { label: 'Failures', num: true, value: (r) => (r.b ? `${r.b.consecutive_failures} / ${r.b.failure_threshold}` : '—') },
      { label: 'Requests', num: true, value: (r) => num(r.a.requests_total) },
      { label: 'Errors', num: true, value: (r) => num(r.a.errors && r.a.errors.total) },
      { label: 'Latency p50 / p95', num: true, value: (r) => (r.a.latency_ms ? `${r.a.latency_ms.p50} / ${r.a.latency_ms.p95} ms` : '—') },
      {
        label: 'Last failure', wrap: true,
        value: (r) => {
          const f = (r.b && r.b.last_failure) || r.a.last_error;
          return f ? `${f.kind}: ${f.message}` : '—';
        },
      },
      {
        label: 'Action',
        value: (r) => el('button', {
          type: 'button', class: 'btn btn-small', dataset: { agent: r.a.name },
          onclick: (ev) => resetCircuit(ev.currentTarget, r.a.name),
        }, 'Reset', el('span', { class: 'sr-only' }, ` the circuit breaker of ${r.a.name}`)),
      },
    ], rows, { caption: 'Agents', empty: 'No agent has been used yet.', rowHeader: true, rowAttrs: (r) => ({ 'data-agent-row': r.a.name }) }),
    others.length ? table([
      { label: 'Breaker', value: (r) => r[0] },
      { label: 'State', value: (r) => stateBadge(r[1].state) },
      { label: 'Failures', num: true, value: (r) => num(r[1].consecutive_failures) },
      { label: 'Opened', value: (r) => time(r[1].opened_at) },
    ], others, { caption: 'Other breakers', rowHeader: true }) : null);
  if (focused) {
    const again = panel.querySelector(`button[data-agent="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

async function resetCircuit(btn, name) {
  await busy(btn, () => post(`/api/agents/${encodeURIComponent(name)}/reset-circuit`, undefined,
    (r) => `Circuit breaker of ${r.agent}: ${String(r.previous_state).replaceAll('_', ' ')} → ${r.state}.`));
  await load('agents');
}

// Rate limits and the emergency switch.
let emergencyOn = false;

async function loadRateLimits(panel) {
  const s = await api('/api/system/rate-limits');
  emergencyOn = Boolean(s.emergency);
  const box = $('#emergency');
  box.classList.toggle('on', emergencyOn);
  $('#emergency-state').textContent = emergencyOn
    ? `Emergency mode is ON: every limit is divided by ${s.emergency_divisor}.`
    : 'Emergency mode is off.';
  const toggle = $('#emergency-toggle');
  toggle.textContent = emergencyOn ? 'Turn emergency mode off' : 'Turn emergency mode on';
  toggle.disabled = !s.enabled;
  const classes = Object.entries(s.classes || {});
  const redis = s.redis || {};
  setPanel(panel, 'ready',
    facts([
      ['Limiting', s.enabled ? 'enabled' : 'disabled (ARAGORA_RATE_LIMIT_DISABLED)'],
      ['Backend', `${s.backend} · ${s.algorithm}, ${s.window_seconds} s window`],
      ['Redis', redis.configured ? `${redis.up ? 'up' : 'down'}${redis.fallback_active ? ', local fallback active' : ''}` : 'not configured'],
      ['When Redis fails', s.fail_open ? 'allow (fail open)' : 'local limiter decides'],
      ['Whitelist', (s.whitelist || []).join(', ') || 'none'],
      ['Trusted proxies', (s.trusted_proxies || []).join(', ') || 'none'],
    ]),
    table([
      { label: 'Route class', value: (r) => r[0].replaceAll('_', ' ') },
      { label: 'Requests per minute', num: true, value: (r) => num(r[1].rpm) },
      { label: 'Burst', num: true, value: (r) => num(r[1].burst) },
      { label: 'In force', num: true, value: (r) => num(r[1].effective_rpm) },
    ], classes, { caption: 'Limits per client', rowHeader: true }),
    table([
      { label: 'Client key', value: (r) => r.key },
      { label: 'IP', value: (r) => r.ip },
      { label: 'Route class', value: (r) => r.route_class },
      { label: 'Refused', num: true, value: (r) => num(r.hits) },
      { label: 'Last refused', value: (r) => time(r.last_hit_at) },
    ], s.top_limited, { caption: 'Most limited clients (15 min)', empty: 'No client was limited in the last 15 minutes.' }));
}

async function toggleEmergency() {
  const on = !emergencyOn;
  if (on && !(await confirmAction('Turn emergency mode on?',
    'Every rate limit on this server is divided by 10 until you turn it off or the server restarts. Your own requests are limited too.',
    'Turn on'))) return;
  const btn = $('#emergency-toggle');
  await busy(btn, async () => {
    const res = await request('/api/admin/rate-limits/emergency', { method: 'POST', body: { enabled: on, reason: 'admin console' } });
    if (res.status === 404) {
      toast('This server cannot switch emergency mode at run time: set ARAGORA_RATE_LIMIT_EMERGENCY=1 and restart it.', true);
      return;
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      toast(errorText(new APIError(res.status, body, res.headers.get('Retry-After'))), true);
      return;
    }
    toast(body.emergency ? 'Emergency mode is on.' : 'Emergency mode is off.');
  });
  await load('ratelimits');
  btn.focus();
}

// Recent errors with a type filter.
async function loadErrors(panel) {
  const f = new FormData($('#errors-filter'));
  const q = new URLSearchParams({ limit: f.get('limit') });
  if (f.get('type')) q.set('type', f.get('type'));
  const s = await api('/api/system/errors?' + q);
  setPanel(panel, 'ready',
    el('p', { class: 'muted' }, `${num(s.errors.length)} shown, ${num(s.total_recorded)} recorded since start (the last ${num(s.buffer_size)} are kept).`),
    table([
      { label: 'When', value: (r) => time(r.at) },
      { label: 'Type', value: (r) => r.type },
      { label: 'Level', value: (r) => stateBadge(r.level === 'ERROR' ? 'error' : r.level.toLowerCase()) },
      { label: 'Code', value: (r) => r.code },
      { label: 'Request', value: (r) => (r.route ? `${r.method || ''} ${r.route} → ${r.status || ''}` : '—') },
      { label: 'Message', wrap: true, value: (r) => r.message },
      { label: 'Debate · agent', value: (r) => [r.debate_id, r.agent].filter(Boolean).join(' · ') || '—' },
      { label: 'Correlation id', value: (r) => r.correlation_id || '—' },
    ], s.errors, { caption: 'Errors, newest first', empty: 'No error recorded.' }));
}

// Audit log with filters and paging (cursor stack for "newer").
const audit = { cursor: null, next: null, back: [] };

function auditQuery() {
  const f = new FormData($('#audit-filter'));
  const q = new URLSearchParams({ limit: f.get('limit') });
  for (const k of ['actor', 'action']) if (f.get(k)) q.set(k, f.get(k).trim());
  const since = f.get('since');
  if (since) q.set('since', (since.length === 16 ? since + ':00' : since) + 'Z');
  if (audit.cursor) q.set('cursor', audit.cursor);
  return q;
}

async function loadAudit(panel) {
  const s = await api('/api/admin/audit-log?' + auditQuery());
  audit.next = s.next_cursor || null;
  $('#audit-older').disabled = !audit.next;
  $('#audit-newer').disabled = audit.back.length === 0;
  $('#audit-page').textContent = `Page ${audit.back.length + 1}`;
  setPanel(panel, 'ready', table([
    { label: 'When', value: (r) => time(r.at) },
    { label: 'Actor', value: (r) => `${r.actor.id} (${r.actor.type}${r.actor.role ? ', ' + r.actor.role : ''})` },
    { label: 'Action', value: (r) => r.action },
    { label: 'Target', wrap: true, value: (r) => r.target || '—' },
    { label: 'Outcome', value: (r) => stateBadge(r.outcome) },
    { label: 'IP', value: (r) => r.ip || '—' },
    { label: 'Correlation id', value: (r) => r.correlation_id || '—' },
  ], s.entries, { caption: 'Audit entries, newest first', empty: 'No entry matches the filter.' }));
}

// Revoked tokens, single revocation and revoke-all.
async function loadRevoked(panel) {
  const s = await api('/api/admin/revoked-tokens?limit=100');
  setPanel(panel, 'ready',
    facts([
      ['Token generation', num(s.token_generation)],
      ['Every token revoked before', time(s.generation_revoked_at)],
    ]),
    table([
      { label: 'Token id', value: (r) => r.token_id },
      { label: 'Kind', value: (r) => r.kind.replaceAll('_', ' ') },
      { label: 'Revoked', value: (r) => time(r.revoked_at) },
      { label: 'By', value: (r) => r.revoked_by || '—' },
      { label: 'Reason', wrap: true, value: (r) => r.reason || '—' },
      { label: 'Expires', value: (r) => time(r.expires_at) },
    ], s.revoked, { caption: 'Revoked tokens that have not expired', empty: 'No revoked token is pending expiry.' }));
}

async function revokeToken(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const id = $('#revoke-id').value.trim();
  if (!id) {
    toast('Enter a token id (tok_…) or an API key id (key_…).', true);
    $('#revoke-id').focus();
    return;
  }
  const res = await busy(form, () => post('/api/admin/revoke-token', { token_id: id, reason: $('#revoke-reason').value },
    (r) => `Revoked ${r.token_id} (${r.kind.replaceAll('_', ' ')}${r.known ? '' : ', not issued by this server'}).`));
  if (res) form.reset();
  await load('revoked');
}

async function revokeAll(ev) {
  ev.preventDefault();
  const keys = $('#revoke-all-keys').checked;
  const ok = await confirmAction('Revoke every token?',
    'Every access and refresh token issued until now stops working, yours included: you will be signed out.' +
    (keys ? ' Every API key is revoked too.' : ''), 'Revoke all');
  if (!ok) return;
  const res = await busy(ev.currentTarget, () => post('/api/admin/revoke-all-tokens', { reason: $('#revoke-all-reason').value, api_keys: keys },
    (r) => `Token generation is now ${r.token_generation}; ${r.api_keys_revoked} API keys revoked.`));
  if (res) {
    clearSession();
    location.assign('/login?reason=revoked');
  }
}

// Nomic loop (optional API).
let nomicState = null;

async function loadNomic(panel) {
  const s = await optional('/api/admin/nomic/status');
  $('#nomic-controls').hidden = !s;
  if (!s) {
    notEnabled(panel, 'the nomic loop API is not available.');
    return;
  }
  nomicState = s.state;
  const loop = s.loop || {};
  const cycle = s.cycle || {};
  const cb = s.circuit_breakers || {};
  $('#nomic-pause').querySelector('[type=submit]').disabled = s.state !== 'running';
  $('#nomic-resume').querySelector('[type=submit]').disabled = s.state !== 'paused';
  setPanel(panel, 'ready',
    facts([
      ['State', stateBadge(s.state)],
      ['Phase', s.phase || '—'],
      ['Cycle', cycle.id ? `${cycle.id} (${cycle.number} of ${cycle.target_cycles})` : '—'],
      ['Loop', loop.pid ? `pid ${loop.pid} on ${loop.host}, ${loop.path}${loop.auto ? ', auto' : ''}` : 'not running'],
      ['Heartbeat', time(loop.heartbeat_at)],
      ['Last transition', time(s.last_transition_at)],
      ['Paused', s.paused ? `by ${s.paused.by} at ${s.paused.at}: ${s.paused.reason || 'no reason'}` : 'no'],
      ['Loop breakers', `${(cb.open || []).length} open of ${num(cb.total)}${(cb.open || []).length ? ': ' + cb.open.join(', ') : ''}`],
      ['Pending commands', num((s.pending_commands || []).length)],
      ['Last checkpoint', s.last_checkpoint ? `${s.last_checkpoint.phase} at ${s.last_checkpoint.at}` : '—'],
    ]),
    table([
      { label: 'When', value: (r) => time(r.at) },
      { label: 'Phase', value: (r) => r.phase },
      { label: 'Type', value: (r) => r.type },
      { label: 'Message', wrap: true, value: (r) => r.message },
    ], s.errors, { caption: 'Loop errors', empty: 'No error recorded.' }));
}

function nomicResult(r) {
  if (r && r.command_id) return `Command ${r.command_id} is queued; the loop applies it at its next check.`;
  if (r && r.new_phase) return `Reset from ${r.previous_phase} to ${r.new_phase} (${r.applied}).`;
  return `Done: the loop is ${(r && r.state) || nomicState}.`;
}

async function nomicCommand(ev, path, body) {
  ev.preventDefault();
  await busy(ev.currentTarget, () => post(path, body, nomicResult));
  await load('nomic');
}

// Webhooks (optional API).
async function loadWebhooks(panel) {
  const [s, q] = await Promise.all([optional('/api/webhooks/status'), optional('/api/webhooks/queue')]);
  $('#webhooks-controls').hidden = !s;
  if (!s) {
    notEnabled(panel, 'the webhook API is not available.');
    return;
  }
  const queue = q || s.queue || {};
  const worker = s.worker || {};
  setPanel(panel, 'ready',
    facts([
      ['Delivery', s.enabled ? 'enabled' : 'no endpoint configured'],
      ['Worker', `${worker.running ? 'running' : 'stopped'}, ${num(worker.in_flight)} in flight`],
      ['Queue', `${num(queue.size)} pending of ${num(queue.capacity)}`],
      ['Oldest pending', queue.oldest_age_seconds === null || queue.oldest_age_seconds === undefined ? '—' : duration(queue.oldest_age_seconds)],
      ['Dead letter', num(queue.dead_letter)],
      ['Overflowed', num(queue.overflowed_total)],
      ['Next attempt', time(queue.next_attempt_at)],
    ]),
    table([
      { label: 'Endpoint', value: (r) => r.id },
      { label: 'URL', wrap: true, value: (r) => r.url || 'hidden' },
      { label: 'Events', value: (r) => (r.events || []).join(', ') },
      { label: 'State', value: (r) => stateBadge(r.state) },
      { label: 'Failures', num: true, value: (r) => num(r.consecutive_failures) },
      { label: 'Last success', value: (r) => time(r.last_success_at) },
      { label: 'Last failure', wrap: true, value: (r) => (r.last_failure_at ? `${r.last_status_code || ''} ${r.last_error || ''}`.trim() : '—') },
      { label: 'Delivered · failed', num: true, value: (r) => `${num(r.delivered_total)} · ${num(r.failed_total)}` },
    ], s.endpoints, { caption: 'Endpoints', empty: 'No webhook endpoint is configured.', rowHeader: true }));
}

async function retryWebhooks(ev) {
  await busy(ev.currentTarget, () => post('/api/webhooks/retry-failed', {}, (r) => `Requeued ${r.requeued} deliveries; skipped ${r.skipped}.`));
  await load('webhooks');
}

const loaders = {
  health: loadHealth, ws: loadWS, agents: loadAgents, ratelimits: loadRateLimits, errors: loadErrors, audit: loadAudit,
  revoked: loadRevoked, nomic: loadNomic, webhooks: loadWebhooks,
};

async function load(name) {
  const panel = document.getElementById('panel-' + name);
  panel.setAttribute('aria-busy', 'true');
  try {
    await loaders[name](panel);
  } catch (err) {
    panelError(panel, err);
  }
}

function forbidden(m) {
  $('#forbidden').hidden = false;
  $('#forbidden-user').textContent = m.user.email || m.user.id;
  $('#forbidden-role').textContent = m.user.role;
  document.title = '403 Forbidden · Aragora';
  document.body.dataset.forbidden = 'true';
  $('#forbidden h1').setAttribute('tabindex', '-1');
  $('#forbidden h1').focus();
}

async function init() {
  const m = await initChrome();
  if (!atLeast(m.user.role, 'admin')) {
    forbidden(m);
    return;
  }
  $('#admin').hidden = false;
  for (const b of $$('[data-refresh]')) b.addEventListener('click', () => load(b.dataset.refresh));
  $('#refresh-all').addEventListener('click', () => Object.keys(loaders).forEach(load));
  $('#emergency-toggle').addEventListener('click', toggleEmergency);
  $('#errors-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    load('errors');
  });
  $('#audit-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(audit, { cursor: null, next: null, back: [] });
    load('audit');
  });
  $('#audit-older').addEventListener('click', () => {
    audit.back.push(audit.cursor);
    audit.cursor = audit.next;
    load('audit');
  });
  $('#audit-newer').addEventListener('click', () => {
    audit.cursor = audit.back.pop() || null;
    load('audit');
  });
  $('#revoke-form').addEventListener('submit', revokeToken);
  $('#revoke-all-form').addEventListener('submit', revokeAll);
  $('#nomic-pause').addEventListener('submit', (ev) => nomicCommand(ev, '/api/admin/nomic/pause', { reason: $('#nomic-pause-reason').value }));
  $('#nomic-resume').addEventListener('submit', (ev) => {
    const phase = $('#nomic-resume-phase').value;
    nomicCommand(ev, '/api/admin/nomic/resume', phase ? { target_phase: phase } : {});
  });
  $('#nomic-reset').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const phase = $('#nomic-reset-phase').value;
    if (!(await confirmAction(`Reset the nomic loop to ${phase}?`,
      'A running loop aborts its current phase (restoring the workspace from the cycle backup from implement on).', 'Reset'))) return;
    await busy(ev.currentTarget, () => post('/api/admin/nomic/reset',
      { target_phase: phase, clear_errors: $('#nomic-reset-clear').checked, reason: $('#nomic-reset-reason').value }, nomicResult));
    await load('nomic');
  });
  $('#webhooks-retry').addEventListener('click', retryWebhooks);
  let timer = null;
  $('#auto-refresh').addEventListener('change', (ev) => {
    clearInterval(timer);
    if (ev.currentTarget.checked) {
      timer = setInterval(() => {
        if (!document.hidden) ['health', 'agents', 'ws'].forEach(load);
      }, 30000);
    }
  });
  Object.keys(loaders).forEach(load);
}

init().catch((err) => toast(errorText(err), true));
