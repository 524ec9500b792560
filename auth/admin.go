package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aragora/aragora/store"
)

// RevokeResult is the outcome of [Service.RevokeToken] (docs/http-api.md#administration).
type RevokeResult struct {
	TokenID   string
	Kind      string // store.Revocation* kind
	Known     bool   // false for a tok_ id the store has no record of
	ExpiresAt time.Time
}

// RevokeToken revokes one credential by id: a key_… id revokes that API
// key (store.ErrNotFound if it does not exist), a tok_… id is deny-listed
// until its expiry. Every JWT is recorded at issue, so a jti of ours
// reports its kind (access or refresh) and its token's expiry; a jti the
// store has not seen (never issued here, or its record already pruned) is
// deny-listed for the refresh TTL as Kind unknown, Known false. Revoking
// an already revoked id succeeds and reports the existing entry. Any other
// shape wraps ErrInvalidInput.
func (s *Service) RevokeToken(ctx context.Context, id, by, reason string) (RevokeResult, error) {
	now := s.cfg.Now()
	switch {
	case strings.HasPrefix(id, PrefixAPIKey) && len(id) <= 64:
		k, err := s.st.GetAPIKey(ctx, id)
		if err != nil {
			return RevokeResult{}, fmt.Errorf("auth: revoke api key: %w", err)
		}
		if k.Active() {
			if _, err := s.st.RevokeAPIKey(ctx, id, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return RevokeResult{}, fmt.Errorf("auth: revoke api key: %w", err)
			}
		}
		exp := k.ExpiresAt
		if exp.IsZero() {
			exp = now.Add(MaxAPIKeyTTL)
		}
		if err := s.deny(ctx, id, store.RevocationAPIKey, k.UserID, by, reason, exp, now); err != nil {
			return RevokeResult{}, err
		}
		return RevokeResult{TokenID: id, Kind: store.RevocationAPIKey, Known: true, ExpiresAt: exp}, nil
	case ValidID(PrefixToken, id):
		if r, err := s.st.GetRevocation(ctx, id); err == nil {
			return RevokeResult{TokenID: id, Kind: r.Kind, Known: r.Kind != store.RevocationUnknown, ExpiresAt: r.ExpiresAt}, nil
		}
		it, err := s.st.GetIssued(ctx, id)
		if err == nil {
			if err := s.deny(ctx, id, it.Kind, it.UserID, by, reason, it.ExpiresAt, now); err != nil {
				return RevokeResult{}, err
			}
			return RevokeResult{TokenID: id, Kind: it.Kind, Known: true, ExpiresAt: it.ExpiresAt}, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return RevokeResult{}, fmt.Errorf("auth: revoke token: %w", err)
		}
		exp := now.Add(s.cfg.RefreshTTL)
		if err := s.deny(ctx, id, store.RevocationUnknown, "", by, reason, exp, now); err != nil {
			return RevokeResult{}, err
		}
		return RevokeResult{TokenID: id, Kind: store.RevocationUnknown, Known: false, ExpiresAt: exp}, nil
	}
	return RevokeResult{}, fmt.Errorf("%w: token_id must be a tok_ or key_ id", ErrInvalidInput)
}

// RevokeAllResult is the outcome of [Service.RevokeAllTokens].
type RevokeAllResult struct {
	Generation     store.Generation
	APIKeysRevoked int64
}

// RevokeAllTokens bumps the global token generation, so every JWT issued
// before now is rejected (the caller's too), and with apiKeys revokes
// every API key. The service token and the local operator are unaffected.
func (s *Service) RevokeAllTokens(ctx context.Context, by, reason string, apiKeys bool) (RevokeAllResult, error) {
	now := s.cfg.Now()
	g, err := s.st.BumpTokenGeneration(ctx, now, by, reason)
	if err != nil {
		return RevokeAllResult{}, fmt.Errorf("auth: revoke all tokens: %w", err)
	}
	s.noteGeneration(g)
	res := RevokeAllResult{Generation: g}
	if apiKeys {
		if res.APIKeysRevoked, err = s.st.RevokeAllAPIKeys(ctx, now); err != nil {
			return res, fmt.Errorf("auth: revoke all api keys: %w", err)
		}
	}
	return res, nil
}

// RotateResult is the outcome of [Service.RotateKeys] (docs/operations.md#rotate-keys-and-respond-to-a-compromise).
type RotateResult struct {
	Rotation
	APIKeysRevoked int64
}

// RotateKeys rotates the key ring (see [KeyRing.Rotate]) and, with
// revokeAPIKeys, revokes every API key.
func (s *Service) RotateKeys(ctx context.Context, keepPrevious, revokeAPIKeys bool) (RotateResult, error) {
	r, err := s.ring.Rotate(ctx, keepPrevious)
	if err != nil {
		return RotateResult{}, err
	}
	res := RotateResult{Rotation: r}
	if revokeAPIKeys {
		if res.APIKeysRevoked, err = s.st.RevokeAllAPIKeys(ctx, s.cfg.Now()); err != nil {
			return res, fmt.Errorf("auth: rotate keys: revoke api keys: %w", err)
		}
	}
	return res, nil
}

// RevokedList is the body of GET /api/admin/revoked-tokens.
type RevokedList struct {
	Generation store.Generation
	Revoked    []store.Revocation // unexpired, newest first
}

// RevokedTokens lists up to limit unexpired revocations and the generation.
func (s *Service) RevokedTokens(ctx context.Context, limit int) (RevokedList, error) {
	g, err := s.st.TokenGeneration(ctx)
	if err != nil {
		return RevokedList{}, fmt.Errorf("auth: revoked tokens: %w", err)
	}
	list, err := s.st.ListRevocations(ctx, s.cfg.Now(), limit)
	if err != nil {
		return RevokedList{}, fmt.Errorf("auth: revoked tokens: %w", err)
	}
	return RevokedList{Generation: g, Revoked: list}, nil
}

// Audit appends e to the audit log through the store, filling an empty ID
// (aud_…), At (now) and Outcome (success).
func (s *Service) Audit(ctx context.Context, e store.AuditEntry) error {
	return Auditor{Store: s.st, Now: s.cfg.Now, Rand: s.cfg.Rand}.Audit(ctx, e)
}
