package errreport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/internal/errreport"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The secrets of these tests: none may appear in any payload Sentry gets.
const (
	serviceToken = "svc-token-0123456789abcdef0123456789"
	dbPassword   = "pg-pass-5up3r-s3cret"
	providerKey  = "sk-ant-api03-abcdefghijklmnop"
	jwtSecret    = "jwt-secret-0123456789abcdef0123456789abcdef"
)

// sentryServer is a fake Sentry: it accepts envelopes on
// /api/<project>/envelope/ and keeps their raw bytes and event items.
type sentryServer struct {
	*httptest.Server
	mu     sync.Mutex
	raw    [][]byte
	events []map[string]any
	got    chan struct{}
}

func newSentryServer(t *testing.T) *sentryServer {
	t.Helper()
	s := &sentryServer{got: make(chan struct{}, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/envelope/") {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		events := parseEnvelope(t, body)
		s.mu.Lock()
		s.raw = append(s.raw, body)
		s.events = append(s.events, events...)
		s.mu.Unlock()
		for range events {
			s.got <- struct{}{}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

// parseEnvelope returns the "event" items of a Sentry envelope: a header
// line, then per item a header line and a payload line.
func parseEnvelope(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	sc.Scan() // envelope header
	var out []map[string]any
	for sc.Scan() {
		var item struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &item); err != nil {
			t.Errorf("envelope item header %q: %v", sc.Text(), err)
			return out
		}
		if !sc.Scan() {
			break
		}
		if item.Type == "event" {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Errorf("event payload: %v", err)
			}
			out = append(out, e)
		}
	}
	return out
}

func (s *sentryServer) dsn() string {
	return strings.Replace(s.URL, "http://", "http://public0123456789abcdef@", 1) + "/42"
}

// waitEvents waits for n events in total.
func (s *sentryServer) waitEvents(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		if len(s.events) >= n {
			out := append([]map[string]any(nil), s.events...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("Sentry got %d events, want %d", len(s.events), n)
		}
	}
}

func (s *sentryServer) payload() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.raw, []byte("\n")))
}

func newReporter(t *testing.T, dsn string) *errreport.Reporter {
	t.Helper()
	env := []string{"ARAGORA_API_TOKEN=" + serviceToken, "ANTHROPIC_API_KEY=" + providerKey,
		"ARAGORA_JWT_SECRET=" + jwtSecret, "ARAGORA_DATABASE_URL=postgres://aragora:" + dbPassword + "@db:5432/aragora",
		"ARAGORA_ENV=production"}
	rep, err := errreport.New(errreport.Config{DSN: dsn, Environment: "production", Release: "aragora@0.8.0",
		ServerName: "replica-1", Secrets: errreport.SecretsFromEnv(env)})
	require.NoError(t, err)
	require.NotNil(t, rep)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rep.Flush(ctx)
		rep.Close()
	})
	return rep
}

// faultyStore panics or fails on chosen debate ids, like a broken backend.
type faultyStore struct{ *memstore.Store }

func (f faultyStore) GetDebate(ctx context.Context, id string) (*store.Debate, error) {
	switch id {
	case "deb_panic":
		panic("nil map in store with token " + serviceToken)
	case "deb_fail":
		// A bug, not an outage (an outage answers 503 store_unavailable).
		return nil, fmt.Errorf("decode debate row from postgres://aragora:%s@db:5432/aragora: unexpected column type (key %s)", dbPassword, providerKey)
	}
	return f.Store.GetDebate(ctx, id)
}

type noAgents struct{}

func (noAgents) Resolve(spec string, _ int64) (lifecycle.Agent, error) {
	return lifecycle.Agent{}, fmt.Errorf("%w: %q", lifecycle.ErrUnknownAgent, spec)
}

// newServer returns a real server whose API logger and handler go through
// rep, as the service wires them.
func newServer(t *testing.T, rep *errreport.Reporter, logs io.Writer) http.Handler {
	t.Helper()
	lg := slog.New(rep.Handler(slog.NewJSONHandler(logs, nil))).With("logger", "aragora.api")
	s, err := server.New(faultyStore{memstore.New()}, noAgents{}, server.Config{
		Version: "0.8.0", Env: "production", Auth: &auth.Authenticator{ServiceToken: serviceToken}, Logger: lg})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
	})
	return rep.Middleware(s.Handler())
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer "+serviceToken)
	r.Header.Set("Cookie", "session="+jwtSecret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func tagsOf(e map[string]any) map[string]any {
	t, _ := e["tags"].(map[string]any)
	return t
}

func assertNoSecret(t *testing.T, payload string) {
	t.Helper()
	for _, s := range []string{serviceToken, dbPassword, providerKey, jwtSecret} {
		assert.NotContains(t, payload, s, "a secret reached Sentry")
	}
}

func TestPanicInHandlerIsReportedOnceWithTagsAndStack(t *testing.T) {
	sentry := newSentryServer(t)
	rep := newReporter(t, sentry.dsn())
	var logs bytes.Buffer
	h := newServer(t, rep, &logs)

	w := get(t, h, "/api/debates/deb_panic")
	require.Equal(t, http.StatusInternalServerError, w.Code, w.Body.String())
	cid := w.Header().Get("X-Correlation-Id")
	require.NotEmpty(t, cid)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.True(t, rep.Flush(ctx))

	events := sentry.waitEvents(t, 1)
	require.Len(t, events, 1, "the panic and its request_error make one event")
	e := events[0]
	tags := tagsOf(e)
	assert.Equal(t, cid, tags["correlation_id"])
	assert.Equal(t, "deb_panic", tags["debate_id"])
	assert.Equal(t, "/api/debates/{id}", tags["route"])
	assert.Equal(t, "aragora.api", tags["logger"])
	assert.Equal(t, "production", e["environment"])
	assert.Equal(t, "aragora@0.8.0", e["release"])
	assert.Equal(t, "replica-1", e["server_name"])
	exc := e["exception"].([]any)[0].(map[string]any)
	assert.Equal(t, "panic", exc["type"])
	frames := exc["stacktrace"].(map[string]any)["frames"].([]any)
	var fns []string
	for _, f := range frames {
		fns = append(fns, fmt.Sprint(f.(map[string]any)["function"]))
	}
	assert.Contains(t, strings.Join(fns, " "), "faultyStore.GetDebate", "the stack shows the panic site")
	assertNoSecret(t, sentry.payload())
	assert.Contains(t, logs.String(), `"msg":"panic"`, "the log record still reaches the log")
}

func TestServerErrorIsReportedWithTagsAndScrubbed(t *testing.T) {
	sentry := newSentryServer(t)
	rep := newReporter(t, sentry.dsn())
	h := newServer(t, rep, io.Discard)

	w := get(t, h, "/api/debates/deb_fail")
	require.Equal(t, http.StatusInternalServerError, w.Code)
	cid := w.Header().Get("X-Correlation-Id")
	events := sentry.waitEvents(t, 1)
	e := events[0]
	assert.Equal(t, cid, tagsOf(e)["correlation_id"])
	assert.Equal(t, "deb_fail", tagsOf(e)["debate_id"])
	assert.Equal(t, "/api/debates/{id}", tagsOf(e)["route"])
	assert.Contains(t, e["message"], "request_error")
	assert.Contains(t, e["message"], "postgres://"+errreport.Filtered+"@db:5432", "the password in the URL is filtered")
	assertNoSecret(t, sentry.payload())

	// A 4xx is not reported.
	require.Equal(t, http.StatusNotFound, get(t, h, "/api/debates/deb_missing").Code)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.True(t, rep.Flush(ctx))
	assert.Len(t, sentry.waitEvents(t, 1), 1)
}

func TestMiddlewareReportsPanicsAndUnloggedServerErrors(t *testing.T) {
	sentry := newSentryServer(t)
	rep := newReporter(t, sentry.dsn())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Correlation-Id", "corr-boom")
		panic(errors.New("boom: Bearer " + serviceToken))
	})
	mux.HandleFunc("GET /bad-gateway", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Correlation-Id", "corr-gateway")
		w.WriteHeader(http.StatusBadGateway)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable) // draining: a state, not an error
	})
	h := rep.Middleware(mux)

	w := get(t, h, "/boom?api_key="+providerKey+"&page=2")
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"error":{"code":"internal","message":"internal error","correlation_id":"corr-boom"}}`, w.Body.String())
	assert.Equal(t, http.StatusBadGateway, get(t, h, "/bad-gateway?api_key="+providerKey+"&page=2").Code)
	assert.Equal(t, http.StatusServiceUnavailable, get(t, h, "/readyz").Code)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.True(t, rep.Flush(ctx))

	events := sentry.waitEvents(t, 2)
	require.Len(t, events, 2, "the probe's 503 is not reported")
	byCID := map[string]map[string]any{}
	for _, e := range events {
		byCID[fmt.Sprint(tagsOf(e)["correlation_id"])] = e
	}
	assert.Contains(t, byCID["corr-boom"]["message"], "panic: boom")
	assert.Equal(t, "502", tagsOf(byCID["corr-gateway"])["status"])
	req := byCID["corr-gateway"]["request"].(map[string]any)
	headers, _ := req["headers"].(map[string]any)
	assert.NotContains(t, headers, "Authorization")
	assert.NotContains(t, headers, "Cookie")
	assert.Equal(t, "api_key="+queryEscape(errreport.Filtered)+"&page=2", req["query_string"])
	assertNoSecret(t, sentry.payload())

	// http.ErrAbortHandler is a deliberate abort: it passes through.
	mux.HandleFunc("GET /abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { get(t, h, "/abort") })
}

func queryEscape(s string) string { return strings.NewReplacer("[", "%5B", "]", "%5D").Replace(s) }

func TestErrorLogsAreReported(t *testing.T) {
	sentry := newSentryServer(t)
	rep := newReporter(t, sentry.dsn())
	var out bytes.Buffer
	lg := slog.New(rep.Handler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))).With("logger", "aragora.webhook")
	lg.Info("webhook_delivery", "status_code", 200) // below the level: neither logged nor reported
	lg.Warn("webhook_retry", "attempt", 2)          // logged, not reported
	lg.WithGroup("delivery").Error("webhook_dead_letter", "correlation_id", "corr-hook", "secret", "whsec_abcdefghijklmnop",
		slog.Group("endpoint", "url", "https://user:"+dbPassword+"@hooks.example.com/x"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.True(t, rep.Flush(ctx))

	events := sentry.waitEvents(t, 1)
	require.Len(t, events, 1)
	e := events[0]
	assert.Equal(t, "webhook_dead_letter", e["message"])
	assert.Equal(t, "aragora.webhook", e["logger"])
	assert.Equal(t, "aragora.webhook", tagsOf(e)["logger"])
	logCtx := e["contexts"].(map[string]any)["log"].(map[string]any)
	assert.Equal(t, errreport.Filtered, logCtx["delivery.secret"])
	assert.Equal(t, "corr-hook", logCtx["delivery.correlation_id"])
	assert.Equal(t, "https://"+errreport.Filtered+"@hooks.example.com/x", logCtx["delivery.endpoint.url"])
	assertNoSecret(t, sentry.payload())
	assert.NotContains(t, out.String(), "webhook_delivery")
	assert.Contains(t, out.String(), "webhook_retry")
	assert.Contains(t, out.String(), "webhook_dead_letter")
}

// A Sentry that never answers must not slow a request down: events are
// queued and dropped, and every request completes.
func TestReportingNeverBlocksRequests(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	rep, err := errreport.New(errreport.Config{DSN: strings.Replace(hang.URL, "http://", "http://k@", 1) + "/1", Release: "aragora@test"})
	require.NoError(t, err)
	h := rep.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 500; i++ {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			r.Header.Set("X-Correlation-Id", fmt.Sprintf("corr-%d", i))
			h.ServeHTTP(w, r)
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("requests blocked on a Sentry that does not answer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	assert.False(t, rep.Flush(ctx), "nothing could be sent")
	close(release)
	rep.Close()
}

func TestNewWithoutDSNIsOffAndNilSafe(t *testing.T) {
	rep, err := errreport.New(errreport.Config{})
	require.NoError(t, err)
	require.Nil(t, rep)
	next := http.NotFoundHandler()
	assert.NotNil(t, rep.Middleware(next))
	th := slog.NewTextHandler(io.Discard, nil)
	assert.Equal(t, slog.Handler(th), rep.Handler(th))
	assert.True(t, rep.Flush(context.Background()))
	rep.Close()

	_, err = errreport.New(errreport.Config{DSN: "not a dsn"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SENTRY_DSN")
}

func TestSecretsFromEnv(t *testing.T) {
	got := errreport.SecretsFromEnv([]string{"ANTHROPIC_API_KEY=k1", "ARAGORA_JWT_SECRET=s1", "ARAGORA_API_TOKEN=t1",
		"SUPABASE_DB_PASSWORD=p1", "SENTRY_DSN=https://pub@o1.ingest/2", "ARAGORA_REDIS_URL=redis://:rpw@redis:6379/0",
		"WEBHOOK_URL=https://a.example/x,https://u:hpw@b.example/y", "ARAGORA_ENV=production", "EMPTY_KEY=", "noequals"})
	assert.ElementsMatch(t, []string{"k1", "s1", "t1", "p1", "https://pub@o1.ingest/2", "rpw", "hpw"}, got)
}
