package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aragora/aragora/store"
)

// Fixed JWT claims (docs/http-api.md#authentication).
const (
	Issuer   = "aragora"
	Audience = "aragora-api"
)

// Token types, the typ claim.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
)

// Pair is a token pair as /api/auth/login returns it (docs/http-api.md#accounts).
type Pair struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`         // "Bearer"
	ExpiresIn        int64  `json:"expires_in"`         // access lifetime in seconds
	RefreshExpiresIn int64  `json:"refresh_expires_in"` // refresh lifetime in seconds

	AccessTokenID    string    `json:"-"`
	RefreshTokenID   string    `json:"-"`
	AccessExpiresAt  time.Time `json:"-"`
	RefreshExpiresAt time.Time `json:"-"`
}

// Claims are the verified claims of a token.
type Claims struct {
	TokenID   string // jti
	Subject   string // user id
	Role      Role   // informational; authorisation reads the user record
	Type      string // TypeAccess or TypeRefresh
	Version   int64  // tv
	Gen       int64  // tg
	KID       string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

type jwtClaims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
	Typ  string `json:"typ"`
	TV   int64  `json:"tv"`
	TG   int64  `json:"tg"`
}

// issue signs one token of typ for u and records its jti in the store.
func (s *Service) issue(ctx context.Context, u *store.User, typ string, ttl time.Duration, tv, tg int64) (string, string, time.Time, error) {
	kid, key, err := s.ring.signingKey(ctx)
	if err != nil {
		return "", "", time.Time{}, err
	}
	jti, err := NewID(PrefixToken, s.cfg.Rand)
	if err != nil {
		return "", "", time.Time{}, err
	}
	now := s.cfg.Now().Truncate(time.Second)
	exp := now.Add(ttl)
	c := jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, Audience: jwt.ClaimStrings{Audience}, Subject: u.ID, ID: jti,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
		Role: u.Role, Typ: typ, TV: tv, TG: tg,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = kid
	signed, err := t.SignedString(key)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	// Recorded so that revoking the jti by id knows its kind and expiry;
	// typ is also the store kind (store.RevocationAccess or Refresh).
	if err := s.st.RecordIssued(ctx, &store.IssuedToken{TokenID: jti, Kind: typ, UserID: u.ID, IssuedAt: now, ExpiresAt: exp}); err != nil {
		return "", "", time.Time{}, fmt.Errorf("auth: record issued token: %w", err)
	}
	return signed, jti, exp, nil
}

// versions reads the user's token version and the generation from the
// store, so new tokens are never born revoked on another replica.
func (s *Service) versions(ctx context.Context, userID string) (tv, tg int64, err error) {
	if tv, err = s.st.TokenVersion(ctx, userID); err != nil {
		return 0, 0, fmt.Errorf("auth: token version: %w", err)
	}
	g, err := s.st.TokenGeneration(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("auth: token generation: %w", err)
	}
	s.noteVersion(userID, tv)
	s.noteGeneration(g)
	return tv, g.Value, nil
}

// IssuePair signs an access and a refresh token for u with the current key.
func (s *Service) IssuePair(ctx context.Context, u *store.User) (Pair, error) {
	tv, tg, err := s.versions(ctx, u.ID)
	if err != nil {
		return Pair{}, err
	}
	at, aid, aexp, err := s.issue(ctx, u, TypeAccess, s.cfg.AccessTTL, tv, tg)
	if err != nil {
		return Pair{}, err
	}
	rt, rid, rexp, err := s.issue(ctx, u, TypeRefresh, s.cfg.RefreshTTL, tv, tg)
	if err != nil {
		return Pair{}, err
	}
	return Pair{AccessToken: at, RefreshToken: rt, TokenType: "Bearer",
		ExpiresIn: int64(s.cfg.AccessTTL / time.Second), RefreshExpiresIn: int64(s.cfg.RefreshTTL / time.Second),
		AccessTokenID: aid, RefreshTokenID: rid, AccessExpiresAt: aexp, RefreshExpiresAt: rexp}, nil
}

// IssueAccessToken signs one access token for u with lifetime ttl
// (`aragora token create --ttl`; ttl <= 0 means AccessTTL).
func (s *Service) IssueAccessToken(ctx context.Context, u *store.User, ttl time.Duration) (token string, c Claims, err error) {
	if ttl <= 0 {
		ttl = s.cfg.AccessTTL
	}
	tv, tg, err := s.versions(ctx, u.ID)
	if err != nil {
		return "", Claims{}, err
	}
	tok, jti, exp, err := s.issue(ctx, u, TypeAccess, ttl, tv, tg)
	if err != nil {
		return "", Claims{}, err
	}
	return tok, Claims{TokenID: jti, Subject: u.ID, Role: Role(u.Role), Type: TypeAccess, Version: tv, Gen: tg,
		KID: s.ring.CurrentKID(), IssuedAt: exp.Add(-ttl), ExpiresAt: exp}, nil
}

// parse checks signature, algorithm (HS256 only), kid, iss, aud and the
// times with leeway, and returns the claims. It checks no revocation.
func (s *Service) parse(ctx context.Context, token string) (Claims, error) {
	var c jwtClaims
	var kid string
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithLeeway(s.cfg.Leeway),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.cfg.Now),
	)
	_, err := p.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		k, ok := t.Header["kid"].(string)
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: missing kid", ErrUnauthorized)
		}
		kid = k
		return s.ring.verifyKey(ctx, k)
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrTokenRevoked):
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenRevoked, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenExpired, err)
	default:
		return Claims{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	if c.ID == "" || c.Subject == "" || c.NotBefore == nil || c.IssuedAt == nil {
		return Claims{}, fmt.Errorf("%w: missing claims", ErrUnauthorized)
	}
	return Claims{TokenID: c.ID, Subject: c.Subject, Role: Role(c.Role), Type: c.Typ, Version: c.TV, Gen: c.TG, KID: kid,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time}, nil
}

// checkRevoked applies the deny-list, the user's token version and the
// global generation.
func (s *Service) checkRevoked(ctx context.Context, c Claims) error {
	denied, tv, tg, err := s.revocationState(ctx, c.TokenID, c.Subject)
	if err != nil {
		return err
	}
	switch {
	case denied:
		return fmt.Errorf("%w: token deny-listed", ErrTokenRevoked)
	case c.Gen < tg:
		return fmt.Errorf("%w: token generation %d < %d", ErrTokenRevoked, c.Gen, tg)
	case c.Version < tv:
		return fmt.Errorf("%w: token version %d < %d", ErrTokenRevoked, c.Version, tv)
	}
	return nil
}

// Verify checks an access token completely: HS256 signature by a key of
// the ring that may still verify, claims and times (with leeway), typ
// access, and revocation (deny-listed jti, tv below the user's version, tg
// below the global generation). Errors wrap ErrUnauthorized,
// ErrTokenExpired or ErrTokenRevoked.
func (s *Service) Verify(ctx context.Context, token string) (Claims, error) {
	c, err := s.parse(ctx, token)
	if err != nil {
		return Claims{}, err
	}
	if c.Type != TypeAccess {
		return Claims{}, fmt.Errorf("%w: not an access token", ErrUnauthorized)
	}
	if err := s.checkRevoked(ctx, c); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// Refresh exchanges a refresh token for a new pair and deny-lists the old
// one (rotation on every use). A refresh token presented a second time
// returns ErrRefreshReused after bumping the user's token version, which
// revokes every token of its chain (and the user's other sessions).
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Pair, *store.User, error) {
	c, err := s.parse(ctx, refreshToken)
	if err != nil {
		return Pair{}, nil, err
	}
	if c.Type != TypeRefresh {
		return Pair{}, nil, fmt.Errorf("%w: not a refresh token", ErrUnauthorized)
	}
	if err := s.checkRevoked(ctx, c); err != nil {
		if r, gerr := s.st.GetRevocation(ctx, c.TokenID); gerr == nil && r.Reason == reasonRotated {
			return Pair{}, nil, s.reused(ctx, c.Subject)
		}
		return Pair{}, nil, err
	}
	now := s.cfg.Now()
	err = s.st.RevokeToken(ctx, &store.Revocation{TokenID: c.TokenID, Kind: store.RevocationRefresh, UserID: c.Subject,
		RevokedAt: now, RevokedBy: c.Subject, Reason: reasonRotated, ExpiresAt: c.ExpiresAt})
	if errors.Is(err, store.ErrConflict) {
		return Pair{}, nil, s.reused(ctx, c.Subject)
	} else if err != nil {
		return Pair{}, nil, fmt.Errorf("auth: refresh: %w", err)
	}
	s.noteDenied(c.TokenID, c.ExpiresAt)
	u, err := s.activeUser(ctx, c.Subject)
	if err != nil {
		return Pair{}, nil, err
	}
	p, err := s.IssuePair(ctx, u)
	if err != nil {
		return Pair{}, nil, err
	}
	return p, u, nil
}

// reasonRotated marks a refresh token deny-listed by its own rotation.
const reasonRotated = "rotated"

func (s *Service) reused(ctx context.Context, userID string) error {
	if err := s.bumpVersion(ctx, userID); err != nil {
		return err
	}
	return ErrRefreshReused
}

// activeUser loads a token's user; a missing or disabled user is
// ErrUnauthorized.
func (s *Service) activeUser(ctx context.Context, id string) (*store.User, error) {
	u, err := s.st.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown user", ErrUnauthorized)
	} else if err != nil {
		return nil, fmt.Errorf("auth: load user: %w", err)
	}
	if u.Disabled {
		return nil, fmt.Errorf("%w: user disabled", ErrUnauthorized)
	}
	return u, nil
}

// Logout deny-lists p's access token and, when given, refreshToken (which
// must belong to p's user; an invalid one is ignored), and with all bumps
// the user's token version so every session ends (docs/http-api.md#accounts).
func (s *Service) Logout(ctx context.Context, p *Principal, refreshToken string, all bool) error {
	if p == nil {
		return ErrUnauthorized
	}
	now := s.cfg.Now()
	if p.Type == PrincipalUser && p.TokenID != "" {
		if err := s.deny(ctx, p.TokenID, store.RevocationAccess, p.ID, p.ID, "logout", p.ExpiresAt, now); err != nil {
			return err
		}
	}
	if refreshToken != "" {
		if c, err := s.parse(ctx, refreshToken); err == nil && c.Type == TypeRefresh && c.Subject == p.ID {
			if err := s.deny(ctx, c.TokenID, store.RevocationRefresh, p.ID, p.ID, "logout", c.ExpiresAt, now); err != nil {
				return err
			}
		}
	}
	if all && (p.Type == PrincipalUser || p.Type == PrincipalAPIKey) {
		return s.bumpVersion(ctx, p.ID)
	}
	return nil
}

// deny records a deny-list entry; an existing entry is kept and is not an
// error.
func (s *Service) deny(ctx context.Context, jti, kind, userID, by, reason string, exp, now time.Time) error {
	if exp.IsZero() {
		exp = now.Add(s.cfg.RefreshTTL)
	}
	err := s.st.RevokeToken(ctx, &store.Revocation{TokenID: jti, Kind: kind, UserID: userID, RevokedAt: now, RevokedBy: by, Reason: reason, ExpiresAt: exp})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("auth: revoke token: %w", err)
	}
	s.noteDenied(jti, exp)
	return nil
}
