package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/clientip"
	"github.com/aragora/aragora/lifecycle"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

type ctxKey int

const infoKey ctxKey = 1

// reqInfo is the per-request state the middleware shares with handlers.
type reqInfo struct {
	correlationID string
	clientIP      string
	route         string
	pattern       string // the mux pattern, "METHOD /path"
	principal     *auth.Principal
	audit         auditState
	authErr       error
	listener      string
}

func infoFrom(ctx context.Context) *reqInfo {
	if i, ok := ctx.Value(infoKey).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// CorrelationID returns the correlation id of the request ctx belongs to, or "".
func CorrelationID(ctx context.Context) string { return infoFrom(ctx).correlationID }

// The correlation headers in canonical form (X-Correlation-ID,
// X-Request-ID): Header.Get and Set allocate to canonicalise any other
// spelling, on every request.
const (
	hdrCorrelationID = "X-Correlation-Id"
	hdrRequestID     = "X-Request-Id"
)

// Constant header values, shared by every response instead of a new
// one-element slice per Header.Set (net/http never modifies them in place).
var (
	hdrNosniff     = []string{"nosniff"}
	hdrNoReferrer  = []string{"no-referrer"}
	hdrContentJSON = []string{"application/json; charset=utf-8"}
	hdrVaryOrigin  = []string{"Origin"}
)

var corrRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// b32 is the standard base32 alphabet in lower case, unpadded.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newCorrelationID returns "corr-" + 16 random lowercase base32 characters.
func newCorrelationID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	var out [5 + 16]byte
	copy(out[:], "corr-")
	b32.Encode(out[5:], b[:])
	return string(out[:])
}

func correlationFrom(r *http.Request) string {
	for _, h := range [...]string{hdrCorrelationID, hdrRequestID} {
		if v := r.Header.Get(h); tokenOf(v, 128, true) {
			return v
		}
	}
	return newCorrelationID()
}

// recorder captures the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	// onHeader runs once, when the status is known and before any byte
	// of the response leaves (the audit row, docs/http-api.md#administration).
	onHeader func(status int)
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
		if rw.onHeader != nil && code != http.StatusSwitchingProtocols {
			rw.onHeader(code)
		}
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController and websocket.Accept reach the
// underlying writer (Hijacker, Flusher).
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// CORS (docs/http-api.md#cors): what a preflight allows and what responses expose.
const (
	corsAllowMethods  = "GET, POST, DELETE"
	corsAllowHeaders  = "Authorization, Content-Type, Idempotency-Key, X-Correlation-ID, X-Request-ID, traceparent, tracestate"
	corsExposeHeaders = "X-Correlation-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Link, Location, Idempotent-Replayed, traceparent"
)

// cors adds the CORS headers for an allowed Origin and answers a preflight
// (OPTIONS with Access-Control-Request-Method) itself, before
// authentication, with 204; it reports whether it did. Credentials are
// never allowed: the API takes bearer tokens, not cookies.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	h := w.Header()
	if _, ok := h["Vary"]; ok {
		h.Add("Vary", "Origin")
	} else {
		h["Vary"] = hdrVaryOrigin
	}
	if origin == "" || !s.corsAllowed(origin) {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// wrap applies the cross-cutting middleware: correlation id, security
// headers, panic recovery, route resolution and the request log line.
func (s *Server) wrap(listener string, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		// The client is decided once, here, for the log line, the audit
		// trail, the WebSocket cap and the rate limiter alike.
		ip := clientip.Of(r, s.cfg.TrustedProxies)
		info := &reqInfo{correlationID: correlationFrom(r), clientIP: clientip.String(ip), listener: listener}
		r = r.WithContext(clientip.NewContext(context.WithValue(r.Context(), infoKey, info), ip))
		h := w.Header()
		h.Set(hdrCorrelationID, info.correlationID)
		if v := r.Header.Get(hdrRequestID); v != "" && tokenOf(v, 128, true) {
			h.Set(hdrRequestID, v)
		}
		h["X-Content-Type-Options"] = hdrNosniff
		h["Referrer-Policy"] = hdrNoReferrer
		if s.cors(w, r) {
			return // a preflight, answered
		}
		for _, p := range []string{"/api/auth", "/api/admin", "/api/system", "/api/debug"} {
			if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") {
				h.Set("Cache-Control", "no-store")
			}
		}
		rw := &recorder{ResponseWriter: w}
		handler, pattern := mux.Handler(r)
		info.route, info.pattern = routeName(pattern), pattern
		if s.cfg.OnRoute != nil {
			s.cfg.OnRoute(r.Context(), pattern)
		}
		rw.onHeader = func(status int) { s.auditRequest(r, rw, info, status) }
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				attrs := []any{"route", info.route, "correlation_id", info.correlationID,
					"error", fmt.Sprint(p), "stack", string(debug.Stack())}
				if id := debateIDOf(r); id != "" {
					attrs = append(attrs, "debate_id", id)
				}
				s.log.Error("panic", attrs...)
				s.errs.add(ErrorRecord{Type: "internal", Level: "ERROR", Code: "panic", Message: fmt.Sprint(p),
					Route: info.route, Method: r.Method, Status: http.StatusInternalServerError, CorrelationID: info.correlationID})
				if rw.status == 0 {
					s.writeError(rw, r, fmt.Errorf("server: panic in handler: %v", p))
				}
			}
			s.logRequest(r, info, rw, start)
		}()
		if pattern == "" {
			s.unmatched(rw, r, handler)
			return
		}
		s.authenticate(r)
		mux.ServeHTTP(rw, r) // sets the path values

	})
}

func routeName(pattern string) string {
	if pattern == "" {
		return "other"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return pattern[i+1:]
	}
	return pattern
}

// unmatched answers a request no pattern matched: 405 with Allow when the
// path exists with other methods, else 404, both with the JSON error body.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerProbe{h: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.h.Get("Allow"))
		s.writeError(w, r, apiErr(http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" not allowed"))
		return
	}
	s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such route"))
}

type headerProbe struct {
	h      http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.h }
func (p *headerProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = 200
	}
	return len(b), nil
}
func (p *headerProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

func quietRoute(route string) bool {
	switch route {
	case "/api/health", "/healthz", "/api/health/ready", "/readyz", "/livez", "/metrics", "/api/metrics":
		return true
	}
	return false
}

func (s *Server) logRequest(r *http.Request, info *reqInfo, rw *recorder, start time.Time) {
	level := slog.LevelInfo
	if quietRoute(info.route) {
		level = slog.LevelDebug
	}
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	// Enabled first: building the attributes of a line the level drops
	// costs seven allocations per request.
	if s.log.Enabled(r.Context(), level) {
		principal := "anonymous"
		if info.principal != nil {
			principal = info.principal.ID
		}
		s.log.Log(r.Context(), level, "request",
			"method", r.Method, "route", info.route, "path", r.URL.Path, "status", status,
			"duration_ms", s.now().Sub(start).Milliseconds(), "bytes", rw.bytes,
			"client_ip", info.clientIP, "principal", principal, "correlation_id", info.correlationID)
	}
	if s.cfg.RequestObserver != nil {
		s.cfg.RequestObserver(r.Method, info.route, status, s.now().Sub(start))
	}
}

// replyOK answers err when there is one, else v with 200.
func (s *Server) replyOK(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"encoding failed","correlation_id":""}}`)
	}
	w.Header()["Content-Type"] = hdrContentJSON
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeJSONBody is writeJSON for an encoded body (newline included).
func writeJSONBody(w http.ResponseWriter, status int, b []byte) {
	w.Header()["Content-Type"] = hdrContentJSON
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// marshal is json.Marshal(v). Debate objects skip json.Marshal's second
// pass over a Marshaler's output (validation and compaction, a third of
// the cost of GET /api/debates/{id}): MarshalJSON already returns compact,
// HTML-escaped JSON, so the bytes are the same.
func marshal(v any) ([]byte, error) {
	switch o := v.(type) {
	case *lifecycle.DebateObject:
		if o != nil {
			return o.MarshalJSON()
		}
	case []*lifecycle.DebateObject:
		if o != nil {
			b := []byte{'['}
			for i, e := range o {
				if i > 0 {
					b = append(b, ',')
				}
				eb, err := marshal(e)
				if err != nil {
					return nil, err
				}
				b = append(b, eb...)
			}
			return append(b, ']'), nil
		}
	}
	return json.Marshal(v)
}
