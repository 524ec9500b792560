// Package errreport sends the service's errors to Sentry with the official
// Go SDK (github.com/getsentry/sentry-go): every log record at ERROR (a
// recovered handler panic, a 5xx the server logged as request_error, a
// failure in the background), any 5xx response the server did not log, and
// panics that reach its HTTP middleware. Events carry the tags
// correlation_id, debate_id, route and logger, and the event fields
// environment and release (which Sentry indexes as the environment and
// release tags), so an operator can search Sentry by correlation_id as the
// logs are searched (docs/DEPLOY.md, "Sentry").
//
// Reporting never blocks a request: events are queued and sent by the
// SDK's background worker, which drops them when its queue is full or
// Sentry is slow. Before an event leaves, every string in it is scrubbed:
// Authorization, Cookie and similar headers, query parameters and
// attributes whose names denote credentials, bearer tokens, JWTs, provider
// keys, passwords in URLs and the literal values of Config.Secrets are
// replaced by "[Filtered]".
//
// The package sits beside the service composition, never in the core:
// scripts/depcheck.sh keeps sentry-go out of the core and server packages.
package errreport

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/getsentry/sentry-go"
)

// Config configures a Reporter.
type Config struct {
	// DSN is the Sentry DSN (SENTRY_DSN); empty turns reporting off.
	DSN string
	// Environment is the deployment environment (ARAGORA_ENV).
	Environment string
	// Release names the build, e.g. "aragora@0.8.0".
	Release string
	// ServerName names this replica; default: the host name.
	ServerName string
	// Secrets are values that must never leave the process (keys, tokens,
	// passwords); any occurrence in an event becomes "[Filtered]". See
	// SecretsFromEnv. Values shorter than 8 bytes are ignored.
	Secrets []string
}

// Reporter reports errors to Sentry. A nil *Reporter is valid and
// reports nothing: its Handler and Middleware return their argument. It is
// safe for concurrent use.
type Reporter struct {
	client *sentry.Client
	hub    *sentry.Hub
	scrub  *scrubber
	recent *recentSet
}

// ValidDSN reports an error naming SENTRY_DSN when dsn is set and is not a
// Sentry DSN; an empty dsn (reporting off) is valid.
func ValidDSN(dsn string) error {
	if strings.TrimSpace(dsn) == "" {
		return nil
	}
	if _, err := sentry.NewDsn(dsn); err != nil {
		return fmt.Errorf("config: SENTRY_DSN: %w", err)
	}
	return nil
}

// New returns a Reporter for cfg, or nil (reporting off) when cfg.DSN is
// empty. An invalid DSN is an error naming SENTRY_DSN.
func New(cfg Config) (*Reporter, error) {
	if strings.TrimSpace(cfg.DSN) == "" {
		return nil, nil
	}
	if err := ValidDSN(cfg.DSN); err != nil {
		return nil, err
	}
	release := cfg.Release
	if release == "" {
		release = "unknown" // never let the SDK run git or read CI variables
	}
	env := cfg.Environment
	if env == "" {
		env = "development"
	}
	sc := newScrubber(cfg.Secrets)
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:         cfg.DSN,
		Environment: env,
		Release:     release,
		ServerName:  cfg.ServerName,
		// The SDK's own request capture keeps no cookies or auth headers;
		// scrub strips what else could hold a secret.
		SendDefaultPII: false,
		BeforeSend: func(e *sentry.Event, _ *sentry.EventHint) *sentry.Event {
			sc.event(e)
			return e
		},
		// ContextifyFrames reads source files from disk while an event is
		// captured, on the request's goroutine: drop it.
		Integrations: func(in []sentry.Integration) []sentry.Integration {
			out := in[:0]
			for _, i := range in {
				if i.Name() != "ContextifyFrames" {
					out = append(out, i)
				}
			}
			return out
		},
	})
	if err != nil {
		return nil, fmt.Errorf("errreport: %w", err)
	}
	return &Reporter{client: client, hub: sentry.NewHub(client, sentry.NewScope()), scrub: sc, recent: newRecentSet(1024)}, nil
}

// Flush waits until the queued events are sent or ctx ends, and reports
// whether everything was sent. Call it during shutdown.
func (r *Reporter) Flush(ctx context.Context) bool {
	if r == nil {
		return true
	}
	return r.client.FlushWithContext(ctx)
}

// Close stops the SDK's background worker; events captured afterwards are
// dropped. Call Flush first.
func (r *Reporter) Close() {
	if r != nil {
		r.client.Close()
	}
}

// Tags of a reported event, beside environment and release.
const (
	TagCorrelationID = "correlation_id"
	TagDebateID      = "debate_id"
	TagRoute         = "route"
	TagLogger        = "logger"
)

// capture sends e through the hub. The SDK applies BeforeSend (scrubbing)
// on this goroutine and queues the event; it never waits for the network.
func (r *Reporter) capture(e *sentry.Event) {
	r.hub.CaptureEvent(e)
}

// ---- log records ---------------------------------------------------------

// Handler wraps next so that every record at ERROR or above is also
// reported. Records go to next exactly as before: next decides what is
// written. The record's attributes correlation_id, debate_id, route and
// logger become tags; the others go to the event's "log" context. A
// "panic" record (a handler panic the server recovered) becomes an
// exception with the stack of the panicking goroutine. A request_error
// record for a request already reported (its panic) is not sent twice.
func (r *Reporter) Handler(next slog.Handler) slog.Handler {
	if r == nil {
		return next
	}
	return &handler{r: r, next: next}
}

type handler struct {
	r      *Reporter
	next   slog.Handler
	attrs  []slog.Attr // WithAttrs, keys prefixed with the open groups
	prefix string      // open groups, "a.b."
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	var err error
	if h.next.Enabled(ctx, rec.Level) {
		err = h.next.Handle(ctx, rec)
	}
	switch {
	case rec.Level >= slog.LevelError:
		h.r.captureRecord(h.fields(rec), rec)
	case rec.Message == "request":
		// The access line: remember the route of a 5xx for Middleware,
		// which sees the response but not the mux pattern.
		f := h.fields(rec)
		if st, _ := strconv.Atoi(f["status"]); st >= 500 {
			h.r.recent.noteRoute(f[TagCorrelationID], f[TagRoute])
		}
	}
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, as)...)
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

func prefixed(prefix string, as []slog.Attr) []slog.Attr {
	if prefix == "" {
		return as
	}
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// fields flattens the handler's and the record's attributes to strings.
func (h *handler) fields(rec slog.Record) map[string]string {
	f := make(map[string]string, len(h.attrs)+rec.NumAttrs())
	for _, a := range h.attrs {
		flatten(f, "", a)
	}
	rec.Attrs(func(a slog.Attr) bool {
		flatten(f, h.prefix, a)
		return true
	})
	return f
}

func flatten(f map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			flatten(f, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	var s string
	switch v.Kind() {
	case slog.KindString:
		s = v.String()
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		default:
			if b, err := json.Marshal(x); err == nil {
				s = string(b)
			} else {
				s = fmt.Sprint(x)
			}
		}
	default:
		s = v.String()
	}
	f[prefix+a.Key] = s
}

func (r *Reporter) captureRecord(f map[string]string, rec slog.Record) {
	cid := f[TagCorrelationID]
	if rec.Message == "request_error" && r.recent.reported(cid) {
		return // the panic of this request was reported already
	}
	e := sentry.NewEvent()
	e.Level = sentry.LevelError
	if rec.Level > slog.LevelError {
		e.Level = sentry.LevelFatal
	}
	e.Timestamp = rec.Time
	e.Logger = f[TagLogger]
	e.Message = rec.Message
	if msg := f["error"]; msg != "" {
		e.Message = rec.Message + ": " + msg
	}
	e.Tags = tags(f)
	st := sentry.NewStacktrace() // the logging goroutine; for "panic", the panicking one
	if rec.Message == "panic" {
		e.Exception = []sentry.Exception{{Type: "panic", Value: f["error"], Stacktrace: st,
			Mechanism: &sentry.Mechanism{Type: "slog", Handled: ptr(true)}}}
		delete(f, "stack") // the exception carries it, structured
	} else {
		e.Threads = []sentry.Thread{{Stacktrace: st, Current: true}}
	}
	if code := f["code"]; code != "" {
		e.Fingerprint = []string{"{{ default }}", rec.Message, code, f[TagRoute]}
	}
	ctx := sentry.Context{}
	for k, v := range f {
		ctx[k] = v
	}
	e.Contexts = map[string]sentry.Context{"log": ctx}
	r.recent.markReported(cid)
	r.capture(e)
}

func tags(f map[string]string) map[string]string {
	t := map[string]string{}
	for _, k := range []string{TagCorrelationID, TagDebateID, TagRoute, TagLogger} {
		if v := f[k]; v != "" {
			t[k] = v
		}
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// ---- HTTP ----------------------------------------------------------------

// probePaths answer 503 as a state, not as a failure (an unhealthy
// database, a draining replica): Middleware does not report them; the
// alert rules and the request logs cover them.
var probePaths = map[string]bool{"/api/health": true, "/healthz": true, "/api/health/ready": true, "/readyz": true, "/livez": true}

// Middleware wraps a listener's handler. It recovers a panic that reaches
// it (answering 500 with the API's error body when nothing was written
// yet) and reports it with its stack; and it reports every 5xx response
// not already reported through Handler (for example one written without
// the server's error path), except those of the health probes.
// http.ErrAbortHandler passes through unreported: it is how a handler
// deliberately aborts a response.
func (r *Reporter) Middleware(next http.Handler) http.Handler {
	if r == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				cid := correlationOf(sw, req)
				r.capturePanic(p, req, cid)
				if sw.status == 0 {
					writeInternal(sw, cid)
				}
				return
			}
			if sw.status >= 500 && !probePaths[req.URL.Path] {
				cid := correlationOf(sw, req)
				if !r.recent.reported(cid) {
					r.captureStatus(req, sw.status, cid)
				}
			}
		}()
		next.ServeHTTP(sw, req)
	})
}

func correlationOf(w http.ResponseWriter, req *http.Request) string {
	if v := w.Header().Get("X-Correlation-Id"); v != "" {
		return v
	}
	return req.Header.Get("X-Correlation-Id")
}

func writeInternal(w http.ResponseWriter, cid string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "internal", "message": "internal error", "correlation_id": cid}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(append(b, '\n'))
}

func (r *Reporter) requestEvent(req *http.Request, cid string) *sentry.Event {
	e := sentry.NewEvent()
	e.Level = sentry.LevelError
	e.Request = sentry.NewRequest(req)
	e.Tags = map[string]string{TagRoute: r.recent.route(cid)}
	if cid != "" {
		e.Tags[TagCorrelationID] = cid
	}
	return e
}

func (r *Reporter) capturePanic(p any, req *http.Request, cid string) {
	e := r.requestEvent(req, cid)
	e.Message = fmt.Sprintf("panic: %v", p)
	e.Exception = []sentry.Exception{{Type: "panic", Value: fmt.Sprint(p), Stacktrace: sentry.NewStacktrace(),
		Mechanism: &sentry.Mechanism{Type: "http", Handled: ptr(true)}}}
	e.Contexts = map[string]sentry.Context{"panic": {"stack": string(debug.Stack())}}
	r.recent.markReported(cid)
	r.capture(e)
}

func (r *Reporter) captureStatus(req *http.Request, status int, cid string) {
	e := r.requestEvent(req, cid)
	e.Message = fmt.Sprintf("HTTP %d %s %s", status, req.Method, e.Tags[TagRoute])
	e.Tags["status"] = strconv.Itoa(status)
	e.Fingerprint = []string{"http", strconv.Itoa(status), req.Method, e.Tags[TagRoute]}
	r.recent.markReported(cid)
	r.capture(e)
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and WebSocket upgrades reach the
// underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ---- recently reported requests -----------------------------------------

// recentSet remembers, for the last n correlation ids, whether an event was
// sent for the request and the route its access line named, so that one
// failing request yields one event.
type recentSet struct {
	mu    sync.Mutex
	n     int
	order []string
	m     map[string]*recentEntry
}

type recentEntry struct {
	reported bool
	route    string
}

func newRecentSet(n int) *recentSet { return &recentSet{n: n, m: make(map[string]*recentEntry, n)} }

func (s *recentSet) entry(cid string) *recentEntry {
	e := s.m[cid]
	if e == nil {
		if len(s.order) >= s.n {
			delete(s.m, s.order[0])
			s.order = s.order[1:]
		}
		e = &recentEntry{}
		s.m[cid] = e
		s.order = append(s.order, cid)
	}
	return e
}

func (s *recentSet) markReported(cid string) {
	if cid == "" {
		return
	}
	s.mu.Lock()
	s.entry(cid).reported = true
	s.mu.Unlock()
}

func (s *recentSet) noteRoute(cid, route string) {
	if cid == "" || route == "" {
		return
	}
	s.mu.Lock()
	s.entry(cid).route = route
	s.mu.Unlock()
}

func (s *recentSet) reported(cid string) bool {
	if cid == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[cid]
	return e != nil && e.reported
}

// route returns the route the access line of cid named, or "unknown".
func (s *recentSet) route(cid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[cid]; e != nil && e.route != "" {
		return e.route
	}
	return "unknown"
}
