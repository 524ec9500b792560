package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/tick"
	"github.com/aragora/aragora/store"
)

// errLeaseLost is the cancellation cause of a debate whose heartbeat found
// its lease gone.
var errLeaseLost = fmt.Errorf("lifecycle: %w", store.ErrLeaseLost)

// Job is one prepared run of a stored debate: its lease is claimed (when
// the store keeps leases) and its orchestrator built. Run it once with
// Run; if it is not run, Release or Fail it. A Job is not safe for
// concurrent use.
type Job struct {
	m        *Manager
	d        *store.Debate
	sp       *Spec
	lease    *store.Lease // nil: the store keeps no leases, or the debate is finished
	orch     *debate.Orchestrator
	agents   []Agent
	judge    *Agent
	finished bool       // the debate had already finished when prepared
	doc      *ResultDoc // the result document Finalize committed
	// recommitted: Prepare committed the result a previous run computed
	// and spooled (docs/operations.md#the-result-spool); Run shows it.
	recommitted bool
}

// Prepare loads debate id, claims its lease for this process and builds
// its orchestrator from the stored Spec, before any agent is called. A
// debate another live process holds is refused with a *HeldError (the
// holder and its heartbeat); an expired lease is taken over. A finished
// debate needs no lease: its Job's Run returns the stored result. When the
// stored settings cannot run, Prepare returns the claimed Job and a
// *SetupError: the caller Fails it (the server) or Releases it (the CLI).
func (m *Manager) Prepare(ctx context.Context, id string) (*Job, error) {
	ctx = context.WithoutCancel(ctx) // a cancelled run still records its cancellation
	d, err := m.st.GetDebate(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: load debate: %w", err)
	}
	j := &Job{m: m, d: d, finished: store.Terminal(d.Status)}
	if !j.finished && m.leaser != nil {
		claimed, err := m.leaser.ClaimDebate(ctx, id, m.cfg.Holder, m.now(), m.cfg.LeaseDuration)
		switch {
		case err == nil:
			l := store.LeaseOf(claimed)
			j.d, j.lease = claimed, &l
		case errors.Is(err, store.ErrConflict):
			cur, gerr := m.st.GetDebate(ctx, id)
			if gerr != nil {
				return nil, fmt.Errorf("lifecycle: claim debate: %w", err)
			}
			if store.Terminal(cur.Status) {
				j.d, j.finished = cur, true // it finished meanwhile
				break
			}
			if !m.ownerDead(cur.LeaseOwner) {
				return nil, &HeldError{DebateID: id, Holder: cur.LeaseOwner, Heartbeat: cur.UpdatedAt, Age: m.now().Sub(cur.UpdatedAt)}
			}
			// The holder is a process of this host that no longer exists
			// (killed): its lease is void, take the debate over at once.
			claimed, err = m.takeOver(ctx, cur)
			if err != nil {
				return nil, err
			}
			l := store.LeaseOf(claimed)
			j.d, j.lease = claimed, &l
		default:
			return nil, fmt.Errorf("lifecycle: claim debate: %w", err)
		}
	}
	if !j.finished {
		done, err := m.recommit(ctx, j)
		if err != nil {
			// The computed result is spooled but the store cannot take it
			// yet: no agent runs; the sweeper tries again.
			_ = j.Release(ctx)
			return nil, err
		}
		j.finished = done
	}
	sp, err := ParseSpec(j.d.Config)
	if err != nil {
		return j, &SetupError{Code: "invalid_config", Err: errors.New("stored settings unreadable")}
	}
	j.sp = sp
	j.orch, err = m.build(j.d, sp, j.lease, j)
	var ae *AgentError
	switch {
	case errors.As(err, &ae):
		return j, &SetupError{Code: "agent_unavailable", Err: err}
	case err != nil:
		return j, &SetupError{Code: "invalid_config", Err: err}
	}
	return j, nil
}

// takeOver claims debate d from its dead holder: it releases the holder's
// lease (fenced by its generation, so concurrent takers cannot both
// succeed) and claims the debate.
func (m *Manager) takeOver(ctx context.Context, d *store.Debate) (*store.Debate, error) {
	m.log.Warn("debate_lease_taken_over", "debate_id", d.ID, "dead_holder", d.LeaseOwner)
	if err := m.leaser.ReleaseDebate(ctx, d.ID, store.LeaseOf(d), "", m.now()); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		return nil, fmt.Errorf("lifecycle: take over debate: %w", err)
	}
	claimed, err := m.leaser.ClaimDebate(ctx, d.ID, m.cfg.Holder, m.now(), m.cfg.LeaseDuration)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: take over debate: %w", err)
	}
	return claimed, nil
}

// build resolves sp's agents and builds the orchestrator of debate d,
// writing through the store fenced by lease (nil: unfenced). j, when set,
// receives the resolved agents and commits the final result.
func (m *Manager) build(d *store.Debate, sp *Spec, lease *store.Lease, j *Job) (*debate.Orchestrator, error) {
	agents, judge, err := ResolveAgents(m.agents, sp)
	if err != nil {
		return nil, err
	}
	cfg, err := sp.DebateConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", debate.ErrInvalidConfig, err)
	}
	ids := debateIDs{id: d.ID, correlationID: d.CorrelationID}
	if al := m.cfg.AgentLogger; al != nil {
		for i := range agents {
			agents[i].Agent = logCalls(agents[i], ids, al(agents[i].Provider))
		}
		if judge != nil {
			jc := *judge
			jc.Agent = logCalls(jc, ids, al(jc.Provider))
			judge = &jc
		}
	}
	if tr := m.cfg.Tracer; tr != nil { // outermost: the call log carries the call's span
		for i := range agents {
			agents[i].Agent = tr.Agent(agents[i].Name, agents[i].Provider, agents[i].Model, agents[i].Agent)
		}
		if judge != nil {
			jc := *judge
			jc.Agent = tr.Agent(jc.Name, jc.Provider, jc.Model, jc.Agent)
			judge = &jc
		}
	}
	ps := make([]debate.Participant, 0, len(agents))
	for _, a := range agents {
		ps = append(ps, debate.Participant{Name: a.Name, Agent: a.Agent, Model: a.Model, Provider: a.Provider})
	}
	cfg.AgentTimeout, cfg.Now, cfg.Rand = m.cfg.AgentTimeout, m.cfg.Now, m.cfg.Rand
	cfg.Store = m.spooling(fence(m.st, lease))
	cfg.Receipt = &debate.ReceiptOptions{Signer: m.cfg.ReceiptSigner, Rand: m.cfg.Rand}
	cfg.Observers = append([]debate.Observer(nil), m.cfg.Observers...)
	cfg.Observers = append(cfg.Observers, newRoundLog(m.log, ids))
	if tr := m.cfg.Tracer; tr != nil {
		cfg.Observers = append(cfg.Observers, tr.Observer())
	}
	cfg.Logger = m.log.With("correlation_id", d.CorrelationID)
	cfg.OnRound = m.cfg.OnRound
	if rs, ok := m.st.(store.RatingStore); ok {
		cfg.Ratings = rs // ELO, updated once per finished debate (docs/debate.md#elo-ratings)
	}
	if judge != nil {
		cfg.Judge, cfg.JudgeAgent = judge.Name, judge.Agent
	}
	if j != nil {
		j.agents, j.judge = agents, judge
		cfg.Finalize = j.finalize
	}
	return m.cfg.NewDebate(cfg, ps...)
}

// Debate returns the debate record as claimed.
func (j *Job) Debate() *store.Debate { return j.d }

// Spec returns the debate's stored settings (nil when unreadable).
func (j *Job) Spec() *Spec { return j.sp }

// Orchestrator returns the debate's orchestrator (nil after a SetupError).
func (j *Job) Orchestrator() *debate.Orchestrator { return j.orch }

// Lease returns the claimed lease; ok is false without one.
func (j *Job) Lease() (l store.Lease, ok bool) {
	if j.lease == nil {
		return store.Lease{}, false
	}
	return *j.lease, true
}

// finalize is the orchestrator's Finalize hook: the result document, the
// usage charged to the debate's owner and the outbox messages, committed
// with the final checkpoint.
func (j *Job) finalize(res *debate.Result) *store.Final {
	j.doc = ResultDocOf(res, nil)
	raw, _ := json.Marshal(j.doc)
	f := &store.Final{Result: raw, Usage: j.usage(res)}
	if o := j.m.cfg.Outbox; o != nil {
		f.Outbox = o.OnFinish(j.d, j.doc)
	}
	return f
}

// usage returns the per-agent usage of res charged to the debate's owner,
// by provider and model (docs/http-api.md#accounts); calls that used nothing are not rows.
func (j *Job) usage(res *debate.Result) []store.UsageRecord {
	byName := map[string]Agent{}
	for _, a := range j.agents {
		byName[a.Name] = a
	}
	if j.judge != nil {
		byName[j.judge.Name] = *j.judge
	}
	at := j.m.now()
	var out []store.UsageRecord
	for _, name := range slices.Sorted(maps.Keys(res.PerAgent)) {
		t := res.PerAgent[name]
		if t.Usage.InputTokens == 0 && t.Usage.OutputTokens == 0 && t.CostUSD == 0 {
			continue
		}
		a := byName[name]
		out = append(out, store.UsageRecord{ID: debateUsageID(j.d.ID, name), UserID: j.d.Owner, Provider: a.Provider, Model: a.Model,
			TokensIn: int64(t.Usage.InputTokens), TokensOut: int64(t.Usage.OutputTokens), CostUSD: t.CostUSD, DebateID: j.d.ID, At: at})
	}
	return out
}

// debateUsageID is the idempotency key of the usage row of agent in the
// debate id: a debate is charged once per agent, however often its final
// commit is tried or re-committed from the spool.
func debateUsageID(id, agent string) string {
	return "usg_" + id + "_" + agent
}

// Run runs (or, from its last checkpoint, resumes) the prepared debate to
// its end, renewing the lease every HeartbeatEvery. A run that loses the
// lease (another process claimed the debate, or its status was changed)
// stops at once, writes nothing more and returns an error wrapping
// store.ErrLeaseLost. Cancelling ctx records the debate as cancelled; a
// ctx cancelled with cause debate.ErrSuspend returns the debate to pending
// for another process (graceful shutdown) and Run returns
// debate.ErrSuspend. Otherwise the final status, result, usage and
// debate_end are durable when Run returns, and Run returns the result and
// the engine's error (nil for consensus_reached, no_consensus and
// budget_exceeded).
func (j *Job) Run(ctx context.Context) (*debate.Result, error) {
	m, id := j.m, j.d.ID
	bg := context.WithoutCancel(ctx)
	log := m.log.With("debate_id", id, "correlation_id", j.d.CorrelationID)
	if j.orch == nil {
		return nil, errors.New("lifecycle: run: the job was not prepared")
	}
	if j.finished {
		res, err := j.orch.Resume(bg, id, debate.ResumeOptions{})
		if errors.Is(err, debate.ErrFinished) {
			err = nil
		}
		if j.recommitted && res != nil {
			var doc ResultDoc
			if json.Unmarshal(j.d.Result, &doc) == nil {
				j.show(bg, &doc, j.d.Result, res, log)
			}
		}
		return res, err
	}
	startedAt := m.now()
	if ls, ok := m.overlay.get(id); ok && !ls.StartedAt.IsZero() && !ls.StartedAt.After(startedAt) {
		startedAt = ls.StartedAt // shown since the runner took the debate
	}
	if m.leaser != nil {
		err := m.leaser.UpdateStatus(bg, id, []store.Status{store.StatusPending, store.StatusRunning}, store.StatusRunning, startedAt)
		if errors.Is(err, store.ErrConflict) {
			m.overlay.update(id, func(ls *liveState) { ls.Status = "" })
			log.Warn("debate_lease_lost", "error", err.Error())
			return nil, fmt.Errorf("lifecycle: debate %s: status changed: %w", id, store.ErrLeaseLost)
		} else if err != nil {
			log.Warn("debate_status_update_failed", "error", err.Error())
		}
	}
	m.overlay.update(id, func(ls *liveState) {
		ls.Status = store.StatusRunning
		if ls.StartedAt.IsZero() {
			ls.StartedAt = startedAt
		}
	})
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var hbDone chan struct{}
	if j.lease != nil {
		hbDone = make(chan struct{})
		hbCtx, stopHB := context.WithCancel(runCtx)
		defer func() { stopHB(); <-hbDone }()
		go func() {
			defer close(hbDone)
			m.heartbeat(hbCtx, id, *j.lease, cancel, log)
		}()
	}
	var res *debate.Result
	var err error
	engineCtx := runCtx
	if tr := m.cfg.Tracer; tr != nil {
		var end func(string, error)
		engineCtx, end = tr.Start(runCtx, id)
		defer func() {
			status := ""
			if res != nil && store.Terminal(res.Status) {
				status = string(res.Status) // string or store.Status
			}
			end(status, err)
		}()
	}
	log.Log(engineCtx, slog.LevelInfo, "debate_start", "agents", j.sp.Names, "rounds", j.sp.Rounds,
		"resume", hasCheckpoint(bg, m.st, id), "topic_len", len(j.sp.Topic))
	if hasCheckpoint(bg, m.st, id) {
		res, err = j.orch.Resume(engineCtx, id, debate.ResumeOptions{})
	} else {
		res, err = j.orch.RunTask(engineCtx, debate.Task{ID: id, Question: j.sp.Topic, Context: j.sp.Context, Metadata: j.sp.Metadata})
	}
	if errors.Is(err, debate.ErrFinished) {
		err = nil
	}
	cause := context.Cause(runCtx)
	switch {
	case errors.Is(err, debate.ErrSuspend) || errors.Is(cause, debate.ErrSuspend) && (res == nil || !store.Terminal(res.Status)):
		if j.lease != nil {
			if rerr := m.leaser.ReleaseDebate(bg, id, *j.lease, store.StatusPending, m.now()); rerr != nil {
				log.Warn("debate_release_failed", "error", rerr.Error())
			}
		}
		m.overlay.update(id, func(ls *liveState) { ls.Status = store.StatusPending })
		log.Info("debate_suspended")
		return res, debate.ErrSuspend
	case errors.Is(cause, errLeaseLost) && (res == nil || !store.Terminal(res.Status)), errors.Is(err, store.ErrLeaseLost):
		m.overlay.update(id, func(ls *liveState) { ls.Status = "" })
		log.Warn("debate_lease_lost")
		if !errors.Is(err, store.ErrLeaseLost) {
			err = fmt.Errorf("lifecycle: debate %s: %w", id, errLeaseLost)
		}
		return res, err
	case res == nil:
		msg := "debate failed"
		if err != nil {
			msg = err.Error()
		}
		j.Fail(ctx, "debate_failed", msg)
		return nil, err
	}
	if cerr := j.complete(ctx, res, err, log); cerr != nil {
		return res, cerr
	}
	return res, err
}

// complete makes sure the final state of a finished run is durable (the
// orchestrator commits it with its final checkpoint; a store without
// checkpoints gets it here), then shows it. A final state that cannot be
// made durable is not shown: complete returns the error (the debate stays
// as the store has it, for this process or another to finish).
func (j *Job) complete(ctx context.Context, res *debate.Result, runErr error, log *slog.Logger) error {
	m, id := j.m, j.d.ID
	doc := j.doc
	if doc == nil || doc.Status != res.Status {
		doc = ResultDocOf(res, runErr)
	}
	raw, _ := json.Marshal(doc)
	if m.leaser != nil {
		err := m.durably(ctx, log, func(wctx context.Context) error {
			d, err := m.st.GetDebate(wctx, id)
			if err != nil || store.Terminal(d.Status) {
				return err
			}
			f := &store.Finish{Lease: j.lease, Status: doc.Status, End: syntheticEnd(id, m.now(), doc.Status, doc.StopReason),
				Final: store.Final{Result: raw, Usage: j.usage(res)}}
			if j.lease == nil {
				f.From = []store.Status{store.StatusPending, store.StatusRunning}
			}
			if o := m.cfg.Outbox; o != nil {
				f.Outbox = o.OnFinish(j.d, doc)
			}
			return m.leaser.FinishDebate(wctx, id, f, m.now())
		})
		if err != nil {
			m.overlay.update(id, func(ls *liveState) { ls.Status = "" })
			log.Warn("debate_result_write_failed", "error", err.Error())
			return fmt.Errorf("lifecycle: debate %s: result not stored: %w", id, err)
		}
	}
	j.show(context.WithoutCancel(ctx), doc, raw, res, log)
	return nil
}

// maxWriteBackoff caps the wait between two attempts at a final write.
const maxWriteBackoff = 5 * time.Second

// durably runs write until it succeeds, retrying with backoff while the
// store cannot write (docs/operations.md#stop-drain-and-restart): it gives
// up on a conflict or a missing debate (another process holds it, or it is
// gone) and when ctx is cancelled with debate.ErrSuspend (shutdown) or the
// Manager stops. Each attempt is bounded by 5 s.
func (m *Manager) durably(ctx context.Context, log *slog.Logger, write func(context.Context) error) error {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := write(wctx)
		cancel()
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return err
		}
		if errors.Is(context.Cause(ctx), debate.ErrSuspend) || m.root.Err() != nil {
			return err
		}
		if attempt >= 3 {
			log.Warn("debate_result_write_retry", "attempt", attempt, "retry_in_ms", delay.Milliseconds(), "error", err.Error())
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-m.root.Done():
		case <-suspended(ctx):
		}
		t.Stop()
		delay = min(2*delay, maxWriteBackoff)
	}
}

// suspended returns ctx's Done channel while it is not done (a cancelled
// ctx that is not suspended keeps the retry going), else nil.
func suspended(ctx context.Context) <-chan struct{} {
	if ctx.Err() != nil {
		return nil
	}
	return ctx.Done()
}

// show records a finished debate's live state, logs debate_end and calls
// OnFinished.
func (j *Job) show(ctx context.Context, doc *ResultDoc, raw []byte, res *debate.Result, log *slog.Logger) {
	m, id := j.m, j.d.ID
	var rendered map[string][]byte
	if res != nil && res.Receipt != nil {
		rendered = map[string][]byte{"markdown": []byte(res.Receipt.Markdown())}
		if b, err := res.Receipt.HTML(); err == nil {
			rendered["html"] = b
		}
	}
	m.overlay.update(id, func(ls *liveState) {
		ls.Status, ls.Result, ls.FinishedAt = doc.Status, raw, doc.FinishedAt
		if ls.FinishedAt.IsZero() {
			ls.FinishedAt = m.now()
		}
		if len(rendered) > 0 {
			ls.Receipts = rendered
		}
	})
	log.Info("debate_end", "status", doc.Status, "stop_reason", doc.StopReason,
		"duration_ms", doc.FinishedAt.Sub(doc.StartedAt).Milliseconds())
	if m.cfg.OnFinished != nil {
		d := j.d
		if nd, err := m.st.GetDebate(ctx, id); err == nil {
			d = nd
		}
		m.cfg.OnFinished(d)
	}
}

// Fail finishes the debate as failed with code and msg without running it
// (its settings cannot run), fenced by the claimed lease, with a
// synthetic debate_end. Like a result, the failure is shown only once it
// is durable (retried while the store cannot write).
func (j *Job) Fail(ctx context.Context, code, msg string) {
	m, id := j.m, j.d.ID
	log := m.log.With("debate_id", id, "correlation_id", j.d.CorrelationID)
	now := m.now()
	doc := failedDoc(code, msg, now)
	raw, _ := json.Marshal(doc)
	if m.leaser != nil {
		f := &store.Finish{Lease: j.lease, Status: store.StatusFailed, End: syntheticEnd(id, now, store.StatusFailed, debate.StopError),
			Final: store.Final{Result: raw}}
		if j.lease == nil {
			f.From = []store.Status{store.StatusPending, store.StatusRunning}
		}
		if o := m.cfg.Outbox; o != nil {
			f.Outbox = o.OnFinish(j.d, doc)
		}
		err := m.durably(ctx, log, func(wctx context.Context) error { return m.leaser.FinishDebate(wctx, id, f, now) })
		if err != nil {
			m.overlay.update(id, func(ls *liveState) { ls.Status = "" })
			log.Warn("debate_result_write_failed", "error", err.Error())
			return
		}
	}
	j.show(context.WithoutCancel(ctx), doc, raw, nil, log)
}

// Release drops the claimed lease without running the debate, leaving its
// status as it was.
func (j *Job) Release(ctx context.Context) error {
	if j.lease == nil {
		return nil
	}
	err := j.m.leaser.ReleaseDebate(context.WithoutCancel(ctx), j.d.ID, *j.lease, "", j.m.now())
	j.lease = nil
	return err
}

// heartbeat renews lease l every HeartbeatEvery until ctx ends; when the
// lease is lost it cancels the run with errLeaseLost.
func (m *Manager) heartbeat(ctx context.Context, id string, l store.Lease, cancel context.CancelCauseFunc, log *slog.Logger) {
	tick.Every(ctx, m.cfg.HeartbeatEvery, func() bool {
		err := m.leaser.Heartbeat(context.WithoutCancel(ctx), id, l, m.now(), m.cfg.LeaseDuration)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			// A heartbeat that lands between the engine's final commit
			// and the end of the run finds the debate finished: nothing
			// was lost (a short lease makes that frequent).
			level := slog.LevelWarn
			if d, gerr := m.st.GetDebate(context.WithoutCancel(ctx), id); gerr == nil && store.Terminal(d.Status) && d.LeaseGeneration == l.Generation {
				level = slog.LevelDebug
			}
			log.Log(context.WithoutCancel(ctx), level, "debate_heartbeat_conflict", "error", err.Error())
			cancel(errLeaseLost)
			return false
		}
		return true
	})
}

func hasCheckpoint(ctx context.Context, st store.DebateStore, id string) bool {
	cp, ok := st.(store.Checkpointer)
	if !ok {
		return false
	}
	_, err := cp.LatestCheckpoint(ctx, id)
	return err == nil
}
