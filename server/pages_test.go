package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// fakePages answers every request with the pattern that matched it.
type fakePages struct{ patterns []string }

func (p fakePages) Patterns() []string { return p.patterns }
func (p fakePages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("page " + r.Pattern + " " + r.PathValue("id")))
}

func TestPagesMounted(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, nil, func(c *server.Config) {
		c.Pages = fakePages{patterns: []string{"GET /admin", "GET /debates/{id}"}}
	})
	// Public: no credential needed, and a token is not required either.
	w := do(t, e.srv, "GET", "/admin", "", nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "page GET /admin ", w.Body.String())
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	assert.NotEmpty(t, w.Header().Get("X-Correlation-ID"))
	assert.Empty(t, w.Header().Get("X-RateLimit-Limit"))
	w = do(t, e.srv, "GET", "/debates/deb_1", "", nil)
	assert.Equal(t, "page GET /debates/{id} deb_1", w.Body.String())
	w = do(t, e.srv, "HEAD", "/admin", "", nil)
	assert.Equal(t, http.StatusOK, w.Code)
	// Other methods and paths keep the API's answers.
	w = do(t, e.srv, "POST", "/admin", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "method_not_allowed", errCode(t, w))
	w = do(t, e.srv, "GET", "/portal", "", nil)
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, authpkg.Public, e.srv.RoleTable()["GET /admin"])
	// The WebSocket listener serves no pages.
	w = do(t, e.srv.WSHandler(), "GET", "/admin", "", nil)
	assert.Equal(t, http.StatusNotFound, w.Code)
}

func TestPagesMayNotShadowTheAPI(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"GET /api/health", "GET /api/console", "POST /admin", "GET /ws/x", "GET admin"} {
		_, err := server.New(debate.New, demoRegistry{}, memstore.New(), server.Config{Pages: fakePages{patterns: []string{p}}})
		assert.Error(t, err, p)
	}
}

func TestEmergencySwitch(t *testing.T) {
	t.Parallel()
	var on atomic.Bool
	e := newAuthEnv(t, nil, func(c *server.Config) {
		c.SetEmergency = func(v bool) bool { return on.Swap(v) }
	})
	const path = "/api/admin/rate-limits/emergency"
	w := do(t, e.srv, "POST", path, `{"enabled":true}`, nil)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	w = do(t, e.srv, "POST", path, `{"enabled":true}`, e.bearer(authpkg.RoleMember))
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.False(t, on.Load())

	w = do(t, e.srv, "POST", path, `{}`, e.bearer(authpkg.RoleAdmin))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "validation_failed", errCode(t, w))
	w = do(t, e.srv, "POST", path, `{"enabled":"yes"}`, e.bearer(authpkg.RoleAdmin))
	assert.Equal(t, http.StatusBadRequest, w.Code)

	w = do(t, e.srv, "POST", path, `{"enabled":true,"reason":"flood"}`, e.bearer(authpkg.RoleAdmin))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"emergency":true,"previous":false,"emergency_divisor":10}`, w.Body.String())
	assert.True(t, on.Load())
	w = do(t, e.srv, "POST", path, `{"enabled":false}`, e.bearer(authpkg.RoleOwner))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"emergency":false,"previous":true,"emergency_divisor":10}`, w.Body.String())
	assert.False(t, on.Load())

	entries, err := e.st.ListAudit(context.Background(), store.AuditFilter{Action: "admin.rate_limit_emergency", Limit: 10})
	require.NoError(t, err)
	require.Len(t, entries, 2)
	var details map[string]any
	require.NoError(t, json.Unmarshal(entries[1].Details, &details))
	assert.Equal(t, map[string]any{"enabled": true, "previous": false, "reason": "flood", "status": float64(200)}, details)
	assert.Equal(t, "success", entries[1].Outcome)

	// Without a switch the route does not exist.
	plain := newAuthEnv(t, nil, nil)
	w = do(t, plain.srv, "POST", path, `{"enabled":true}`, plain.bearer(authpkg.RoleAdmin))
	assert.Equal(t, http.StatusNotFound, w.Code)
}
