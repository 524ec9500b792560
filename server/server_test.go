package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent/demo"
	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/apitest"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/server/servertest"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// demoRegistry resolves demo-<name>[:<style>] specs.
type demoRegistry struct{}

func (demoRegistry) Resolve(spec string, seed int64) (lifecycle.Agent, error) {
	if !strings.HasPrefix(spec, "demo-") {
		return lifecycle.Agent{}, fmt.Errorf("%w: %q", lifecycle.ErrUnknownAgent, spec)
	}
	name, style, err := demo.ParseSpec(spec)
	if err != nil {
		return lifecycle.Agent{}, fmt.Errorf("%w: %v", lifecycle.ErrUnknownAgent, err)
	}
	return lifecycle.Agent{Name: name, Provider: "demo", Model: "demo/" + string(style), Agent: demo.New(name, style, seed)}, nil
}

const token = "test-service-token-0123456789abcdef"

func newServer(t *testing.T, mut func(*server.Config)) (*server.Server, *memstore.Store) {
	t.Helper()
	st := memstore.New()
	return newServerOn(t, st, mut), st
}

// newServerOn is newServer over st.
func newServerOn(t *testing.T, st store.DebateStore, mut func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{Version: "0.8.0", Auth: &authpkg.Authenticator{ServiceToken: token},
		MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "aragora_build_info 1\n") })}
	if mut != nil {
		mut(&cfg)
	}
	return startServer(t, st, demoRegistry{}, cfg)
}

// startServer returns server.New(st, agents, cfg), which closes its
// connections (1001) and shuts down when tb ends.
func startServer(tb testing.TB, st store.DebateStore, agents lifecycle.Agents, cfg server.Config) *server.Server {
	tb.Helper()
	s, err := server.New(st, agents, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.CloseAll(1001)
		assert.NoError(tb, s.Shutdown(ctx))
	})
	return s
}

func do(t *testing.T, h http.Handler, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.RemoteAddr = "192.0.2.1:1234"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	if s, ok := h.(*server.Server); ok {
		// The API listener's answers must match the OpenAPI document.
		h = apitest.Server(t).Handler(t, s)
	}
	h.ServeHTTP(w, r)
	return w
}

var auth = map[string]string{"Authorization": "Bearer " + token}

func errCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b struct {
		Error struct {
			Code          string `json:"code"`
			CorrelationID string `json:"correlation_id"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b), w.Body.String())
	assert.Equal(t, w.Header().Get("X-Correlation-ID"), b.Error.CorrelationID)
	return b.Error.Code
}

func TestRoutesErrors(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	tests := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		code                     string
	}{
		{"unknown route", "GET", "/nope", "", nil, 404, "not_found"},
		{"trailing slash is not a route", "GET", "/api/health/", "", nil, 404, "not_found"},
		{"wrong method", "DELETE", "/api/health", "", nil, 405, "method_not_allowed"},
		{"anonymous protected", "GET", "/api/debates", "", nil, 401, "unauthorized"},
		{"bad token on public route", "GET", "/api/health", "", map[string]string{"Authorization": "Bearer nope"}, 401, "unauthorized"},
		{"unknown field", "POST", "/api/debates", `{"topic":"x","bogus":1}`, auth, 400, "unknown_field"},
		{"trailing data", "POST", "/api/debates", `{"topic":"x"} {}`, auth, 400, "invalid_json"},
		{"not an object", "POST", "/api/debates", `[1]`, auth, 400, "invalid_json"},
		{"bad content type", "POST", "/api/debates", `{"topic":"x"}`, map[string]string{"Authorization": "Bearer " + token, "Content-Type": "text/plain"}, 415, "unsupported_media_type"},
		{"too large", "POST", "/api/debates", `{"topic":"` + strings.Repeat("a", 1<<20) + `"}`, auth, 413, "body_too_large"},
		{"empty body needs topic", "POST", "/api/debates", "", auth, 400, "validation_failed"},
		{"too few agents", "POST", "/api/debates", `{"topic":"x","agents":["demo-a"]}`, auth, 400, "validation_failed"},
		{"unknown agent", "POST", "/api/debates", `{"topic":"x","agents":["demo-a","nosuch"]}`, auth, 400, "unknown_agent"},
		{"duplicate agent", "POST", "/api/debates", `{"topic":"x","agents":["demo-a","demo-a"]}`, auth, 400, "validation_failed"},
		{"threshold with majority", "POST", "/api/debates", `{"topic":"x","consensus":"majority","threshold":0.5}`, auth, 400, "validation_failed"},
		{"wrong type", "POST", "/api/debates", `{"topic":"x","rounds":"three"}`, auth, 400, "validation_failed"},
		{"unknown query", "GET", "/api/debates?foo=1", "", auth, 400, "invalid_query"},
		{"bad status", "GET", "/api/debates?status=weird", "", auth, 400, "invalid_query"},
		{"bad limit", "GET", "/api/debates?limit=500", "", auth, 400, "invalid_query"},
		{"missing debate", "GET", "/api/debates/deb_nope", "", auth, 404, "not_found"},
		{"bad id", "GET", "/api/debates/a%20b", "", auth, 404, "not_found"},
		{"plain GET on ws path", "GET", "/ws", "", nil, 426, "upgrade_required"},
		{"memory dump off", "POST", "/api/debug/memory-dump", "", auth, 404, "not_found"},
		{"reset unknown circuit", "POST", "/api/agents/claude/reset-circuit", "", auth, 404, "not_found"},
		{"agent test anonymous", "POST", "/api/debug/agent-test", `{"agent":"claude"}`, nil, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, tt.method, tt.path, tt.body, tt.hdr)
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, tt.code, errCode(t, w))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			if tt.status == 401 {
				assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
			}
			if tt.status == 405 {
				assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
			}
		})
	}
}

func TestPublicRoutes(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	for _, p := range []string{"/api/health", "/healthz", "/api/health/ready", "/readyz", "/livez", "/metrics", "/api/metrics",
		"/api/agents/status", "/api/agents/circuit-breakers", "/api/ws/stats", "/api/rate-limits/status", "/api/rate-limits/config"} {
		t.Run(p, func(t *testing.T) {
			w := do(t, h, "GET", p, "", nil)
			assert.Equal(t, 200, w.Code, w.Body.String())
			hw := do(t, h, "HEAD", p, "", nil)
			assert.Equal(t, 200, hw.Code)
		})
	}
	w := do(t, h, "GET", "/api/agents/status", "", nil)
	assert.Equal(t, "[]\n", w.Body.String())
}

func TestHealthShape(t *testing.T) {
	s, _ := newServer(t, nil)
	w := do(t, s.Handler(), "GET", "/api/health", "", nil)
	require.Equal(t, 200, w.Code)
	var b map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
	assert.Equal(t, "healthy", b["status"])
	checks := b["checks"].(map[string]any)
	for _, k := range []string{"database", "redis", "websocket", "circuit_breakers", "memory_mb", "active_debates"} {
		assert.Contains(t, checks, k)
	}
	assert.Equal(t, "disabled", checks["redis"].(map[string]any)["status"])
	assert.Nil(t, checks["redis"].(map[string]any)["latency_ms"])
}

func TestReadyDraining(t *testing.T) {
	s, _ := newServer(t, nil)
	s.Drain()
	w := do(t, s.Handler(), "GET", "/readyz", "", nil)
	assert.Equal(t, 503, w.Code)
	assert.JSONEq(t, `{"status":"not_ready","reason":"draining"}`, w.Body.String())
	assert.NotEmpty(t, w.Header().Get("X-Aragora-Instance"), "readiness names the instance")
	// A create while draining is accepted and stored pending for the next
	// process (a hand-over fails no create).
	w = do(t, s.Handler(), "POST", "/api/debates", `{"topic":"x"}`, auth)
	assert.Equal(t, 202, w.Code, w.Body.String())
	var d struct{ ID, Status string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d))
	assert.Equal(t, "pending", d.Status)
	w = do(t, s.Handler(), "GET", "/api/debates/"+d.ID, "", auth)
	assert.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), `"status":"pending"`)
}

func TestLocalOperator(t *testing.T) {
	s, _ := newServer(t, func(c *server.Config) { c.Auth = &authpkg.Authenticator{LocalAdmin: true} })
	h := s.Handler()
	r := httptest.NewRequest("GET", "/api/debates", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, 200, w.Code)
	for _, hdr := range []string{"X-Forwarded-For", "Origin", "Forwarded", "X-Real-IP", "Sec-Fetch-Site"} {
		r := httptest.NewRequest("GET", "/api/debates", nil)
		r.RemoteAddr = "127.0.0.1:5555"
		r.Header.Set(hdr, "x")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, 401, w.Code, hdr)
	}
	w = do(t, h, "GET", "/api/debates", "", nil) // non-loopback peer
	assert.Equal(t, 401, w.Code)
}

func TestCorrelationID(t *testing.T) {
	s, _ := newServer(t, nil)
	w := do(t, s.Handler(), "GET", "/livez", "", map[string]string{"X-Request-ID": "abc-123"})
	assert.Equal(t, "abc-123", w.Header().Get("X-Correlation-ID"))
	assert.Equal(t, "abc-123", w.Header().Get("X-Request-ID"))
	w = do(t, s.Handler(), "GET", "/livez", "", map[string]string{"X-Correlation-ID": "bad id!"})
	assert.Regexp(t, `^corr-[a-z2-7]{16}$`, w.Header().Get("X-Correlation-ID"))
}

// createDebate POSTs body to /api/debates on h with the headers hdr,
// requires 202 and returns the new debate's id.
func createDebate(t *testing.T, h http.Handler, body string, hdr map[string]string) string {
	t.Helper()
	w := do(t, h, "POST", "/api/debates", body, hdr)
	return servertest.CreatedID(t, w.Code, w.Body.Bytes())
}

func waitFinished(t *testing.T, h http.Handler, id string) map[string]any {
	t.Helper()
	var obj map[string]any
	require.Eventually(t, func() bool {
		w := do(t, h, "GET", "/api/debates/"+id, "", auth)
		obj = nil
		_ = json.Unmarshal(w.Body.Bytes(), &obj)
		return store.Status(fmt.Sprint(obj["status"])).Terminal()
	}, 20*time.Second, 20*time.Millisecond)
	return obj
}

func TestDebateLifecycle(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	w := do(t, h, "POST", "/api/debates", `{"question":"Use Postgres?","rounds":2,"metadata":{"ticket":"OPS-1"}}`,
		map[string]string{"Authorization": "Bearer " + token, "Idempotency-Key": "k1"})
	require.Equal(t, 202, w.Code, w.Body.String())
	var created map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &created))
	id := created["id"].(string)
	assert.Regexp(t, `^deb_[0-9a-z]{26}$`, id)
	assert.Equal(t, "/api/debates/"+id, w.Header().Get("Location"))
	assert.Contains(t, []string{"running", "pending"}, created["status"])

	// Idempotent replay and reuse.
	w2 := do(t, h, "POST", "/api/debates", `{"question":"Use Postgres?","rounds":2,"metadata":{"ticket":"OPS-1"}}`,
		map[string]string{"Authorization": "Bearer " + token, "Idempotency-Key": "k1"})
	assert.Equal(t, 202, w2.Code)
	assert.Equal(t, "true", w2.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, w.Body.String(), w2.Body.String())
	w3 := do(t, h, "POST", "/api/debates", `{"question":"Other?"}`, map[string]string{"Authorization": "Bearer " + token, "Idempotency-Key": "k1"})
	assert.Equal(t, 422, w3.Code)

	obj := waitFinished(t, h, id)
	assert.Equal(t, map[string]any{"ticket": "OPS-1"}, obj["metadata"])
	assert.NotNil(t, obj["verdict"])

	ev := do(t, h, "GET", "/api/debates/"+id+"/events?after_seq=0&limit=1000", "", auth)
	require.Equal(t, 200, ev.Code)
	var evs struct {
		Events []struct {
			Seq   int64  `json:"seq"`
			Type  string `json:"type"`
			Epoch string `json:"epoch"`
		} `json:"events"`
		Finished bool  `json:"finished"`
		LastSeq  int64 `json:"last_seq"`
	}
	require.NoError(t, json.Unmarshal(ev.Body.Bytes(), &evs))
	require.NotEmpty(t, evs.Events)
	for i, e := range evs.Events {
		assert.Equal(t, int64(i+1), e.Seq)
		assert.NotEmpty(t, e.Epoch)
	}
	assert.Equal(t, "debate_end", evs.Events[len(evs.Events)-1].Type)
	assert.True(t, evs.Finished)

	rj := do(t, h, "GET", "/api/debates/"+id+"/receipt", "", auth)
	require.Equal(t, 200, rj.Code, rj.Body.String())
	rj2 := do(t, h, "GET", "/api/debates/"+id+"/receipt", "", auth)
	assert.Equal(t, rj.Body.String(), rj2.Body.String())
	md := do(t, h, "GET", "/api/debates/"+id+"/receipt", "", map[string]string{"Authorization": "Bearer " + token, "Accept": "text/markdown"})
	require.Equal(t, 200, md.Code)
	assert.True(t, strings.HasPrefix(md.Body.String(), "# Decision Receipt "))

	list := do(t, h, "GET", "/api/debates?status=consensus_reached,no_consensus,failed&limit=1", "", auth)
	require.Equal(t, 200, list.Code)
	var arr []map[string]any
	require.NoError(t, json.Unmarshal(list.Body.Bytes(), &arr))
	require.Len(t, arr, 1)
	assert.NotContains(t, arr[0], "final_answer")

	c := do(t, h, "POST", "/api/debates/"+id+"/cancel", "", auth)
	if obj["status"] == "cancelled" {
		assert.Equal(t, 200, c.Code)
	} else {
		assert.Equal(t, 409, c.Code)
		assert.Equal(t, "invalid_state", errCode(t, c))
	}
}

func TestPagination(t *testing.T) {
	s, st := newServer(t, nil)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		require.NoError(t, st.CreateDebate(context.Background(), &store.Debate{ID: fmt.Sprintf("deb_%02d", i), Topic: "t",
			Status: store.StatusNoConsensus, Owner: "service", Config: json.RawMessage(`{}`), CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base}))
	}
	seen := map[string]bool{}
	path := "/api/debates?limit=2"
	for page := 0; path != "" && page < 5; page++ {
		w := do(t, s.Handler(), "GET", path, "", auth)
		require.Equal(t, 200, w.Code, w.Body.String())
		var arr []map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &arr))
		for _, d := range arr {
			assert.False(t, seen[d["id"].(string)])
			seen[d["id"].(string)] = true
		}
		path = ""
		if l := w.Header().Get("Link"); l != "" {
			path = l[1:strings.Index(l, ">")]
		}
	}
	assert.Len(t, seen, 5)
}

func TestCapacity(t *testing.T) {
	s, _ := newServer(t, func(c *server.Config) { c.Lifecycle.MaxConcurrent = 1; c.Lifecycle.QueueSize = 1 })
	h := s.Handler()
	statuses := []int{}
	for i := 0; i < 3; i++ {
		w := do(t, h, "POST", "/api/debates", `{"topic":"x","rounds":12,"min_rounds":12}`, auth)
		statuses = append(statuses, w.Code)
		if w.Code == 503 {
			assert.Equal(t, "at_capacity", errCode(t, w))
			assert.Equal(t, "30", w.Header().Get("Retry-After"))
		}
	}
	assert.Equal(t, 202, statuses[0])
}

func TestPanicRecovery(t *testing.T) {
	s, _ := newServer(t, func(c *server.Config) {
		c.MetricsHandler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	})
	w := do(t, s.Handler(), "GET", "/metrics", "", nil)
	assert.Equal(t, 500, w.Code)
	assert.Equal(t, "internal", errCode(t, w))
}

func TestWebSocketReplay(t *testing.T) {
	s, _ := newServer(t, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	id := createDebate(t, s.Handler(), `{"topic":"Replay?","rounds":2}`, auth)
	waitFinished(t, s.Handler(), id)

	read := func(after int64) []int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := dialWS(ctx, t, ts.URL, fmt.Sprintf("/ws/debates/%s?after_seq=%d", id, after), token)
		defer c.CloseNow()
		return readSeqs(ctx, t, c)
	}
	all := read(0)
	require.NotEmpty(t, all)
	half := all[len(all)/2]
	rest := read(half)
	assert.Equal(t, all[len(all)/2+1:], rest)
}

// dialWS opens a WebSocket to path on the test server at base (its
// http:// URL), with token as the bearer ("": none).
func dialWS(ctx context.Context, t *testing.T, base, path, token string) *websocket.Conn {
	t.Helper()
	var opts *websocket.DialOptions
	if token != "" {
		opts = &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}}
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, opts)
	require.NoError(t, err)
	return c
}

// readSeqs reads c up to its debate_end event and returns the seqs of
// the events it read, in the order they came.
func readSeqs(ctx context.Context, t *testing.T, c *websocket.Conn) []int64 {
	t.Helper()
	var seqs []int64
	for {
		_, b, err := c.Read(ctx)
		require.NoError(t, err)
		var m struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
		}
		require.NoError(t, json.Unmarshal(b, &m))
		if m.Seq > 0 {
			seqs = append(seqs, m.Seq)
		}
		if m.Type == "debate_end" {
			return seqs
		}
	}
}

// anonWS serves s.WSHandler on a test server and dials path on it without
// a token, with a 5 s context; all of it ends with the test.
func anonWS(t *testing.T, s *server.Server, path string) (context.Context, *websocket.Conn) {
	t.Helper()
	ts := httptest.NewServer(s.WSHandler())
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	c := dialWS(ctx, t, ts.URL, path, "")
	t.Cleanup(func() { _ = c.CloseNow() })
	return ctx, c
}

func TestCloseAll1012(t *testing.T) {
	s, _ := newServer(t, nil)
	ctx, c := anonWS(t, s, "/")
	_, b, err := c.Read(ctx)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"type":"hello"`)
	assert.Equal(t, 1, s.CloseAll(1012))
	_, _, err = c.Read(ctx)
	assert.Equal(t, websocket.StatusServiceRestart, websocket.CloseStatus(err))
	w := do(t, s.Handler(), "GET", "/livez", "", nil)
	assert.Equal(t, 200, w.Code)
}

func TestWebSocketUnknownDebate(t *testing.T) {
	s, _ := newServer(t, nil)
	ctx, c := anonWS(t, s, "/ws/debates/test-123")
	var types []string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			assert.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(err))
			break
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		types = append(types, fmt.Sprint(m["type"]))
	}
	assert.Equal(t, []string{"hello", "error"}, types)
}

func TestStatusFor(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"not found", store.ErrNotFound, 404},
		{"conflict", fmt.Errorf("x: %w", store.ErrConflict), 409},
		{"invalid config", debate.ErrInvalidConfig, 400},
		{"capacity", lifecycle.ErrAtCapacity, 503},
		{"other", io.EOF, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, server.StatusFor(tt.err))
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"topic":"x"}`, ``, `{`, `{"topic":1}`, `{"agents":null}`, `{} x`, `{"metadata":{"a":"b"}}`} {
		f.Add(s)
	}
	st := memstore.New()
	s, err := server.New(st, demoRegistry{}, server.Config{Auth: &authpkg.Authenticator{ServiceToken: token}, Lifecycle: lifecycle.Config{QueueSize: -1, MaxConcurrent: 1}})
	require.NoError(f, err)
	s.Drain() // never start debates: a valid body is stored pending (202)
	f.Fuzz(func(t *testing.T, body string) {
		w := do(t, s.Handler(), "POST", "/api/debates", body, auth)
		if (w.Code < 400 && w.Code != 202) || (w.Code >= 500 && w.Code != 503) {
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, func(c *server.Config) {
		c.OriginPatterns = []string{"https://admin.example.com", "https://*.tools.example.com"}
	})
	tests := []struct {
		origin  string
		allowed bool
	}{
		{"https://admin.example.com", true},
		{"https://a.tools.example.com", true},
		{"https://evil.example.net", false},
		{"http://admin.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			t.Parallel()
			pre := do(t, s.Handler(), "OPTIONS", "/api/debates", "", map[string]string{"Origin": tt.origin,
				"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"})
			get := do(t, s.Handler(), "GET", "/api/health", "", map[string]string{"Origin": tt.origin})
			if !tt.allowed {
				assert.NotEqual(t, http.StatusNoContent, pre.Code)
				assert.Empty(t, get.Header().Get("Access-Control-Allow-Origin"))
				return
			}
			assert.Equal(t, http.StatusNoContent, pre.Code, "a preflight needs no credentials")
			assert.Equal(t, tt.origin, pre.Header().Get("Access-Control-Allow-Origin"))
			assert.Equal(t, "GET, POST, DELETE", pre.Header().Get("Access-Control-Allow-Methods"))
			assert.Contains(t, pre.Header().Get("Access-Control-Allow-Headers"), "Idempotency-Key")
			assert.Equal(t, "600", pre.Header().Get("Access-Control-Max-Age"))
			assert.Empty(t, pre.Header().Get("Access-Control-Allow-Credentials"))
			assert.Equal(t, tt.origin, get.Header().Get("Access-Control-Allow-Origin"))
			assert.Contains(t, get.Header().Get("Access-Control-Expose-Headers"), "X-Correlation-ID")
		})
	}
}

// TestWebSocketClientCloseWhileSending closes from the client while the
// server writes a replay (frames collected in a batch): the server must
// answer with the close frame after the frames of the batch written so
// far, never hang up without it (docs/websocket.md#liveness-and-backpressure).
// The client's Close returns nil only when the server echoed the close
// frame with the client's code (1000).
func TestWebSocketClientCloseWhileSending(t *testing.T) {
	s, _ := newServer(t, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	var ids []string
	for range 4 {
		id := createDebate(t, s.Handler(), `{"topic":"Close while replaying?","rounds":5}`, auth)
		waitFinished(t, s.Handler(), id)
		ids = append(ids, id)
	}
	for i := range 50 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c := dialWS(ctx, t, ts.URL, "/ws", token)
		_, b, err := c.Read(ctx)
		require.NoError(t, err)
		require.Contains(t, string(b), `"type":"hello"`)
		// Each subscription replays the whole debate: many frames queued.
		for _, id := range ids {
			require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","debate_id":"`+id+`"}`)))
		}
		err = c.Close(websocket.StatusNormalClosure, "bye")
		cancel()
		require.NoError(t, err, "iteration %d: the server did not echo the close frame", i)
	}
}
