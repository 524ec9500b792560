package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/store"
)

// TestRevokeTokenByID revokes JWTs by jti (docs/http-api.md#administration): the ids of tokens
// the service issued are known, with their kind and their own expiry; other
// ids are deny-listed for the refresh TTL as unknown.
func TestRevokeTokenByID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const refreshTTL = 720 * time.Hour
	tests := []struct {
		name string
		// mint returns the id to revoke, the access token to check (""
		// when none) and the expected kind, known flag and expiry.
		mint func(t *testing.T, f *fixture, u *store.User) (id, access, kind string, known bool, exp time.Time)
	}{
		{"login access token", func(t *testing.T, f *fixture, u *store.User) (string, string, string, bool, time.Time) {
			p, _, err := f.svc.Login(ctx, u.Email, "correct horse battery", "10.0.0.1")
			require.NoError(t, err)
			return p.AccessTokenID, p.AccessToken, store.RevocationAccess, true, p.AccessExpiresAt
		}},
		{"login refresh token", func(t *testing.T, f *fixture, u *store.User) (string, string, string, bool, time.Time) {
			p, _, err := f.svc.Login(ctx, u.Email, "correct horse battery", "10.0.0.1")
			require.NoError(t, err)
			return p.RefreshTokenID, "", store.RevocationRefresh, true, p.RefreshExpiresAt
		}},
		{"rotated pair's access token", func(t *testing.T, f *fixture, u *store.User) (string, string, string, bool, time.Time) {
			p := f.pair(t, u)
			f.clk.Advance(time.Minute)
			p2, _, err := f.svc.Refresh(ctx, p.RefreshToken)
			require.NoError(t, err)
			return p2.AccessTokenID, p2.AccessToken, store.RevocationAccess, true, p2.AccessExpiresAt
		}},
		{"token create access token", func(t *testing.T, f *fixture, u *store.User) (string, string, string, bool, time.Time) {
			tok, c, err := f.svc.IssueAccessToken(ctx, u, 8760*time.Hour)
			require.NoError(t, err)
			return c.TokenID, tok, store.RevocationAccess, true, c.ExpiresAt
		}},
		{"never issued", func(t *testing.T, f *fixture, _ *store.User) (string, string, string, bool, time.Time) {
			return "tok_0123456789abcdefABCDEF", "", store.RevocationUnknown, false, f.clk.Now().Add(refreshTTL)
		}},
		{"record pruned", func(t *testing.T, f *fixture, u *store.User) (string, string, string, bool, time.Time) {
			p := f.pair(t, u)
			f.clk.Advance(16 * time.Minute)
			n, err := f.st.DeleteExpiredIssued(ctx, f.clk.Now())
			require.NoError(t, err)
			assert.Equal(t, int64(1), n, "the expired access token's record")
			return p.AccessTokenID, "", store.RevocationUnknown, false, f.clk.Now().Add(refreshTTL)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			u := f.user(t, "a@example.com", auth.RoleMember)
			id, access, kind, known, exp := tt.mint(t, f, u)
			if access != "" {
				_, err := f.svc.Verify(ctx, access)
				require.NoError(t, err, "valid before revocation")
			}

			res, err := f.svc.RevokeToken(ctx, id, "usr_admin", "leak")
			require.NoError(t, err)
			assert.Equal(t, id, res.TokenID)
			assert.Equal(t, kind, res.Kind)
			assert.Equal(t, known, res.Known)
			assert.True(t, exp.Equal(res.ExpiresAt), "expires_at %s, want %s", res.ExpiresAt, exp)

			r, err := f.st.GetRevocation(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, kind, r.Kind)
			assert.True(t, exp.Equal(r.ExpiresAt), "the deny-list entry expires with the token")
			if known {
				assert.Equal(t, u.ID, r.UserID)
			}
			if access != "" {
				_, err = f.svc.Verify(ctx, access)
				require.ErrorIs(t, err, auth.ErrTokenRevoked)
			}

			again, err := f.svc.RevokeToken(ctx, id, "usr_admin", "again")
			require.NoError(t, err)
			assert.Equal(t, res, again, "revoking twice reports the first entry")
		})
	}
}

// TestIssuedTokensRecorded checks that every issued JWT is recorded with
// its kind, user and times.
func TestIssuedTokensRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "a@example.com", auth.RoleViewer)
	p := f.pair(t, u)
	_, c, err := f.svc.IssueAccessToken(ctx, u, 2*time.Hour)
	require.NoError(t, err)
	want := []store.IssuedToken{
		{TokenID: p.AccessTokenID, Kind: store.RevocationAccess, UserID: u.ID, IssuedAt: f.clk.Now(), ExpiresAt: p.AccessExpiresAt},
		{TokenID: p.RefreshTokenID, Kind: store.RevocationRefresh, UserID: u.ID, IssuedAt: f.clk.Now(), ExpiresAt: p.RefreshExpiresAt},
		{TokenID: c.TokenID, Kind: store.RevocationAccess, UserID: u.ID, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt},
	}
	for _, w := range want {
		got, err := f.st.GetIssued(ctx, w.TokenID)
		require.NoError(t, err)
		assert.Equal(t, w, *got)
	}
	n, err := f.st.DeleteExpiredIssued(ctx, p.RefreshExpiresAt)
	require.NoError(t, err)
	assert.Equal(t, int64(3), n, "every record expires with its token")
}
