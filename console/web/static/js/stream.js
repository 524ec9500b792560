// stream.js: follows one debate over the WebSocket (/ws/debates/{id}) and
// hands each durable event to the page exactly once, in seq order, across
// dropped connections (docs/websocket.md, "Resume without gaps or
// duplicates"):
//
//   - it keeps the highest seq delivered and the stream epoch, and
//     reconnects with ?after_seq=<seq>&epoch=<epoch>;
//   - an event at or below that seq is a duplicate and is dropped; an
//     event beyond seq+1 means a gap, filled from
//     GET /api/debates/{id}/events before the event is delivered;
//   - "reset" (the history can no longer be replayed) starts over from
//     seq 0 with the new epoch;
//   - reconnects back off exponentially with full jitter (0.5 s to 30 s),
//     and wait only 0-2 s after close codes 1001 (going away) and 1012
//     (service restart, e.g. SIGUSR1).

const GOING_AWAY = 1001;
const POLICY = 1008;
const RESTART = 1012;

export class DebateStream {
  // opts: token() -> Promise<string>, renew() -> Promise, events(afterSeq)
  // -> Promise<{events, has_more}>, onEvent(e), onReset(info),
  // onState(state, info); WebSocket, random and setTimeout may be
  // replaced in tests.
  constructor(debateID, opts) {
    this.id = debateID;
    this.o = Object.assign({ WebSocket: globalThis.WebSocket, random: Math.random, setTimeout: globalThis.setTimeout.bind(globalThis) }, opts);
    this.lastSeq = 0;
    this.epoch = '';
    this.finished = false;
    this.stopped = false;
    this.attempt = 0;
    this.reconnects = 0;
    this.duplicates = 0;
    this.gapsFilled = 0;
    this.ws = null;
    this.chain = Promise.resolve();
    this.renewFirst = false;
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close(1000, 'done');
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ after_seq: String(this.lastSeq) });
    if (this.epoch) q.set('epoch', this.epoch);
    return `${proto}//${location.host}/ws/debates/${encodeURIComponent(this.id)}?${q}`;
  }

  async connect() {
    if (this.stopped || this.finished) return;
    this.o.onState('connecting', { reconnects: this.reconnects });
    let token;
    try {
      if (this.renewFirst) {
        this.renewFirst = false;
        await this.o.renew();
      }
      token = await this.o.token();
    } catch (err) {
      this.retry(0, String(err && err.message));
      return;
    }
    const ws = new this.o.WebSocket(this.url(), ['aragora.v1', 'bearer.' + token]);
    this.ws = ws;
    ws.onmessage = (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch {
        return;
      }
      this.chain = this.chain.then(() => this.handle(ws, msg)).catch((err) => {
        this.o.onState('error', { message: String(err && err.message) });
        ws.close(4000, 'client error');
      });
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) this.ws = null;
      this.chain = this.chain.then(() => this.retry(ev.code, ev.reason));
    };
  }

  // retry schedules the next connection after a close.
  retry(code, reason) {
    if (this.stopped || this.finished) return;
    let delay;
    if (code === GOING_AWAY || code === RESTART) {
      delay = this.o.random() * 2000;
    } else {
      this.attempt += 1;
      delay = Math.max(500, this.o.random() * Math.min(30000, 500 * 2 ** (this.attempt - 1)));
    }
    if (code === POLICY) this.renewFirst = true;
    this.reconnects += 1;
    this.o.onState('reconnecting', { code, reason, delay, reconnects: this.reconnects });
    this.o.setTimeout(() => this.connect(), delay);
  }

  async handle(ws, msg) {
    if (this.ws !== ws) return; // a stale connection
    switch (msg.type) {
      case 'hello':
        if (!msg.authenticated) {
          this.renewFirst = true;
          ws.close(4001, 'not authenticated');
        }
        return;
      case 'subscribed':
        this.epoch = msg.epoch;
        this.attempt = 0;
        this.o.onState('live', { reconnects: this.reconnects, status: msg.status, lastSeq: msg.last_seq });
        return;
      case 'reset':
        this.o.onReset(msg);
        this.lastSeq = 0;
        this.epoch = msg.epoch;
        ws.close(4002, 'reset');
        return;
      case 'error':
        if (msg.code === 'not_found') {
          this.stopped = true;
          this.o.onState('missing', { message: msg.message });
          ws.close(1000, 'not found');
        } else if (msg.code === 'unauthorized') {
          this.renewFirst = true;
          ws.close(4001, 'unauthorized');
        }
        return;
      case 'heartbeat':
      case 'pong':
      case 'unsubscribed':
        return;
    }
    if (!msg.seq) return; // agent_token: ephemeral, never replayed
    await this.deliver(msg);
    if (msg.type === 'debate_end') {
      this.finished = true;
      this.o.onState('finished', { reconnects: this.reconnects });
      ws.close(1000, 'finished');
    }
  }

  // deliver hands e to the page unless it was already delivered, first
  // filling any gap from the event log.
  async deliver(e) {
    if (e.seq <= this.lastSeq) {
      this.duplicates += 1;
      return;
    }
    if (e.seq > this.lastSeq + 1) await this.fill(e.seq - 1);
    if (e.seq !== this.lastSeq + 1) {
      throw new Error(`seq ${this.lastSeq + 1} to ${e.seq - 1} are missing from the event log`);
    }
    this.lastSeq = e.seq;
    this.o.onEvent(e);
  }

  async fill(upTo) {
    while (this.lastSeq < upTo) {
      const page = await this.o.events(this.lastSeq);
      const evs = (page.events || []).filter((x) => x.seq > this.lastSeq && x.seq <= upTo);
      if (!evs.length) return;
      for (const x of evs) {
        if (x.seq !== this.lastSeq + 1) return;
        this.lastSeq = x.seq;
        this.gapsFilled += 1;
        this.o.onEvent(x);
      }
      if (!page.has_more) return;
    }
  }
}
