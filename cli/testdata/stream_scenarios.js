// stream_scenarios.js: evaluated in a console page by
// TestE2EConsoleStreamResume. It drives the viewer's DebateStream
// (/console/js/stream.js) with a fake WebSocket, a fake event log and a
// fake timer, and returns what each scenario observed.
(async () => {
  const { DebateStream } = await import('/console/js/stream.js');

  // A fake WebSocket: the scenario pushes frames and closes it.
  class FakeSocket {
    static all = [];
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.closed = null;
      FakeSocket.all.push(this);
    }
    frame(msg) {
      this.onmessage({ data: JSON.stringify(msg) });
    }
    drop(code) {
      this.onclose({ code, reason: '' });
    }
    close(code, reason) {
      this.closed = { code, reason };
      this.onclose({ code, reason });
    }
  }

  const settle = () => new Promise((r) => setTimeout(r, 20));
  const ev = (seq, type = 'proposal') => ({ seq, type, epoch: 'e1', debate_id: 'deb_x', round: 1, agent: 'a', data: {} });

  function harness(events) {
    FakeSocket.all = [];
    const h = { seen: [], states: [], resets: 0, timers: [], renewed: 0, fetched: [] };
    h.stream = new DebateStream('deb_x', {
      WebSocket: FakeSocket,
      random: () => 0.5,
      setTimeout: (fn, ms) => h.timers.push({ fn, ms }),
      token: async () => 'tok',
      renew: async () => {
        h.renewed++;
      },
      events: async (after) => {
        h.fetched.push(after);
        return { events: events.filter((e) => e.seq > after), has_more: false };
      },
      onEvent: (e) => h.seen.push(e.seq),
      onReset: () => h.resets++,
      onState: (s, info) => h.states.push(s + (info && info.code ? ':' + info.code : '')),
    });
    h.sock = () => FakeSocket.all[FakeSocket.all.length - 1];
    h.fire = async () => {
      const t = h.timers.shift();
      t.fn();
      await settle();
      return t.ms;
    };
    return h;
  }

  const out = {};

  // Duplicates are dropped; the subprotocols carry the token.
  {
    const h = harness([]);
    h.stream.start();
    await settle();
    const s = h.sock();
    s.frame({ type: 'hello', authenticated: true });
    s.frame({ type: 'subscribed', epoch: 'e1', last_seq: 3, status: 'running' });
    for (const seq of [1, 2, 2, 3, 1]) s.frame(ev(seq));
    s.frame({ type: 'agent_token', seq: 0, data: {} });
    await settle();
    out.duplicates = { seen: h.seen, dropped: h.stream.duplicates, url: s.url, protocols: s.protocols };
  }

  // A gap is filled from the event log before the later event.
  {
    const log = [1, 2, 3, 4, 5].map((n) => ev(n));
    const h = harness(log);
    h.stream.start();
    await settle();
    const s = h.sock();
    s.frame(ev(1));
    s.frame(ev(4));
    s.frame(ev(5));
    await settle();
    out.gap = { seen: h.seen, fetched: h.fetched, filled: h.stream.gapsFilled };
  }

  // A 1012 close reconnects within 2 s from the last seq and epoch; a
  // network failure backs off exponentially; debate_end ends it all.
  {
    const h = harness([]);
    h.stream.start();
    await settle();
    let s = h.sock();
    s.frame({ type: 'subscribed', epoch: 'e1', last_seq: 0, status: 'running' });
    s.frame(ev(1));
    s.frame(ev(2));
    await settle();
    s.drop(1012);
    await settle();
    const restartDelay = await h.fire();
    s = h.sock();
    const resumeURL = s.url;
    const delays = [];
    for (let i = 0; i < 8; i++) {
      s.drop(1006);
      await settle();
      delays.push(await h.fire());
      s = h.sock();
    }
    s.frame({ type: 'subscribed', epoch: 'e1', last_seq: 2, status: 'running' });
    s.frame(ev(2));
    s.frame(ev(3, 'debate_end'));
    await settle();
    out.reconnect = {
      restartDelay, resumeURL, delays, seen: h.seen, finished: h.stream.finished, closed: s.closed,
      pendingTimers: h.timers.length, reconnects: h.stream.reconnects, lastState: h.states[h.states.length - 1],
    };
  }

  // reset: start over from seq 0 with the new epoch.
  {
    const h = harness([]);
    h.stream.start();
    await settle();
    let s = h.sock();
    s.frame(ev(1));
    s.frame(ev(2));
    s.frame({ type: 'reset', epoch: 'e2', last_seq: 7, reason: 'epoch_changed' });
    await settle();
    await h.fire();
    s = h.sock();
    out.reset = { resets: h.resets, url: s.url };
  }

  // Not authenticated: renew the token before the next connection; an
  // unknown debate stops the stream.
  {
    const h = harness([]);
    h.stream.start();
    await settle();
    h.sock().frame({ type: 'hello', authenticated: false });
    await settle();
    await h.fire();
    h.sock().frame({ type: 'error', code: 'not_found', message: 'no such debate', debate_id: 'deb_x' });
    await settle();
    out.auth = { renewed: h.renewed, sockets: FakeSocket.all.length, stopped: h.stream.stopped, timers: h.timers.length, states: h.states };
  }
  return out;
})()
