package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/store"
)

func (s *Server) handleAgentStatus(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	out := []any{}
	if s.cfg.AgentStatus != nil {
		if v := s.cfg.AgentStatus(); v != nil {
			out = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleBreakers(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	out := map[string]breaker.Snapshot{}
	if s.cfg.Breakers != nil {
		out = s.cfg.Breakers.Circuits()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleResetCircuit(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if !s.decodeOr(w, r, &body) {
		return
	}
	name := r.PathValue("name")
	if !pathIDRE.MatchString(name) || s.cfg.Breakers == nil {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such agent"))
		return
	}
	prev, ok := s.cfg.Breakers.Reset(name)
	if !ok {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such agent"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"agent": name, "previous_state": prev.String(), "state": breaker.StateClosed.String()})
}

// AgentTestRequest is the body of POST /api/debug/agent-test (docs/http-api.md#diagnostics).
type AgentTestRequest struct {
	Agent     string `json:"agent"`
	Prompt    string `json:"prompt"`
	MaxTokens int    `json:"max_tokens"`
}

func (s *Server) handleAgentTest(w http.ResponseWriter, r *http.Request) {
	var req AgentTestRequest
	if !s.decodeOr(w, r, &req) {
		return
	}
	if req.Agent == "" {
		s.writeError(w, r, validation(map[string]string{"agent": "required"}))
		return
	}
	if req.Prompt == "" {
		req.Prompt = "Reply with the single word: pong"
	}
	if req.MaxTokens < 0 {
		s.writeError(w, r, validation(map[string]string{"max_tokens": "must be >= 1"}))
		return
	}
	if req.MaxTokens == 0 {
		req.MaxTokens = 64
	}
	if s.cfg.AgentTest == nil {
		s.writeError(w, r, apiErr(http.StatusBadRequest, "unknown_agent", "agent tests are not configured").with("agent", req.Agent))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.agentTimeout())
	defer cancel()
	v, err := s.cfg.AgentTest(ctx, req)
	if err != nil {
		e := errorFor(err)
		if e.Code == "unknown_agent" || e.Code == "agent_unavailable" {
			e = &Error{Status: e.Status, Code: e.Code, Message: err.Error()}
			e.with("agent", req.Agent).with("reason", err.Error())
		}
		s.writeError(w, r, e)
		return
	}
	if u, ok := v.(UsageReporter); ok {
		rec := u.UsageRecord()
		rec.UserID = infoFrom(r.Context()).principal.ID
		s.RecordUsage(r.Context(), rec)
	}
	setAudit(r, func(a *auditState) { a.target = req.Agent })
	writeJSON(w, http.StatusOK, v)
}

// UsageReporter is implemented by an agent-test result that carries token
// usage, which the server charges to the caller (docs/http-api.md#diagnostics, docs/http-api.md#accounts).
type UsageReporter interface {
	// UsageRecord returns the call's provider, model, tokens and cost;
	// the server fills in the user.
	UsageRecord() store.UsageRecord
}

func (s *Server) handleConnectivity(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Providers []string `json:"providers"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	if s.cfg.Connectivity == nil {
		writeJSON(w, http.StatusOK, map[string]any{"checked_at": ts(s.now()), "duration_ms": 0, "ok": true, "results": []any{}})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	v, err := s.cfg.Connectivity(ctx, req.Providers)
	s.replyOK(w, r, v, err)
}

func (s *Server) handleRateLimitStatus(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	if s.cfg.RateLimiter != nil {
		writeJSON(w, http.StatusOK, s.cfg.RateLimiter.Status(r))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "emergency": false, "backend": "memory",
		"redis":      map[string]any{"configured": false, "up": false, "fail_open": false, "fallback_active": false},
		"client":     map[string]any{"key": "ip:" + infoFrom(r.Context()).clientIP, "ip": infoFrom(r.Context()).clientIP, "exempt": false, "classes": map[string]any{}},
		"hits_total": map[string]int{"general": 0, "debate_create": 0, "auth": 0}})
}

func (s *Server) handleRateLimitConfig(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	if s.cfg.RateLimiter != nil {
		writeJSON(w, http.StatusOK, s.cfg.RateLimiter.ConfigSnapshot())
		return
	}
	writeJSON(w, http.StatusOK, noRateLimits())
}

// noRateLimits is the rate-limit configuration document of a server
// without a limiter.
func noRateLimits() map[string]any {
	return map[string]any{"enabled": false, "emergency": false, "emergency_divisor": 10, "algorithm": "gcra",
		"window_seconds": 60, "backend": "memory", "fail_open": false, "classes": map[string]any{}, "whitelist": []string{}, "trusted_proxies": []string{}}
}

type allocation struct {
	Function     string   `json:"function"`
	File         string   `json:"file"`
	Line         int      `json:"line"`
	InuseBytes   int64    `json:"inuse_bytes"`
	InuseObjects int64    `json:"inuse_objects"`
	AllocBytes   int64    `json:"alloc_bytes"`
	AllocObjects int64    `json:"alloc_objects"`
	Stack        []string `json:"stack"`
}

// handleMemoryDump is POST /api/debug/memory-dump (docs/http-api.md#diagnostics).
func (s *Server) handleMemoryDump(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if !s.decodeOr(w, r, &body) {
		return
	}
	if !s.dumping.CompareAndSwap(false, true) {
		s.writeError(w, r, apiErr(http.StatusConflict, "conflict", "a memory dump is already running"))
		return
	}
	defer s.dumping.Store(false)
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		n, ok = runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
	}
	allocs := make([]allocation, 0, len(recs))
	for _, rec := range recs {
		a := allocation{InuseBytes: rec.InUseBytes(), InuseObjects: rec.InUseObjects(), AllocBytes: rec.AllocBytes, AllocObjects: rec.AllocObjects, Stack: []string{}}
		frames := runtime.CallersFrames(rec.Stack())
		for i := 0; i < 8; i++ {
			f, more := frames.Next()
			if i == 0 {
				a.Function, a.File, a.Line = f.Function, f.File, f.Line
			}
			a.Stack = append(a.Stack, fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line))
			if !more {
				break
			}
		}
		allocs = append(allocs, a)
	}
	sort.SliceStable(allocs, func(i, j int) bool { return allocs[i].InuseBytes > allocs[j].InuseBytes })
	if len(allocs) > 50 {
		allocs = allocs[:50]
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	now := s.now().UTC()
	doc := map[string]any{"generated_at": ts(now), "go_version": runtime.Version(), "pid": os.Getpid(),
		"uptime_seconds": int64(now.Sub(s.started).Seconds()),
		"runtime": map[string]any{"heap_alloc_bytes": ms.HeapAlloc, "heap_inuse_bytes": ms.HeapInuse, "heap_objects": ms.HeapObjects,
			"sys_bytes": ms.Sys, "num_gc": ms.NumGC, "goroutines": runtime.NumGoroutine(), "rss_bytes": rssMB() << 20},
		"top_allocations": allocs}
	b, _ := json.MarshalIndent(doc, "", "  ")
	path := s.cfg.MemoryDumpPath
	pprofPath := pprofPathFor(path)
	var prof bytes.Buffer
	if p := pprof.Lookup("heap"); p != nil {
		_ = p.WriteTo(&prof, 0)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{path, b}, {pprofPath, prof.Bytes()}} {
		if err := writeFileAtomic(f.path, f.data); err != nil {
			s.log.Error("memory_dump_failed", "path", f.path, "error", err.Error(), "correlation_id", infoFrom(r.Context()).correlationID)
			s.writeError(w, r, err)
			return
		}
	}
	top := allocs
	if len(top) > 10 {
		top = top[:10]
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": path, "pprof_path": pprofPath, "written_at": ts(now),
		"heap_inuse_bytes": ms.HeapInuse, "top_allocations": top})
}

func pprofPathFor(path string) string {
	ext := filepath.Ext(path)
	return path[:len(path)-len(ext)] + ".pb.gz"
}

// writeFileAtomic writes data to a new O_EXCL 0600 file in path's directory
// and renames it over path, so a planted file or symlink is replaced, never
// followed.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	var f *os.File
	var tmp string
	var err error
	for i := 0; i < 10; i++ {
		tmp = filepath.Join(dir, fmt.Sprintf(".%s.%d.%d.tmp", filepath.Base(path), os.Getpid(), time.Now().UnixNano()+int64(i)))
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("server: create temporary file in %s: %w", dir, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("server: write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("server: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("server: rename over %s: %w", path, err)
	}
	return nil
}
