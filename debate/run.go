package debate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/evidence"
	"github.com/aragora/aragora/internal/reply"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/similarity"
	"github.com/aragora/aragora/store"
)

// run is one execution segment of a debate (a fresh run or a resume).
type run struct {
	o   *Orchestrator
	cfg *Config
	st  *state
	obs *observerSet
	// unread is set when nothing reads the run's events (no observer, no
	// checkpointer): the hot events then carry no data and no events a
	// time (event), which nothing would see; they are still made and
	// numbered, so Seq is the same.
	unread bool
	pb     promptBuilder
	sim    similarity.Similarity // cfg.Similarity, caching each text's tokens for this run
	// participants is the run's copy of the participant names, shared by
	// every request and consensus input of the run (agents must not modify
	// a request's slices; see agent.Request).
	participants []string
	// votePrompt is the prompt of every voter of a vote phase without
	// ForbidSelfVote, made for the first.
	votePrompt string
	// lastSummary is the last critique summary line (critiqueSummary).
	lastSummary critiqueSummaryMemo
	// reqCritiques and reqProposals hold the Critiques and Proposals of
	// the requests of a proposal phase (take), one allocation each per
	// phase while its requests are made: agents may keep requests, so
	// they are never reused.
	reqCritiques []agent.Critique
	reqProposals []agent.Proposal
	// decisions holds the run's round decisions (decide, take), and
	// freshSlab its rounds' fresh proposals (proposalOutcome).
	decisions []consensus.Result
	freshSlab []string
	// propSlab holds the current proposals of its vote and synthesis
	// phases (currentProposals, take).
	propSlab []agent.Proposal
	// evidence holds, by agent, the evidence scan of its last scored
	// proposal, which a revision that extends it resumes
	// (evidence.ScoreExtending): from the Orchestrator at the first scores
	// of a segment, given back at its end (putEvidence).
	evidence *[]evidence.Checkpoint
	phaseScratch
	// scratchBox is the box phaseScratch came in from the Orchestrator,
	// reused to give it back (putScratch).
	scratchBox *phaseScratch
	// bufs are the phase buffers the run holds (phaseBufs), and specs its
	// spec buffer (specsFor), nil when it holds none: they are reused by
	// its phases, one at a time, and shared through the Orchestrator with
	// other runs when it needs them no more: the specs once a phase's calls
	// have their requests (runCalls), the rest while it waits for its
	// agents (runConcurrent) and once it ends.
	bufs      *runBufs
	specs     *[]callSpec
	segStart  time.Time
	delivered int64 // last durable seq delivered to observers (atomic)
	// Round timing for Config.OnRound: when the current round started in
	// this segment (zero when the segment resumed mid-round) and the sum
	// over its phases of each phase's slowest call.
	roundStart time.Time
	slowest    time.Duration
	// stragglers are the goroutines of calls settled as late that Run
	// waits for before returning (waitStragglers).
	stragglers []*phaseCall
	// wait is how the calls of the phase running through runConcurrent
	// wake it, the run's for all its phases (waitFor).
	wait phaseWait
	// final is what Config.Finalize returned, committed with the terminal
	// checkpoint.
	final *store.Final
	// ctx is the segment's context: a checkpoint write failing for want of
	// the store is retried until it succeeds or ctx is cancelled with
	// ErrSuspend.
	ctx context.Context
	// uncounted counts the events made since the last commit that are
	// not in its batch: nothing reads them (unread, addEvent).
	uncounted int64
	// plain says, by participant (the first len(plain)), whether invoke
	// calls its agent with Respond alone, whatever the phase (isPlain),
	// set by newRun, before any call: the calls' goroutines read it.
	plain [16]bool
}

// runBufs are buffers a run's phases reuse: the outcomes of calls on the
// debate's goroutine (runInline), as long as their last use (reuse), the
// last committed event batch, kept empty and cleared (commit), the prompt
// items of a phase's calls (take), which the prompts are built from when
// the calls start (resetItems), the issues and suggestions of a critique
// phase's replies until they get their allocation (settleItems), and the
// quoted proposals of a phase's prompts (quotes).
type runBufs struct {
	outBuf      []callOut
	batchBuf    []Event
	itemBuf     []promptItem
	itemScratch []string
	quotes      []promptItem
	// votes and options are the votes and options of a vote phase's
	// consensus input when its method keeps nothing of it (ownMethod).
	votes   []consensus.Vote
	options []consensus.Option
	// quoteBytes holds the text of the phase's flat quotes (flatten),
	// emptied for each phase (quotes).
	quoteBytes []byte
	// critTargets holds the target of each critique of critFrom, the
	// critiques the revisers of a proposal phase read (critiqueTargets).
	critTargets []int32
	critFrom    *CritiqueRecord
	// prompt holds the prompt of the call being made when every agent of
	// the phase borrows its prompts (runInline, promptBuilder.reuse).
	prompt []byte
}

// phaseScratch are buffers a run keeps for its phases, one phase at a time:
// unlike runBufs, what they hold is read across a phase's calls (the pairs
// of a critique phase), so the run keeps them while it waits for its
// agents.
type phaseScratch struct {
	// pairBuf holds the pairs of a critique phase.
	pairBuf []pair
	// outs holds the outcomes of the calls of a phase made through
	// runConcurrent (phaseWait.outs), zero up to its capacity but for the
	// last such phase's, which its phase reads once runConcurrent has
	// returned and which the next one clears (waitFor).
	outs []callOut
}

// phaseBufs returns the run's phase buffers, taking a set from the
// Orchestrator if it holds none.
func (r *run) phaseBufs() *runBufs { return hold(&r.o.bufs, &r.bufs) }

// putBufs clears the run's phase buffers (they keep nothing of the run)
// and gives them back to the Orchestrator.
func (r *run) putBufs() {
	release(&r.o.bufs, &r.bufs, func(b *runBufs) {
		clear(b.outBuf)
		b.itemBuf = clearAll(b.itemBuf)
		b.itemScratch = clearAll(b.itemScratch)
		clear(b.quotes)
		b.votes, b.options = clearAll(b.votes), clearAll(b.options)
		b.critFrom = nil
	})
}

// hold returns *held, taking a value from pool (or a new one) into *held
// when it holds none.
func hold[T any](pool *sync.Pool, held **T) *T {
	if *held == nil {
		*held, _ = pool.Get().(*T)
		if *held == nil {
			*held = new(T)
		}
	}
	return *held
}

// release empties *held, if it holds a value, into pool, cleared by
// clearFn first (a pooled value keeps nothing of the run).
func release[T any](pool *sync.Pool, held **T, clearFn func(*T)) {
	if p := *held; p != nil {
		*held = nil
		clearFn(p)
		pool.Put(p)
	}
}

// clearSlice zeroes the elements of *s.
func clearSlice[T any](s *[]T) { clear(*s) }

// checkpoints returns the run's evidence checkpoints, one per agent,
// taking them from the Orchestrator if it holds none.
func (r *run) checkpoints() []evidence.Checkpoint {
	if r.evidence == nil {
		reuse(hold(&r.o.evidence, &r.evidence), len(r.o.ps)) // zero: put back cleared
	}
	return *r.evidence
}

// putEvidence clears the run's evidence checkpoints (they hold its texts)
// and gives them back to the Orchestrator.
func (r *run) putEvidence() { release(&r.o.evidence, &r.evidence, clearSlice) }

// getScratch gives the run phase scratch buffers that an ended run gave
// back, if it has none.
func (r *run) getScratch() {
	if r.pairBuf != nil {
		return
	}
	if p, _ := r.o.scratch.Get().(*phaseScratch); p != nil {
		r.phaseScratch, r.scratchBox = *p, p
	}
}

// putScratch clears the run's phase scratch buffers (they hold its texts)
// and gives them to the Orchestrator for later runs; the run's goroutines
// are done with them (waitStragglers).
func (r *run) putScratch() {
	if r.pairBuf == nil && r.outs == nil {
		return
	}
	p := r.scratchBox
	if p == nil {
		p = new(phaseScratch)
	}
	*p, r.phaseScratch, r.scratchBox = r.phaseScratch, phaseScratch{}, nil
	r.wait.outs = nil // the buffer is another run's from now on
	p.pairBuf, p.outs = clearAll(p.pairBuf), clearAll(p.outs)
	r.o.scratch.Put(p)
}

// clearAll zeroes s up to its capacity and returns it empty.
func clearAll[T any](s []T) []T {
	clear(s[:cap(s)])
	return s[:0]
}

// specsFor returns n zeroed specs in the run's spec buffer, taking one from
// the Orchestrator if it holds none: a buffer given back is zero (putSpecs
// clears what a phase used), and so not cleared again.
func (r *run) specsFor(n int) []callSpec {
	if r.specs != nil {
		return reuse(r.specs, n)
	}
	return resize(hold(&r.o.specs, &r.specs), n)
}

// putSpecs clears the run's spec buffer and gives it back to the
// Orchestrator.
func (r *run) putSpecs() { release(&r.o.specs, &r.specs, clearSlice) }

func (o *Orchestrator) newRun(st *state) *run {
	r := &run{o: o, cfg: &o.cfg, st: st}
	r.obs = newObserverSet(o.cfg.Observers, o.cfg.ObserverBuffer, o.log)
	r.unread = len(o.cfg.Observers) == 0 && o.checkpointer == nil
	r.pb = newPromptBuilder(&o.cfg, st.Question, st.Context, len(o.ps))
	r.sim = similarity.Cached(o.cfg.Similarity)
	r.participants = slices.Clip(slices.Clone(o.names))
	atomic.StoreInt64(&r.delivered, st.Seq)
	st.planned = o.cfg.Rounds
	for i := range min(len(o.ps), len(r.plain)) {
		r.plain[i] = isPlain(o.ps[i].Agent)
	}
	return r
}

// Next-phase markers stored in state.Phase after each commit.
const (
	nextPropose    = "next:propose"
	nextCritique   = "next:critique"
	nextVote       = "next:vote"
	nextSynthesize = "next:synthesize"
	nextDone       = "next:done"
)

func (r *run) now() time.Time { return r.cfg.Now() }

// commitTimeout bounds one attempt at a checkpoint write.
const commitTimeout = 5 * time.Second

// maxCommitBackoff caps the wait between two attempts at a checkpoint write.
const maxCommitBackoff = 5 * time.Second

// execute drives the debate until it ends, is interrupted or suspended.
func (r *run) execute(ctx context.Context, fresh bool) (res *Result, err error) {
	r.segStart = r.now()
	r.ctx = ctx
	r.getScratch()
	if fresh || r.st.Phase == nextPropose {
		r.roundStart = r.segStart
	}
	defer func() {
		r.waitStragglers()
		r.putSpecs()
		r.putBufs()
		r.putEvidence()
		r.putScratch()
		if r.sim != r.cfg.Similarity { // the run's own cache
			similarity.Release(r.sim)
		}
		drops, panics := r.obs.close(r.cfg.ObserverDrain)
		if res != nil {
			res.ObserverDrops += drops
			res.ObserverPanics += panics
		}
	}()
	dctx, cancel := r.debateContext(ctx)
	defer cancel()

	if fresh {
		if err := r.begin(); err != nil {
			return r.storeFailure(ctx, err, nil)
		}
	}
	for {
		if r.st.Phase == nextDone {
			return r.result(), r.resultErr()
		}
		if dctx.Err() != nil {
			return r.interrupt(ctx, dctx)
		}
		if r.overBudget(r.st.Phase) {
			return r.end(ctx, nil, store.StatusBudgetExceeded, StopBudget, "")
		}
		var batch []Event
		var quorumErr error
		var cpPhase string
		switch r.st.Phase {
		case nextPropose:
			batch, quorumErr = r.proposalPhase(dctx)
			cpPhase = cpPropose
		case nextCritique:
			batch, quorumErr = r.critiquePhase(dctx)
			cpPhase = cpCritique
		case nextVote:
			batch, quorumErr = r.votePhase(dctx)
			cpPhase = cpVote
		case nextSynthesize:
			batch = r.synthesisPhase(dctx)
			cpPhase = cpSynthesize
		default:
			return r.storeFailure(ctx, fmt.Errorf("debate: corrupt state: unknown phase %q", r.st.Phase), nil)
		}
		if batch == nil && dctx.Err() != nil {
			return r.interrupt(ctx, dctx)
		}
		if quorumErr != nil {
			return r.end(ctx, batch, store.StatusFailed, StopInsufficientAgents, string(quorumErr.(quorumError)))
		}
		if cpPhase == cpSynthesize {
			return r.end(ctx, batch, r.normalStatus(), r.st.StopReason, "")
		}
		round := r.st.Round
		batch = r.advance(cpPhase, batch)
		if r.st.Phase == nextDone {
			return r.end(ctx, batch, r.normalStatus(), r.st.StopReason, "")
		}
		if err := r.commit(round, cpPhase, batch); err != nil {
			return r.storeFailure(ctx, err, nil)
		}
	}
}

// begin commits the start of a fresh debate: debate_start, the recalled
// memories and round_start of round 1.
func (r *run) begin() error {
	var data any
	if !r.unread { // else nothing reads it
		data = r.startData()
	}
	batch := append(r.batchCap(nil, 2), r.event(EventDebateStart, 0, "", data))
	batch = append(batch, r.memoryEvent()...)
	batch = append(batch, r.event(EventRoundStart, 1, "", RoundStartData{Round: 1}))
	r.st.Phase = nextPropose
	return r.commit(1, cpInit, batch)
}

func (r *run) debateContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.cfg.Timeout < 0 {
		return context.WithCancel(ctx)
	}
	remaining := r.cfg.Timeout - r.st.Elapsed
	return context.WithTimeout(ctx, remaining)
}

// phases lists the phases of the current round in order, in buf.
func (r *run) phases(buf *[3]string) []string {
	ph := append(buf[:0], cpPropose)
	if !r.st.ConvStop {
		ph = append(ph, cpCritique)
	}
	if r.cfg.Consensus.NeedsVotes() {
		ph = append(ph, cpVote)
	}
	return ph
}

// nextOf is the next-phase marker of phase, "next:" + phase.
func nextOf(phase string) string {
	switch phase {
	case cpPropose:
		return nextPropose
	case cpCritique:
		return nextCritique
	case cpVote:
		return nextVote
	}
	return "next:" + phase
}

func (r *run) needsSynthesis() bool {
	return !r.cfg.Consensus.NeedsVotes() || r.cfg.Synthesize
}

// advance moves the state past a completed phase; at the end of a round it
// appends round_end and round_start(r+1), or decides to stop.
func (r *run) advance(done string, batch []Event) []Event {
	st := r.st
	var buf [3]string
	ph := r.phases(&buf)
	i := slices.Index(ph, done)
	if i < len(ph)-1 {
		st.Phase = nextOf(ph[i+1])
		return batch
	}
	rec := st.round()
	reached := rec.Decision != nil && rec.Decision.Reached
	early := reached && !r.cfg.DisableEarlyStop && st.Round >= r.cfg.MinRounds && !st.Flagged
	batch = append(batch, r.roundEnd(reached, false))
	r.reportRound()
	switch {
	case st.ConvStop:
		st.StopReason = StopConverged
	case early:
		st.StopReason = StopConsensus
	case st.Round >= r.cfg.Rounds:
		st.StopReason = StopMaxRounds
	default:
		st.Round++
		st.ConvStop, st.Flagged = false, false
		st.RoundUsage, st.RoundCost = agent.Usage{}, 0
		st.Phase = nextPropose
		r.roundStart, r.slowest = r.now(), 0
		return append(batch, r.event(EventRoundStart, st.Round, "", RoundStartData{Round: st.Round}))
	}
	if r.needsSynthesis() {
		st.Phase = nextSynthesize
	} else {
		st.Phase = nextDone
	}
	return batch
}

func (r *run) roundEnd(reached, interrupted bool) Event {
	var data any
	if !r.unread {
		data = RoundEndData{Round: r.st.Round, ConsensusReached: reached, Interrupted: interrupted,
			Tokens: tokensOf(r.st.RoundUsage), CostUSD: round6(r.st.RoundCost)}
	}
	return r.event(EventRoundEnd, r.st.Round, "", data)
}

func (r *run) normalStatus() store.Status {
	if d := r.st.Decision; d != nil && d.Reached && r.cfg.Consensus.NeedsVotes() {
		return store.StatusConsensusReached
	}
	return store.StatusNoConsensus
}

// interrupt ends a debate whose context is done: suspended, cancelled or
// timed out (docs/debate.md#cancellation-and-deadlines).
func (r *run) interrupt(ctx, dctx context.Context) (*Result, error) {
	if errors.Is(context.Cause(ctx), ErrSuspend) {
		r.accrueElapsed()
		res := r.result()
		return res, ErrSuspend
	}
	status, reason, cause := store.StatusCancelled, StopCancelled, error(context.Canceled)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded)) {
		status, reason, cause = store.StatusTimeout, StopTimeout, context.DeadlineExceeded
	}
	res, err := r.end(context.WithoutCancel(ctx), nil, status, reason, cause.Error())
	if err == nil || errors.Is(err, ErrQuorum) {
		err = fmt.Errorf("debate %s: %w", r.st.DebateID, cause)
	}
	return res, err
}

func (r *run) accrueElapsed() {
	now := r.now()
	r.st.Elapsed += now.Sub(r.segStart)
	r.segStart = now
}

// end finishes the debate with status: it closes the open round (as
// interrupted unless the round already ended), emits debate_end and writes
// the final checkpoint.
func (r *run) end(ctx context.Context, batch []Event, status store.Status, reason StopReason, errMsg string) (*Result, error) {
	st := r.st
	if st.Phase != nextSynthesize && st.Phase != nextDone {
		reached := false
		if rec := st.round(); rec.Decision != nil {
			reached = rec.Decision.Reached
		}
		batch = append(batch, r.roundEnd(reached, true))
	}
	st.Status, st.StopReason, st.ErrMsg = status, reason, errMsg
	st.Phase = nextDone
	r.accrueElapsed()
	res := r.buildResult()
	batch = append(batch, r.event(EventDebateEnd, 0, "", r.endData(res)))
	st.Final = res
	if r.cfg.Finalize != nil {
		r.final = r.cfg.Finalize(res)
	}
	if err := r.commit(st.Round, cpEnd, batch); err != nil {
		return r.storeFailure(ctx, err, res)
	}
	if r.cfg.Ratings != nil || r.cfg.Memory != nil { // else both return at once: no context or timer
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		r.o.recordRatings(wctx, r.st, res)
		r.o.recordMemory(wctx, r.st, res)
	}
	return res, r.resultErr()
}

// endData is the data of debate_end for res, nil when nothing reads the
// run's events (unread).
func (r *run) endData(res *Result) any {
	if r.unread {
		return nil
	}
	var rid *string
	if res.Receipt != nil {
		id := res.Receipt.ReceiptID
		rid = &id
	}
	return DebateEndData{
		Status: res.Status, StopReason: res.StopReason, Verdict: res.Verdict, Confidence: res.Confidence,
		Winner: res.Winner, FinalAnswer: res.FinalAnswer, RoundsUsed: res.RoundsUsed,
		DurationSeconds: round3(res.Duration.Seconds()), Tokens: Tokens{res.Usage.InputTokens, res.Usage.OutputTokens},
		CostUSD: res.CostUSD, TricksterInterventions: res.TricksterInterventions,
		ConvergenceDetected: res.ConvergenceDetected, ReceiptID: rid,
	}
}

func (r *run) resultErr() error {
	switch r.st.Status {
	case store.StatusFailed:
		if r.st.StopReason == StopInsufficientAgents {
			return quorumError(r.st.ErrMsg)
		}
		return errors.New("debate: " + r.st.ErrMsg)
	case store.StatusCancelled:
		return fmt.Errorf("debate %s: %w", r.st.DebateID, context.Canceled)
	case store.StatusTimeout:
		return fmt.Errorf("debate %s: %w", r.st.DebateID, context.DeadlineExceeded)
	}
	return nil
}

// storeFailure handles a checkpoint that could not be written. A conflict
// means another process owns the debate, and ErrSuspend a suspension while
// the store could not write: stop without emitting anything (the debate
// stays as its last checkpoint recorded it).
func (r *run) storeFailure(ctx context.Context, err error, res *Result) (*Result, error) {
	if res == nil {
		res = r.result()
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, ErrSuspend) || r.st.Status != store.StatusRunning {
		return res, err
	}
	r.st.Status, r.st.StopReason, r.st.ErrMsg = store.StatusFailed, StopError, err.Error()
	r.st.Phase = nextDone
	r.accrueElapsed()
	res = r.buildResult()
	r.st.Final = res
	return res, fmt.Errorf("debate %s: checkpoint: %w", r.st.DebateID, err)
}

// result returns the final result, or a snapshot of a debate that did not finish.
func (r *run) result() *Result {
	if r.st.Final != nil {
		return r.st.Final
	}
	return r.buildResult()
}

// commit numbers the batch, writes it with the checkpoint in one atomic
// store call, then delivers it to observers: nothing of a batch is shown
// before it is durable (docs/debate.md#persistence-and-resume). The write
// is not cancelled with the debate (a phase that completed is recorded
// even when the debate is being cancelled, so the cancellation is recorded
// after it); each attempt is bounded by commitTimeout. A write the store
// refuses for want of availability is retried with backoff, the debate
// staying running, until it succeeds, is refused as a conflict (another
// process holds the debate), or the segment is suspended (the error then
// wraps ErrSuspend and the store error).
func (r *run) commit(round int, phase string, batch []Event) error {
	st := r.st
	seq := st.Seq
	st.Seq += int64(len(batch)) + r.uncounted // the events addEvent only counted come first
	r.uncounted = 0
	cp, subs := r.o.checkpointer, len(r.obs.subs) > 0
	if cp != nil || subs { // else nothing reads the events
		for i := range batch {
			batch[i].Seq = seq + int64(i) + 1
		}
	}
	if cp != nil {
		if err := r.save(cp, round, phase, batch); err != nil {
			st.Seq = seq
			return err
		}
	}
	for i := range batch {
		if !subs {
			break
		}
		r.obs.publish(batch[i])
	}
	if st.Seq != seq {
		atomic.StoreInt64(&r.delivered, st.Seq)
	}
	if b := r.phaseBufs(); cap(batch) > cap(b.batchBuf) { // observers got copies; nothing else keeps it
		clear(batch)
		b.batchBuf = batch[:0]
	}
	return nil
}

// batchCap is withCap for a phase's event batch: the run's last committed
// batch when it has room, so that a batch nothing is appended to stays
// nil.
func (r *run) batchCap(batch []Event, n int) []Event {
	if batch != nil {
		return batch
	}
	if b := r.phaseBufs(); cap(b.batchBuf) >= n {
		batch, b.batchBuf = b.batchBuf, nil
		return batch
	}
	return make([]Event, 0, n)
}

func (r *run) save(cp store.Checkpointer, round int, phase string, batch []Event) error {
	st := r.st
	if st.Final == nil {
		// Elapsed in the checkpoint includes this segment so far.
		saved := st.Elapsed
		st.Elapsed += r.now().Sub(r.segStart)
		defer func() { st.Elapsed = saved }()
	}
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("debate: encode checkpoint: %w", err)
	}
	evs := make([]store.Event, len(batch))
	for i, e := range batch {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("debate: encode event %d: %w", e.Seq, err)
		}
		evs[i] = store.Event{DebateID: st.DebateID, Seq: e.Seq, Type: string(e.Type), JSON: b}
	}
	c := &store.Checkpoint{DebateID: st.DebateID, Round: round, Phase: phase, Seq: st.Seq, Status: st.Status,
		State: stateJSON, Events: evs, CreatedAt: r.now()}
	if store.Terminal(st.Status) {
		c.Final = r.final
	}
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), commitTimeout)
		err = cp.SaveCheckpoint(ctx, c)
		cancel()
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return err
		}
		if errors.Is(context.Cause(r.ctx), ErrSuspend) {
			return fmt.Errorf("%w: checkpoint not written: %w", ErrSuspend, err)
		}
		if attempt >= 3 {
			r.o.log.Warn("debate_commit_retry", "debate_id", st.DebateID, "phase", phase, "attempt", attempt,
				"retry_in_ms", delay.Milliseconds(), "error", err.Error())
		}
		t := time.NewTimer(delay)
		if r.ctx.Err() == nil {
			select {
			case <-r.ctx.Done():
			case <-t.C:
			}
		} else {
			<-t.C
		}
		t.Stop()
		delay = min(2*delay, maxCommitBackoff)
	}
}

// event makes an event of the run, read at the run's clock unless nothing
// reads the run's events (unread): about a hundred clock readings per
// debate of 5 agents and 3 rounds that nothing would see.
func (r *run) event(t EventType, round int, agentName string, data any) Event {
	e := Event{DebateID: r.st.DebateID, Type: t, Round: round, Agent: agentName, Data: data}
	if !r.unread {
		e.Time = r.now()
	}
	return e
}

// addEvent appends to batch, a phase's batch of room for n events
// (batchCap), the event that event makes, written in its place: an Event
// is 112 bytes, which a phase's hot events (one per call) are not made and
// copied twice for. When nothing reads the run's events (unread), the
// event is only counted, for commit to number, in a batch that still has
// room for the phase's other events: a phase that ran returns a batch,
// not nil.
func (r *run) addEvent(batch []Event, n int, t EventType, round int, agentName string, data any) []Event {
	batch = r.batchCap(batch, n)
	if r.unread {
		r.uncounted++
		return batch
	}
	batch = append(batch, Event{})
	e := &batch[len(batch)-1]
	e.DebateID, e.Type, e.Round, e.Agent, e.Data, e.Time = r.st.DebateID, t, round, agentName, data, r.now()
	return batch
}

func (r *run) startData() DebateStartData {
	return DebateStartData{Topic: r.st.Question, Agents: slices.Clone(r.o.names), Rounds: r.cfg.Rounds,
		MinRounds: r.cfg.MinRounds, Consensus: ConsensusSpec{Method: r.cfg.Consensus.Name(), Threshold: consensus.ThresholdOf(r.cfg.Consensus)},
		Topology: r.cfg.Topology, Quorum: r.o.quorum}
}

// ---- calls ----

type callSpec struct {
	idx    int // participant index; -1 for the external judge
	target int // critique target, else -1
	req    agent.Request
	// prompt, when set, builds req.Prompt as the call starts (on the
	// debate's goroutine), so that a phase does not hold every prompt at
	// once; from items and instr (the prompt's tail, tailHead then the
	// instructions: userTail) for a proposal or vote.
	prompt func(r *run, s *callSpec) string
	items  []promptItem
	instr  string
}

// buildPrompt builds s's prompt, if it has one to build.
func (s *callSpec) buildPrompt(r *run) {
	if s.prompt != nil {
		s.req.Prompt, s.prompt, s.items = s.prompt(r, s), nil, nil
	}
}

// shed drops what s holds for its call once the agent has its request (an
// agent.Async call, startAsync), so that a phase whose later calls wait for
// a slot (MaxConcurrency) does not hold it: nothing reads s afterwards (the
// call's slot names it, abandoned).
func (s *callSpec) shed() { *s = callSpec{} }

// promptFor returns s's prompt, built if it has one to build, without
// changing s.
func (s *callSpec) promptFor(r *run) string {
	if s.prompt != nil {
		return s.prompt(r, s)
	}
	return s.req.Prompt
}

type callOut struct {
	resp    agent.Response
	err     error
	latency time.Duration
	// native is the reply of a structured method (invokeNative): an
	// *agent.Critique, *agent.Vote or *agent.Judgement, else nil.
	native any
}

func (r *run) agentOf(idx int) agent.Agent {
	switch idx {
	case extJudge:
		return r.o.judge.agent
	case extSynth:
		return r.o.synth.agent
	}
	return r.o.ps[idx].Agent
}

func (r *run) nameOf(idx int) string {
	switch idx {
	case extJudge:
		return r.o.judge.name
	case extSynth:
		return r.o.synth.name
	}
	return r.o.names[idx]
}

// runCalls runs every call of a phase, at most MaxConcurrency at a time,
// starting queued calls in order, and returns the outcomes in spec order
// (docs/debate.md#quorum-and-timeouts). It never waits for a call beyond the call's deadline:
// a call still running then ends as a timeout and its late reply is
// discarded; its context is cancelled, its slot goes to the next queued
// call, and its goroutine becomes a straggler that Run waits for before
// returning, for at most abandonAfter (waitStragglers). When ctx ends,
// every call still running ends with ctx's error the same way. The phase
// does not read specs once runCalls returns: the run may have given them
// back (runConcurrent).
func (r *run) runCalls(ctx context.Context, specs []callSpec) []callOut {
	if inline, borrowed := r.immediate(specs); inline {
		return r.runInline(ctx, specs, borrowed)
	}
	return r.runConcurrent(ctx, specs)
}

// runConcurrent is runCalls for calls that may wait: each in its own
// goroutine, or through agent.Async.
//
// The calls wake the phase through w (phaseWait): only when every call it
// waits for has returned in time, or, while calls are queued for a slot,
// when one has. The run's timer (set again for each phase to the earliest
// deadline of the calls running, and within a phase only once it has
// fired; stopped at the phase's end) and the end of ctx wake it too, so
// that a phase whose calls return together is woken once, not once per
// call.
func (r *run) runConcurrent(ctx context.Context, specs []callSpec) []callOut {
	n := len(specs)
	calls := make([]phaseCall, n)
	w := r.waitFor(n)
	stragglers, goroutines := len(r.stragglers), 0
	armed := false // the timer is set and has not fired
	defer func() {
		if w.timer != nil {
			// Even when a fire of the last phase's cleared armed: this
			// phase's may be pending. If it fires all the same, the next
			// phase wakes once more.
			w.timer.Stop()
		}
		if goroutines > 0 && len(r.stragglers) > stragglers {
			// A late call's goroutine may still read its spec (it may not
			// even have run yet): the buffer is left to it, and the next
			// phase gets one of its own.
			r.specs = nil
		}
		r.putSpecs() // every call's goroutine has its request
	}()
	borrowed := r.borrowedAsync(specs)
	next, oldest, running, settled, counted := 0, 0, 0, 0, 0
	ctxDone := ctx.Done()
	for {
		if d := int(w.done.Load()); d > counted { // returned in time since the last look
			running -= d - counted
			settled += d - counted
			counted = d
		}
		if settled == n {
			break
		}
		if ctx.Err() == nil {
			if borrowed && next < n {
				r.pb.reuse = &r.phaseBufs().prompt
			}
			// When every call left starts now, an agent.Async call's spec
			// is shed with the others below, not as it starts (start).
			batch, all := next, n-next <= r.cfg.MaxConcurrency-running
			for ; next < n && running < r.cfg.MaxConcurrency; next++ {
				if r.start(ctx, &calls[next], &specs[next], next, w, !all) {
					goroutines++
				}
				running++
			}
			r.pb.reuse = nil
			if next == n && goroutines == 0 {
				// Every call is an agent.Async one that has its request:
				// nothing reads specs any more, so the debate waits for
				// the replies without its buffers (no-ops once they are
				// given back).
				r.putSpecs()
				r.putBufs()
			} else if all {
				// The goroutines' calls keep the specs until the phase
				// ends: the agent.Async calls' are shed now.
				for i := batch; i < next; i++ {
					if s := &specs[i]; r.asyncAgent(s) != nil {
						s.shed()
					}
				}
			}
		}
		for oldest < next && calls[oldest].state.Load() != callRunning {
			oldest++
		}
		if oldest < next && !armed {
			// A call started later ends later: the timer, once set, is
			// never after the earliest deadline of the calls running.
			first := calls[oldest].ctx.end()
			for i := oldest + 1; i < next; i++ {
				if c := &calls[i]; c.state.Load() == callRunning {
					first = min(first, c.ctx.end())
				}
			}
			if d := first - time.Since(w.epoch); w.timer == nil {
				w.timer = time.AfterFunc(d, w.fire)
			} else {
				w.timer.Reset(d)
			}
			armed = true
		}
		// Wake when the calls running have all returned, or one has if
		// calls are queued.
		want := counted + running
		if next < n {
			want = counted + 1
		}
		w.want.Store(int32(want))
		if int(w.done.Load()) >= want {
			continue // returned meanwhile
		}
		late, all := error(context.DeadlineExceeded), false
		select {
		case <-w.notify:
			if !w.due.Swap(false) {
				continue
			}
			armed = false
			// Let calls that are done but not yet scheduled report first:
			// a late scheduling of ours is not the agent's delay.
			runtime.Gosched()
		case <-ctxDone:
			ctxDone = nil // the calls still running end now: wait for the others
			late, all = ctx.Err(), true
			for ; next < n; next++ { // never started
				calls[next].state.Store(callDone)
				*w.out(next) = callOut{err: late}
				settled++
			}
		}
		now := time.Since(w.epoch)
		for i := oldest; i < next; i++ {
			c := &calls[i]
			if c.state.Load() == callRunning && (all || now >= c.ctx.end()) &&
				r.settleLate(c, w.out(i), late) {
				running--
				settled++
			}
		}
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		// The debate's deadline has passed: calls bounded by it ended at
		// the same instant, maybe before ctx noticed. Its timer is due;
		// wait for it, so that the phase is interrupted, not failed.
		<-ctx.Done()
	}
	out := w.outs
	var slowest time.Duration
	for i := range out { // not a copy of each outcome on the stack
		slowest = max(slowest, out[i].latency)
	}
	r.slowest += slowest
	return out
}

// borrowedAsync reports whether every call of specs is made through
// agent.Async (asyncAgent) to an agent that borrows its prompts
// (agent.PromptBorrower): such an agent holds nothing of a prompt once
// RespondAsync has returned, so runConcurrent writes each prompt over the
// last one in the run's prompt buffer, as runInline does.
func (r *run) borrowedAsync(specs []callSpec) bool {
	for i := range specs {
		s := &specs[i]
		if r.asyncAgent(s) == nil || !agent.BorrowsPrompt(r.agentOf(s.idx)) {
			return false
		}
	}
	return true
}

// phaseWait is how a phase's calls and timer wake its goroutine
// (runConcurrent). A call that returns in time counts itself in done and
// signals once done reaches want, the count the phase waits for; the timer
// sets due and signals. The phase sets want before it reads done and
// waits, and a call adds to done before it reads want, so that one of the
// two sees the other: no wake-up is lost. Extra ones are harmless.
//
// A run has one (run.wait), readied for each phase (waitFor), with one
// notify channel and one timer, set again for each phase and stopped at
// its end. A call of an earlier phase counts itself in done only if it
// returned before its phase settled it, and then before its phase ends:
// all it may still do is signal, as the timer may fire once after it is
// stopped, which wakes the next phase once more. Calls settled as late
// (stragglers) and their agents still read r and epoch, which the run's
// first waitFor sets and nothing changes after.
//
// It also holds the phase's outcomes, the run's buffer (phaseScratch.outs),
// zero when the phase starts. Each call writes only its own, before it
// counts itself in done, and only if it returns before its phase settles
// it as late (finish; past its deadline, its outcome is the deadline's
// error); the phase writes those of the calls it settles (settleLate) and
// of the calls it never started; a call settled as late writes nothing
// when it returns (finish), so no call writes an outcome once its phase
// has counted all its calls settled. The phase reads them once
// runConcurrent has returned and keeps no pointer into them: the next
// phase of the run made through runConcurrent clears them.
type phaseWait struct {
	done   atomic.Int32
	want   atomic.Int32
	due    atomic.Bool
	notify chan struct{} // 1 slot
	timer  *time.Timer   // made by the first phase that needs one

	outs []callOut
	r    *run
	// epoch is when the run's first phase through runConcurrent started
	// (time.Now, with its monotonic reading): the calls' start times and
	// deadlines count from it (callCtx). When Config.Now is not time.Now,
	// their latencies are measured on it from nowBase, its reading when
	// the phase's first call started (phaseCall.start).
	epoch   time.Time
	nowBase time.Time
}

// waitFor readies the run's phaseWait for a phase of n calls, with its
// outcomes, zero: the last phase's have been read.
func (r *run) waitFor(n int) *phaseWait {
	w := &r.wait
	if w.notify == nil {
		w.notify, w.r, w.epoch = make(chan struct{}, 1), r, time.Now()
	}
	w.done.Store(0)
	w.want.Store(0)
	w.due.Store(false)
	clear(r.outs) // as long as the last phase's: the rest is zero
	if cap(r.outs) < n {
		// Room for the phase with the most calls at once, a critique
		// phase whose every agent critiques every other (pairsFor).
		most := n
		if k := len(r.o.ps); r.cfg.Topology == TopologyAllToAll {
			most = max(n, k*(k-1))
		}
		r.outs = make([]callOut, n, most)
	}
	r.outs = r.outs[:n]
	w.outs = r.outs
	return w
}

// out returns call i's outcome.
func (w *phaseWait) out(i int) *callOut { return &w.outs[i] }

// returned counts a call that returned in time.
func (w *phaseWait) returned() {
	if w.done.Add(1) >= w.want.Load() {
		w.signal()
	}
}

// fire is the phase timer's function.
func (w *phaseWait) fire() {
	w.due.Store(true)
	w.signal()
}

func (w *phaseWait) signal() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// immediate reports whether every call of specs goes to an agent.Immediate
// (inline), and then whether every one of them borrows its prompts
// (agent.PromptBorrower), asking each agent in one pass. Not inline when
// tokens are streamed: calls made back to back would publish their tokens
// faster than observers' goroutines can take them.
func (r *run) immediate(specs []callSpec) (inline, borrowed bool) {
	if r.cfg.StreamTokens {
		return false, false
	}
	borrowed = true
	last := -3 // no index (extJudge and extSynth are -1 and -2)
	for i := range specs {
		idx := specs[i].idx
		if idx == last {
			continue // a critic's calls are consecutive: ask its agent once
		}
		last = idx
		a := r.agentOf(idx)
		if !agent.IsImmediate(a) {
			return false, false
		}
		borrowed = borrowed && agent.BorrowsPrompt(a)
	}
	return true, borrowed
}

// runInline runs calls to immediate agents one after the other on the
// debate's goroutine (agent.Immediate): they return at once, so they need
// no goroutine, deadline or concurrency limit. Once ctx ends, the calls
// not made yet end with its error, as in runCalls.
//
// The outcomes share one buffer per run (the phase reads them before the
// next phase runs), and a call ends when the next one starts: one clock
// reading per call. When every agent of the phase borrows its prompts
// (agent.PromptBorrower), each prompt is written into the run's prompt
// buffer over the last one, which is dead: its agent has returned, and
// the phase drops it (a vote prompt shared by the voters is dropped by
// votePhase, before any other prompt is built); borrowed says they do
// (immediate).
func (r *run) runInline(ctx context.Context, specs []callSpec, borrowed bool) []callOut {
	bufs := r.phaseBufs()
	out := reuse(&bufs.outBuf, len(specs))
	defer r.putSpecs() // the calls are made
	if borrowed {
		r.pb.reuse = &bufs.prompt
		defer func() { r.pb.reuse = nil }()
	}
	var slowest time.Duration
	r.pb.pending = 0 // the prompts to build (promptBuilder.room)
	for i := range specs {
		if specs[i].prompt != nil {
			r.pb.pending++
		}
	}
	// A call's latency is the time since the phase's first call started
	// less the previous calls' share. On the wall clock it is read as
	// time.Since, which reads only the monotonic clock (time.Now reads
	// both, and these readings are one per agent call), and only if
	// something reads it (timed): the proposals' events and OnRound.
	timed := !r.o.wallNow || !r.unread || r.cfg.OnRound != nil
	var start time.Time
	if timed {
		start = r.now()
	}
	prev := time.Duration(0)
	for i := range specs {
		if err := ctx.Err(); err != nil {
			out[i] = callOut{err: err}
			continue
		}
		s := &specs[i]
		if s.prompt != nil {
			s.buildPrompt(r)
			r.pb.pending--
		}
		r.invokeSafe(ctx, s, &out[i])
		s.req.Prompt = "" // the phase does not keep the prompts
		if !timed {
			continue
		}
		var d time.Duration
		if r.o.wallNow {
			d = time.Since(start)
		} else {
			d = r.now().Sub(start)
		}
		out[i].latency, prev = d-prev, d
		slowest = max(slowest, out[i].latency)
	}
	r.pb.pending = 0
	r.slowest += slowest
	return out
}

// take returns an empty slice with room for n elements from *slab, sharing
// its elements with no other slice taken from it (its capacity ends at n).
// When *slab lacks room it is replaced by a new one of room for at least
// size elements (and twice its capacity); the slices taken before keep the
// old one.
func take[T any](slab *[]T, n, size int) []T {
	s := *slab
	if cap(s)-len(s) < n {
		s = make([]T, 0, max(n, size, 2*cap(s)))
	}
	*slab = s[:len(s)+n]
	return s[len(s) : len(s) : len(s)+n]
}

// resetItems makes the run's item buffer, if it holds one, free for the
// calls of a new phase: the prompts of the last one are built.
func (r *run) resetItems() {
	if b := r.bufs; b != nil {
		clear(b.itemBuf)
		b.itemBuf = b.itemBuf[:0]
	}
}

// quotes returns the run's quoted proposals for the specs of a phase,
// zeroed, by agent: those of a proposal phase (peerQuote), or a critique
// phase's as targets, then as critics' own (critiqueSpecs). The phase's
// prompts read them when its calls start.
func (r *run) quotes() []promptItem {
	b := r.phaseBufs()
	b.quoteBytes = b.quoteBytes[:0] // the last phase's prompts are built
	return reuse(&b.quotes, 2*len(r.o.ps))
}

// items returns room for n prompt items in the run's item buffer (take).
func (r *run) items(n int) []promptItem { return take(&r.phaseBufs().itemBuf, n, 0) }

// reuse returns (*buf)[:n] zeroed, growing *buf when it is too short, and
// leaves *buf as long (putBufs and putSpecs clear that much): a run's
// phases share the buffer, one phase at a time.
func reuse[T any](buf *[]T, n int) []T {
	clear(resize(buf, n))
	return *buf
}

// resize is reuse for a buffer that is zero up to its capacity.
func resize[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// abandonAfter is how long Run waits for a call that outlived its deadline
// or its debate before abandoning its goroutine (docs/debate.md#cancellation-and-deadlines).
const abandonAfter = 5 * time.Second

// Call states.
const (
	callRunning int32 = iota
	callDone          // returned in time: its outcome counts
	callLate          // settled by its phase without its reply
)

// phaseCall is one call of a phase.
type phaseCall struct {
	// ctx is the call's context, and has its phase (ctx.w) and deadline
	// (callCtx.end). A call made on a goroutine starts when its goroutine
	// runs, and its deadline is set then, so that the goroutine's wait for
	// a CPU is not counted against the agent; until then it is the
	// deadline the call would have had if it had started when dispatched.
	ctx callCtx
	// start is when the call was dispatched, for its latency: a time since
	// its phase's epoch, or when Config.Now is not time.Now, since its
	// phase's nowBase on that clock (latency).
	start time.Duration
	// late is set when the phase settles the call as late (settleLate):
	// few calls are, and a debate keeps its calls while it waits.
	late *lateCall
	// i is the call's index in its phase, which names its outcome
	// (phaseWait.out). idx, round and phase (its index in agent.Phases)
	// name the call (abandoned).
	idx      int32
	round    int32
	i        int32
	state    atomic.Int32
	answered atomic.Bool // an agent.Async's callback came
	phase    uint8
	// The small fields come last, so that a critique phase's 20 calls of
	// 5 agents fit 2304 bytes (TestPhaseCallSize).
}

// lateCall is what a call settled as late keeps: its goroutine closes
// returned when it returns; abandon logs it as abandoned at abandonAt
// unless it has.
type lateCall struct {
	returned  chan struct{}
	abandonAt time.Time
	abandon   *time.Timer
	logged    atomic.Bool
}

// start makes call s: through agent.Async when its agent can complete it
// without a goroutine (startAsync), else in a goroutine of its own, and
// reports which. The call is call i of phase w. If the agent returns
// before the call's deadline and before its phase settles it as late, the
// call writes its outcome and counts itself in w (finish).
//
// The call's prompt is built here, on the debate's goroutine, and held
// only until the call takes it: the request the agent gets is a copy of
// the phase's spec with the prompt, on the call's goroutine (call) or the
// phase's (startAsync), so that no copy of the spec is kept per call and
// the prompt is dropped once the agent has returned or, for an
// agent.Async, once it has the request (with what else the spec holds for
// the call: shed, here if shed is set, else by runConcurrent once the
// phase's last call has started).
//
// The spec is the phase's, read by a call's goroutine and never written
// by it: a phase that leaves a straggler leaves the spec buffer to it
// (runConcurrent).
func (r *run) start(ctx context.Context, c *phaseCall, s *callSpec, i int, w *phaseWait, shed bool) (goroutine bool) {
	c.idx, c.round, c.phase = int32(s.idx), int32(s.req.Round), uint8(slices.Index(agent.Phases, s.req.Phase))
	c.i = int32(i)
	prompt := s.promptFor(r)
	dispatched := time.Since(w.epoch)
	c.start = dispatched
	if !r.o.wallNow {
		now := r.now()
		if i == 0 {
			w.nowBase = now
		}
		c.start = now.Sub(w.nowBase)
	}
	// The deadline; for a call on a goroutine, until it runs.
	c.ctx.init(ctx, w, addTimeout(dispatched, r.cfg.AgentTimeout))
	if a := r.asyncAgent(s); a != nil {
		r.startAsync(a, c, s, prompt)
		if shed {
			s.shed()
		}
		return false
	}
	go func() {
		c.ctx.endAt(addTimeout(time.Since(w.epoch), r.cfg.AgentTimeout))
		r.call(c, s, prompt)
	}()
	return true
}

// addTimeout returns t + timeout, or the longest duration if that is
// later.
func addTimeout(t, timeout time.Duration) time.Duration {
	if d := t + timeout; d >= t || timeout < 0 {
		return d
	}
	return math.MaxInt64
}

// latency returns the latency of call c, whose agent returned at ret (a
// time since its phase's epoch): on Config.Now when it is not time.Now,
// read then.
func (r *run) latency(c *phaseCall, ret time.Duration) time.Duration {
	if !r.o.wallNow {
		ret = r.now().Sub(c.ctx.w.nowBase)
	}
	return ret - c.start
}

// call makes call c of spec s, whose prompt is prompt, on its own
// goroutine.
func (r *run) call(c *phaseCall, spec *callSpec, prompt string) {
	s := *spec
	s.req.Prompt = prompt
	var res callOut
	r.invokeSafe(&c.ctx, &s, &res)
	r.finish(c, &res)
}

// finish ends call c, whose agent returned res: into its outcome (the
// deadline's error if it returned past its deadline), counted in its
// phase, unless its phase settled it as late.
func (r *run) finish(c *phaseCall, res *callOut) {
	if out, inTime := r.returned(c); out != nil {
		if inTime {
			out.resp, out.err, out.native = res.resp, res.err, res.native
		}
		c.ctx.w.returned()
	}
}

// returned ends call c, whose agent has returned, and returns its outcome,
// zero but for its latency, and whether it returned before its deadline;
// if not, the outcome is written: context.DeadlineExceeded (late, even
// though the phase has not noticed yet). Once the caller has written the
// reply of a call in time, it counts the call in its phase
// (phaseWait.returned). The outcome is nil if the phase settled the call
// as late: nothing is written then.
func (r *run) returned(c *phaseCall) (out *callOut, inTime bool) {
	ret := time.Since(c.ctx.w.epoch)
	c.ctx.cancel(context.Canceled) // release what the agent tied to ctx
	if !c.state.CompareAndSwap(callRunning, callDone) {
		close(c.late.returned)
		c.late.abandon.Stop()
		return nil, false
	}
	out = c.ctx.w.out(int(c.i))
	inTime = ret < c.ctx.end()
	if !inTime {
		out.err = context.DeadlineExceeded
	}
	out.latency = r.latency(c, ret)
	return out, inTime
}

// asyncAgent returns the agent of s as an agent.Async if the call is one
// that it makes through RespondAsync: a plain call, neither streamed nor
// native (invoke).
func (r *run) asyncAgent(s *callSpec) agent.Async {
	a := r.agentOf(s.idx)
	aa, ok := a.(agent.Async)
	if !ok || hasNative(a, s.req.Phase) {
		return nil
	}
	if _, ok := a.(agent.Streamer); ok && r.cfg.StreamTokens {
		return nil
	}
	return aa
}

// hasNative reports whether invokeNative calls a structured method of a
// for phase p.
func hasNative(a agent.Agent, p agent.Phase) bool {
	var ok bool
	switch p {
	case agent.PhaseCritique:
		_, ok = a.(agent.Critic)
	case agent.PhaseVote:
		_, ok = a.(agent.Voter)
	case agent.PhaseJudge:
		_, ok = a.(agent.Judge)
	}
	return ok
}

// startAsync makes call c of spec s, whose prompt is prompt, through
// a.RespondAsync on the phase's goroutine; the agent's callback finishes it
// (at most once: a second callback, or one after a panic of RespondAsync,
// is ignored). The agent keeps what it needs of the request.
func (r *run) startAsync(a agent.Async, c *phaseCall, s *callSpec, prompt string) {
	done := c.asyncDone
	defer func() {
		if p := recover(); p != nil {
			done(agent.Response{}, r.panicked(s.idx, p))
		}
	}()
	req := s.req
	req.Prompt = prompt
	a.RespondAsync(&c.ctx, req, done)
}

// asyncDone is the callback of an agent.Async call (startAsync).
func (c *phaseCall) asyncDone(resp agent.Response, err error) {
	if !c.answered.CompareAndSwap(false, true) {
		return
	}
	if out, inTime := c.ctx.w.r.returned(c); out != nil {
		if inTime { // written in place, not through a copy (finish)
			out.resp, out.err = resp, err
		}
		c.ctx.w.returned()
	}
}

// settleLate ends a call still running with err (its deadline passed, or
// the debate's context ended) and keeps its goroutine as a straggler. It
// reports false if the call returned in the meantime.
func (r *run) settleLate(c *phaseCall, out *callOut, err error) bool {
	l := &lateCall{returned: make(chan struct{}), abandonAt: time.Now().Add(abandonAfter)}
	c.late = l // before the state: finish reads it once it sees callLate
	l.abandon = time.AfterFunc(abandonAfter, func() { r.abandoned(c) })
	if !c.state.CompareAndSwap(callRunning, callLate) {
		l.abandon.Stop()
		return false
	}
	c.ctx.cancel(err)
	*out = callOut{err: err, latency: r.latency(c, time.Since(c.ctx.w.epoch))}
	r.stragglers = append(r.stragglers, c)
	return true
}

// abandoned logs a late call whose goroutine has not returned abandonAfter
// after it was settled: the agent ignores its context.
func (r *run) abandoned(c *phaseCall) {
	select {
	case <-c.late.returned:
	default:
		if !c.late.logged.CompareAndSwap(false, true) {
			return
		}
		var phase agent.Phase // the engine's calls have one of agent.Phases
		if int(c.phase) < len(agent.Phases) {
			phase = agent.Phases[c.phase]
		}
		r.o.log.Error("agent_abandoned", "debate_id", r.st.DebateID, "agent", r.nameOf(int(c.idx)),
			"phase", string(phase), "round", int(c.round))
	}
}

// waitStragglers waits until every late call's goroutine has returned or
// been abandoned (and logged), so that Run leaves no goroutine behind but
// those of agents that ignore their context (docs/debate.md#cancellation-and-deadlines).
func (r *run) waitStragglers() {
	var t *time.Timer
	for _, c := range r.stragglers {
		if d := time.Until(c.late.abandonAt); d > 0 {
			if t == nil {
				t = time.NewTimer(d)
				defer t.Stop()
			} else {
				t.Reset(d)
			}
			select {
			case <-c.late.returned:
			case <-t.C:
			}
		}
		c.late.abandon.Stop()
		r.abandoned(c) // logs unless it has returned or was logged
	}
	r.stragglers = nil
}

// invokeSafe calls the agent into *res, turning a panic into an error.
func (r *run) invokeSafe(ctx context.Context, s *callSpec, res *callOut) {
	defer func() {
		if p := recover(); p != nil {
			*res = callOut{err: r.panicked(s.idx, p)}
		}
	}()
	r.invoke(ctx, s, res)
}

// panicked is the error of a call whose agent panicked with p.
func (r *run) panicked(idx int, p any) error {
	return fmt.Errorf("debate: agent %s panicked: %v", r.nameOf(idx), p)
}

// RoundTiming is one completed round's timing, reported to Config.OnRound.
// Overhead is the orchestration cost: the round's wall time minus the sum
// over its phases of each phase's slowest call.
type RoundTiming struct {
	DebateID string
	Round    int
	Wall     time.Duration
	Slowest  time.Duration
	Overhead time.Duration
}

// reportRound reports a round that ran entirely in this segment.
func (r *run) reportRound() {
	if r.cfg.OnRound == nil || r.roundStart.IsZero() {
		return
	}
	wall := r.now().Sub(r.roundStart)
	r.cfg.OnRound(RoundTiming{DebateID: r.st.DebateID, Round: r.st.Round, Wall: wall, Slowest: r.slowest,
		Overhead: max(0, wall-r.slowest)})
}

// invoke calls the agent into *out (zero on entry).
func (r *run) invoke(ctx context.Context, s *callSpec, out *callOut) {
	a := r.agentOf(s.idx)
	if r.plainAgent(s.idx, a) {
		respond(ctx, a, &s.req, out)
		return
	}
	if r.invokeNative(ctx, a, s, out) {
		return
	}
	if sa, ok := a.(agent.Streamer); ok && r.cfg.StreamTokens {
		r.invokeStream(ctx, sa, s, out)
		return
	}
	respond(ctx, a, &s.req, out)
}

// plainAgent reports whether a, the agent of idx, is plain (isPlain):
// asked of its type once per run for a participant (its agent does not
// change), every time for the others.
func (r *run) plainAgent(idx int, a agent.Agent) bool {
	if idx < 0 || idx >= len(r.plain) {
		return isPlain(a)
	}
	return r.plain[idx]
}

// isPlain reports whether a has neither a structured method (agent.Critic,
// agent.Voter, agent.Judge) nor agent.Streamer, so that invoke calls it
// with Respond alone in every phase.
func isPlain(a agent.Agent) bool {
	switch a.(type) {
	case agent.Critic, agent.Voter, agent.Judge, agent.Streamer:
		return false
	}
	return true
}

// respond is a plain call (a function of its own, so that the deep calls of
// an agent run on a small frame).
//
//go:noinline
func respond(ctx context.Context, a agent.Agent, req *agent.Request, out *callOut) {
	out.resp, out.err = a.Respond(ctx, *req)
}

// invokeNative calls a, into *out, through its structured method for the
// phase of s (agent.Critic, agent.Voter, agent.Judge); false if it has
// none.
//
//go:noinline
func (r *run) invokeNative(ctx context.Context, a agent.Agent, s *callSpec, out *callOut) bool {
	switch s.req.Phase {
	case agent.PhaseCritique:
		if c, ok := a.(agent.Critic); ok {
			cr := new(agent.Critique)
			*cr, out.resp.Usage, out.err = c.Critique(ctx, s.req)
			out.native = cr
			return true
		}
	case agent.PhaseVote:
		if v, ok := a.(agent.Voter); ok {
			vt := new(agent.Vote)
			*vt, out.resp.Usage, out.err = v.Vote(ctx, s.req)
			out.native = vt
			return true
		}
	case agent.PhaseJudge:
		if j, ok := a.(agent.Judge); ok {
			jd := new(agent.Judgement)
			*jd, out.resp.Usage, out.err = j.Judge(ctx, s.req)
			out.native = jd
			return true
		}
	}
	return false
}

// invokeStream calls a streaming agent into *out, publishing its chunks
// as agent_token events. (A function of its own, so that its frame is not
// on the stack of a plain call.)
//
//go:noinline
func (r *run) invokeStream(ctx context.Context, sa agent.Streamer, s *callSpec, out *callOut) {
	index := 0
	name := r.nameOf(s.idx)
	round, phase := s.req.Round, s.req.Phase
	resp, err := sa.RespondStream(ctx, s.req, func(chunk string) {
		r.obs.publish(Event{DebateID: r.st.DebateID, Type: EventAgentToken, Round: round, Agent: name, Time: r.now(),
			Data: AgentTokenData{Phase: phase, Text: chunk, Index: index, AfterSeq: atomic.LoadInt64(&r.delivered)}})
		index++
	})
	*out = callOut{resp: resp, err: err}
}

// account adds a call's usage and cost to the totals and returns its cost.
func (r *run) account(idx int, kind string, out *callOut, pt *phaseTotal) float64 {
	u := out.resp.Usage
	cost := out.resp.CostUSD
	if cost == 0 && idx >= 0 {
		cost = r.o.ps[idx].Pricing.Cost(u)
	}
	st := r.st
	st.Usage = st.Usage.Add(u)
	st.Cost += cost
	st.RoundUsage = st.RoundUsage.Add(u)
	st.RoundCost += cost
	if idx >= 0 {
		st.PerAgent[idx].Usage = st.PerAgent[idx].Usage.Add(u)
		st.PerAgent[idx].Cost += cost
	}
	if out.err == nil || u.Total() > 0 {
		st.Calls++
		st.CallsTokens += u.Total()
		st.CallsCost += cost
	}
	pt.Tokens += u.Total()
	pt.Cost += cost
	return cost
}

// callEvents returns the events for a call's outcome that precede its
// reply: agent_error + agent_fallback for a rescued call, or agent_error
// for a failed one (recorded in the transcript too, with the reply's text
// when it is invalid).
func (r *run) callEvents(idx int, phase agent.Phase, target string, out *callOut, failErr error) []Event {
	if quiet(out, failErr) {
		return nil // the common case: no event, and target stays on the stack
	}
	raw := out.resp.Text
	fb := out.resp.Fallback
	name := r.nameOf(idx)
	var tp *string
	if target != "" {
		t := target
		tp = &t
	}
	var evs []Event
	if fb != nil && out.err == nil {
		msg := "primary failed"
		if fb.Err != nil {
			msg = fb.Err.Error()
		}
		evs = append(evs, r.event(EventAgentError, r.st.Round, name, AgentErrorData{Kind: fb.Reason, Message: reply.Truncate(msg, 500),
			Phase: phase, Target: tp, Recoverable: true, Attempts: max(1, attemptsOf(fb.Err)), StatusCode: statusPtr(fb.Err)}))
		evs = append(evs, r.event(EventAgentFallback, r.st.Round, name, AgentFallbackData{Phase: phase, Target: tp,
			From: ProviderModel{fb.FromProvider, fb.FromModel}, To: ProviderModel{fb.ToProvider, fb.ToModel}, Reason: fb.Reason}))
		r.st.round().Errors = append(r.st.round().Errors, ErrorRecord{Agent: name, Phase: phase, Kind: fb.Reason, Message: msg, Target: target, Recoverable: true})
	}
	if failErr != nil {
		kind := agent.KindOf(failErr)
		var rawp *string
		if kind == agent.KindInvalidResponse {
			s := reply.Truncate(raw, 500)
			rawp = &s
		}
		attempts := out.resp.Attempts
		if attempts == 0 {
			attempts = max(1, attemptsOf(failErr))
		}
		msg := reply.Truncate(failErr.Error(), 500)
		evs = append(evs, r.event(EventAgentError, r.st.Round, name, AgentErrorData{Kind: kind, Message: msg, Phase: phase,
			Target: tp, Attempts: attempts, StatusCode: statusPtr(failErr), Raw: rawp}))
		r.st.round().Errors = append(r.st.round().Errors, ErrorRecord{Agent: name, Phase: phase, Kind: kind, Message: msg, Target: target})
		if idx >= 0 {
			r.st.PerAgent[idx].Errors++
		}
	}
	return evs
}

// quiet reports whether a call's outcome has no events before its reply
// (callEvents): it was not rescued by a fallback, and did not fail. The
// phases ask it before they call callEvents.
func quiet(out *callOut, failErr error) bool {
	return failErr == nil && (out.resp.Fallback == nil || out.err != nil)
}

func statusPtr(err error) *int {
	if c := agent.StatusCode(err); c != 0 {
		return &c
	}
	return nil
}

// quorumError is the text of a lost quorum; it matches ErrQuorum.
type quorumError string

func (e quorumError) Error() string        { return "debate: " + string(e) }
func (e quorumError) Is(target error) bool { return target == ErrQuorum }

// attemptsOf reads the attempt count the retry middleware recorded in err.
func attemptsOf(err error) int { return agent.Attempts(err) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", agent.ErrInvalidResponse, fmt.Sprintf(format, args...))
}

// ---- requests ----

func (r *run) baseRequest(idx int, phase agent.Phase) agent.Request {
	var req agent.Request
	r.initRequest(&req, idx, phase)
	return req
}

// initRequest sets the fields of *req, a zero request, that every call of
// the agent of idx in phase has, one by one: *req may be in a phase's spec
// buffer, which it is then written to without a copy of its own.
func (r *run) initRequest(req *agent.Request, idx int, phase agent.Phase) {
	st := r.st
	gp := genParamsOf(phase)
	req.DebateID, req.Participant, req.Phase, req.Round, req.Rounds = st.DebateID, r.nameOf(idx), phase, st.Round, r.cfg.Rounds
	req.MaxTokens, req.Temperature = gp.maxTokens, gp.temperature
	req.Question, req.Participants, req.PreviousLeader = st.Question, r.participants, st.PrevLeader
	req.ForbidSelfVote, req.Final, req.AgreementIntensity = r.cfg.ForbidSelfVote, st.Round >= r.cfg.Rounds, 5
	if idx >= 0 {
		p := &r.o.ps[idx]
		req.AgreementIntensity = intensity(p)
		req.Stance = p.Stance
		if req.Stance == "" {
			req.Stance = agent.StanceNeutral
		}
		if st.Current[idx].Has {
			req.Own = st.Current[idx].Text
		}
		req.System = r.systemOf(idx, phase)
	} else {
		external := Participant{Name: r.nameOf(idx)}
		req.System = r.pb.systemFor(&external, phase, st.PrevLeader)
	}
}

// currentProposals returns the current proposals in agent order.
func (r *run) currentProposals() []agent.Proposal {
	var ps []agent.Proposal
	if k := r.countCurrent(); k > 0 {
		// The phases' proposals share one allocation (take): agents
		// may keep them, and none is written again.
		ps = take(&r.propSlab, k, k*(r.cfg.Rounds-r.st.Round+2))
	}
	for i, c := range r.st.Current {
		if c.Has {
			ps = append(ps, agent.Proposal{Agent: r.o.names[i], Text: c.Text})
		}
	}
	return ps
}

// countCurrent counts the agents with a current proposal.
func (r *run) countCurrent() int {
	k := 0
	for _, c := range r.st.Current {
		if c.Has {
			k++
		}
	}
	return k
}

// ---- budget ----

func phaseKind(next string) string {
	switch next {
	case nextPropose:
		return "proposal"
	case nextCritique:
		return "critique"
	case nextVote:
		return "vote"
	case nextSynthesize:
		return "synthesis"
	}
	return ""
}

// plannedCalls counts the calls the next phase will make.
func (r *run) plannedCalls(next string) int {
	n := len(r.o.ps)
	switch next {
	case nextCritique:
		return len(r.critiquePairs())
	case nextVote:
		if consensus.NeedsJudge(r.cfg.Consensus) {
			return n + 1
		}
		return n
	case nextSynthesize:
		return 1
	}
	return n
}

// overBudget estimates the next phase (docs/debate.md#budgets) and reports whether it
// would take the debate past MaxTokens or MaxCostUSD.
func (r *run) overBudget(next string) bool {
	if r.cfg.MaxTokens <= 0 && r.cfg.MaxCostUSD <= 0 {
		return false
	}
	st := r.st
	kind := phaseKind(next)
	est, ok := st.LastPhase[kind]
	if !ok && st.Calls > 0 {
		calls := float64(r.plannedCalls(next))
		est = phaseTotal{Tokens: int(float64(st.CallsTokens) / float64(st.Calls) * calls),
			Cost: st.CallsCost / float64(st.Calls) * calls}
	}
	if r.cfg.MaxTokens > 0 && st.Usage.Total()+est.Tokens > r.cfg.MaxTokens {
		return true
	}
	return r.cfg.MaxCostUSD > 0 && st.Cost+est.Cost > r.cfg.MaxCostUSD+eps
}

func (r *run) endPhaseTotal(kind string, pt phaseTotal) {
	if r.st.LastPhase == nil {
		r.st.LastPhase = map[string]phaseTotal{}
	}
	r.st.LastPhase[kind] = pt
}

// ---- result ----

// buildResult returns the run's result. It shares the state's transcript:
// a run builds its result once it writes no more rounds, and its state is
// its own (a resumed debate's is decoded anew).
func (r *run) buildResult() *Result {
	st := r.st
	cfg := r.cfg
	res := &Result{
		DebateID: st.DebateID, Question: st.Question, Status: st.Status, StopReason: st.StopReason,
		Method: cfg.Consensus.Name(), RoundsPlanned: cfg.Rounds, Transcript: st.Transcript,
		TricksterInterventions: st.Interventions, ConvergenceDetected: st.ConvergenceDetected,
		FinalSimilarity: st.FinalSimilarity, Usage: usageOf(st.Usage), CostUSD: round6(st.Cost),
		PerAgent: map[string]AgentTotals{}, StartedAt: st.StartedAt, Resumes: st.Resumes, Error: st.ErrMsg,
		Synthesis: st.Synthesis, Context: st.Context, Metadata: st.Metadata, MemoryIDs: st.memoryIDs(),
	}
	res.RoundsUsed = st.Round
	if st.Status == store.StatusRunning {
		res.StopReason = ""
	}
	res.Agents = make([]receipt.Agent, 0, len(r.o.ps))
	for i, p := range r.o.ps {
		t := st.PerAgent[i]
		res.PerAgent[p.Name] = AgentTotals{Usage: usageOf(t.Usage), CostUSD: round6(t.Cost), Errors: t.Errors}
		res.Agents = append(res.Agents, receipt.Agent{Name: p.Name, Model: modelOf(p), Stance: string(stanceOr(p.Stance)),
			Role: p.Role, Weight: st.Weights[i]})
	}
	res.EndedAt = r.now()
	res.Duration = st.Elapsed
	if st.Final == nil && st.Status == store.StatusRunning {
		res.Duration += res.EndedAt.Sub(r.segStart)
	}
	d := st.Decision
	var raw float64
	switch {
	case !cfg.Consensus.NeedsVotes():
		if st.SynthesisOK || st.Phase == nextDone && st.Synthesis != "" {
			raw = st.SynthesisConfidence
		}
		res.FinalAnswer = st.Synthesis
		if res.FinalAnswer == "" {
			res.FinalAnswer = r.digest()
		}
	case d != nil:
		raw = d.Confidence
		res.Winner = d.Winner
		res.FinalAnswer = st.DecisionAnswer
		res.Consensus = ConsensusSummary{Reached: d.Reached, LeaderShare: d.LeaderShare, Threshold: d.Threshold,
			Supporting: nonNil(d.Supporting), Dissenting: nonNil(d.Dissenting), Abstaining: nonNil(d.Abstaining),
			Dissents: d.Dissents}
		if res.FinalAnswer == "" {
			res.FinalAnswer = r.digest()
		}
	default:
		res.FinalAnswer = r.digest()
	}
	if res.Consensus.Supporting == nil {
		res.Consensus.Supporting, res.Consensus.Dissenting, res.Consensus.Abstaining = []string{}, []string{}, []string{}
	}
	if res.Consensus.Dissents == nil {
		res.Consensus.Dissents = []consensus.Dissent{}
	}
	if d == nil && cfg.Consensus.NeedsVotes() {
		res.Consensus.Threshold = consensus.ThresholdOf(cfg.Consensus)
	}
	res.RawConfidence = raw
	res.Confidence = penalise(raw, st.Interventions, cfg.Trickster)
	res.Verdict = Verdict(res.Status, res.Consensus.Reached, len(res.Consensus.Dissenting), len(res.Consensus.Abstaining), res.Confidence)
	if !cfg.DisableReceipt && store.Terminal(st.Status) {
		opts := ReceiptOptions{}
		if cfg.Receipt != nil {
			opts = *cfg.Receipt
		}
		if opts.Rand == nil {
			opts.Rand = cfg.Rand
		}
		if rc, err := res.BuildReceipt(opts); err == nil {
			res.Receipt = rc
		} else {
			r.o.log.Error("receipt_failed", "debate_id", st.DebateID, "error", err)
		}
	}
	return res
}

// modelOf labels p in receipts: its Model, else what its agent says of
// itself.
func modelOf(p Participant) string {
	if p.Model != "" {
		return p.Model
	}
	info, _ := agent.InfoOf(p.Agent)
	return info.Model
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func stanceOr(s agent.Stance) agent.Stance {
	if s == "" {
		return agent.StanceNeutral
	}
	return s
}

// penalise applies the trickster penalty (docs/debate.md#evidence-and-the-trickster): with k > 0
// interventions, max(min(raw, floor), raw − penalty·k). It never raises.
func penalise(raw float64, k int, t Trickster) float64 {
	if k == 0 {
		return raw
	}
	c := max(min(raw, t.Floor), raw-t.Penalty*float64(k))
	return min(c, raw)
}

// digest joins the current proposals (docs/debate.md#consensus).
func (r *run) digest() string {
	var parts []string
	for i, c := range r.st.Current {
		if c.Has {
			parts = append(parts, "["+r.o.names[i]+"]\n"+c.Text)
		}
	}
	return strings.Join(parts, "\n\n---\n\n")
}

// recordRatings records a finished debate's ELO match (docs/debate.md#elo-ratings).
func (o *Orchestrator) recordRatings(ctx context.Context, st *state, res *Result) {
	if o.cfg.Ratings == nil || res == nil || res.Winner == "" {
		return
	}
	if res.Status != store.StatusConsensusReached && res.Status != store.StatusNoConsensus {
		return
	}
	var agents []string
	for i, n := range o.names {
		if st.Proposed[i] {
			agents = append(agents, n)
		}
	}
	if len(agents) < 2 {
		return
	}
	m := store.Match{DebateID: res.DebateID, Domain: o.cfg.Domain, Agents: agents, Winner: res.Winner,
		Consensus: res.Status == store.StatusConsensusReached, At: res.EndedAt}
	if _, err := o.cfg.Ratings.RecordMatch(ctx, m); err != nil {
		o.log.Error("ratings_record_failed", "debate_id", res.DebateID, "error", err)
	}
}

func round6(x float64) float64 { return roundTo(x, 1e6) }
func round3(x float64) float64 { return roundTo(x, 1e3) }

func roundTo(x, f float64) float64 {
	if x == 0 {
		return 0
	}
	return float64(int64(x*f+0.5)) / f
}
