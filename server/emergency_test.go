package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
)

func TestEmergencySwitch(t *testing.T) {
	t.Parallel()
	on, err := ratelimit.NewPolicy(nil, ratelimit.Config{})
	require.NoError(t, err)
	e := newAuthEnv(t, nil, func(c *server.Config) { c.RateLimiter = on })
	const path = "/api/admin/rate-limits/emergency"
	w := do(t, e.srv, "POST", path, `{"enabled":true}`, nil)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	w = do(t, e.srv, "POST", path, `{"enabled":true}`, e.bearer(authpkg.RoleMember))
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.False(t, on.Emergency())

	w = do(t, e.srv, "POST", path, `{}`, e.bearer(authpkg.RoleAdmin))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "validation_failed", errCode(t, w))
	w = do(t, e.srv, "POST", path, `{"enabled":"yes"}`, e.bearer(authpkg.RoleAdmin))
	assert.Equal(t, http.StatusBadRequest, w.Code)

	w = do(t, e.srv, "POST", path, `{"enabled":true,"reason":"flood"}`, e.bearer(authpkg.RoleAdmin))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"emergency":true,"previous":false,"emergency_divisor":10}`, w.Body.String())
	assert.True(t, on.Emergency())
	w = do(t, e.srv, "POST", path, `{"enabled":false}`, e.bearer(authpkg.RoleOwner))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"emergency":false,"previous":true,"emergency_divisor":10}`, w.Body.String())
	assert.False(t, on.Emergency())

	entries, err := e.st.ListAudit(context.Background(), store.AuditFilter{Action: "admin.rate_limit_emergency", Limit: 10})
	require.NoError(t, err)
	require.Len(t, entries, 2)
	var details map[string]any
	require.NoError(t, json.Unmarshal(entries[1].Details, &details))
	assert.Equal(t, map[string]any{"enabled": true, "previous": false, "reason": "flood", "status": float64(200)}, details)
	assert.Equal(t, "success", entries[1].Outcome)

	// Without a rate limiter the route does not exist.
	plain := newAuthEnv(t, nil, nil)
	w = do(t, plain.srv, "POST", path, `{"enabled":true}`, plain.bearer(authpkg.RoleAdmin))
	assert.Equal(t, http.StatusNotFound, w.Code)
}
