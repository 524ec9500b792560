package server

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/store"
)

// healthTTL is how long a health result is reused (docs/http-api.md#health-and-metrics: ≤ 2 s).
const healthTTL = 2 * time.Second

type healthCache struct {
	mu     sync.Mutex
	at     time.Time
	body   *healthBody
	status int
}

type healthBody struct {
	Status        string       `json:"status"`
	Version       string       `json:"version"`
	UptimeSeconds int64        `json:"uptime_seconds"`
	Checks        healthChecks `json:"checks"`
}

type healthChecks struct {
	Database        depCheck     `json:"database"`
	Redis           depCheck     `json:"redis"`
	Websocket       wsCheck      `json:"websocket"`
	CircuitBreakers breakerCount `json:"circuit_breakers"`
	MemoryMB        int64        `json:"memory_mb"`
	ActiveDebates   int          `json:"active_debates"`
}

type depCheck struct {
	Status    string   `json:"status"`
	LatencyMS *float64 `json:"latency_ms"`
	// Reason says why a database check failed: unreachable, not_writable
	// or storage_full.
	Reason string `json:"reason,omitempty"`
}

// probeTTL is how long the result of a store write probe is reused
// (docs/http-api.md#health-and-metrics).
const probeTTL = time.Second

// probeLimit bounds one store write probe.
const probeLimit = 2 * time.Second

type probeCache struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// probeWrite proves the store writes (store.WriteProber) with one real,
// bounded write, reusing the result for probeTTL; nil for a store that
// cannot probe.
func (s *Server) probeWrite(ctx context.Context) error {
	wp, ok := s.st.(store.WriteProber)
	if !ok {
		return nil
	}
	c := s.probe
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && s.now().Sub(c.at) < probeTTL && !s.now().Before(c.at) {
		return c.err
	}
	err := bounded(context.WithoutCancel(ctx), probeLimit, wp.ProbeWrite)
	if err != nil && (c.err == nil || c.at.IsZero()) {
		s.log.Warn("store_not_writable", "error", err.Error())
	} else if err == nil && c.err != nil {
		s.log.Info("store_writable")
	}
	c.at, c.err = s.now(), err
	return err
}

// writeReason names why the store does not write: storage_full or
// not_writable.
func writeReason(err error) string {
	if store.Unavailable(err) == store.ErrStorageFull {
		return "storage_full"
	}
	return "not_writable"
}

type wsCheck struct {
	Status         string `json:"status"`
	Connections    int    `json:"connections"`
	MaxConnections int    `json:"max_connections"`
}

type breakerCount struct {
	Open     int `json:"open"`
	HalfOpen int `json:"half_open"`
}

// bounded runs f with a limit timeout and returns no later than limit even
// if f ignores its context.
func bounded(ctx context.Context, limit time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ping runs p with limit and answers no later than limit even if p ignores
// its context.
func (s *Server) ping(ctx context.Context, p store.Pinger, limit time.Duration) depCheck {
	start := time.Now()
	err := bounded(ctx, limit, p.Ping)
	ms := float64(time.Since(start).Microseconds()) / 1000
	ms = float64(int64(ms*10)) / 10
	st := "ok"
	if err != nil {
		st = "error"
	}
	return depCheck{Status: st, LatencyMS: &ms}
}

func (s *Server) dbPing(ctx context.Context) depCheck {
	p, ok := s.st.(store.Pinger)
	if !ok {
		zero := 0.0
		return depCheck{Status: "ok", LatencyMS: &zero}
	}
	return s.ping(ctx, p, 2*time.Second)
}

func (s *Server) computeHealth(ctx context.Context) (*healthBody, int) {
	var db, rd depCheck
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if db = s.dbPing(ctx); db.Status != "ok" {
			db.Reason = "unreachable"
		} else if err := s.probeWrite(ctx); err != nil {
			db.Status, db.Reason = "error", writeReason(err)
		}
	}()
	if s.cfg.Redis != nil {
		wg.Add(1)
		go func() { defer wg.Done(); rd = s.ping(ctx, s.cfg.Redis, time.Second) }()
	} else {
		rd = depCheck{Status: "disabled"}
	}
	wg.Wait()
	conns := s.hub.connections()
	ws := wsCheck{Status: "ok", Connections: conns, MaxConnections: s.cfg.WSMaxConnections}
	if s.cfg.WSListenerUp != nil && !s.cfg.WSListenerUp() {
		ws.Status = "error"
	} else if conns*10 >= s.cfg.WSMaxConnections*9 {
		ws.Status = "degraded"
	}
	var bc breakerCount
	if s.cfg.Breakers != nil {
		for _, c := range s.cfg.Breakers.Circuits() {
			switch c.State {
			case breaker.StateOpen:
				bc.Open++
			case breaker.StateHalfOpen:
				bc.HalfOpen++
			}
		}
	}
	b := &healthBody{
		Status: "healthy", Version: s.cfg.Version,
		UptimeSeconds: int64(s.now().Sub(s.started).Seconds()),
		Checks: healthChecks{Database: db, Redis: rd, Websocket: ws, CircuitBreakers: bc,
			MemoryMB: rssMB(), ActiveDebates: s.active()},
	}
	code := http.StatusOK
	switch {
	case db.Status != "ok":
		b.Status, code = "unhealthy", http.StatusServiceUnavailable
	case rd.Status == "error" || ws.Status == "error":
		b.Status = "degraded"
	}
	return b, code
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	c := s.health
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body == nil || s.now().Sub(c.at) >= healthTTL || s.now().Before(c.at) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2500*time.Millisecond)
		c.body, c.status = s.computeHealth(ctx)
		cancel()
		c.at = s.now()
	}
	body := *c.body
	body.UptimeSeconds = int64(s.now().Sub(s.started).Seconds())
	writeJSON(w, c.status, body)
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	notReady := func(reason string) {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "reason": reason})
	}
	w.Header().Set("X-Aragora-Instance", s.lc.Holder())
	if s.draining.Load() {
		notReady("draining")
		return
	}
	if !s.lc.Resumed() {
		notReady("resuming")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2500*time.Millisecond)
	defer cancel()
	if s.cfg.Migrated != nil && !s.cfg.Migrated(ctx) {
		notReady("migrating")
		return
	}
	if s.dbPing(ctx).Status != "ok" {
		notReady("database_unreachable")
		return
	}
	if s.probeWrite(ctx) != nil {
		notReady("store_unwritable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// rssMB returns the resident set size in MiB (Linux /proc), else the Go
// runtime's total.
func rssMB() int64 {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return pages * int64(os.Getpagesize()) >> 20
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.Sys >> 20)
}
