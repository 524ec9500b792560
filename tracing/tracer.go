package tracing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
)

// ScopeName is the instrumentation scope of Aragora's spans.
const ScopeName = "github.com/aragora/aragora/tracing"

// Attribute keys of Aragora's own span attributes.
const (
	AttrDebateID   = attribute.Key("aragora.debate.id")
	AttrRound      = attribute.Key("aragora.debate.round")
	AttrPhase      = attribute.Key("aragora.debate.phase")
	AttrStatus     = attribute.Key("aragora.debate.status")
	AttrStopReason = attribute.Key("aragora.debate.stop_reason")
	AttrRoundsUsed = attribute.Key("aragora.debate.rounds_used")
	AttrTarget     = attribute.Key("aragora.agent.target")
	AttrAttempts   = attribute.Key("aragora.agent.attempts")
	AttrAttempt    = attribute.Key("aragora.retry.attempt")
	AttrWait       = attribute.Key("aragora.retry.wait_seconds")
	AttrCostUSD    = attribute.Key("aragora.cost_usd")
	AttrConsensus  = attribute.Key("aragora.consensus.reached")
)

// maxCreated bounds the creating requests remembered for debates not
// started yet (a debate another process runs is never started here).
const maxCreated = 4096

// Tracer traces debates, agent calls and HTTP requests with a
// trace.TracerProvider. It implements the lifecycle's Tracer hooks. It is
// safe for concurrent use; create it with New.
type Tracer struct {
	tp   trace.TracerProvider
	t    trace.Tracer
	prop propagation.TextMapPropagator
	now  func() time.Time
	// off: the provider is a no-op one, so nothing is wrapped at all.
	off bool

	mu      sync.Mutex
	created map[string]trace.SpanContext // debate id → creating request's span
	runs    map[string]*run              // debate id → its run in this process
}

// New returns a Tracer exporting through tp. A nil tp, or a no-op one
// (go.opentelemetry.io/otel/trace/noop), gives a tracer that wraps
// nothing: Agent returns the agent itself, Observer nil (which the engine
// ignores), Start its context, so a debate costs what it does untraced.
// The W3C trace context propagator reads and writes traceparent and
// tracestate.
func New(tp trace.TracerProvider) *Tracer {
	off := tp == nil
	if !off {
		_, off = tp.(noop.TracerProvider)
	}
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return &Tracer{tp: tp, t: tp.Tracer(ScopeName), prop: propagation.TraceContext{}, now: time.Now, off: off,
		created: map[string]trace.SpanContext{}, runs: map[string]*run{}}
}

// TracerProvider returns the provider t traces with.
func (t *Tracer) TracerProvider() trace.TracerProvider { return t.tp }

// Propagator returns the W3C trace context propagator t uses.
func (t *Tracer) Propagator() propagation.TextMapPropagator { return t.prop }

// Created remembers the span of ctx (the request creating debate id), so
// that the debate's span becomes its child when the run starts.
func (t *Tracer) Created(ctx context.Context, id string) {
	sc := trace.SpanContextFromContext(ctx)
	if t.off || !sc.IsValid() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.created) >= maxCreated {
		for k := range t.created { // forget an arbitrary one
			delete(t.created, k)
			break
		}
	}
	t.created[id] = sc
}

// run is the trace state of one debate run: its span and those of its
// rounds and phases, opened by the agent calls and the debate's events,
// closed by later ones.
type run struct {
	t    *Tracer
	id   string
	span trace.Span
	ctx  context.Context // carries span

	mu     sync.Mutex
	rounds map[int]*roundSpan
	phase  *phaseSpan // the open phase span directly under the debate (synthesize)
}

type roundSpan struct {
	span  trace.Span
	ctx   context.Context
	phase *phaseSpan
	ended bool
}

type phaseSpan struct {
	name agent.Phase
	span trace.Span
	ctx  context.Context
	last time.Time // end of its latest call
}

// Start opens the span of debate id's run: a child of the request that
// created it in this process (Created), else of ctx's span, else a root.
// It returns ctx carrying the span, and end, which closes every span of
// the run with its final status ("" when suspended) and error.
func (t *Tracer) Start(ctx context.Context, id string) (context.Context, func(status string, err error)) {
	if t.off {
		return ctx, func(string, error) {}
	}
	t.mu.Lock()
	sc, ok := t.created[id]
	delete(t.created, id)
	t.mu.Unlock()
	parent := ctx
	if ok {
		parent = trace.ContextWithSpanContext(ctx, sc)
	}
	_, span := t.t.Start(parent, "debate", trace.WithAttributes(AttrDebateID.String(id)))
	r := &run{t: t, id: id, span: span, rounds: map[int]*roundSpan{}}
	r.ctx = trace.ContextWithSpan(ctx, span)
	if !span.IsRecording() {
		return r.ctx, func(string, error) { span.End() }
	}
	t.mu.Lock()
	t.runs[id] = r
	t.mu.Unlock()
	ctx = context.WithValue(r.ctx, runKey{}, r)
	return ctx, func(status string, err error) {
		t.mu.Lock()
		if t.runs[id] == r {
			delete(t.runs, id)
		}
		t.mu.Unlock()
		r.finish(t.now(), status, err)
	}
}

type runKey struct{}

func runOf(ctx context.Context) *run {
	r, _ := ctx.Value(runKey{}).(*run)
	return r
}

// phaseCtx returns the context of the span of phase p of round n and the
// start of a call in it, opening the round's and phase's spans then when
// they are not open, and closing the round's previous phase (phases of a
// round run one after the other). Synthesis, which follows the last round,
// is a phase of the debate. The start is read under the run's lock, so
// that the phase opened by the first call of concurrent ones never starts
// after another of them.
func (r *run) phaseCtx(n int, p agent.Phase) (context.Context, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.t.now()
	if p == agent.PhaseSynthesize || n <= 0 {
		r.phase = r.openPhase(r.ctx, r.phase, p, n, ts)
		return r.phase.ctx, ts
	}
	rs := r.round(n, ts)
	rs.phase = r.openPhase(rs.ctx, rs.phase, p, n, ts)
	return rs.phase.ctx, ts
}

func (r *run) openPhase(parent context.Context, cur *phaseSpan, p agent.Phase, n int, ts time.Time) *phaseSpan {
	if cur != nil && cur.name == p {
		return cur
	}
	if cur != nil {
		cur.end(ts)
	}
	ctx, span := r.t.t.Start(parent, "phase "+string(p), trace.WithTimestamp(ts),
		trace.WithAttributes(AttrDebateID.String(r.id), AttrRound.Int(n), AttrPhase.String(string(p))))
	return &phaseSpan{name: p, span: span, ctx: ctx}
}

// round returns round n's span, opening it at ts. Called with r.mu held.
func (r *run) round(n int, ts time.Time) *roundSpan {
	if rs, ok := r.rounds[n]; ok {
		return rs
	}
	ctx, span := r.t.t.Start(r.ctx, fmt.Sprintf("round %d", n), trace.WithTimestamp(ts),
		trace.WithAttributes(AttrDebateID.String(r.id), AttrRound.Int(n)))
	rs := &roundSpan{span: span, ctx: ctx}
	r.rounds[n] = rs
	return rs
}

// callEnded records that a call of phase p of round n ended at ts.
func (r *run) callEnded(n int, p agent.Phase, ts time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ph := r.phase
	if p != agent.PhaseSynthesize && n > 0 {
		if rs := r.rounds[n]; rs != nil {
			ph = rs.phase
		}
	}
	if ph != nil && ph.name == p && ts.After(ph.last) {
		ph.last = ts
	}
}

// end closes the phase at its last call's end (or at ts without one).
func (ph *phaseSpan) end(ts time.Time) {
	if !ph.last.IsZero() && ph.last.Before(ts) {
		ts = ph.last
	}
	ph.span.End(trace.WithTimestamp(ts))
}

// endRound closes round n (and its open phase) at ts. Called with r.mu held.
func (r *run) endRound(rs *roundSpan, ts time.Time) {
	if rs.ended {
		return
	}
	if rs.phase != nil {
		rs.phase.end(ts)
		rs.phase = nil
	}
	rs.ended = true
	rs.span.End(trace.WithTimestamp(ts))
}

// finish closes every span still open and the debate's.
func (r *run) finish(ts time.Time, status string, err error) {
	r.mu.Lock()
	for _, rs := range r.rounds {
		r.endRound(rs, ts)
	}
	if r.phase != nil {
		r.phase.end(ts)
		r.phase = nil
	}
	r.mu.Unlock()
	if status != "" {
		r.span.SetAttributes(AttrStatus.String(status))
	}
	switch {
	case status == "failed" || status == "timeout":
		msg := status
		if err != nil {
			msg = err.Error()
		}
		r.span.SetStatus(codes.Error, msg)
		r.span.SetAttributes(errorType(status))
	case err != nil && status != "":
		r.span.SetStatus(codes.Error, err.Error())
	}
	r.span.End(trace.WithTimestamp(ts))
}

// Observer returns the observer that annotates the spans of the debates
// running in this process with their events (rounds' ends, consensus
// checks, convergence, trickster interventions, the debate's outcome).
// Replayed events are ignored. It is nil for a no-op tracer.
func (t *Tracer) Observer() debate.Observer {
	if t.off {
		return nil
	}
	return debate.ObserverFunc(t.onEvent)
}

func (t *Tracer) onEvent(e debate.Event) {
	if e.Replayed {
		return
	}
	t.mu.Lock()
	r := t.runs[e.DebateID]
	t.mu.Unlock()
	if r == nil {
		return
	}
	ts := e.Time
	switch d := e.Data.(type) {
	case debate.DebateStartData:
		r.span.SetAttributes(attribute.Int("aragora.debate.rounds", d.Rounds), attribute.Int("aragora.debate.agents", len(d.Agents)),
			attribute.String("aragora.consensus.method", string(d.Consensus.Method)), attribute.String("aragora.debate.topology", string(d.Topology)))
	case debate.RoundStartData:
		r.mu.Lock()
		r.round(d.Round, ts)
		r.mu.Unlock()
	case debate.RoundEndData:
		r.mu.Lock()
		rs := r.round(d.Round, ts)
		rs.span.SetAttributes(AttrConsensus.Bool(d.ConsensusReached), attribute.Bool("aragora.round.interrupted", d.Interrupted),
			attribute.Int("aragora.usage.input_tokens", d.Tokens.Input), attribute.Int("aragora.usage.output_tokens", d.Tokens.Output))
		r.endRound(rs, ts)
		r.mu.Unlock()
	case debate.ConsensusCheckData:
		r.roundEvent(e.Round, "consensus_check", ts, attribute.String("aragora.consensus.method", string(d.Method)),
			AttrConsensus.Bool(d.Reached), attribute.Float64("aragora.consensus.confidence", d.Confidence))
	case debate.ConvergenceData:
		r.roundEvent(e.Round, "convergence_detected", ts, attribute.Float64("aragora.convergence.cross", d.Cross),
			attribute.Bool("aragora.convergence.stop", d.Stop))
	case debate.TricksterData:
		r.roundEvent(e.Round, "trickster_intervention", ts, attribute.String("aragora.trickster.kind", d.Kind),
			attribute.StringSlice("aragora.trickster.targets", d.Targets))
	case debate.DebateEndData:
		r.span.SetAttributes(AttrStatus.String(d.Status.String()), AttrStopReason.String(d.StopReason.String()), AttrRoundsUsed.Int(d.RoundsUsed),
			attribute.Int("aragora.usage.input_tokens", d.Tokens.Input), attribute.Int("aragora.usage.output_tokens", d.Tokens.Output),
			AttrCostUSD.Float64(d.CostUSD))
	}
}

func (r *run) roundEvent(n int, name string, ts time.Time, attrs ...attribute.KeyValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	span := r.span
	if rs, ok := r.rounds[n]; ok && !rs.ended {
		span = rs.span
	}
	span.AddEvent(name, trace.WithTimestamp(ts), trace.WithAttributes(attrs...))
}
