package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"

	"github.com/aragora/aragora/agent/registry"
	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/internal/apitest"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/webhook"
)

var update = flag.Bool("update", false, "rewrite server/openapi.json from server/openapi.yaml")

// openAPIFromYAML converts openapi.yaml (anchors and merge keys resolved)
// to the JSON the server embeds: keys sorted, two-space indent, no HTML
// escaping, a final newline.
func openAPIFromYAML(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	var doc any
	require.NoError(t, yaml.Unmarshal(src, &doc), "openapi.yaml")
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(doc), "openapi.yaml must convert to JSON (string keys only)")
	return b.Bytes()
}

// TestOpenAPIJSONUpToDate holds server/openapi.json equal to its source,
// server/openapi.yaml. After editing the YAML run
// go test ./server -run TestOpenAPIJSONUpToDate -update.
func TestOpenAPIJSONUpToDate(t *testing.T) {
	want := openAPIFromYAML(t)
	if *update {
		require.NoError(t, os.WriteFile("openapi.json", want, 0o644))
		return
	}
	if !bytes.Equal(want, server.OpenAPI()) {
		t.Fatal("server/openapi.json is out of date: run go test ./server -run TestOpenAPIJSONUpToDate -update")
	}
	_ = apitest.Must(t, server.OpenAPI()) // loads and validates as OpenAPI 3.1
}

// routeKey turns a ServeMux pattern into the document's "METHOD /path".
func routeKey(pattern string) string {
	return strings.Replace(pattern, "{$}", "", 1)
}

// TestOpenAPIRoutesMatchServer checks that every route either listener
// serves is documented, that every documented operation is served, and
// that each operation's x-aragora-role is the role the server enforces.
func TestOpenAPIRoutesMatchServer(t *testing.T) {
	st := memstore.New()
	wk, err := webhook.New(st, webhook.Config{})
	require.NoError(t, err)
	rec := newClassRecorder(t)
	s := newAuthEnv(t, st, func(c *server.Config) { // every optional route and feature
		c.MemoryProfiling = true
		c.Webhooks = wk
		c.RateLimiter = rec
		c.Memory = mustContinuum(t, st)
		c.Nomic = &nomic.Control{Store: st}
		c.MetricsHandler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
		c.Lifecycle.ReceiptSigner = testEd25519Signer()
	}).srv
	v := apitest.Must(t, server.OpenAPI())
	served := map[string]string{}
	for pattern, role := range s.RoleTable() {
		served[routeKey(pattern)] = string(role)
	}
	documented := map[string]string{}
	for _, op := range v.Operations() {
		documented[op.Key()] = op.Role
	}
	var undocumented, unserved, wrongRole []string
	for k, role := range served {
		drole, ok := documented[k]
		switch {
		case !ok:
			undocumented = append(undocumented, k)
		case drole != role:
			wrongRole = append(wrongRole, k+": served as "+role+", documented as "+drole)
		}
	}
	for k := range documented {
		if _, ok := served[k]; !ok {
			unserved = append(unserved, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unserved)
	sort.Strings(wrongRole)
	assert.Empty(t, undocumented, "routes the server serves but server/openapi.yaml lacks (add them, then run go test ./server -run TestOpenAPIJSONUpToDate -update)")
	assert.Empty(t, unserved, "operations server/openapi.yaml documents but no listener serves")
	assert.Empty(t, wrongRole, "x-aragora-role differs from the server's role table")

	// Each listener serves exactly the operations whose
	// x-aragora-listeners names it: an unserved route is a 404.
	handlers := map[string]http.Handler{"api": s.Handler(), "ws": s.WSHandler()}
	for _, op := range v.Operations() {
		path := strings.NewReplacer("{id}", "deb_x", "{name}", "demo-a").Replace(op.Path)
		for name, h := range handlers {
			w := do(t, h, op.Method, path, "", nil)
			served := w.Code != http.StatusNotFound
			assert.Equal(t, slices.Contains(op.Listeners, name), served, "%s on the %s listener (status %d)", op.Key(), name, w.Code)
		}
		// x-aragora-rate-limit is the class the route table gives the
		// route (none: the limiter never sees it).
		assert.Equal(t, string(rec.class(op.Key())), op.RateLimit, "x-aragora-rate-limit of %s", op.Key())
	}
}

// classRecorder is a disabled rate limiter that records the class each
// route it limits was given, by "METHOD /path".
type classRecorder struct {
	*ratelimit.Policy
	mu      sync.Mutex
	classes map[string]ratelimit.Class
}

func newClassRecorder(t *testing.T) *classRecorder {
	p, err := ratelimit.NewPolicy(nil, ratelimit.Config{Disabled: true})
	require.NoError(t, err)
	return &classRecorder{Policy: p, classes: map[string]ratelimit.Class{}}
}

func (c *classRecorder) Handler(class ratelimit.Class, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.classes[routeKey(r.Pattern)] = class
		c.mu.Unlock()
		c.Policy.Handler(class, next).ServeHTTP(w, r)
	})
}

func (c *classRecorder) class(key string) ratelimit.Class {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.classes[key]
}

// TestOpenAPIServedDocument checks GET /api/openapi.json: public, the
// embedded document, valid JSON.
func TestOpenAPIServedDocument(t *testing.T) {
	s, _ := newServer(t, nil)
	w := do(t, s, "GET", "/api/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, server.OpenAPI(), w.Body.Bytes())
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	assert.Equal(t, "3.1.0", doc.OpenAPI)
}

// exchange is one request of the coverage walk.
type exchange struct {
	method, path, body string
	hdr                map[string]string
	want               int // expected status; 0: any
}

// TestOpenAPIResponsesValidate sends real requests to every documented
// operation, through apitest.Handler, which fails the test when a response
// does not match the document (status, field or shape). Successful
// answers, client errors and the error body are all checked.
func TestOpenAPIResponsesValidate(t *testing.T) {
	reg, err := registry.New(registry.Config{})
	require.NoError(t, err)
	st := memstore.New()
	wk, err := webhook.New(st, webhook.Config{Endpoints: []webhook.Endpoint{
		{ID: "env-1", URL: "https://hooks.example.com/aragora?token=t", Events: []string{webhook.AllEvents}}}})
	require.NoError(t, err)
	// A real limiter (its views validate against the document) whose
	// budgets this test's requests never exhaust.
	limits, err := ratelimit.NewPolicy(nil, ratelimit.Config{RPM: 100000, DebateRPM: 100000, AuthRPM: 100000})
	require.NoError(t, err)
	mem := mustContinuum(t, st)
	_, err = mem.Add(context.Background(), memory.Entry{Kind: memory.KindInsight, Content: "Shared rate limits need Redis"})
	require.NoError(t, err)
	e := newAuthEnv(t, st, func(c *server.Config) {
		c.Webhooks = wk
		c.Memory = mem
		c.Nomic = &nomic.Control{Store: st}
		c.MemoryProfiling = true
		c.RateLimiter = limits
		c.MemoryDumpPath = t.TempDir() + "/dump.json"
		c.MetricsHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = w.Write([]byte("aragora_build_info 1\n"))
		})
		c.AgentStatus = func() []any {
			var out []any
			for _, st := range reg.Status() {
				out = append(out, st)
			}
			return out
		}
		c.AgentTest = func(context.Context, server.AgentTestRequest) (any, error) {
			return map[string]any{"agent": "demo-a", "provider": "demo", "model": "demo-balanced", "ok": true, "latency_ms": 3,
				"response": "pong", "tokens": map[string]int{"input": 12, "output": 2}, "cost_usd": 0, "circuit_state": "closed",
				"error": nil}, nil
		}
	})
	v := apitest.Must(t, server.OpenAPI())
	h := v.Handler(t, e.srv)
	admin, member, viewer := e.bearer(authpkg.RoleAdmin), e.bearer(authpkg.RoleMember), e.bearer(authpkg.RoleViewer)
	run := func(x exchange) *httptest.ResponseRecorder {
		t.Helper()
		w := do(t, h, x.method, x.path, x.body, x.hdr)
		if x.want != 0 {
			assert.Equal(t, x.want, w.Code, "%s %s: %s", x.method, x.path, w.Body.String())
		}
		return w
	}

	// A finished debate, a running one, and a user with an API key.
	id := e.createDebate(member, `"demo-a","demo-b"`)
	e.waitFinished(id)
	running := e.createDebate(member, `"slow-a","slow-b"`)
	login := run(exchange{"POST", "/api/auth/login", `{"email":"viewer@example.com","password":"` + testPassword + `"}`, nil, 200})
	var pair struct {
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.Unmarshal(login.Body.Bytes(), &pair))

	for _, x := range []exchange{
		// Health and metrics.
		{"GET", "/api/health", "", nil, 200}, {"GET", "/healthz", "", nil, 200},
		{"GET", "/api/health/ready", "", nil, 200}, {"GET", "/readyz", "", nil, 200}, {"GET", "/livez", "", nil, 200},
		{"GET", "/metrics", "", nil, 200}, {"GET", "/api/metrics", "", nil, 200},
		{"GET", "/api/openapi.json", "", nil, 200}, {"GET", "/api/openapi.json?x=1", "", nil, 400},
		// Debates.
		{"GET", "/api/debates", "", viewer, 200}, {"GET", "/api/debates?status=running,bogus", "", viewer, 400},
		{"GET", "/api/debates?limit=1", "", viewer, 200}, {"GET", "/api/debates", "", nil, 401},
		{"GET", "/api/debates/" + id, "", viewer, 200}, {"GET", "/api/debates/deb_nope", "", viewer, 404},
		{"GET", "/api/debates/" + id + "/events", "", viewer, 200}, {"GET", "/api/debates/" + id + "/events?limit=0", "", viewer, 400},
		{"GET", "/api/debates/" + id + "/receipt", "", viewer, 200},
		{"GET", "/api/debates/" + running + "/receipt", "", viewer, 409},
		{"GET", "/api/receipts/public-key", "", nil, 404},
		{"POST", "/api/debates", `{"topic":"x","agents":["demo-a"]}`, member, 400},
		{"POST", "/api/debates", `{"topic":"x","bogus":1}`, member, 400},
		{"POST", "/api/debates", `{"topic":"x","agents":["nope-a","demo-b"]}`, member, 400},
		{"POST", "/api/debates", `{"topic":"x"}`, viewer, 403},
		{"POST", "/api/debates", `{"topic":"x"}`, map[string]string{"Authorization": member["Authorization"], "Content-Type": "text/plain"}, 415},
		{"POST", "/api/debates", `{"topic":"x","agents":["demo-a","demo-b"],"rounds":1,"metadata":{"k":"v"}}`,
			map[string]string{"Authorization": member["Authorization"], "Idempotency-Key": "k-1"}, 202},
		{"POST", "/api/debates", `{"topic":"x","agents":["demo-a","demo-b"],"rounds":1,"metadata":{"k":"v"}}`,
			map[string]string{"Authorization": member["Authorization"], "Idempotency-Key": "k-1"}, 202},
		{"POST", "/api/debates", `{"topic":"y","agents":["demo-a","demo-b"],"rounds":1}`,
			map[string]string{"Authorization": member["Authorization"], "Idempotency-Key": "k-1"}, 422},
		{"POST", "/api/debates/" + running + "/cancel", `{"reason":"test"}`, member, 200},
		{"POST", "/api/debates/" + id + "/cancel", "", admin, 409},
		{"DELETE", "/api/debates", "", admin, 405}, {"GET", "/api/nothing-here", "", nil, 404},
		// Agents and diagnostics.
		{"GET", "/api/agents/status", "", nil, 200}, {"GET", "/api/agents/circuit-breakers", "", nil, 200},
		{"POST", "/api/agents/demo-a/reset-circuit", "", admin, 200}, {"POST", "/api/agents/zzz/reset-circuit", "", admin, 404},
		{"POST", "/api/agents/demo-a/reset-circuit", "", member, 403},
		{"POST", "/api/debug/agent-test", `{"agent":"demo-a"}`, admin, 200},
		{"POST", "/api/debug/agent-test", `{}`, admin, 400},
		{"POST", "/api/debug/connectivity-check", "", admin, 200},
		{"POST", "/api/debug/memory-dump", "", admin, 200},
		{"GET", "/api/ws/stats", "", nil, 200}, {"GET", "/api/ws/stats", "", admin, 200},
		{"GET", "/api/rate-limits/status", "", nil, 200}, {"GET", "/api/rate-limits/config", "", nil, 200},
		// Webhooks.
		{"GET", "/api/webhooks/status", "", viewer, 200}, {"GET", "/api/webhooks/status", "", admin, 200},
		{"GET", "/api/webhooks/queue", "", viewer, 200}, {"GET", "/api/webhooks/queue?x=1", "", viewer, 400},
		{"POST", "/api/webhooks/retry-failed", "", admin, 200}, {"POST", "/api/webhooks/retry-failed", `{"max":0}`, admin, 400},
		{"POST", "/api/webhooks/retry-failed", "", member, 403},
		{"GET", "/api/webhooks/endpoints", "", admin, 200}, {"GET", "/api/webhooks/endpoints", "", viewer, 403},
		{"POST", "/api/webhooks/endpoints", `{"url":"https://127.0.0.1/h"}`, admin, 400},
		{"POST", "/api/webhooks/endpoints/env-1/test", "", admin, 202}, {"POST", "/api/webhooks/endpoints/wh_nope/test", "", admin, 404},
		{"DELETE", "/api/webhooks/endpoints/env-1", "", admin, 409}, {"DELETE", "/api/webhooks/endpoints/wh_nope", "", admin, 404},
		// Nomic loop (none runs).
		{"GET", "/api/nomic/metrics", "", nil, 200}, {"GET", "/api/admin/nomic/status", "", admin, 200},
		{"GET", "/api/admin/nomic/status", "", member, 403}, {"GET", "/api/admin/nomic/status", "", nil, 401},
		{"POST", "/api/admin/nomic/pause", `{"reason":"x"}`, admin, 409}, {"POST", "/api/admin/nomic/resume", "", admin, 409},
		{"POST", "/api/admin/nomic/reset", `{"target_phase":"bogus"}`, admin, 400},
		{"POST", "/api/admin/nomic/reset", `{"target_phase":"context","clear_errors":true,"reason":"x"}`, admin, 200},
		{"GET", "/api/admin/nomic/circuit-breakers", "", admin, 200}, {"POST", "/api/admin/nomic/circuit-breakers/reset", "", admin, 200},
		// Accounts.
		{"GET", "/api/auth/me", "", viewer, 200}, {"GET", "/api/auth/me", "", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"GET", "/api/auth/me", "", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"POST", "/api/auth/login", `{"email":"viewer@example.com","password":"wrong-password-1"}`, nil, 401},
		{"POST", "/api/auth/refresh", `{"refresh_token":"` + pair.RefreshToken + `"}`, nil, 200},
		{"POST", "/api/auth/register", `{"email":"new@example.com","password":"` + testPassword + `","role":"member"}`, admin, 201},
		{"POST", "/api/auth/register", `{"email":"new@example.com","password":"` + testPassword + `"}`, admin, 409},
		{"POST", "/api/auth/register", `{"email":"short@example.com","password":"short"}`, admin, 400},
		{"POST", "/api/auth/api-key", `{"name":"ci"}`, viewer, 201},
		{"GET", "/api/auth/me", "", viewer, 200},
		{"DELETE", "/api/auth/api-key", "", viewer, 200}, {"DELETE", "/api/auth/api-key", "", viewer, 404},
		{"POST", "/api/auth/password", `{"current_password":"` + testPassword + `","new_password":"` + testPassword + `-2"}`, member, 200},
		{"GET", "/api/billing/usage", "", viewer, 200}, {"GET", "/api/billing/usage?scope=all", "", admin, 200},
		{"GET", "/api/billing/usage?scope=all", "", viewer, 403},
		// Administration.
		{"GET", "/api/system/circuit-breakers", "", admin, 200}, {"GET", "/api/system/errors", "", admin, 200},
		{"GET", "/api/system/errors?type=bogus", "", admin, 400}, {"GET", "/api/system/rate-limits", "", admin, 200},
		{"POST", "/api/admin/cleanup-caches", "", admin, 200},
		{"POST", "/api/admin/cleanup-stale-debates", `{"dry_run":true}`, admin, 200},
		{"GET", "/api/admin/revoked-tokens", "", admin, 200}, {"GET", "/api/admin/audit-log?limit=5", "", admin, 200},
		{"POST", "/api/admin/revoke-token", `{"token_id":"tok_nonexistent0000000000"}`, admin, 200},
		{"POST", "/api/admin/rate-limits/emergency", `{"enabled":true,"reason":"test"}`, admin, 200},
		{"POST", "/api/admin/rate-limits/emergency", `{"enabled":false}`, admin, 200},
		{"POST", "/api/admin/rate-limits/emergency", `{}`, admin, 400},
		{"POST", "/api/admin/force-password-reset", `{"user_ids":["` + e.users[authpkg.RoleViewer].ID + `"]}`, admin, 200},
		{"POST", "/api/admin/rotate-keys", `{"keep_previous":true,"revoke_api_keys":false}`, admin, 200},
		{"POST", "/api/admin/revoke-all-tokens", `{"reason":"test"}`, map[string]string{"Authorization": "Bearer " + token}, 200},
		{"POST", "/api/auth/logout", "", map[string]string{"Authorization": "Bearer " + token}, 204},
		// WebSocket paths answer a plain GET with 426.
		{"GET", "/ws", "", nil, 426}, {"GET", "/ws/debates/" + id, "", nil, 426},
	} {
		run(x)
	}
	service := map[string]string{"Authorization": "Bearer " + token} // the admin tokens were revoked above
	created := run(exchange{"POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.org/h","events":["debate.finished"],"description":"d"}`, service, 201})
	var ep struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(created.Body.Bytes(), &ep))
	run(exchange{"GET", "/api/webhooks/endpoints", "", service, 200})
	run(exchange{"DELETE", "/api/webhooks/endpoints/" + ep.ID, "", service, 204})
	run(exchange{"GET", "/api/memory/continuum?query=rate+limits", "", service, 200})
	run(exchange{"GET", "/api/memory/continuum?tier=slow", "", service, 200})
	run(exchange{"GET", "/api/memory/tiers", "", service, 200})
	run(exchange{"POST", "/api/memory/continuum/cleanup", "", service, 200})
	run(exchange{"DELETE", "/api/memory/continuum/" + memory.EntryID(memory.KindInsight, "", "Shared rate limits need Redis"), "", service, 204})
	run(exchange{"DELETE", "/api/memory/continuum/mem_missing", "", service, 404})
	ws := v.ForListener("ws").Handler(t, e.srv.WSHandler())
	w := do(t, ws, "GET", "/", "", nil)
	assert.Equal(t, http.StatusUpgradeRequired, w.Code)

	// Every documented operation was exercised.
	checked := v.Checked()
	var missed []string
	for _, op := range v.Operations() {
		if checked[op.Key()] == 0 {
			missed = append(missed, op.Key())
		}
	}
	assert.Empty(t, missed, "operations no request reached; add one to this test")
}

// TestOpenAPIEventsValidate runs a debate with every kind of event the demo
// agents produce and checks the events page against the Event schema
// (docs/events.md).
func TestOpenAPIEventsValidate(t *testing.T) {
	s, st := newServer(t, nil)
	v := apitest.Must(t, server.OpenAPI())
	h := v.Handler(t, s)
	id := createDebate(t, h, `{"topic":"Adopt Postgres?","agents":["demo-a:hollow","demo-b:hollow","demo-c:critical"],`+
		`"rounds":3,"trickster":true,"consensus":"judge","judge":"demo-c"}`, auth)
	require.Eventually(t, func() bool {
		got, err := st.GetDebate(context.Background(), id)
		return err == nil && store.Terminal(got.Status) && len(got.Result) > 0
	}, 10*time.Second, 10*time.Millisecond)
	w := do(t, h, "GET", "/api/debates/"+id+"/events?limit=1000", "", auth)
	require.Equal(t, http.StatusOK, w.Code)
	var page struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	var types []string
	for _, ev := range page.Events {
		if !slices.Contains(types, ev.Type) {
			types = append(types, ev.Type)
		}
	}
	for _, want := range []string{"debate_start", "round_start", "proposal", "critique", "vote", "consensus_check",
		"round_end", "debate_end", "trickster_intervention"} {
		assert.Contains(t, types, want)
	}
	assert.Regexp(t, regexp.MustCompile(`^DR-\d{8}-[0-9a-f]{6}$`), receiptIDOf(t, do(t, h, "GET", "/api/debates/"+id, "", auth)))
}

func receiptIDOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var d struct {
		ReceiptID *string `json:"receipt_id"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d))
	require.NotNil(t, d.ReceiptID)
	return *d.ReceiptID
}
