package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/tick"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
)

// errCancelledByAPI is the cancellation cause of POST /cancel.
var errCancelledByAPI = context.Canceled

// hubObserver forwards every debate's events to the WebSocket hub and
// agent errors to the error ring.
type hubObserver struct{ s *Server }

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
	o.s.hub.publish(e.DebateID, e.Seq, withEpoch(b, lifecycle.StreamEpoch(e.DebateID)))
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
	err = o.f.Publish(ctx, store.Event{DebateID: e.DebateID, Seq: e.Seq, Type: string(e.Type), JSON: b})
	// While Redis's circuit is open every event fails at once: its opening
	// was logged (circuit_breaker_state_change), and one line per event of
	// every running debate would flood the log for the whole outage.
	if err != nil && !errors.Is(err, breaker.ErrOpen) {
		o.log.Warn("fanout_publish_failed", "debate_id", e.DebateID, "seq", e.Seq, "error", err.Error())
	}
}

// Start begins the background work: the lifecycle's sweeper (docs/operations.md#stop-drain-and-restart:
// orphans resumed at once and every 10 s, stale debates timed out every
// 60 s) and a pruning of expired revocations, token records and
// idempotency keys every minute. It returns at once; Shutdown stops it.
func (s *Server) Start() {
	s.lc.Start()
	ctx, cancel := context.WithCancel(context.Background())
	s.bg = cancel
	go func() {
		defer close(s.bgDone)
		tick.Every(ctx, time.Minute, func() bool {
			s.pruneExpired(ctx)
			return true
		})
	}()
}

// Shutdown suspends every running debate (docs/operations.md#stop-drain-and-restart step 3) and waits for
// them until ctx ends. Queued debates stay pending in the store. It calls
// Drain first and stops the background work.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
	if s.bg != nil {
		s.bg()
		<-s.bgDone
	}
	if err := s.lc.Shutdown(ctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

func (s *Server) handleCleanupStale(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OlderThanSeconds *int `json:"older_than_seconds"`
		DryRun           bool `json:"dry_run"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	age := s.cfg.Lifecycle.StaleAfter
	if age <= 0 {
		age = 600 * time.Second
	}
	if req.OlderThanSeconds != nil {
		if *req.OlderThanSeconds < 1 {
			s.writeError(w, r, validation(map[string]string{"older_than_seconds": "must be >= 1"}))
			return
		}
		age = time.Duration(*req.OlderThanSeconds) * time.Second
	}
	resumed := []lifecycle.Swept{}
	if !req.DryRun {
		resumed = s.lc.ResumeOrphans(r.Context())
	}
	timedOut := s.lc.TimeOutStale(r.Context(), age, req.DryRun)
	writeJSON(w, http.StatusOK, map[string]any{"threshold_seconds": int(age / time.Second), "dry_run": req.DryRun,
		"count": len(resumed) + len(timedOut), "resumed": resumed, "timed_out": timedOut})
}
