package auth_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/auth"
)

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func baseClaims(sub string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": "aragora", "aud": "aragora-api", "sub": sub, "jti": "tok_0123456789012345678901",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "typ": "access", "tv": 0, "tg": 0}
}

func TestForgedTokensRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "ada@example.com", auth.RoleAdmin)
	pair := f.pair(t, u)
	_, err := f.svc.Verify(ctx, pair.AccessToken)
	require.NoError(t, err, "the genuine token verifies")
	kid := f.svc.KeyRing().CurrentKID()
	now := f.clk.Now()

	parts := strings.Split(pair.AccessToken, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"admin"`, `"owner"`, 1))) + "." + parts[2]
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + kid + `"}`))
	algNone := header + "." + parts[1] + "."

	expired := baseClaims(u.ID, now.Add(-time.Hour))
	future := baseClaims(u.ID, now.Add(time.Hour))
	tests := []struct {
		name  string
		token string
		code  string
	}{
		{"alg none", algNone, "unauthorized"},
		{"HS256 with another secret", sign(t, jwt.SigningMethodHS256, []byte("another secret another secret!!!"), kid, baseClaims(u.ID, now)), "unauthorized"},
		{"HS512 is not HS256", sign(t, jwt.SigningMethodHS512, []byte("x"), kid, baseClaims(u.ID, now)), "unauthorized"},
		{"expired", sign(t, jwt.SigningMethodHS256, []byte("k"), kid, expired), "unauthorized"}, // wrong key: signature first
		{"not yet valid", sign(t, jwt.SigningMethodHS256, []byte("k"), kid, future), "unauthorized"},
		{"unknown kid", sign(t, jwt.SigningMethodHS256, []byte("k"), "k9-deadbeef", baseClaims(u.ID, now)), "unauthorized"},
		{"no kid", sign(t, jwt.SigningMethodHS256, []byte("k"), "", baseClaims(u.ID, now)), "unauthorized"},
		{"tampered payload", tampered, "unauthorized"},
		{"refresh used as access", pair.RefreshToken, "unauthorized"},
		{"garbage", "a.b.c", "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Verify(ctx, tt.token)
			require.ErrorIs(t, err, auth.ErrUnauthorized)
			assert.Equal(t, tt.code, auth.CodeOf(err))
		})
	}
}

func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("expired with leeway", func(t *testing.T) {
		f := newFixture(t)
		u := f.user(t, "a@example.com", auth.RoleViewer)
		p := f.pair(t, u)
		f.clk.Advance(15*time.Minute + 29*time.Second)
		_, err := f.svc.Verify(ctx, p.AccessToken)
		require.NoError(t, err, "within the 30 s leeway")
		f.clk.Advance(2 * time.Second)
		_, err = f.svc.Verify(ctx, p.AccessToken)
		require.ErrorIs(t, err, auth.ErrTokenExpired)
		assert.Equal(t, "token_expired", auth.CodeOf(err))
	})
	t.Run("not yet valid", func(t *testing.T) {
		f := newFixture(t)
		u := f.user(t, "a@example.com", auth.RoleViewer)
		p := f.pair(t, u)
		f.clk.Advance(-time.Minute)
		_, err := f.svc.Verify(ctx, p.AccessToken)
		require.ErrorIs(t, err, auth.ErrUnauthorized)
	})
	t.Run("revoked jti", func(t *testing.T) {
		f := newFixture(t)
		u := f.user(t, "a@example.com", auth.RoleViewer)
		p := f.pair(t, u)
		res, err := f.svc.RevokeToken(ctx, p.AccessTokenID, "usr_admin", "leak")
		require.NoError(t, err)
		assert.Equal(t, p.AccessTokenID, res.TokenID)
		_, err = f.svc.Verify(ctx, p.AccessToken)
		require.ErrorIs(t, err, auth.ErrTokenRevoked)
		assert.Equal(t, "token_revoked", auth.CodeOf(err))
		_, err = f.reopen(t).Verify(ctx, p.AccessToken)
		require.ErrorIs(t, err, auth.ErrTokenRevoked, "the store is the durable record")
		list, err := f.svc.RevokedTokens(ctx, 10)
		require.NoError(t, err)
		require.Len(t, list.Revoked, 1)
		assert.Equal(t, "leak", list.Revoked[0].Reason)
	})
	t.Run("token version below current", func(t *testing.T) {
		f := newFixture(t)
		u := f.user(t, "a@example.com", auth.RoleViewer)
		p := f.pair(t, u)
		n, err := f.svc.ForcePasswordReset(ctx, nil, "")
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = f.svc.Verify(ctx, p.AccessToken)
		require.ErrorIs(t, err, auth.ErrTokenRevoked)
		p2 := f.pair(t, u)
		_, err = f.svc.Verify(ctx, p2.AccessToken)
		require.NoError(t, err, "new tokens carry the new version")
	})
	t.Run("generation below global", func(t *testing.T) {
		f := newFixture(t)
		u := f.user(t, "a@example.com", auth.RoleViewer)
		p := f.pair(t, u)
		other := f.reopen(t) // another replica
		res, err := f.svc.RevokeAllTokens(ctx, "usr_admin", "incident", false)
		require.NoError(t, err)
		assert.Equal(t, int64(1), res.Generation.Value)
		_, err = f.svc.Verify(ctx, p.AccessToken)
		require.ErrorIs(t, err, auth.ErrTokenRevoked)
		_, err = other.Verify(ctx, p.AccessToken)
		require.NoError(t, err, "the other replica's cache is fresh for 5 s")
		f.clk.Advance(5 * time.Second)
		_, err = other.Verify(ctx, p.AccessToken)
		require.ErrorIs(t, err, auth.ErrTokenRevoked, "and reloads after")
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "a@example.com", auth.RoleMember)
	p1 := f.pair(t, u)

	p2, got, err := f.svc.Refresh(ctx, p1.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	_, err = f.svc.Verify(ctx, p2.AccessToken)
	require.NoError(t, err)
	_, _, err = f.svc.Refresh(ctx, p2.AccessToken)
	require.ErrorIs(t, err, auth.ErrUnauthorized, "an access token does not refresh")

	_, _, err = f.svc.Refresh(ctx, p1.RefreshToken)
	require.ErrorIs(t, err, auth.ErrRefreshReused)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	_, err = f.svc.Verify(ctx, p2.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked, "reuse revokes the chain")
	_, _, err = f.svc.Refresh(ctx, p2.RefreshToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "a@example.com", auth.RoleMember)
	a := &auth.Authenticator{Service: f.svc}
	p1 := f.pair(t, u)
	p2 := f.pair(t, u)

	pr, err := a.AuthenticateToken(ctx, p1.AccessToken)
	require.NoError(t, err)
	require.NoError(t, f.svc.Logout(ctx, pr, p1.RefreshToken, false))
	_, err = f.svc.Verify(ctx, p1.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	_, _, err = f.svc.Refresh(ctx, p1.RefreshToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	_, err = f.svc.Verify(ctx, p2.AccessToken)
	require.NoError(t, err, "other sessions survive")

	pr, err = a.AuthenticateToken(ctx, p2.AccessToken)
	require.NoError(t, err)
	require.NoError(t, f.svc.Logout(ctx, pr, "", true))
	p3 := f.pair(t, u)
	_, err = f.svc.Verify(ctx, p2.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	_, _, err = f.svc.Refresh(ctx, p2.RefreshToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	_, err = f.svc.Verify(ctx, p3.AccessToken)
	require.NoError(t, err)
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name         string
		keepPrevious bool
		oldErr       error
	}{
		{"keep previous: old tokens still valid", true, nil},
		{"compromise: old tokens refused", false, auth.ErrTokenRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			u := f.user(t, "a@example.com", auth.RoleOwner)
			old := f.pair(t, u)
			key, err := f.svc.CreateAPIKey(ctx, u.ID, "ci", 0)
			require.NoError(t, err)
			oldKID := f.svc.KeyRing().CurrentKID()
			require.Regexp(t, `^k1-[0-9a-f]{8}$`, oldKID)

			res, err := f.svc.RotateKeys(ctx, tt.keepPrevious, !tt.keepPrevious)
			require.NoError(t, err)
			assert.Equal(t, oldKID, res.PreviousKID)
			assert.Regexp(t, `^k2-[0-9a-f]{8}$`, res.KID)
			assert.Equal(t, res.KID, f.svc.KeyRing().CurrentKID())
			if tt.keepPrevious {
				assert.Equal(t, f.clk.Now().Add(720*time.Hour), res.PreviousValidUntil)
				assert.Equal(t, int64(0), res.APIKeysRevoked)
			} else {
				assert.True(t, res.PreviousValidUntil.IsZero())
				assert.Equal(t, int64(1), res.APIKeysRevoked)
			}

			_, err = f.svc.Verify(ctx, old.AccessToken)
			require.ErrorIs(t, err, tt.oldErr)
			_, err = f.reopen(t).Verify(ctx, old.AccessToken)
			require.ErrorIs(t, err, tt.oldErr, "after a restart too")
			_, _, err = f.svc.VerifyAPIKey(ctx, key.Key)
			if tt.keepPrevious {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, auth.ErrTokenRevoked)
			}

			fresh := f.pair(t, u)
			tok, _, err := jwt.NewParser().ParseUnverified(fresh.AccessToken, jwt.MapClaims{})
			require.NoError(t, err)
			assert.Equal(t, res.KID, tok.Header["kid"], "new tokens carry the new kid")

			restarted := f.reopen(t)
			assert.Equal(t, res.KID, restarted.KeyRing().CurrentKID())
			_, err = restarted.Verify(ctx, fresh.AccessToken)
			require.NoError(t, err, "a restart keeps the key ring")
		})
	}
}

func TestKeyRingWrongSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := auth.NewKeyRing(context.Background(), f.st, []byte("a different secret of 32 bytes!!"), auth.KeyRingConfig{})
	require.Error(t, err)
	_, err = auth.NewKeyRing(context.Background(), f.st, []byte("short"), auth.KeyRingConfig{})
	require.ErrorIs(t, err, auth.ErrInvalidInput)
}

func TestKeyRingReloadsOnUnknownKID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "a@example.com", auth.RoleOwner)
	other := f.reopen(t) // replica B, loaded before the rotation
	f.clk.Advance(time.Minute)
	_, err := f.svc.RotateKeys(ctx, true, false)
	require.NoError(t, err)
	p := f.pair(t, u)
	_, err = other.Verify(ctx, p.AccessToken)
	require.NoError(t, err, "an unknown kid triggers one reload")
}
