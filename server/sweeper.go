package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

func (s *Server) holder() string { return s.replica }

func newReplicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Start begins the background sweeper of docs/operations.md#stop-drain-and-restart (orphans every
// SweepEvery, stale debates every 60 s, one pass at once). It returns at
// once; Shutdown stops it. Without a store implementing store.Leaser it
// does nothing.
func (s *Server) Start() {
	l, ok := s.leaser()
	if !ok {
		close(s.bgDone)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.bg = cancel
	go func() {
		defer close(s.bgDone)
		s.sweep(ctx, l, true)
		orphans := time.NewTicker(s.cfg.SweepEvery)
		stale := time.NewTicker(60 * time.Second)
		defer orphans.Stop()
		defer stale.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-orphans.C:
				s.sweep(ctx, l, false)
			case <-stale.C:
				s.sweep(ctx, l, true)
				s.pruneExpired(ctx)
			}
		}
	}()
}

func (s *Server) stopSweeper() {
	if s.bg != nil {
		s.bg()
		<-s.bgDone
	}
}

type staleItem struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	UpdatedAt string `json:"updated_at"`
	Owner     string `json:"owner"`
}

// sweep resumes orphans and, with stale, times out stale debates and
// writes missing debate_end events.
func (s *Server) sweep(ctx context.Context, l store.Leaser, stale bool) (resumed, timedOut []staleItem) {
	if s.draining.Load() {
		return nil, nil
	}
	orphans, err := l.FindOrphans(ctx, s.now(), 50)
	if err != nil {
		s.log.Warn("sweep_failed", "error", err.Error())
	}
	for _, d := range orphans {
		if s.runner.local(d.ID) {
			continue
		}
		if _, err := s.runner.submit(d.ID, true); err == nil {
			resumed = append(resumed, itemOf(d))
			s.debLog.Info("stale_debate_resumed", "debate_id", d.ID, "correlation_id", d.CorrelationID)
		}
	}
	if stale {
		timedOut = s.timeoutStale(ctx, l, s.cfg.StaleAfter, false)
	}
	return resumed, timedOut
}

func itemOf(d *store.Debate) staleItem {
	return staleItem{ID: d.ID, Topic: d.Topic, UpdatedAt: ts(d.UpdatedAt), Owner: d.Owner}
}

func (s *Server) timeoutStale(ctx context.Context, l store.Leaser, age time.Duration, dry bool) []staleItem {
	var out []staleItem
	ds, err := l.FindStale(ctx, s.now().Add(-age), 50)
	if err != nil {
		s.log.Warn("sweep_failed", "error", err.Error())
	}
	for _, d := range ds {
		if s.runner.local(d.ID) {
			continue
		}
		out = append(out, itemOf(d))
		if dry {
			continue
		}
		now := s.now()
		if err := l.UpdateStatus(ctx, d.ID, []string{store.StatusRunning, store.StatusPending}, store.StatusTimeout, now); err != nil {
			continue
		}
		doc := &ResultDoc{Status: store.StatusTimeout, StopReason: "stale", Verdict: debate.VerdictNeedsReview, StartedAt: d.StartedAt, FinishedAt: now}
		raw, _ := json.Marshal(doc)
		_ = l.SetResult(ctx, d.ID, raw, now)
		s.debLog.Warn("stale_debate_timeout", "debate_id", d.ID, "correlation_id", d.CorrelationID)
	}
	if !dry {
		unended, _ := l.FindUnended(ctx, 50)
		for _, d := range unended {
			_, _ = l.AppendDebateEnd(ctx, d.ID, func(seq int64) (json.RawMessage, error) {
				return syntheticEnd(d.ID, seq, s.now(), d.Status, "stale")
			})
		}
	}
	return out
}

func (s *Server) handleCleanupStale(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OlderThanSeconds *int `json:"older_than_seconds"`
		DryRun           bool `json:"dry_run"`
	}
	if err := decodeBody(r, s.cfg.MaxBodyBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	age := s.cfg.StaleAfter
	if req.OlderThanSeconds != nil {
		if *req.OlderThanSeconds < 1 {
			s.writeError(w, r, validation(map[string]string{"older_than_seconds": "must be >= 1"}))
			return
		}
		age = time.Duration(*req.OlderThanSeconds) * time.Second
	}
	l, ok := s.leaser()
	resumed, timedOut := []staleItem{}, []staleItem{}
	if ok {
		if !req.DryRun {
			r2, _ := s.sweep(r.Context(), l, false)
			resumed = append(resumed, r2...)
		}
		timedOut = append(timedOut, s.timeoutStale(r.Context(), l, age, req.DryRun)...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"threshold_seconds": int(age / time.Second), "dry_run": req.DryRun,
		"count": len(resumed) + len(timedOut), "resumed": resumed, "timed_out": timedOut})
}
