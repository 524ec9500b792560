// viewer.js: the live debate viewer (/debates/{id}). It follows the
// debate over the WebSocket (stream.js) and shows each event as it
// happens: proposals, critiques with their severity, votes, consensus
// progress and the verdict; then it offers the receipt in three formats.

import { accessToken, api, APIError, atLeast, renew, request } from './api.js';
import { DebateStream } from './stream.js';
import { $, $$, badge, busy, confirmAction, duration, el, errorText, facts, initChrome, num, pct, stateBadge, time, toast, usd } from './ui.js';

const id = decodeURIComponent(location.pathname.slice('/debates/'.length));
const feed = $('#feed');
const rounds = new Map(); // round number -> its section
let debate = null;
let receiptID = null;

function roundBox(n) {
  if (n === 0) return feed;
  let box = rounds.get(n);
  if (!box) {
    box = el('section', { class: 'round', 'aria-label': `Round ${n}`, 'data-round': String(n) }, el('h3', {}, `Round ${n}`));
    rounds.set(n, box);
    feed.append(box);
  }
  return box;
}

function head(e, ...parts) {
  return el('div', { class: 'event-head' }, ...parts, time(e.ts));
}

function list(items) {
  if (!items || !items.length) return null;
  return el('ul', {}, items.map((i) => el('li', {}, i)));
}

function severityBadge(s) {
  const v = Number(s || 0);
  const kind = v >= 7 ? 'bad' : v >= 4 ? 'warn' : 'ok';
  return badge(`severity ${Math.round(v * 10) / 10} / 10`, kind);
}

// render returns the content of the feed entry of one event; some events
// also update the progress and verdict panels.
function render(e) {
  const d = e.data || {};
  switch (e.type) {
    case 'debate_start':
      return [head(e, el('strong', {}, 'Debate started')),
        el('p', {}, `${d.agents.join(', ')} · ${d.rounds} rounds · consensus ${d.consensus.method}` +
          (d.consensus.threshold ? ` at ${pct(d.consensus.threshold)}` : '') + ` · ${d.topology}`)];
    case 'round_start':
      return [head(e, `Round ${d.round} started`)];
    case 'proposal':
      return [head(e, el('span', { class: 'who-agent' }, e.agent), d.revised ? 'revises' : 'proposes',
        d.evidence ? badge(`evidence ${pct(d.evidence.overall)}`, 'info') : null),
      el('p', { class: 'content' }, d.content),
      el('p', { class: 'muted small' }, `${num(d.tokens && d.tokens.output)} tokens · ${num(d.latency_ms)} ms · ${usd(d.cost_usd)}`)];
    case 'critique':
      return [head(e, el('span', { class: 'who-agent' }, e.agent), 'critiques', el('strong', {}, d.target), severityBadge(d.severity)),
        d.issues && d.issues.length ? el('p', { class: 'small' }, 'Issues:') : null, list(d.issues),
        d.suggestions && d.suggestions.length ? el('p', { class: 'small' }, 'Suggestions:') : null, list(d.suggestions)];
    case 'vote':
      return [head(e, el('span', { class: 'who-agent' }, e.agent), 'votes for', el('strong', {}, d.resolved || d.choice || '—'),
        badge(`confidence ${pct(d.confidence)}`, 'info'), d.valid === false ? badge('invalid: ' + (d.invalid_reason || ''), 'bad') : null),
      d.reasoning ? el('p', { class: 'content small' }, d.reasoning) : null];
    case 'consensus_check':
      progress(d, e.round);
      return [head(e, el('strong', {}, 'Consensus check'), d.reached ? badge('reached', 'ok') : badge('not reached', 'warn')),
        el('p', {}, `${d.leader || 'no leader'} leads with ${pct(d.leader_share)}` + (d.threshold ? ` (threshold ${pct(d.threshold)})` : '') +
          ` · confidence ${pct(d.confidence)}`)];
    case 'convergence_detected':
      return [head(e, el('strong', {}, 'Proposals converge'), d.stop ? badge('stopping', 'info') : null),
        el('p', { class: 'small' }, `similarity ${pct(d.cross)}${d.stability === null ? '' : `, stability ${pct(d.stability)}`}`)];
    case 'trickster_intervention':
      return [head(e, el('strong', {}, 'Trickster challenges hollow agreement'), severityBadge(d.severity * 10)),
        el('p', { class: 'content' }, d.challenge)];
    case 'agent_error':
      return [head(e, el('span', { class: 'who-agent' }, e.agent), badge(d.kind.replaceAll('_', ' '), 'bad'), `in ${d.phase}`),
        el('p', { class: 'small' }, d.message + (d.recoverable ? ' (rescued by a fallback)' : ' (the agent sits out this phase)'))];
    case 'agent_fallback':
      return [head(e, el('span', { class: 'who-agent' }, e.agent), `falls back to ${d.to.provider} ${d.to.model}`)];
    case 'round_end':
      return [head(e, `Round ${d.round} ended`, d.consensus_reached ? badge('consensus', 'ok') : null, d.interrupted ? badge('interrupted', 'warn') : null),
        el('p', { class: 'muted small' }, `${num(d.tokens && d.tokens.input + d.tokens.output)} tokens · ${usd(d.cost_usd)}`)];
    case 'debate_end':
      verdict(d);
      refreshHeader();
      return [head(e, el('strong', {}, 'Debate ended'), stateBadge(d.status), d.verdict ? stateBadge(d.verdict) : null)];
    default:
      return [head(e, e.type.replaceAll('_', ' '), e.agent ? el('span', { class: 'who-agent' }, e.agent) : null)];
  }
}

const minor = new Set(['round_start', 'round_end', 'agent_fallback', 'convergence_detected']);

function onEvent(e) {
  const content = render(e);
  const entry = el('div', { class: `event ${e.type}${minor.has(e.type) ? ' minor' : ''}`, 'data-seq': String(e.seq), 'data-type': e.type }, content);
  roundBox(e.type === 'debate_end' || e.type === 'debate_start' ? 0 : e.round).append(entry);
}

function onReset(info) {
  // The stored history changed (restored backup, purge): start over.
  feed.replaceChildren();
  rounds.clear();
  toast(`The debate's history was reset (${info.reason.replaceAll('_', ' ')}); reloading it.`);
}

// progress shows the latest consensus check.
function progress(d, round) {
  const share = Number(d.leader_share || 0);
  const body = $('#progress-body');
  const meter = el('meter', {
    id: 'consensus-meter', min: '0', max: '1', value: String(share), optimum: '1',
    low: d.threshold ? String(d.threshold) : null, 'aria-label': 'Leader share of the votes',
  });
  body.replaceChildren(
    el('p', {}, `Round ${round}: `, el('strong', {}, d.leader || 'no leader'), ` has ${pct(share)} of the weight`,
      d.threshold ? ` (needs ${pct(d.threshold)})` : '', ' ', d.reached ? badge('consensus reached', 'ok') : badge('not yet', 'warn')),
    meter,
    d.tally && d.tally.length ? el('p', { class: 'small muted' }, 'Tally: ' +
      d.tally.map((t) => `${t.canonical} ${Math.round(t.weight * 100) / 100} (${(t.members || []).join(', ')})`).join(' · ')) : null);
}

function verdict(d) {
  $('#verdict').hidden = false;
  $('#verdict-body').replaceChildren(
    facts([
      ['Status', stateBadge(d.status)],
      ['Verdict', d.verdict ? stateBadge(d.verdict) : '—'],
      ['Confidence', pct(d.confidence)],
      ['Winner', d.winner || '—'],
      ['Why it stopped', d.stop_reason ? d.stop_reason.replaceAll('_', ' ') : '—'],
      ['Rounds used', num(d.rounds_used)],
      ['Duration', duration(d.duration_seconds)],
      ['Tokens · cost', `${num(d.tokens && d.tokens.input + d.tokens.output)} · ${usd(d.cost_usd)}`],
      ['Receipt', d.receipt_id || '—'],
    ]),
    d.final_answer ? el('h3', {}, 'Final answer') : null,
    d.final_answer ? el('p', { class: 'content' }, d.final_answer) : null);
  receiptID = d.receipt_id;
  for (const b of $$('[data-receipt]')) b.disabled = false;
  $('#receipt-note').textContent = d.receipt_id ? `Receipt ${d.receipt_id} is ready.` : 'The receipt is ready.';
  $('#cancel').hidden = true;
}

const streamText = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Connection lost; reconnecting…',
  finished: 'Finished',
  missing: 'No such debate',
  error: 'Stream error',
};

function onState(state, info) {
  const s = $('#stream-status');
  s.dataset.state = state;
  if (info && info.reconnects !== undefined) s.dataset.reconnects = String(info.reconnects);
  let text = streamText[state] || state;
  if (state === 'reconnecting') text = `Connection lost (code ${info.code}); reconnecting in ${Math.ceil(info.delay / 100) / 10} s…`;
  if (state === 'error') text = `Stream error: ${info.message}`;
  s.textContent = text;
  if (state === 'missing') missing();
}

function missing() {
  $('#debate').hidden = true;
  $('#missing').hidden = false;
  document.title = 'Debate not found · Aragora';
}

const receiptFormats = {
  json: { ext: 'json', type: 'application/json' },
  markdown: { ext: 'md', type: 'text/markdown' },
  html: { ext: 'html', type: 'text/html' },
};

// download fetches the receipt with the session's token and saves it.
async function download(btn, format) {
  await busy(btn, async () => {
    try {
      const res = await request(`/api/debates/${encodeURIComponent(id)}/receipt?format=${format}`);
      if (!res.ok) throw new APIError(res.status, await res.json().catch(() => null));
      const blob = await res.blob();
      const f = receiptFormats[format];
      const url = URL.createObjectURL(new Blob([blob], { type: f.type }));
      const a = el('a', { href: url, download: `${receiptID || id}.${f.ext}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      toast(`Receipt downloaded as ${format === 'json' ? 'JSON' : format === 'html' ? 'HTML' : 'Markdown'}.`);
    } catch (err) {
      toast(errorText(err), true);
    }
  });
}

function header(d) {
  $('#topic').textContent = d.topic;
  document.title = `${d.topic.slice(0, 60)} · Aragora`;
  $('#debate-facts').replaceWith(Object.assign(facts([
    ['Status', stateBadge(d.status)],
    ['Agents', d.agents.join(', ')],
    ['Rounds', `${d.rounds} (at least ${d.min_rounds})`],
    ['Consensus', `${d.consensus.method}${d.consensus.threshold ? ' at ' + pct(d.consensus.threshold) : ''}`],
    ['Started', time(d.created_at)],
    ['Owner', d.owner],
    ['Id', el('code', {}, d.id)],
  ]), { id: 'debate-facts' }));
}

// refreshHeader reloads the debate object once it has finished.
async function refreshHeader() {
  try {
    header(await api(`/api/debates/${encodeURIComponent(id)}`));
  } catch {
    // The header keeps what it showed.
  }
}

async function init() {
  const m = await initChrome();
  try {
    debate = await api(`/api/debates/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status === 404) {
      missing();
      return;
    }
    throw err;
  }
  $('#debate').hidden = false;
  header(debate);
  const cancel = $('#cancel');
  const live = debate.status === 'pending' || debate.status === 'running';
  cancel.hidden = !(live && (debate.owner === m.user.id || atLeast(m.user.role, 'admin')));
  cancel.addEventListener('click', async () => {
    if (!(await confirmAction('Cancel this debate?', 'The agents stop and the debate ends as cancelled.', 'Cancel debate'))) return;
    await busy(cancel, async () => {
      try {
        await api(`/api/debates/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: { reason: 'cancelled from the console' } });
        toast('Debate cancelled.');
      } catch (err) {
        toast(errorText(err), true);
      }
    });
  });
  for (const b of $$('[data-receipt]')) b.addEventListener('click', () => download(b, b.dataset.receipt));
  const stream = new DebateStream(id, {
    token: accessToken,
    renew,
    events: (after) => api(`/api/debates/${encodeURIComponent(id)}/events?after_seq=${after}&limit=1000`),
    onEvent,
    onReset,
    onState,
  });
  window.aragoraStream = stream; // for people and tests looking at the console
  stream.start();
}

init().catch((err) => toast(errorText(err), true));
