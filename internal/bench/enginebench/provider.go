package enginebench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
)

// fakeProvider is the engine scenarios' fake model provider: a demo
// agent's answer after a fixed latency (sleep, 0 for none), the time spent
// computing answers added to *spent (nil: not counted). It is a plain
// agent: not agent.Immediate, and no Critic or Voter method, so the engine
// calls it like a model provider, writes its prompts and parses its
// replies.
//
// Respond waits first, then answers, so that the answer's deep frames are
// not on the call goroutine's stack while it waits; its own frames are
// small and it copies the request once (into answer's call of the demo
// agent).
//
// The scenarios' debates are alike (same agents, seed and question), so
// their answers are the same: answers gives every debate the first copy
// of an answer, so that what the process holds per debate is what the
// engine keeps of it, not the fake's own copies. A provider with a latency
// (sleep > 0) stands for a remote model, whose work is not the engine's:
// it computes the answer to a request once and gives it again to the
// same request (same fields but DebateID, by a 64-bit digest), so that the
// process spends its CPU on the engine's side of the calls. An instant
// one (the engine scenario's serial runs, whose baseline is the demo
// agents' own time) computes every answer.
type fakeProvider struct {
	demo    *demo.Agent
	sleep   time.Duration
	spent   *atomic.Int64
	answers *answers // nil: answers are not shared
}

// answers keeps the first copy of each answer, up to maxAnswers of them,
// and, for a provider with a latency, the answer to each request by its
// digest (as many).
type answers struct {
	mu    sync.Mutex
	m     map[agent.Response]*agent.Response
	byReq map[uint64]*agent.Response
}

// known returns the answer kept for the request of digest key, or nil.
func (t *answers) known(key uint64) *agent.Response {
	t.mu.Lock()
	resp := t.byReq[key]
	t.mu.Unlock()
	return resp
}

// remember keeps resp (shared) as the answer to the request of digest key.
func (t *answers) remember(key uint64, resp *agent.Response) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.byReq) < maxAnswers {
		if t.byReq == nil {
			t.byReq = make(map[uint64]*agent.Response)
		}
		t.byReq[key] = resp
	}
}

// maxAnswers bounds a provider's shared answers (a 5-agent debate of the
// scenarios has fewer than 100 distinct ones).
const maxAnswers = 4096

// share returns the first copy of *resp kept, else a copy of its own
// (resp is not kept: no copy is made for an answer already kept).
func (t *answers) share(resp *agent.Response) *agent.Response {
	if t == nil {
		c := *resp
		return &c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if first, ok := t.m[*resp]; ok {
		return first
	}
	c := new(agent.Response)
	*c = *resp
	if len(t.m) < maxAnswers {
		if t.m == nil {
			t.m = make(map[agent.Response]*agent.Response)
		}
		t.m[*c] = c
	}
	return c
}

var _ agent.Agent = (*fakeProvider)(nil)

func (p *fakeProvider) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	if p.sleep > 0 {
		if err := p.wait(ctx); err != nil {
			return agent.Response{}, err
		}
	}
	resp, err := p.answer(ctx, &req)
	if err != nil {
		return agent.Response{}, err
	}
	return *resp, nil
}

// answer is the demo agent's answer to *req (shared: not to be changed).
// A provider with a latency finds the answers it has computed by the
// request's digest; its frames on that path are small (answer, digest,
// known): it may run on the debate's goroutine (RespondAsync). compute,
// with the demo agent's deep frames, runs once per distinct request.
//
//go:noinline
func (p *fakeProvider) answer(ctx context.Context, req *agent.Request) (*agent.Response, error) {
	var start time.Time
	if p.spent != nil { // the clock is read only when the time is counted
		start = time.Now()
	}
	if p.sleep <= 0 || p.answers == nil {
		return p.compute(ctx, req, start, false, 0)
	}
	if err := ctx.Err(); err != nil { // as the demo agent would
		return nil, err
	}
	key := digest(req)
	known := p.answers.known(key)
	if known == nil {
		return p.compute(ctx, req, start, true, key)
	}
	if p.spent != nil {
		p.spent.Add(int64(time.Since(start)))
	}
	return known, nil
}

// compute is the demo agent's answer to *req, shared; if remember, it is
// also kept as the answer to the request of digest key. The call started
// at start (zero if the time is not counted).
//
//go:noinline
func (p *fakeProvider) compute(ctx context.Context, req *agent.Request, start time.Time, remember bool, key uint64) (*agent.Response, error) {
	resp, err := p.demo.Respond(ctx, *req)
	var shared *agent.Response
	if err == nil {
		shared = p.answers.share(&resp)
		if remember {
			p.answers.remember(key, shared)
		}
	}
	if p.spent != nil {
		p.spent.Add(int64(time.Since(start)))
	}
	return shared, err
}

// wait waits the latency or until ctx is done.
//
//go:noinline
func (p *fakeProvider) wait(ctx context.Context) error {
	t := time.NewTimer(p.sleep)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// asyncProvider is a fakeProvider that is also an agent.Async: it computes
// its answer when the call starts (on the caller's goroutine; the request,
// prompt included, is not kept) and delivers it after the latency, or
// ctx's error if ctx ends first. No goroutine waits for a call: like a
// client multiplexing its calls over one connection, one goroutine per
// provider (started by newAsyncProvider, ended by close) delivers the
// answers in the order they are due, and a context's end is seen through
// context.AfterFunc, without a goroutine. What it keeps per call waiting is
// a pending (the calls waiting are linked through it, so the queue has no
// array of its own) and the context's callback.
type asyncProvider struct {
	fakeProvider

	mu      sync.Mutex
	queue   pendingList   // the calls waiting, in the order due
	wake    chan struct{} // 1 slot: the queue was empty and is not, or delivery resumed
	stopped chan struct{}
	paused  atomic.Bool // answers are held (HeapProbe)
	gate    *gate       // nil, or holds the calls of one phase (HeapProbe)
	epoch   time.Time   // the calls' due times count from it
}

var _ agent.Async = (*asyncProvider)(nil)

// BorrowsPrompt reports true (agent.PromptBorrower): RespondAsync reads
// the prompt to compute its answer and keeps nothing of it once it has
// returned, as a client that has written the request to its connection,
// so the engine writes a phase's prompts over one another
// (docs/agents.md#optional-capabilities). The plain fakeProvider does not
// say so: its calls wait on goroutines, whose prompts the engine never
// writes again anyway.
func (p *asyncProvider) BorrowsPrompt() bool { return true }

func newAsyncProvider(p fakeProvider) *asyncProvider {
	a := &asyncProvider{fakeProvider: p, wake: make(chan struct{}, 1), stopped: make(chan struct{}), epoch: time.Now()}
	go a.deliver()
	return a
}

// close ends the delivery goroutine (calls still queued are never answered).
func (p *asyncProvider) close() { close(p.stopped) }

// pause holds the answers until resume, so that the debates waiting for
// them are idle (HeapProbe); a context's end still settles its call.
func (p *asyncProvider) pause() { p.paused.Store(true) }

func (p *asyncProvider) resume() {
	p.paused.Store(false)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pending is a call of an asyncProvider waiting for its answer to be due,
// or for its context to end: 64 bytes, and the callback registered with
// the context (16).
type pending struct {
	ctx  context.Context
	resp *agent.Response             // shared (answers)
	done func(agent.Response, error) // nil once the context's end settled it
	stop func() bool                 // unregisters the context's callback
	due  time.Duration               // since the provider's epoch
	next *pending                    // in the queue or the gate's list
	// settled is set by whichever comes first, the answer or the
	// context's end, which then calls done (and nothing else touches it).
	settled atomic.Bool
}

// pendingList is a queue of pendings linked through their next field.
type pendingList struct{ first, last *pending }

func (l *pendingList) push(w *pending) {
	w.next = nil
	if l.last == nil {
		l.first = w
	} else {
		l.last.next = w
	}
	l.last = w
}

func (l *pendingList) pop() *pending {
	w := l.first
	l.first = w.next
	if l.first == nil {
		l.last = nil
	}
	w.next = nil
	return w
}

// RespondAsync's frames on the debate's goroutine are small (digest's and
// known's, then await's): a remote provider's client would not grow the
// stack of the goroutine that calls it, nor should the fake, whose cost is
// not the engine's.
//
// It looks up a known answer itself, one call shallower than answer does,
// when the time is not counted; else, or if the answer is not known yet,
// it asks answer (which digests the request again: once per distinct
// request).
func (p *asyncProvider) RespondAsync(ctx context.Context, req agent.Request, done func(agent.Response, error)) {
	var resp *agent.Response
	if p.sleep > 0 && p.answers != nil && p.spent == nil && ctx.Err() == nil {
		resp = p.answers.known(digest(&req))
	}
	if resp == nil {
		var err error
		resp, err = p.answer(ctx, &req)
		if err != nil || p.sleep <= 0 {
			settleNow(resp, err, done)
			return
		}
	}
	p.await(ctx, resp, done, req.Round, req.Phase)
}

// settleNow calls done with *resp, or err if not nil.
//
//go:noinline
func settleNow(resp *agent.Response, err error, done func(agent.Response, error)) {
	if err != nil {
		done(agent.Response{}, err)
		return
	}
	done(*resp, nil)
}

// await delivers resp to done after the latency, or ctx's error once ctx
// is done if earlier; the call is of round and phase (gate).
//
//go:noinline
func (p *asyncProvider) await(ctx context.Context, resp *agent.Response, done func(agent.Response, error), round int, phase agent.Phase) {
	w := &pending{ctx: ctx, resp: resp, done: done}
	// The callback may run before AfterFunc returns (ctx is done): it
	// reads only ctx and done. stop is read once w is queued, after this.
	if a, ok := ctx.(afterFuncer); ok {
		w.stop = a.AfterFunc(w.cancel)
	} else {
		w.stop = context.AfterFunc(ctx, w.cancel)
	}
	if !p.gate.hold(p, w, round, phase) {
		p.enqueue(w)
	}
}

// enqueue queues w, due after the latency.
func (p *asyncProvider) enqueue(w *pending) {
	p.mu.Lock()
	w.due = time.Since(p.epoch) + p.sleep // under p.mu: the queue stays in order
	first := p.queue.first == nil
	p.queue.push(w)
	p.mu.Unlock()
	if first {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// deliver answers the queued calls as they become due: those due by the
// time it last read the clock, then it reads it again.
func (p *asyncProvider) deliver() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	now := time.Since(p.epoch)
	for {
		p.mu.Lock()
		var next *pending
		if p.queue.first != nil && !p.paused.Load() {
			next = p.queue.first
			if next.due > now {
				now = time.Since(p.epoch)
			}
			if now >= next.due {
				p.queue.pop()
				p.mu.Unlock()
				next.answer()
				continue
			}
		}
		p.mu.Unlock()
		var due <-chan time.Time
		if next != nil && !p.paused.Load() {
			t.Reset(next.due - now)
			due = t.C
		}
		select {
		case <-p.stopped:
			return
		case <-p.wake:
		case <-due:
		}
	}
}

// afterFuncer is a context that calls a function once it is done, as the
// engine's call contexts do: context.AfterFunc calls it too, after making a
// context of its own and asking for a Done channel.
type afterFuncer interface {
	AfterFunc(f func()) (stop func() bool)
}

// cancel settles w with its context's error, unless it is settled.
func (w *pending) cancel() {
	if !w.settled.CompareAndSwap(false, true) {
		return
	}
	done, err := w.done, w.ctx.Err()
	w.ctx, w.resp, w.done = nil, nil, nil // w waits in the queue until due
	done(agent.Response{}, err)
}

// answer settles w with its answer, unless it is settled, after stopping
// the context's callback.
func (w *pending) answer() {
	if !w.settled.CompareAndSwap(false, true) {
		return
	}
	w.stop()
	w.done(*w.resp, nil)
}

// gate holds the calls of one phase of one round until want of them have
// come (full is closed then), and queues them when opened: every debate
// then waits in that phase (HeapProbe).
type gate struct {
	round int
	phase agent.Phase
	want  int
	full  chan struct{}

	mu     sync.Mutex
	opened bool
	n      int        // calls held
	held   []heldList // per provider
}

type heldList struct {
	p *asyncProvider
	pendingList
}

func newGate(round int, phase agent.Phase, want int) *gate {
	return &gate{round: round, phase: phase, want: want, full: make(chan struct{})}
}

// hold keeps w, a call of p in round and phase, if it is one of g's and g
// is not open (a nil g holds nothing).
func (g *gate) hold(p *asyncProvider, w *pending, round int, phase agent.Phase) bool {
	if g == nil || round != g.round || phase != g.phase {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened {
		return false
	}
	i := 0
	for i < len(g.held) && g.held[i].p != p {
		i++
	}
	if i == len(g.held) {
		g.held = append(g.held, heldList{p: p})
	}
	g.held[i].push(w)
	if g.n++; g.n == g.want {
		close(g.full)
	}
	return true
}

// open queues the calls held, due after their latency from now.
func (g *gate) open() {
	g.mu.Lock()
	held := g.held
	g.opened, g.held = true, nil
	g.mu.Unlock()
	for i := range held {
		for l := &held[i]; l.first != nil; {
			held[i].p.enqueue(l.pop())
		}
	}
}
