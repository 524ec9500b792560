package server

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
)

// WSObserver receives WebSocket metrics events; cmd feeds Prometheus with it.
type WSObserver interface {
	Connections(n int)
	ConnectionError(reason string)
	MessageSent()
	DroppedClient()
}

// hub fans debate events out to WebSocket subscriptions. It is safe for
// concurrent use; publishing never blocks.
type hub struct {
	s    *Server
	mu   sync.Mutex
	subs map[string]map[*subscription]struct{}
	// order lists each debate's subscriptions (subscription.pos is the
	// index): every fan-out pass serves them in this order, so that an
	// event waits at most about one pass (fanRun).
	order map[string][]*subscription
	conns map[*wsConn]struct{}
	perIP map[string]int
	byL   map[string]int

	sent, dropped, connErrors atomic.Int64
	fanRuns                   atomic.Uint64 // ids of fanRun
	lastReload                *time.Time

	// pmu guards pending: per debate, the live events published and not
	// yet queued on the subscribers, while a fan-out goroutine runs; and
	// settling: the last seq of a debate that ended during its fan-out,
	// settled once the fan-out is done.
	pmu      sync.Mutex
	pending  map[string][]pubEvent
	settling map[string]int64
}

// pubEvent is a live event waiting for its fan-out: its seq and frame.
type pubEvent struct {
	seq int64
	f   []byte
}

func newHub(s *Server) *hub {
	return &hub{s: s, subs: map[string]map[*subscription]struct{}{}, order: map[string][]*subscription{}, conns: map[*wsConn]struct{}{},
		perIP: map[string]int{}, byL: map[string]int{}, pending: map[string][]pubEvent{}, settling: map[string]int64{}}
}

// publish queues a debate event (wire JSON with epoch), framed once and
// shared by every subscriber, on each subscribed connection; a full queue
// closes that connection with 1013. It never blocks and returns at once:
// a fan-out goroutine per debate (while it has events to fan out) hands
// the events to the subscribers, all the events published meanwhile
// together, so that a subscriber gets a burst of events in one system
// call, and the more so the busier the server is.
func (h *hub) publish(debateID string, seq int64, b []byte) {
	h.mu.Lock()
	n := len(h.subs[debateID])
	h.mu.Unlock()
	if n == 0 {
		return // a subscriber attached later reads the event from the store
	}
	e := pubEvent{seq: seq, f: wsFrame(b)}
	h.pmu.Lock()
	evs, running := h.pending[debateID]
	h.pending[debateID] = append(evs, e)
	h.pmu.Unlock()
	if !running {
		go h.fanOut(debateID)
	}
}

const (
	// fanChunk is how many subscribers one goroutine of a fan-out serves.
	fanChunk = 1024
	// fanTake is how many subscribers a fan-out goroutine serves between
	// two looks at the events published meanwhile.
	fanTake = 64
)

// fanRun is one run of a debate's fan-out goroutine. Its log holds the
// events taken from pending that some subscription may still lack, the
// first one having index base; each subscription records the index of
// the next event it is to be handed (subscription.fanNext, of run
// fanID). A pass serves every subscription of the debate, always in the
// same order (hub.order), and takes the events published during the pass
// along: the subscriptions served after that get them in the same write,
// the ones before in the next pass, by the time the pass reaches them
// again.
type fanRun struct {
	h        *hub
	debateID string
	id       uint64
	base     int64                      // changed between passes only
	log      atomic.Pointer[[]pubEvent] // grown by take; elements never change
}

// fanOut hands debateID's pending events to its subscribers, pass after
// pass, until every subscription has all and none is pending.
func (h *hub) fanOut(debateID string) {
	r := &fanRun{h: h, debateID: debateID, id: h.fanRuns.Add(1)}
	r.log.Store(&[]pubEvent{})
	for {
		r.take()
		l := *r.log.Load()
		if len(l) == 0 {
			h.pmu.Lock()
			if len(h.pending[debateID]) > 0 {
				h.pmu.Unlock()
				continue
			}
			delete(h.pending, debateID)
			last, ended := h.settling[debateID]
			delete(h.settling, debateID)
			h.pmu.Unlock()
			if ended {
				h.settle(debateID, last)
			}
			return
		}
		h.mu.Lock()
		subs := append([]*subscription(nil), h.order[debateID]...)
		h.mu.Unlock()
		// A subscription attached meanwhile gets what the log still holds
		// and reads the rest from the store (its replay, or the gap
		// before its next live event).
		r.pass(subs)
		// Every subscription of the pass has l: drop it.
		rest := (*r.log.Load())[len(l):]
		r.base += int64(len(l))
		r.log.Store(&rest)
	}
}

// take moves the events published since the last take to the log.
func (r *fanRun) take() {
	r.h.pmu.Lock()
	defer r.h.pmu.Unlock()
	evs := r.h.pending[r.debateID]
	if len(evs) == 0 {
		return
	}
	r.h.pending[r.debateID] = evs[:0:0]
	l := append(*r.log.Load(), evs...) // beyond what any reader reads
	r.log.Store(&l)
}

// pass serves subs in up to GOMAXPROCS goroutines of fanChunk
// subscriptions or more, and returns when all are served.
func (r *fanRun) pass(subs []*subscription) {
	parts := max(min(runtime.GOMAXPROCS(0), len(subs)/fanChunk), 1)
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Go(func() { r.serveEvery(subs, p, parts) })
	}
	r.serveEvery(subs, 0, parts)
	wg.Wait()
}

// serveEvery serves subs[first], subs[first+step], …, taking the events
// published meanwhile every fanTake subscriptions.
func (r *fanRun) serveEvery(subs []*subscription, first, step int) {
	for n, i := 0, first; i < len(subs); n, i = n+1, i+step {
		if n%fanTake == fanTake-1 {
			r.take()
		}
		sub := subs[i]
		l := *r.log.Load()
		if sub.fanID != r.id {
			sub.fanID, sub.fanNext = r.id, 0
		}
		if from := max(sub.fanNext-r.base, 0); from < int64(len(l)) {
			sub.conn.pushEvents(sub, l[from:])
			sub.fanNext = r.base + int64(len(l))
		}
	}
}

// settle tells every subscription of debateID that its stored event log is
// final (lastSeq events), so each sends what it missed: the engine's
// observer may have dropped the tail of a busy debate's live events. The
// missing tail is read from the store once and queued, encoded once, on
// every subscription that lacks it (deliver skips what it already sent);
// if that read fails, each subscription reads the store itself. While a
// fan-out of the debate runs, settle waits for its end: a subscription
// lacks only what the fan-out did not hand to its connection.
func (h *hub) settle(debateID string, lastSeq int64) {
	h.pmu.Lock()
	if _, running := h.pending[debateID]; running {
		h.settling[debateID] = max(h.settling[debateID], lastSeq)
		h.pmu.Unlock()
		return
	}
	h.pmu.Unlock()
	h.mu.Lock()
	after := int64(-1)
	for sub := range h.subs[debateID] {
		if l := max(sub.lastSeq.Load(), sub.handed.Load()); l < lastSeq && (after < 0 || l < after) {
			after = l
		}
	}
	h.mu.Unlock()
	if after < 0 {
		return // every subscription has sent the last event
	}
	go h.sendTail(debateID, after, lastSeq)
}

func (h *hub) sendTail(debateID string, after, lastSeq int64) {
	var evs []store.Event
	er, ok := h.s.events()
	if ok {
		ctx, cancel := context.WithTimeout(context.Background(), wsWriteTimeout)
		var err error
		evs, err = er.ListEvents(ctx, debateID, after, 0)
		cancel()
		ok = err == nil && len(evs) > 0 && evs[len(evs)-1].Seq >= lastSeq
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok {
		for sub := range h.subs[debateID] {
			sub.queueReplay(lastSeq)
		}
		return
	}
	ep := lifecycle.StreamEpoch(debateID)
	frames := make([][]byte, len(evs))
	for i, e := range evs {
		frames[i] = wsFrame(withEpoch(e.JSON, ep))
	}
	for sub := range h.subs[debateID] {
		last := max(sub.lastSeq.Load(), sub.handed.Load())
		for i, e := range evs {
			if e.Seq > last && !sub.conn.enqueue(outFrame{op: opEvent, sub: sub, seq: e.Seq, b: frames[i]}) {
				break
			}
		}
	}
}

func (h *hub) attach(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[sub.debateID]
	if m == nil {
		m = map[*subscription]struct{}{}
		h.subs[sub.debateID] = m
	}
	if _, ok := m[sub]; ok {
		return
	}
	m[sub] = struct{}{}
	sub.pos = len(h.order[sub.debateID])
	h.order[sub.debateID] = append(h.order[sub.debateID], sub)
}

func (h *hub) detach(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[sub.debateID]
	if _, ok := m[sub]; !ok {
		return
	}
	delete(m, sub)
	o := h.order[sub.debateID]
	last := o[len(o)-1]
	o[sub.pos], last.pos = last, sub.pos
	o[len(o)-1] = nil
	h.order[sub.debateID] = o[:len(o)-1]
	if len(m) == 0 {
		delete(h.subs, sub.debateID)
		delete(h.order, sub.debateID)
	}
}

// admit registers c unless a cap is reached; it returns "" or the reason.
func (h *hub) admit(c *wsConn) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conns) >= h.s.cfg.WSMaxConnections {
		return "capacity"
	}
	if h.perIP[c.ip] >= h.s.cfg.WSMaxPerIP {
		return "per_ip_cap"
	}
	h.conns[c] = struct{}{}
	h.perIP[c.ip]++
	h.byL[c.listener]++
	if o := h.s.cfg.WSObserver; o != nil {
		o.Connections(len(h.conns))
	}
	return ""
}

func (h *hub) remove(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.perIP[c.ip]--
	if h.perIP[c.ip] <= 0 {
		delete(h.perIP, c.ip)
	}
	h.byL[c.listener]--
	if o := h.s.cfg.WSObserver; o != nil {
		o.Connections(len(h.conns))
	}
}

func (h *hub) connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *hub) snapshot() []*wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

// control sends a control-stream message (no seq, never replayed) to every
// connection that opened the control stream.
func (h *hub) control(typ, debateID string, data any) {
	m := map[string]any{"type": typ, "ts": ts(h.s.now()), "data": data}
	if debateID != "" {
		m["debate_id"] = debateID
	}
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	for _, c := range h.snapshot() {
		if c.controlStream {
			c.send(b)
		}
	}
}

func (h *hub) connError(reason string) {
	h.connErrors.Add(1)
	if o := h.s.cfg.WSObserver; o != nil {
		o.ConnectionError(reason)
	}
}

// Control sends a control-stream event (docs/websocket.md#messages: debate_created,
// debate_finished, circuit_state_changed) to every connection that opened
// the control stream. debateID may be empty. It never blocks.
func (s *Server) Control(typ, debateID string, data any) { s.hub.control(typ, debateID, data) }

// Counts returns the debates running and queued on this replica (the
// aragora_active_debates and aragora_debates_pending gauges).
func (s *Server) Counts() (active, pending int) { return s.lc.Counts() }

func (s *Server) active() int {
	a, _ := s.lc.Counts()
	return a
}

// CloseAll closes every WebSocket on both listeners with code (1012 on
// SIGUSR1, 1001 at shutdown) and returns how many it closed.
func (s *Server) CloseAll(code int) int {
	conns := s.hub.snapshot()
	reason := "service restart"
	if code == 1001 {
		reason = "going away"
	}
	for _, c := range conns {
		c.close(code, reason)
	}
	if code == 1012 {
		s.wsLog.Info("websocket_reload", "count", len(conns))
		now := s.now()
		s.hub.mu.Lock()
		s.hub.lastReload = &now
		s.hub.mu.Unlock()
	}
	return len(conns)
}
