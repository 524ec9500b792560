package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"time"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

// DebateFactory builds the orchestrator of one debate; cmd passes debate.New
// (wrapped to add its metrics observer).
type DebateFactory func(cfg debate.Config, participants ...debate.Participant) (*debate.Orchestrator, error)

// errLeaseLost cancels a debate whose lease was taken over or whose status
// was changed outside the server.
var errLeaseLost = errors.New("server: debate lease lost")

func isInvalidConfig(err error) bool { return errors.Is(err, debate.ErrInvalidConfig) }

// hubObserver forwards a debate's events to the WebSocket hub.
type hubObserver struct {
	s     *Server
	epoch string
}

func (o hubObserver) OnEvent(e debate.Event) {
	if e.Replayed {
		return
	}
	if e.Type == debate.EventAgentError {
		rec := ErrorRecord{At: e.Time, Type: "agent", Level: "WARN", DebateID: e.DebateID, Agent: e.Agent}
		if d, ok := e.Data.(debate.AgentErrorData); ok {
			rec.Code, rec.Message = string(d.Kind), d.Message
		} else if d, ok := e.Data.(*debate.AgentErrorData); ok && d != nil {
			rec.Code, rec.Message = string(d.Kind), d.Message
		}
		o.s.errs.add(rec)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	o.s.hub.publish(e.DebateID, e.Seq, withEpoch(b, o.epoch))
}

// fanoutObserver publishes a debate's durable events to the other
// replicas. It runs on its own observer goroutine, so publishing keeps seq
// order and never slows the debate; an event it cannot publish is recovered
// by remote subscribers from the store.
type fanoutObserver struct {
	f   Fanout
	log interface{ Warn(string, ...any) }
}

func (o fanoutObserver) OnEvent(e debate.Event) {
	if e.Replayed || e.Seq == 0 {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := o.f.Publish(ctx, store.Event{DebateID: e.DebateID, Seq: e.Seq, Type: string(e.Type), JSON: b}); err != nil {
		o.log.Warn("fanout_publish_failed", "debate_id", e.DebateID, "seq", e.Seq, "error", err.Error())
	}
}

func (s *Server) leaser() (store.Leaser, bool) {
	l, ok := s.st.(store.Leaser)
	return l, ok
}

// execute runs (or resumes) one debate to its end, suspension or failure.
// It is called by the runner in its own goroutine.
func (s *Server) execute(ctx context.Context, id string, resume bool) {
	bg := context.WithoutCancel(ctx)
	log := s.debLog.With("debate_id", id)
	d, err := s.st.GetDebate(bg, id)
	if err != nil {
		log.Error("debate_load_failed", "error", err.Error())
		return
	}
	log = log.With("correlation_id", d.CorrelationID)
	var sp Spec
	if err := json.Unmarshal(d.Config, &sp); err != nil {
		s.finishFailed(bg, d, "invalid_config", "stored settings unreadable", log)
		return
	}
	l, hasLease := s.leaser()
	if hasLease {
		if _, err := l.ClaimDebate(bg, id, s.holder(), s.now(), s.cfg.LeaseDuration); err != nil {
			log.Info("debate_claim_lost", "error", err.Error())
			s.overlay.update(id, func(ls *liveState) { ls.Status = "" })
			return
		}
		if err := l.UpdateStatus(bg, id, []string{store.StatusPending, store.StatusRunning}, store.StatusRunning, s.now()); err != nil {
			log.Warn("debate_status_update_failed", "error", err.Error())
		}
	}
	startedAt := s.now()
	s.overlay.update(id, func(ls *liveState) {
		ls.Status = store.StatusRunning
		if ls.StartedAt.IsZero() {
			ls.StartedAt = startedAt
		}
	})
	agents, judge, err := s.resolveAgents(&sp)
	if err != nil {
		s.finishFailed(bg, d, "agent_unavailable", err.Error(), log)
		return
	}
	cfg, err := sp.DebateConfig()
	if err != nil {
		s.finishFailed(bg, d, "invalid_config", err.Error(), log)
		return
	}
	ps := make([]debate.Participant, 0, len(agents))
	for _, a := range agents {
		ps = append(ps, debate.Participant{Name: a.Name, Agent: a.Agent, Model: a.Model, Provider: a.Provider})
	}
	cfg.AgentTimeout, cfg.Store, cfg.Now = s.cfg.AgentTimeout, s.st, s.cfg.Now
	cfg.Receipt = &debate.ReceiptOptions{Signer: s.cfg.ReceiptSigner}
	cfg.Observers = []debate.Observer{hubObserver{s: s, epoch: epochOf(id)}}
	cfg.Logger = s.debLog.With("correlation_id", d.CorrelationID)
	cfg.OnRound = s.cfg.RoundObserver
	if rs, ok := s.st.(store.RatingStore); ok {
		cfg.Ratings = rs // ELO, updated once per finished debate (docs/debate.md#elo-ratings)
	}
	if s.cfg.Fanout != nil {
		cfg.Observers = append(cfg.Observers, fanoutObserver{f: s.cfg.Fanout, log: s.wsLog})
	}
	if judge != nil {
		cfg.Judge, cfg.JudgeAgent = judge.Name, judge.Agent
	}
	if s.newDebate == nil {
		s.finishFailed(bg, d, "internal", "no debate factory configured", log)
		return
	}
	orch, err := s.newDebate(cfg, ps...)
	if err != nil {
		s.finishFailed(bg, d, "invalid_config", err.Error(), log)
		return
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if hasLease {
		go s.heartbeat(runCtx, l, id, cancel, log)
	}
	log.Info("debate_start", "agents", sp.Names, "rounds", sp.Rounds, "resume", resume, "topic_len", len(sp.Topic))
	var res *debate.Result
	if cp, ok := s.st.(store.Checkpointer); ok && hasCheckpoint(bg, cp, id) {
		res, err = orch.Resume(runCtx, id, debate.ResumeOptions{})
	} else {
		res, err = orch.RunTask(runCtx, debate.Task{ID: id, Question: sp.Topic, Context: sp.Context, Metadata: sp.Metadata})
	}
	if errors.Is(err, debate.ErrSuspend) || errors.Is(context.Cause(runCtx), debate.ErrSuspend) && (res == nil || !store.Terminal(res.Status)) {
		if hasLease {
			if rerr := l.ReleaseDebate(bg, id, s.holder(), store.StatusPending, s.now()); rerr != nil {
				log.Warn("debate_release_failed", "error", rerr.Error())
			}
		}
		s.overlay.update(id, func(ls *liveState) { ls.Status = store.StatusPending })
		log.Info("debate_suspended")
		return
	}
	if errors.Is(context.Cause(runCtx), errLeaseLost) && (res == nil || !store.Terminal(res.Status)) {
		s.overlay.update(id, func(ls *liveState) { ls.Status = "" })
		log.Warn("debate_lease_lost")
		return
	}
	if res == nil {
		msg := "debate failed"
		if err != nil {
			msg = err.Error()
		}
		s.finishFailed(bg, d, "debate_failed", msg, log)
		return
	}
	doc := resultDocOf(res, err)
	s.finish(bg, d, doc, res, log)
	s.recordDebateUsage(bg, d, res, agents, judge)
}

// recordDebateUsage charges a finished debate's per-agent usage to its
// owner, by provider and model (docs/http-api.md#accounts).
func (s *Server) recordDebateUsage(ctx context.Context, d *store.Debate, res *debate.Result, agents []ResolvedAgent, judge *ResolvedAgent) {
	if res == nil {
		return
	}
	byName := map[string]ResolvedAgent{}
	for _, a := range agents {
		byName[a.Name] = a
	}
	if judge != nil {
		byName[judge.Name] = *judge
	}
	at := s.now()
	for name, t := range res.PerAgent {
		a := byName[name]
		s.RecordUsage(ctx, store.UsageRecord{UserID: d.Owner, Provider: a.Provider, Model: a.Model,
			TokensIn: int64(t.Usage.InputTokens), TokensOut: int64(t.Usage.OutputTokens), CostUSD: t.CostUSD, DebateID: d.ID, At: at})
	}
}

func hasCheckpoint(ctx context.Context, cp store.Checkpointer, id string) bool {
	_, err := cp.LatestCheckpoint(ctx, id)
	return err == nil
}

func (s *Server) heartbeat(ctx context.Context, l store.Leaser, id string, cancel context.CancelCauseFunc, log interface {
	Warn(string, ...any)
}) {
	t := time.NewTicker(s.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.Heartbeat(context.WithoutCancel(ctx), id, s.holder(), s.now(), s.cfg.LeaseDuration)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			log.Warn("debate_heartbeat_conflict", "error", err.Error())
			cancel(errLeaseLost)
			return
		}
	}
}

// ResultDocument is the result document stored with a finished debate
// (store.Leaser.SetResult), from which the API's debate object reads its
// verdict, confidence and receipt. `aragora debate` stores the same.
func ResultDocument(res *debate.Result, err error) json.RawMessage {
	raw, _ := json.Marshal(resultDocOf(res, err))
	return raw
}

func resultDocOf(res *debate.Result, err error) *ResultDoc {
	doc := &ResultDoc{Status: res.Status, StopReason: res.StopReason, Verdict: res.Verdict, Confidence: res.Confidence,
		Reached: res.Consensus.Reached, FinalAnswer: res.FinalAnswer, Winner: res.Winner, RoundsUsed: res.RoundsUsed,
		Tokens: tokensObj{Input: res.Usage.InputTokens, Output: res.Usage.OutputTokens}, CostUSD: res.CostUSD,
		StartedAt: res.StartedAt, FinishedAt: res.EndedAt}
	if res.Receipt != nil {
		doc.ReceiptID = res.Receipt.ReceiptID
		if b, jerr := res.Receipt.JSON(); jerr == nil {
			doc.Receipt = b
		}
	}
	if res.Status == store.StatusFailed {
		msg := res.Error
		if msg == "" && err != nil {
			msg = err.Error()
		}
		doc.Error = &errObj{Code: "debate_failed", Message: msg}
	}
	if doc.Status == "" {
		doc.Status = store.StatusFailed
	}
	return doc
}

// renderReceipt renders the Markdown and HTML exports of a receipt once,
// at finish, so that repeated requests return identical bytes.
func renderReceipt(r *receipt.Receipt) map[string][]byte {
	out := map[string][]byte{"markdown": []byte(r.Markdown())}
	if b, err := r.HTML(); err == nil {
		out["html"] = b
	}
	return out
}

func (s *Server) finish(ctx context.Context, d *store.Debate, doc *ResultDoc, res *debate.Result, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	raw, _ := json.Marshal(doc)
	var rendered map[string][]byte
	if res != nil && res.Receipt != nil {
		rendered = renderReceipt(res.Receipt)
	}
	s.overlay.update(d.ID, func(ls *liveState) {
		ls.Status, ls.Result, ls.FinishedAt = doc.Status, raw, doc.FinishedAt
		if ls.FinishedAt.IsZero() {
			ls.FinishedAt = s.now()
		}
		if len(rendered) > 0 {
			ls.Receipts = rendered
		}
	})
	if l, ok := s.leaser(); ok {
		if err := l.SetResult(ctx, d.ID, raw, s.now()); err != nil {
			log.Warn("debate_result_write_failed", "error", err.Error())
		}
		from := []string{store.StatusPending, store.StatusRunning, doc.Status}
		if err := l.UpdateStatus(ctx, d.ID, from, doc.Status, s.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			log.Warn("debate_status_update_failed", "error", err.Error())
		}
	}
	log.Info("debate_end", "status", doc.Status, "stop_reason", doc.StopReason,
		"duration_ms", doc.FinishedAt.Sub(doc.StartedAt).Milliseconds())
	if nd, err := s.st.GetDebate(ctx, d.ID); err == nil {
		d = nd
	}
	s.hub.settle(d.ID)
	s.hub.control("debate_finished", d.ID, s.debateObject(d, nil, false))
}

func (s *Server) finishFailed(ctx context.Context, d *store.Debate, code, msg string, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	now := s.now()
	doc := &ResultDoc{Status: store.StatusFailed, StopReason: debate.StopError, Verdict: debate.VerdictNeedsReview,
		Error: &errObj{Code: code, Message: msg}, StartedAt: now, FinishedAt: now}
	if l, ok := s.leaser(); ok {
		_, _ = l.AppendDebateEnd(ctx, d.ID, func(seq int64) (json.RawMessage, error) {
			return syntheticEnd(d.ID, seq, now, store.StatusFailed, debate.StopError)
		})
	}
	s.finish(ctx, d, doc, nil, log)
}

// syntheticEnd builds a debate_end written by the server itself.
func syntheticEnd(id string, seq int64, at time.Time, status, stop string) (json.RawMessage, error) {
	e := debate.Event{Seq: seq, DebateID: id, Type: debate.EventDebateEnd, Time: at, Data: debate.DebateEndData{
		Status: status, StopReason: stop, Verdict: debate.VerdictNeedsReview}}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("server: encode debate_end: %w", err)
	}
	return b, nil
}

// Shutdown suspends every running debate (docs/operations.md#stop-drain-and-restart step 3) and waits for
// them until ctx ends. Queued debates stay pending in the store. Call Drain
// first; Shutdown also stops the sweeper.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
	s.stopSweeper()
	err := s.runner.suspendAll(ctx, debate.ErrSuspend)
	s.runner.stop()
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}
