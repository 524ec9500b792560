package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/store"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "a@example.com", auth.RoleMember)
	k1, err := f.svc.CreateAPIKey(ctx, u.ID, "ci", 0)
	require.NoError(t, err)
	assert.Regexp(t, `^ara_[0-9a-z]{8}_[0-9A-Za-z]{40}$`, k1.Key)
	assert.True(t, strings.HasPrefix(k1.Key, k1.Record.Prefix+"_"))
	assert.True(t, auth.ValidID(auth.PrefixAPIKey, k1.Record.ID))
	assert.Nil(t, k1.Replaced)
	assert.Equal(t, f.clk.Now().Add(365*24*time.Hour), k1.Record.ExpiresAt)

	a := &auth.Authenticator{Service: f.svc}
	p, err := a.AuthenticateToken(ctx, k1.Key)
	require.NoError(t, err)
	assert.Equal(t, auth.PrincipalAPIKey, p.Type)
	assert.Equal(t, u.ID, p.ID)
	assert.Equal(t, auth.RoleMember, p.Role)
	assert.Equal(t, k1.Record.Prefix, p.KeyPrefix)
	assert.Equal(t, "api_key", p.Method())
	rec, err := f.st.GetAPIKey(ctx, k1.Record.ID)
	require.NoError(t, err)
	assert.Equal(t, f.clk.Now(), rec.LastUsedAt, "last use recorded")

	k2, err := f.svc.CreateAPIKey(ctx, u.ID, "new", 0)
	require.NoError(t, err)
	require.NotNil(t, k2.Replaced)
	assert.Equal(t, k1.Record.Prefix, k2.Replaced.Prefix)
	_, err = a.AuthenticateToken(ctx, k1.Key)
	require.ErrorIs(t, err, auth.ErrTokenRevoked, "the replaced key is refused")

	_, err = f.svc.DeleteAPIKey(ctx, u.ID)
	require.NoError(t, err)
	_, err = a.AuthenticateToken(ctx, k2.Key)
	require.ErrorIs(t, err, auth.ErrTokenRevoked, "key after delete refused")
	_, err = f.svc.DeleteAPIKey(ctx, u.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	k3, err := f.svc.CreateAPIKey(ctx, u.ID, "short", 24*time.Hour)
	require.NoError(t, err)
	forged := k3.Key[:len(k3.Key)-1] + "Z"
	if forged == k3.Key {
		forged = k3.Key[:len(k3.Key)-1] + "Y"
	}
	_, err = a.AuthenticateToken(ctx, forged)
	require.ErrorIs(t, err, auth.ErrUnauthorized, "wrong secret")
	_, err = a.AuthenticateToken(ctx, "ara_short")
	require.ErrorIs(t, err, auth.ErrUnauthorized)
	f.clk.Advance(24 * time.Hour)
	_, err = a.AuthenticateToken(ctx, k3.Key)
	require.ErrorIs(t, err, auth.ErrTokenExpired)

	_, err = f.svc.CreateAPIKey(ctx, u.ID, "long", 731*24*time.Hour)
	require.ErrorIs(t, err, auth.ErrInvalidInput)

	k4, err := f.svc.CreateAPIKey(ctx, u.ID, "admin-revoked", 0)
	require.NoError(t, err)
	res, err := f.svc.RevokeToken(ctx, k4.Record.ID, "usr_admin", "")
	require.NoError(t, err)
	assert.Equal(t, store.RevocationAPIKey, res.Kind)
	assert.True(t, res.Known)
	_, err = a.AuthenticateToken(ctx, k4.Key)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := auth.NewHasher(tinyPasswords)
	enc, err := h.Hash(ctx, "correct horse battery")
	require.NoError(t, err)
	assert.Regexp(t, `^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, enc)

	ok, rehash, err := h.Verify(ctx, enc, "correct horse battery")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)
	ok, _, err = h.Verify(ctx, enc, "wrong horse battery")
	require.NoError(t, err)
	assert.False(t, ok)

	stronger := auth.NewHasher(auth.PasswordConfig{Memory: 128, Time: 1, Threads: 1})
	ok, rehash, err = stronger.Verify(ctx, enc, "correct horse battery")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, rehash, "other parameters need a rehash")

	bc, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	require.NoError(t, err)
	ok, rehash, err = h.Verify(ctx, string(bc), "correct horse battery")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, rehash, "bcrypt is accepted and rehashed")
	ok, _, err = h.Verify(ctx, string(bc), "nope nope nope")
	require.NoError(t, err)
	assert.False(t, ok)

	_, _, err = h.Verify(ctx, "$argon2id$v=19$m=x", "correct horse battery")
	require.Error(t, err, "malformed hash")
	require.NoError(t, h.VerifyDummy(ctx, "anything at all"))

	for _, tt := range []struct {
		name string
		pw   string
		ok   bool
	}{
		{"11 chars", strings.Repeat("a", 11), false},
		{"12 chars", strings.Repeat("a", 12), true},
		{"12 runes, more bytes", strings.Repeat("é", 12), true},
		{"128 chars", strings.Repeat("a", 128), true},
		{"129 chars", strings.Repeat("a", 129), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.ValidatePassword(tt.pw)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, auth.ErrInvalidInput)
			}
		})
	}
}

func TestHasherBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := auth.NewHasher(auth.PasswordConfig{Memory: 64, Time: 1, Threads: 1, MaxConcurrent: 1, Wait: time.Millisecond})
	release, err := h.Acquire(ctx)
	require.NoError(t, err)
	_, err = h.Hash(ctx, "correct horse battery")
	require.ErrorIs(t, err, auth.ErrBusy)
	assert.Equal(t, "unavailable", auth.CodeOf(err))
	_, _, err = h.Verify(ctx, "$argon2id$", "x")
	require.ErrorIs(t, err, auth.ErrBusy)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	slow := auth.NewHasher(auth.PasswordConfig{Memory: 64, Time: 1, Threads: 1, MaxConcurrent: 1, Wait: time.Hour})
	rel2, err := slow.Acquire(ctx)
	require.NoError(t, err)
	_, err = slow.Hash(cctx, "correct horse battery")
	require.ErrorIs(t, err, context.Canceled)
	rel2()
	release()
	_, err = h.Hash(ctx, "correct horse battery")
	require.NoError(t, err, "a freed slot admits again")
}

func TestLoginLimiter(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := auth.NewLoginLimiter(auth.LimiterConfig{Now: clk.Now})
	for range 9 {
		l.Failure("ada@example.com", "203.0.113.7")
		clk.Advance(time.Second)
	}
	require.NoError(t, l.Allow("ada@example.com", "203.0.113.7"), "9 failures still allowed")
	l.Failure("ada@example.com", "203.0.113.7")
	err := l.Allow("ada@example.com", "203.0.113.7")
	require.ErrorIs(t, err, auth.ErrLoginLimited)
	assert.Equal(t, "rate_limited", auth.CodeOf(err))
	assert.NoError(t, l.Allow("ada@example.com", "198.51.100.1"), "other IPs cannot lock the account out")
	assert.NoError(t, l.Allow("bob@example.com", "203.0.113.7"))
	clk.Advance(15*time.Minute - 9*time.Second)
	assert.NoError(t, l.Allow("ada@example.com", "203.0.113.7"), "the oldest failure left the window")
	l.Failure("ada@example.com", "203.0.113.7")
	assert.ErrorIs(t, l.Allow("ada@example.com", "203.0.113.7"), auth.ErrLoginLimited)
	l.Success("ada@example.com", "203.0.113.7")
	assert.NoError(t, l.Allow("ada@example.com", "203.0.113.7"))
}

func TestLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "Ada@Example.com", auth.RoleAdmin)
	assert.Equal(t, "ada@example.com", u.Email)
	_, err := f.svc.CreateUser(ctx, auth.NewUser{Email: "ADA@example.com", Password: "correct horse battery", Role: auth.RoleViewer})
	require.ErrorIs(t, err, store.ErrConflict)

	p, got, err := f.svc.Login(ctx, "ada@example.com", "correct horse battery", "10.0.0.7")
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, f.clk.Now(), got.LastLoginAt)
	assert.Equal(t, "Bearer", p.TokenType)
	assert.Equal(t, int64(900), p.ExpiresIn)
	assert.Equal(t, int64(2592000), p.RefreshExpiresIn)

	_, _, err = f.svc.Login(ctx, "ada@example.com", "wrong password!!", "10.0.0.7")
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, _, err = f.svc.Login(ctx, "nobody@example.com", "wrong password!!", "10.0.0.7")
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	for range 10 {
		_, _, _ = f.svc.Login(ctx, "ada@example.com", "wrong password!!", "10.0.0.8")
	}
	_, _, err = f.svc.Login(ctx, "ada@example.com", "correct horse battery", "10.0.0.8")
	require.ErrorIs(t, err, auth.ErrLoginLimited)
	_, _, err = f.svc.Login(ctx, "ada@example.com", "correct horse battery", "10.0.0.9")
	require.NoError(t, err)

	// bcrypt hashes are rehashed to argon2id at login.
	bc, err := bcrypt.GenerateFromPassword([]byte("legacy password"), bcrypt.MinCost)
	require.NoError(t, err)
	h := string(bc)
	_, err = f.st.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &h, UpdatedAt: f.clk.Now()})
	require.NoError(t, err)
	_, got, err = f.svc.Login(ctx, "ada@example.com", "legacy password", "10.0.0.7")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(got.PasswordHash, "$argon2id$"))

	// forced password change
	_, err = f.svc.ForcePasswordReset(ctx, []string{u.ID}, "")
	require.NoError(t, err)
	p, got, err = f.svc.Login(ctx, "ada@example.com", "legacy password", "10.0.0.7")
	require.NoError(t, err)
	assert.True(t, got.PasswordChangeRequired)
	pr, err := (&auth.Authenticator{Service: f.svc}).AuthenticateToken(ctx, p.AccessToken)
	require.NoError(t, err)
	assert.True(t, pr.PasswordChangeRequired)
	p2, err := f.svc.ChangePassword(ctx, u.ID, "legacy password", "a brand new password")
	require.NoError(t, err)
	_, err = f.svc.Verify(ctx, p.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked, "changing the password bumps the version")
	pr, err = (&auth.Authenticator{Service: f.svc}).AuthenticateToken(ctx, p2.AccessToken)
	require.NoError(t, err)
	assert.False(t, pr.PasswordChangeRequired)
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	need, err := f.svc.NeedsBootstrap(ctx)
	require.NoError(t, err)
	assert.True(t, need)
	b, generated, err := auth.NewBootstrap("", nil)
	require.NoError(t, err)
	assert.True(t, generated)
	assert.GreaterOrEqual(t, len(b.Token()), 32)
	_, _, err = auth.NewBootstrap("too short", nil)
	require.ErrorIs(t, err, auth.ErrInvalidInput)

	nu := auth.NewUser{Email: "owner@example.com", Password: "correct horse battery", Role: auth.RoleViewer}
	_, err = f.svc.RegisterOwner(ctx, b, "wrong-token-wrong-token-wrong-token", nu)
	require.ErrorIs(t, err, auth.ErrUnauthorized)
	tok := b.Token()
	u, err := f.svc.RegisterOwner(ctx, b, tok, nu)
	require.NoError(t, err)
	assert.Equal(t, string(auth.RoleOwner), u.Role, "role is ignored")
	nu.Email = "second@example.com"
	_, err = f.svc.RegisterOwner(ctx, b, tok, nu)
	require.ErrorIs(t, err, auth.ErrUnauthorized, "one-time")
	assert.Empty(t, b.Token())
}

func TestRouteTable(t *testing.T) {
	t.Parallel()
	table := auth.RouteTable{
		"GET /api/health":        auth.Public,
		"GET /api/debates":       auth.RoleViewer,
		"POST /api/debates":      auth.RoleMember,
		"POST /api/admin/rotate": auth.RoleAdmin,
		"GET /api/auth/me":       auth.RoleViewer,
		"POST /api/admin/owners": auth.RoleOwner,
	}
	viewer := &auth.Principal{Type: auth.PrincipalUser, ID: "usr_v", Role: auth.RoleViewer}
	admin := &auth.Principal{Type: auth.PrincipalUser, ID: "usr_a", Role: auth.RoleAdmin}
	mustChange := &auth.Principal{Type: auth.PrincipalUser, ID: "usr_m", Role: auth.RoleOwner, PasswordChangeRequired: true}
	tests := []struct {
		name  string
		p     *auth.Principal
		route string
		code  string
	}{
		{"public anonymous", nil, "GET /api/health", ""},
		{"anonymous protected", nil, "GET /api/debates", "unauthorized"},
		{"viewer reads", viewer, "GET /api/debates", ""},
		{"viewer cannot create", viewer, "POST /api/debates", "forbidden"},
		{"admin creates", admin, "POST /api/debates", ""},
		{"admin route", admin, "POST /api/admin/rotate", ""},
		{"owner only", admin, "POST /api/admin/owners", "forbidden"},
		{"unknown route fails closed", admin, "DELETE /api/everything", "forbidden"},
		{"password change blocks", mustChange, "GET /api/debates", "password_change_required"},
		{"password change allows me", mustChange, "GET /api/auth/me", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.code, auth.CodeOf(table.Authorize(tt.p, tt.route)))
		})
	}
	var fe *auth.ForbiddenError
	require.ErrorAs(t, table.Authorize(viewer, "POST /api/debates"), &fe)
	assert.Equal(t, auth.RoleMember, fe.Required)
	assert.True(t, auth.RoleOwner.AtLeast(auth.RoleAdmin))
	assert.False(t, auth.RoleMember.AtLeast(auth.RoleAdmin))
	assert.False(t, auth.Role("root").AtLeast(auth.RoleViewer))
}

func TestLocalOperatorRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		remote string
		header map[string]string
		want   bool
	}{
		{"ipv4 loopback", "127.0.0.1:5000", nil, true},
		{"ipv6 loopback", "[::1]:5000", nil, true},
		{"ipv4-mapped loopback", "[::ffff:127.0.0.1]:5000", nil, true},
		{"remote peer", "10.0.0.7:5000", nil, false},
		{"Forwarded", "127.0.0.1:5000", map[string]string{"Forwarded": "for=1.2.3.4"}, false},
		{"X-Forwarded-For", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "1.2.3.4"}, false},
		{"X-Real-IP", "127.0.0.1:5000", map[string]string{"X-Real-IP": "1.2.3.4"}, false},
		{"Origin", "127.0.0.1:5000", map[string]string{"Origin": "http://evil.example"}, false},
		{"Sec-Fetch-Site", "127.0.0.1:5000", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"empty excluded header still counts", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": ""}, false},
		{"Authorization", "127.0.0.1:5000", map[string]string{"Authorization": "Bearer x"}, false},
		{"bad remote", "garbage", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/api/admin/audit-log", nil)
			r.RemoteAddr = tt.remote
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			assert.Equal(t, tt.want, auth.LocalOperator(r))
		})
	}
}

func TestAuthenticator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "a@example.com", auth.RoleMember)
	pair := f.pair(t, u)
	const service = "service-token-service-token-1234"
	a := &auth.Authenticator{Service: f.svc, ServiceToken: service, LocalAdmin: true}
	req := func(target, authz, remote string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.RemoteAddr = remote
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		return r
	}
	tests := []struct {
		name     string
		r        *http.Request
		wantType auth.PrincipalType // "" anonymous
		code     string
	}{
		{"anonymous remote", req("/api/debates", "", "10.0.0.7:1"), "", ""},
		{"local operator", req("/api/debates", "", "127.0.0.1:1"), auth.PrincipalLocal, ""},
		{"jwt", req("/api/debates", "Bearer "+pair.AccessToken, "10.0.0.7:1"), auth.PrincipalUser, ""},
		{"service token", req("/api/debates", "Bearer "+service, "10.0.0.7:1"), auth.PrincipalService, ""},
		{"wrong scheme", req("/api/debates", "Basic abc", "127.0.0.1:1"), "", "unauthorized"},
		{"invalid bearer on loopback is not local", req("/api/debates", "Bearer nope", "127.0.0.1:1"), "", "unauthorized"},
		{"refresh token as access", req("/api/debates", "Bearer "+pair.RefreshToken, "10.0.0.7:1"), "", "unauthorized"},
		{"query-string token refused", req("/api/debates?access_token="+pair.AccessToken, "", "127.0.0.1:1"), "", "unauthorized"},
		{"query token param refused", req("/api/debates?token=x", "", "10.0.0.7:1"), "", "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(tt.r)
			assert.Equal(t, tt.code, auth.CodeOf(err))
			if tt.wantType == "" {
				assert.Nil(t, p)
				return
			}
			require.NotNil(t, p)
			assert.Equal(t, tt.wantType, p.Type)
		})
	}
	p, err := a.Authenticate(req("/", "Bearer "+pair.AccessToken, "10.0.0.7:1"))
	require.NoError(t, err)
	assert.Equal(t, u.ID, p.ID)
	assert.Equal(t, auth.RoleMember, p.Role)
	assert.Equal(t, pair.AccessTokenID, p.TokenID)
	assert.Equal(t, "jwt", p.Method())

	// role comes from the user record, not the token
	admin := string(auth.RoleAdmin)
	_, err = f.st.UpdateUser(ctx, u.ID, store.UserUpdate{Role: &admin, UpdatedAt: f.clk.Now()})
	require.NoError(t, err)
	p, err = a.Authenticate(req("/", "Bearer "+pair.AccessToken, "10.0.0.7:1"))
	require.NoError(t, err)
	assert.Equal(t, auth.RoleAdmin, p.Role)

	// A token id a shared cache reports revoked is refused at once; the
	// service token, which has no id, is not asked about.
	var asked []string
	a.Denied = func(_ context.Context, id string) bool { asked = append(asked, id); return id == pair.AccessTokenID }
	_, err = a.Authenticate(req("/", "Bearer "+pair.AccessToken, "10.0.0.7:1"))
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	assert.Equal(t, "token_revoked", auth.CodeOf(err))
	_, err = a.Authenticate(req("/", "Bearer "+service, "10.0.0.7:1"))
	require.NoError(t, err)
	assert.Equal(t, []string{pair.AccessTokenID}, asked)
}

func TestAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p := &auth.Principal{Type: auth.PrincipalLocal, ID: "local", Role: auth.RoleAdmin}
	require.NoError(t, f.svc.Audit(ctx, store.AuditEntry{Actor: auth.Actor(p), Action: "admin.rotate_keys", Target: "jwt_key_ring", CorrelationID: "corr-1"}))
	list, err := f.st.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.True(t, auth.ValidID(auth.PrefixAudit, list[0].ID))
	assert.Equal(t, store.AuditActor{ID: "local", Type: "local", Role: "admin"}, list[0].Actor)
	assert.Equal(t, store.OutcomeSuccess, list[0].Outcome)
	assert.Equal(t, f.clk.Now(), list[0].At)
	assert.Equal(t, "corr-1", list[0].CorrelationID)
}

func TestIDs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]bool{}
	for range 100 {
		id, err := auth.NewID(auth.PrefixToken, nil2rand())
		require.NoError(t, err)
		require.True(t, auth.ValidID(auth.PrefixToken, id), id)
		mu.Lock()
		assert.False(t, seen[id])
		seen[id] = true
		mu.Unlock()
	}
	assert.False(t, auth.ValidID(auth.PrefixToken, "tok_short"))
	assert.False(t, auth.ValidID(auth.PrefixUser, "tok_0123456789012345678901"))
	keyID, ok := auth.ParseAPIKey("ara_k3x9f2qa_" + strings.Repeat("A", 40))
	assert.True(t, ok)
	assert.Equal(t, "k3x9f2qa", keyID)
	_, ok = auth.ParseAPIKey("ara_K3X9F2QA_" + strings.Repeat("A", 40))
	assert.False(t, ok, "key ids are lowercase")
}
