package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

const (
	testSecret   = "test-jwt-secret-0123456789abcdef0123"
	testPassword = "correct-horse-battery"
)

// fastAuth keeps argon2 cheap in tests.
func fastAuth() authpkg.Config {
	return authpkg.Config{Password: authpkg.PasswordConfig{Memory: 64, Time: 1, Threads: 1}}
}

// slowRegistry resolves demo-* like demoRegistry and slow-* to agents that
// answer only when their context ends (debates that stay running).
type slowRegistry struct{ demoRegistry }

func (r slowRegistry) Resolve(spec string, seed int64) (lifecycle.Agent, error) {
	if strings.HasPrefix(spec, "slow-") {
		return lifecycle.Agent{Name: spec, Provider: "demo", Model: "slow", Agent: agent.Func(
			func(ctx context.Context, _ agent.Request) (agent.Response, error) {
				<-ctx.Done()
				return agent.Response{}, ctx.Err()
			})}, nil
	}
	return r.demoRegistry.Resolve(spec, seed)
}

type fakeBreakers struct{}

func (fakeBreakers) Circuits() map[string]breaker.Snapshot {
	return map[string]breaker.Snapshot{"demo-a": {State: breaker.StateClosed, FailureThreshold: 5, OpenSeconds: 30}}
}
func (fakeBreakers) Reset(name string) (breaker.State, bool) {
	return breaker.StateClosed, name == "demo-a"
}

// authEnv is a server with the auth service over one memstore and a user
// of every role.
type authEnv struct {
	t     *testing.T
	srv   *server.Server
	st    *memstore.Store
	svc   *authpkg.Service
	users map[authpkg.Role]*store.User
}

func newAuthEnv(t *testing.T, st *memstore.Store, mut func(*server.Config)) *authEnv {
	t.Helper()
	ctx := context.Background()
	if st == nil {
		st = memstore.New()
	}
	svc, err := authpkg.New(ctx, st, []byte(testSecret), fastAuth())
	require.NoError(t, err)
	cfg := server.Config{Version: "0.8.0", Accounts: svc, Breakers: fakeBreakers{},
		Auth: &authpkg.Authenticator{Service: svc, ServiceToken: token},
		AgentTest: func(_ context.Context, req server.AgentTestRequest) (any, error) {
			return map[string]any{"agent": req.Agent, "provider": "demo", "model": "demo-balanced", "ok": true, "latency_ms": 1,
				"response": "pong", "tokens": map[string]int{"input": 1, "output": 1}, "cost_usd": 0, "circuit_state": "closed", "error": nil}, nil
		}}
	if mut != nil {
		mut(&cfg)
	}
	s := startServer(t, st, slowRegistry{}, cfg)
	e := &authEnv{t: t, srv: s, st: st, svc: svc, users: map[authpkg.Role]*store.User{}}
	for _, r := range []authpkg.Role{authpkg.RoleOwner, authpkg.RoleAdmin, authpkg.RoleMember, authpkg.RoleViewer} {
		u, err := st.GetUserByEmail(ctx, string(r)+"@example.com")
		if err != nil {
			u, err = svc.CreateUser(ctx, authpkg.NewUser{Email: string(r) + "@example.com", Password: testPassword, Role: r})
			require.NoError(t, err)
		}
		e.users[r] = u
	}
	return e
}

// bearer returns an Authorization header with a fresh access token of role.
func (e *authEnv) bearer(r authpkg.Role) map[string]string {
	e.t.Helper()
	tok, _, err := e.svc.IssueAccessToken(context.Background(), e.users[r], time.Hour)
	require.NoError(e.t, err)
	return map[string]string{"Authorization": "Bearer " + tok}
}

func (e *authEnv) waitFinished(id string) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		d, err := e.st.GetDebate(context.Background(), id)
		// The store commits the final status first; this process's live
		// state, which the API shows while it catches up, follows.
		return err == nil && store.Terminal(d.Status) && len(d.Result) > 0 && store.Terminal(e.srv.Lifecycle().Status(d))
	}, 10*time.Second, 10*time.Millisecond)
}

func (e *authEnv) createDebate(hdr map[string]string, agents string) string {
	e.t.Helper()
	return createDebate(e.t, e.srv, `{"topic":"t","agents":[`+agents+`],"rounds":1}`, hdr)
}

var lower = map[authpkg.Role]authpkg.Role{authpkg.RoleMember: authpkg.RoleViewer, authpkg.RoleAdmin: authpkg.RoleMember,
	authpkg.RoleOwner: authpkg.RoleAdmin}

// TestEveryProtectedRoute checks each route of the role table: 401
// without credentials, 403 with the role below, 2xx with its role.
func TestEveryProtectedRoute(t *testing.T) {
	t.Parallel()
	probe := newAuthEnv(t, nil, nil)
	table := probe.srv.RoleTable()
	require.NotEmpty(t, table)
	bodies := map[string]string{
		"POST /api/debates":            `{"topic":"t","agents":["demo-a","demo-b"],"rounds":1}`,
		"POST /api/auth/password":      `{"current_password":"` + testPassword + `","new_password":"another-password-1"}`,
		"POST /api/debug/agent-test":   `{"agent":"demo-a"}`,
		"POST /api/admin/revoke-token": `{"token_id":"tok_0123456789abcdefABCDEF"}`,
	}
	for pattern, need := range table {
		if need == authpkg.Public {
			continue
		}
		t.Run(pattern, func(t *testing.T) {
			t.Parallel()
			e := newAuthEnv(t, nil, nil)
			ctx := context.Background()
			method, path, _ := strings.Cut(pattern, " ")
			if strings.Contains(path, "{id}") {
				id := ""
				if strings.HasSuffix(path, "/cancel") {
					id = e.createDebate(e.bearer(need), `"slow-a","slow-b"`)
				} else {
					id = e.createDebate(e.bearer(authpkg.RoleMember), `"demo-a","demo-b"`)
					e.waitFinished(id)
				}
				path = strings.Replace(path, "{id}", id, 1)
			}
			path = strings.Replace(path, "{name}", "demo-a", 1)
			if pattern == "DELETE /api/auth/api-key" {
				_, err := e.svc.CreateAPIKey(ctx, e.users[need].ID, "k", 0)
				require.NoError(t, err)
			}
			body := bodies[pattern]

			w := do(t, e.srv, method, path, body, nil)
			assert.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			assert.Equal(t, `Bearer error="invalid_token"`, w.Header().Get("WWW-Authenticate"))
			assert.Equal(t, "unauthorized", errCode(t, w))

			if low, ok := lower[need]; ok {
				w = do(t, e.srv, method, path, body, e.bearer(low))
				assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
				var b struct {
					Error struct {
						Code    string         `json:"code"`
						Details map[string]any `json:"details"`
					} `json:"error"`
				}
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
				assert.Equal(t, "forbidden", b.Error.Code)
				assert.Equal(t, string(need), b.Error.Details["required_role"])
			}

			w = do(t, e.srv, method, path, body, e.bearer(need))
			assert.True(t, w.Code >= 200 && w.Code < 300, "%s: %d %s", pattern, w.Code, w.Body.String())
		})
	}
}

func TestPublicRoutesNeedNoCredentials(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, nil, func(c *server.Config) { c.Lifecycle.ReceiptSigner = testEd25519Signer() })
	for pattern, need := range e.srv.RoleTable() {
		if need != authpkg.Public || strings.HasPrefix(pattern, "POST") || strings.Contains(pattern, "{") ||
			strings.Contains(pattern, "/ws") || pattern == "GET /{$}" {
			continue
		}
		t.Run(pattern, func(t *testing.T) {
			method, path, _ := strings.Cut(pattern, " ")
			w := do(t, e.srv.WSHandler(), method, path, "", nil)
			if !strings.HasPrefix(path, "/healthz") && !strings.HasPrefix(path, "/readyz") && !strings.HasPrefix(path, "/livez") {
				w = do(t, e.srv, method, path, "", nil)
			}
			assert.Less(t, w.Code, 300, w.Body.String())
		})
	}
	w := do(t, e.srv, "POST", "/api/auth/login", `{"email":"viewer@example.com","password":"`+testPassword+`"}`, nil)
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// forge re-signs claims with key and kid, or with alg none.
func forge(t *testing.T, alg jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tk := jwt.NewWithClaims(alg, claims)
	tk.Header["kid"] = kid
	s, err := tk.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestForgedTokensRefused(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, nil, nil)
	ctx := context.Background()
	u := e.users[authpkg.RoleAdmin]
	valid, c, err := e.svc.IssueAccessToken(ctx, u, time.Hour)
	require.NoError(t, err)
	claims := jwt.MapClaims{"iss": "aragora", "aud": "aragora-api", "sub": u.ID, "jti": "tok_0123456789abcdefABCDEF",
		"typ": "access", "tv": 0, "tg": 0, "iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	parts := strings.Split(valid, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"admin"`, `"owner"`, 1))) + "." + parts[2]
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	unknownKid := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(hdr), c.KID, "k9-deadbeef", 1))) + "." + parts[1] + "." + parts[2]

	at := func(now time.Time) string {
		cfg := fastAuth()
		cfg.Now = func() time.Time { return now }
		other, err := authpkg.New(ctx, e.st, []byte(testSecret), cfg)
		require.NoError(t, err)
		tok, _, err := other.IssueAccessToken(ctx, u, 10*time.Minute)
		require.NoError(t, err)
		return tok
	}
	revoked, rc, err := e.svc.IssueAccessToken(ctx, u, time.Hour)
	require.NoError(t, err)
	_, err = e.svc.RevokeToken(ctx, rc.TokenID, "test", "")
	require.NoError(t, err)
	m := e.users[authpkg.RoleMember]
	staleTV, _, err := e.svc.IssueAccessToken(ctx, m, time.Hour)
	require.NoError(t, err)
	require.NoError(t, e.svc.Logout(ctx, &authpkg.Principal{Type: authpkg.PrincipalUser, ID: m.ID}, "", true))
	key, err := e.svc.CreateAPIKey(ctx, u.ID, "k", 0)
	require.NoError(t, err)
	_, err = e.svc.DeleteAPIKey(ctx, u.ID)
	require.NoError(t, err)

	cases := map[string]struct{ tok, code string }{
		"alg none":      {forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, c.KID, claims), "unauthorized"},
		"wrong secret":  {forge(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123"), c.KID, claims), "unauthorized"},
		"expired":       {at(time.Now().Add(-2 * time.Hour)), "token_expired"},
		"nbf in future": {at(time.Now().Add(2 * time.Hour)), ""},
		"unknown kid":   {unknownKid, ""},
		"revoked jti":   {revoked, "token_revoked"},
		"stale tv":      {staleTV, "token_revoked"},
		"tampered":      {tampered, "unauthorized"},
		"api key gone":  {key.Key, "token_revoked"},
		"garbage":       {"not-a-token", "unauthorized"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := do(t, e.srv, "GET", "/api/auth/me", "", map[string]string{"Authorization": "Bearer " + tc.tok})
			assert.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			assert.Equal(t, `Bearer error="invalid_token"`, w.Header().Get("WWW-Authenticate"))
			if tc.code != "" {
				assert.Equal(t, tc.code, errCode(t, w))
			}
		})
	}
	t.Run("stale tg", func(t *testing.T) {
		tok, _, err := e.svc.IssueAccessToken(ctx, u, time.Hour)
		require.NoError(t, err)
		w := do(t, e.srv, "POST", "/api/admin/revoke-all-tokens", `{}`, map[string]string{"Authorization": "Bearer " + tok})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		w = do(t, e.srv, "GET", "/api/auth/me", "", map[string]string{"Authorization": "Bearer " + tok})
		assert.Equal(t, "token_revoked", errCode(t, w))
		assert.Equal(t, http.StatusOK, do(t, e.srv, "GET", "/api/auth/me", "", auth).Code, "service token unaffected")
	})
	t.Run("query string token", func(t *testing.T) {
		w := do(t, e.srv, "GET", "/api/auth/me?access_token="+valid, "", nil)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
	})
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	var v struct {
		Kid string `json:"kid"`
	}
	require.NoError(t, json.Unmarshal(h, &v))
	return v.Kid
}

func TestRotateKeysEndpoint(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	e := newAuthEnv(t, st, nil)
	ctx := context.Background()
	old := e.bearer(authpkg.RoleAdmin)
	oldKid := kidOf(t, strings.TrimPrefix(old["Authorization"], "Bearer "))

	w := do(t, e.srv, "POST", "/api/admin/rotate-keys", `{"keep_previous":true}`, old)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var rot struct {
		KID                string  `json:"kid"`
		PreviousKID        string  `json:"previous_kid"`
		PreviousValidUntil *string `json:"previous_valid_until"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rot))
	assert.Equal(t, oldKid, rot.PreviousKID)
	assert.NotNil(t, rot.PreviousValidUntil)
	assert.Equal(t, http.StatusOK, do(t, e.srv, "GET", "/api/auth/me", "", old).Code, "keep_previous keeps old tokens")
	fresh, _, err := e.svc.IssueAccessToken(ctx, e.users[authpkg.RoleAdmin], time.Hour)
	require.NoError(t, err)
	assert.Equal(t, rot.KID, kidOf(t, fresh))
	assert.NotEqual(t, oldKid, kidOf(t, fresh))

	// Restart: a new service and server over the same store and secret.
	e2 := newAuthEnv(t, st, nil)
	assert.Equal(t, http.StatusOK, do(t, e2.srv, "GET", "/api/auth/me", "", map[string]string{"Authorization": "Bearer " + fresh}).Code)
	assert.Equal(t, http.StatusOK, do(t, e2.srv, "GET", "/api/auth/me", "", old).Code)

	freshHdr := map[string]string{"Authorization": "Bearer " + fresh}
	w = do(t, e.srv, "POST", "/api/admin/rotate-keys", ``, freshHdr)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = do(t, e.srv, "GET", "/api/auth/me", "", freshHdr)
	assert.Equal(t, http.StatusUnauthorized, w.Code, "default rotation retires the previous key")
	assert.Equal(t, http.StatusOK, do(t, e.srv, "GET", "/api/auth/me", "", e.bearer(authpkg.RoleAdmin)).Code)
}

// TestRevokeTokenEndpoint revokes by id (docs/http-api.md#administration): the jti of a token
// the service issued is known, with its kind and its own expiry; other tok_
// ids, the runbook's tok_xyz123 included, are accepted as unknown.
func TestRevokeTokenEndpoint(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, nil, nil)
	pair, err := e.svc.IssuePair(context.Background(), e.users[authpkg.RoleMember])
	require.NoError(t, err)
	admin := e.bearer(authpkg.RoleAdmin)
	tests := []struct {
		name, id, kind string
		known          bool
		exp            time.Time // zero: about the refresh TTL from now
	}{
		{"access token", pair.AccessTokenID, "access", true, pair.AccessExpiresAt},
		{"refresh token", pair.RefreshTokenID, "refresh", true, pair.RefreshExpiresAt},
		{"never issued", "tok_0123456789abcdefABCDEF", "unknown", false, time.Time{}},
		{"runbook id", "tok_xyz123", "unknown", false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, e.srv, "POST", "/api/admin/revoke-token", `{"token_id":"`+tt.id+`","reason":"test"}`, admin)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var res struct {
				TokenID   string `json:"token_id"`
				Kind      string `json:"kind"`
				Revoked   bool   `json:"revoked"`
				Known     bool   `json:"known"`
				ExpiresAt string `json:"expires_at"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &res))
			assert.Equal(t, tt.id, res.TokenID)
			assert.Equal(t, tt.kind, res.Kind)
			assert.True(t, res.Revoked)
			assert.Equal(t, tt.known, res.Known)
			exp, err := time.Parse(time.RFC3339Nano, res.ExpiresAt)
			require.NoError(t, err)
			if tt.known {
				assert.True(t, tt.exp.Equal(exp), "expires_at %s, want the token's exp %s", exp, tt.exp)
			} else {
				assert.WithinDuration(t, time.Now().Add(720*time.Hour), exp, time.Hour)
			}
		})
	}
	w := do(t, e.srv, "GET", "/api/auth/me", "", map[string]string{"Authorization": "Bearer " + pair.AccessToken})
	assert.Equal(t, "token_revoked", errCode(t, w))
	w = do(t, e.srv, "POST", "/api/admin/cleanup-caches", `{}`, admin)
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

func TestAuditOneRowPerSensitiveAction(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, nil, nil)
	ctx := context.Background()
	admin, member := e.bearer(authpkg.RoleAdmin), e.bearer(authpkg.RoleMember)
	id := e.createDebate(member, `"slow-a","slow-b"`)
	type step struct {
		method, path, body string
		hdr                map[string]string
		action, outcome    string
	}
	steps := []step{
		{"POST", "/api/auth/login", `{"email":"member@example.com","password":"` + testPassword + `"}`, nil, "auth.login", "success"},
		{"POST", "/api/auth/login", `{"email":"member@example.com","password":"wrong-password-123"}`, nil, "auth.login", "failure"},
		{"POST", "/api/auth/api-key", `{}`, member, "auth.api_key_create", "success"},
		{"DELETE", "/api/auth/api-key", ``, member, "auth.api_key_delete", "success"},
		{"POST", "/api/debates", `{"topic":"t","agents":["demo-a","demo-b"],"rounds":1}`, member, "debate.create", "success"},
		{"POST", "/api/debates/" + id + "/cancel", `{}`, member, "debate.cancel", "success"},
		{"POST", "/api/agents/demo-a/reset-circuit", ``, admin, "agent.reset_circuit", "success"},
		{"GET", "/api/system/errors", ``, admin, "system.errors", "success"},
		{"GET", "/api/admin/revoked-tokens", ``, member, "admin.revoked_tokens", "denied"},
		{"POST", "/api/admin/cleanup-caches", ``, admin, "admin.cleanup_caches", "success"},
		{"POST", "/api/auth/register", `{"email":"new@example.com","password":"` + testPassword + `"}`, admin, "auth.register", "success"},
		{"POST", "/api/auth/logout", `{}`, member, "auth.logout", "success"},
	}
	for i, s := range steps {
		hdr := map[string]string{"X-Correlation-ID": "corr-step-" + string(rune('a'+i))}
		for k, v := range s.hdr {
			hdr[k] = v
		}
		w := do(t, e.srv, s.method, s.path, s.body, hdr)
		require.Less(t, w.Code, 500, w.Body.String())
	}
	all, err := e.st.ListAudit(ctx, store.AuditFilter{Limit: 1000})
	require.NoError(t, err)
	for i, s := range steps {
		corr := "corr-step-" + string(rune('a'+i))
		var rows []*store.AuditEntry
		for _, a := range all {
			if a.CorrelationID == corr {
				rows = append(rows, a)
			}
		}
		if assert.Len(t, rows, 1, "%s %s", s.method, s.path) {
			assert.Equal(t, s.action, rows[0].Action)
			assert.Equal(t, s.outcome, rows[0].Outcome, s.path)
			assert.Equal(t, "192.0.2.1", rows[0].IP)
		}
	}
	w := do(t, e.srv, "GET", "/api/admin/audit-log?limit=1&action=auth.login", "", admin)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var page struct {
		Entries []map[string]any `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	assert.Len(t, page.Entries, 1)
	assert.Contains(t, w.Header().Get("Link"), "cursor=")
}

func TestPasswordChangeRequiredAndAPIKeyRules(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, nil, nil)
	ctx := context.Background()
	_, err := e.svc.ForcePasswordReset(ctx, []string{e.users[authpkg.RoleMember].ID}, "")
	require.NoError(t, err)
	m := e.bearer(authpkg.RoleMember)
	assert.Equal(t, "password_change_required", errCode(t, do(t, e.srv, "GET", "/api/debates", "", m)))
	assert.Equal(t, http.StatusOK, do(t, e.srv, "GET", "/api/auth/me", "", m).Code)
	w := do(t, e.srv, "POST", "/api/auth/password", `{"current_password":"`+testPassword+`","new_password":"a-new-password-9"}`, m)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var pair authpkg.Pair
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &pair))
	m = map[string]string{"Authorization": "Bearer " + pair.AccessToken}
	assert.Equal(t, http.StatusOK, do(t, e.srv, "GET", "/api/debates", "", m).Code)

	w = do(t, e.srv, "POST", "/api/auth/api-key", `{"name":"ci"}`, m)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var k struct {
		APIKey string `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &k))
	kh := map[string]string{"Authorization": "Bearer " + k.APIKey}
	assert.Equal(t, http.StatusOK, do(t, e.srv, "GET", "/api/debates", "", kh).Code)
	assert.Equal(t, http.StatusForbidden, do(t, e.srv, "POST", "/api/auth/api-key", `{}`, kh).Code)
	assert.Equal(t, http.StatusForbidden, do(t, e.srv, "DELETE", "/api/auth/api-key", ``, kh).Code)
}

func TestRegisterAndLoginLimit(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	svc, err := authpkg.New(context.Background(), st, []byte(testSecret), fastAuth())
	require.NoError(t, err)
	boot, _, err := authpkg.NewBootstrap("bootstrap-token-0123456789abcdef0123", nil)
	require.NoError(t, err)
	s, _ := newServer(t, func(c *server.Config) {
		c.Accounts, c.Bootstrap = svc, boot
		c.Auth = &authpkg.Authenticator{Service: svc}
	})
	reg := `{"email":"owner@example.com","password":"` + testPassword + `"}`
	assert.Equal(t, http.StatusUnauthorized, do(t, s, "POST", "/api/auth/register", reg, nil).Code)
	w := do(t, s, "POST", "/api/auth/register", `{"email":"owner@example.com","password":"`+testPassword+`","bootstrap_token":"bootstrap-token-0123456789abcdef0123","role":"viewer"}`, nil)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"role":"owner"`)
	assert.Contains(t, w.Body.String(), `"access_token"`)
	w = do(t, s, "POST", "/api/auth/register", `{"email":"x@example.com","password":"`+testPassword+`","bootstrap_token":"bootstrap-token-0123456789abcdef0123"}`, nil)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, http.StatusUnauthorized, do(t, s, "POST", "/api/auth/register", `{"email":"y@example.com","password":"`+testPassword+`"}`, nil).Code)

	bad := `{"email":"owner@example.com","password":"wrong-password-1"}`
	for i := 0; i < 10; i++ {
		assert.Equal(t, "invalid_credentials", errCode(t, do(t, s, "POST", "/api/auth/login", bad, nil)))
	}
	w = do(t, s, "POST", "/api/auth/login", `{"email":"owner@example.com","password":"`+testPassword+`"}`, nil)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "rate_limited", errCode(t, w))
}
