package memstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
)

// Interface guard.
var _ store.AuthStore = (*Auth)(nil)

// Auth is the in-memory implementation of the authentication ports
// ([store.UserStore], [store.APIKeyStore], [store.RevocationStore],
// [store.IssuedTokenStore], [store.TokenVersionStore], [store.KeyRingStore], [store.AuditStore] and
// [store.UsageStore]). It is safe for concurrent use; values are copied in
// and out. The zero value is not usable; call [NewAuth]. It is separate
// from [Store] so that it can be embedded there (or used on its own).
type Auth struct {
	mu       sync.Mutex
	users    map[string]*store.User
	byEmail  map[string]string // email → id
	keys     map[string]*store.APIKey
	byKeyID  map[string]string // key id → id
	revoked  map[string]*store.Revocation
	issued   map[string]*store.IssuedToken
	versions map[string]int64
	gen      store.Generation
	ring     []store.SigningKey
	audit    []*store.AuditEntry
	auditIDs map[string]bool
	usage    []store.UsageRecord
	usageIDs map[string]struct{} // the IDs of usage
}

// NewAuth returns an empty in-memory auth store.
func NewAuth() *Auth {
	return &Auth{
		users:    map[string]*store.User{},
		byEmail:  map[string]string{},
		keys:     map[string]*store.APIKey{},
		byKeyID:  map[string]string{},
		revoked:  map[string]*store.Revocation{},
		issued:   map[string]*store.IssuedToken{},
		versions: map[string]int64{},
		auditIDs: map[string]bool{},
	}
}

func copyUser(u *store.User) *store.User {
	c := *u
	c.CreatedAt = normTime(u.CreatedAt)
	c.UpdatedAt = normTime(u.UpdatedAt)
	c.LastLoginAt = normTime(u.LastLoginAt)
	return &c
}

// CreateUser implements [store.UserStore].
func (a *Auth) CreateUser(ctx context.Context, u *store.User) error {
	return lockedErr(ctx, &a.mu, func() error { return a.createUserLocked(u) })
}

func (a *Auth) createUserLocked(u *store.User) error {
	if u == nil || u.ID == "" || u.Email == "" {
		return fmt.Errorf("memstore: create user: empty id or email")
	}
	if _, ok := a.users[u.ID]; ok {
		return fmt.Errorf("memstore: user %q: %w", u.ID, store.ErrConflict)
	}
	if _, ok := a.byEmail[u.Email]; ok {
		return fmt.Errorf("memstore: user email: %w", store.ErrConflict)
	}
	a.users[u.ID] = copyUser(u)
	a.byEmail[u.Email] = u.ID
	return nil
}

// CreateFirstUser implements [store.UserStore].
func (a *Auth) CreateFirstUser(ctx context.Context, u *store.User) error {
	return lockedErr(ctx, &a.mu, func() error {
		if len(a.users) > 0 {
			return fmt.Errorf("memstore: create first user: users exist: %w", store.ErrConflict)
		}
		return a.createUserLocked(u)
	})
}

// GetUser implements [store.UserStore].
func (a *Auth) GetUser(ctx context.Context, id string) (*store.User, error) {
	return locked(ctx, &a.mu, func() (*store.User, error) {
		return get(a.users, id, copyUser, "user %q", id)
	})
}

// GetUserByEmail implements [store.UserStore].
func (a *Auth) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	return locked(ctx, &a.mu, func() (*store.User, error) {
		return get(a.byEmail, email, func(id string) *store.User { return copyUser(a.users[id]) }, "user by email")
	})
}

// ListUsers implements [store.UserStore].
func (a *Auth) ListUsers(ctx context.Context) ([]*store.User, error) {
	return locked(ctx, &a.mu, func() ([]*store.User, error) {
		return collect(make([]*store.User, 0, len(a.users)), a.users, nil, copyUser, func(x, y *store.User) int {
			return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
		}), nil
	})
}

// CountUsers implements [store.UserStore].
func (a *Auth) CountUsers(ctx context.Context) (int, error) {
	return locked(ctx, &a.mu, func() (int, error) { return len(a.users), nil })
}

// UpdateUser implements [store.UserStore].
func (a *Auth) UpdateUser(ctx context.Context, id string, upd store.UserUpdate) (*store.User, error) {
	return locked(ctx, &a.mu, func() (*store.User, error) {
		u, err := get(a.users, id, func(u *store.User) *store.User { return u }, "update user %q", id)
		if err != nil {
			return nil, err
		}
		applyUserUpdate(u, upd)
		return copyUser(u), nil
	})
}

// applyUserUpdate sets the fields of u that upd sets; callers hold a.mu.
func applyUserUpdate(u *store.User, upd store.UserUpdate) {
	if upd.Name != nil {
		u.Name = *upd.Name
	}
	if upd.Role != nil {
		u.Role = *upd.Role
	}
	if upd.PasswordHash != nil {
		u.PasswordHash = *upd.PasswordHash
	}
	if upd.PasswordChangeRequired != nil {
		u.PasswordChangeRequired = *upd.PasswordChangeRequired
	}
	if upd.Disabled != nil {
		u.Disabled = *upd.Disabled
	}
	if upd.LastLoginAt != nil {
		u.LastLoginAt = normTime(*upd.LastLoginAt)
	}
	u.UpdatedAt = normTime(upd.UpdatedAt)
}

func copyKey(k *store.APIKey) *store.APIKey {
	c := *k
	c.Hash = bytes.Clone(k.Hash)
	c.CreatedAt = normTime(k.CreatedAt)
	c.ExpiresAt = normTime(k.ExpiresAt)
	c.LastUsedAt = normTime(k.LastUsedAt)
	c.RevokedAt = normTime(k.RevokedAt)
	return &c
}

// CreateAPIKey implements [store.APIKeyStore].
func (a *Auth) CreateAPIKey(ctx context.Context, k *store.APIKey) (*store.APIKey, error) {
	return locked(ctx, &a.mu, func() (*store.APIKey, error) {
		if k == nil || k.ID == "" || k.KeyID == "" || k.UserID == "" {
			return nil, fmt.Errorf("memstore: create api key: empty id, key id or user id")
		}
		if _, ok := a.keys[k.ID]; ok {
			return nil, fmt.Errorf("memstore: api key %q: %w", k.ID, store.ErrConflict)
		}
		if _, ok := a.byKeyID[k.KeyID]; ok {
			return nil, fmt.Errorf("memstore: api key id %q: %w", k.KeyID, store.ErrConflict)
		}
		var replaced *store.APIKey
		for _, old := range a.keys {
			if old.UserID == k.UserID && old.Active() {
				old.RevokedAt = normTime(k.CreatedAt)
				replaced = copyKey(old)
			}
		}
		c := copyKey(k)
		c.RevokedAt = time.Time{}
		a.keys[k.ID] = c
		a.byKeyID[k.KeyID] = k.ID
		return replaced, nil
	})
}

// GetAPIKey implements [store.APIKeyStore].
func (a *Auth) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	return locked(ctx, &a.mu, func() (*store.APIKey, error) {
		return get(a.keys, id, copyKey, "api key %q", id)
	})
}

// GetAPIKeyByKeyID implements [store.APIKeyStore].
func (a *Auth) GetAPIKeyByKeyID(ctx context.Context, keyID string) (*store.APIKey, error) {
	return locked(ctx, &a.mu, func() (*store.APIKey, error) {
		return get(a.byKeyID, keyID, func(id string) *store.APIKey { return copyKey(a.keys[id]) }, "api key id %q", keyID)
	})
}

// ActiveAPIKey implements [store.APIKeyStore].
func (a *Auth) ActiveAPIKey(ctx context.Context, userID string) (*store.APIKey, error) {
	return locked(ctx, &a.mu, func() (*store.APIKey, error) {
		for _, k := range a.keys {
			if k.UserID == userID && k.Active() {
				return copyKey(k), nil
			}
		}
		return nil, notFound("active api key of %q", userID)
	})
}

// ListAPIKeys implements [store.APIKeyStore].
func (a *Auth) ListAPIKeys(ctx context.Context, userID string) ([]*store.APIKey, error) {
	return locked(ctx, &a.mu, func() ([]*store.APIKey, error) {
		mine := func(k *store.APIKey) bool { return userID == "" || k.UserID == userID }
		return collect(nil, a.keys, mine, copyKey, func(x, y *store.APIKey) int {
			return cmp.Or(y.CreatedAt.Compare(x.CreatedAt), strings.Compare(y.ID, x.ID))
		}), nil
	})
}

// RevokeAPIKey implements [store.APIKeyStore].
func (a *Auth) RevokeAPIKey(ctx context.Context, id string, at time.Time) (*store.APIKey, error) {
	return locked(ctx, &a.mu, func() (*store.APIKey, error) {
		k, ok := a.keys[id]
		if !ok || !k.Active() {
			return nil, notFound("revoke api key %q", id)
		}
		k.RevokedAt = normTime(at)
		return copyKey(k), nil
	})
}

// RevokeAllAPIKeys implements [store.APIKeyStore].
func (a *Auth) RevokeAllAPIKeys(ctx context.Context, at time.Time) (int64, error) {
	return locked(ctx, &a.mu, func() (int64, error) {
		var n int64
		for _, k := range a.keys {
			if k.Active() {
				k.RevokedAt = normTime(at)
				n++
			}
		}
		return n, nil
	})
}

// TouchAPIKey implements [store.APIKeyStore].
func (a *Auth) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return lockedErr(ctx, &a.mu, func() error {
		k, ok := a.keys[id]
		if !ok {
			return notFound("touch api key %q", id)
		}
		k.LastUsedAt = normTime(at)
		return nil
	})
}

func copyRevocation(r *store.Revocation) store.Revocation {
	c := *r
	c.RevokedAt = normTime(r.RevokedAt)
	c.ExpiresAt = normTime(r.ExpiresAt)
	return c
}

// RevokeToken implements [store.RevocationStore].
func (a *Auth) RevokeToken(ctx context.Context, r *store.Revocation) error {
	return lockedErr(ctx, &a.mu, func() error {
		if r == nil || r.TokenID == "" {
			return fmt.Errorf("memstore: revoke token: empty token id")
		}
		c := copyRevocation(r)
		return insertNew(a.revoked, r.TokenID, &c, "revoke token %q", r.TokenID)
	})
}

// GetRevocation implements [store.RevocationStore].
func (a *Auth) GetRevocation(ctx context.Context, tokenID string) (*store.Revocation, error) {
	return locked(ctx, &a.mu, func() (*store.Revocation, error) {
		return get(a.revoked, tokenID, func(r *store.Revocation) *store.Revocation {
			c := copyRevocation(r)
			return &c
		}, "revocation %q", tokenID)
	})
}

// ListRevocations implements [store.RevocationStore].
func (a *Auth) ListRevocations(ctx context.Context, now time.Time, limit int) ([]store.Revocation, error) {
	now = normTime(now)
	return locked(ctx, &a.mu, func() ([]store.Revocation, error) {
		live := func(r *store.Revocation) bool { return r.ExpiresAt.After(now) }
		out := collect(nil, a.revoked, live, copyRevocation, func(x, y store.Revocation) int {
			return cmp.Or(y.RevokedAt.Compare(x.RevokedAt), strings.Compare(x.TokenID, y.TokenID))
		})
		if limit > 0 && len(out) > limit {
			out = out[:limit]
		}
		return out, nil
	})
}

// DeleteExpiredRevocations implements [store.RevocationStore].
func (a *Auth) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int64, error) {
	now = normTime(now)
	return locked(ctx, &a.mu, func() (int64, error) {
		return deleteExpired(a.revoked, now, func(r *store.Revocation) time.Time { return r.ExpiresAt }), nil
	})
}

func copyIssued(t *store.IssuedToken) *store.IssuedToken {
	c := *t
	c.IssuedAt = normTime(t.IssuedAt)
	c.ExpiresAt = normTime(t.ExpiresAt)
	return &c
}

// RecordIssued implements [store.IssuedTokenStore].
func (a *Auth) RecordIssued(ctx context.Context, t *store.IssuedToken) error {
	return lockedErr(ctx, &a.mu, func() error {
		if t == nil || t.TokenID == "" {
			return fmt.Errorf("memstore: record issued token: empty token id")
		}
		return insertNew(a.issued, t.TokenID, copyIssued(t), "record issued token %q", t.TokenID)
	})
}

// GetIssued implements [store.IssuedTokenStore].
func (a *Auth) GetIssued(ctx context.Context, tokenID string) (*store.IssuedToken, error) {
	return locked(ctx, &a.mu, func() (*store.IssuedToken, error) {
		return get(a.issued, tokenID, copyIssued, "issued token %q", tokenID)
	})
}

// DeleteExpiredIssued implements [store.IssuedTokenStore].
func (a *Auth) DeleteExpiredIssued(ctx context.Context, now time.Time) (int64, error) {
	now = normTime(now)
	return locked(ctx, &a.mu, func() (int64, error) {
		return deleteExpired(a.issued, now, func(t *store.IssuedToken) time.Time { return t.ExpiresAt }), nil
	})
}

// TokenVersion implements [store.TokenVersionStore].
func (a *Auth) TokenVersion(ctx context.Context, userID string) (int64, error) {
	return locked(ctx, &a.mu, func() (int64, error) { return a.versions[userID], nil })
}

// BumpTokenVersion implements [store.TokenVersionStore].
func (a *Auth) BumpTokenVersion(ctx context.Context, userID string, _ time.Time) (int64, error) {
	return locked(ctx, &a.mu, func() (int64, error) {
		a.versions[userID]++
		return a.versions[userID], nil
	})
}

// TokenVersions implements [store.TokenVersionStore].
func (a *Auth) TokenVersions(ctx context.Context) (map[string]int64, error) {
	return locked(ctx, &a.mu, func() (map[string]int64, error) {
		out := make(map[string]int64, len(a.versions))
		for k, v := range a.versions {
			if v != 0 {
				out[k] = v
			}
		}
		return out, nil
	})
}

// TokenGeneration implements [store.TokenVersionStore].
func (a *Auth) TokenGeneration(ctx context.Context) (store.Generation, error) {
	return locked(ctx, &a.mu, func() (store.Generation, error) { return a.gen, nil })
}

// BumpTokenGeneration implements [store.TokenVersionStore].
func (a *Auth) BumpTokenGeneration(ctx context.Context, at time.Time, by, reason string) (store.Generation, error) {
	return locked(ctx, &a.mu, func() (store.Generation, error) {
		a.gen = store.Generation{Value: a.gen.Value + 1, RevokedAt: normTime(at), RevokedBy: by, Reason: reason}
		return a.gen, nil
	})
}

func copySigningKey(k store.SigningKey) store.SigningKey {
	k.Ciphertext = bytes.Clone(k.Ciphertext)
	k.CreatedAt = normTime(k.CreatedAt)
	k.RetiredAt = normTime(k.RetiredAt)
	k.ValidUntil = normTime(k.ValidUntil)
	return k
}

// ListSigningKeys implements [store.KeyRingStore].
func (a *Auth) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return locked(ctx, &a.mu, func() ([]store.SigningKey, error) {
		out := make([]store.SigningKey, len(a.ring))
		for i, k := range a.ring {
			out[i] = copySigningKey(k)
		}
		slices.SortStableFunc(out, func(x, y store.SigningKey) int {
			return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.KID, y.KID))
		})
		return out, nil
	})
}

// RotateSigningKey implements [store.KeyRingStore].
func (a *Auth) RotateSigningKey(ctx context.Context, prevKID string, prevValidUntil time.Time, next *store.SigningKey) error {
	return lockedErr(ctx, &a.mu, func() error {
		if next == nil || next.KID == "" {
			return fmt.Errorf("memstore: rotate signing key: empty kid")
		}
		cur := -1
		for i, k := range a.ring {
			if k.KID == next.KID {
				return fmt.Errorf("memstore: signing key %q: %w", next.KID, store.ErrConflict)
			}
			if k.RetiredAt.IsZero() {
				cur = i
			}
		}
		switch {
		case prevKID == "" && cur >= 0:
			return fmt.Errorf("memstore: rotate signing key: a current key exists: %w", store.ErrConflict)
		case prevKID != "" && (cur < 0 || a.ring[cur].KID != prevKID):
			return fmt.Errorf("memstore: rotate signing key: %q is not current: %w", prevKID, store.ErrConflict)
		}
		if cur >= 0 {
			a.ring[cur].RetiredAt = normTime(next.CreatedAt)
			a.ring[cur].ValidUntil = normTime(prevValidUntil)
		}
		c := copySigningKey(*next)
		c.RetiredAt = time.Time{}
		a.ring = append(a.ring, c)
		return nil
	})
}

func copyAudit(e *store.AuditEntry) *store.AuditEntry {
	c := *e
	c.At = normTime(e.At)
	c.Details = bytes.Clone(e.Details)
	if len(c.Details) == 0 {
		c.Details = json.RawMessage(`{}`)
	}
	return &c
}

// AppendAudit implements [store.AuditStore].
func (a *Auth) AppendAudit(ctx context.Context, e *store.AuditEntry) error {
	return lockedErr(ctx, &a.mu, func() error {
		if e == nil || e.ID == "" {
			return fmt.Errorf("memstore: append audit: empty id")
		}
		if len(e.Details) > 0 && !json.Valid(e.Details) {
			return fmt.Errorf("memstore: append audit %q: details are not valid JSON", e.ID)
		}
		if a.auditIDs[e.ID] {
			return fmt.Errorf("memstore: audit entry %q: %w", e.ID, store.ErrConflict)
		}
		a.auditIDs[e.ID] = true
		a.audit = append(a.audit, copyAudit(e))
		return nil
	})
}

// ListAudit implements [store.AuditStore].
func (a *Auth) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := store.PageSize(f.Limit)
	since := normTime(f.Since)
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*store.AuditEntry
	for _, e := range a.audit {
		if f.Actor != "" && e.Actor.ID != f.Actor || f.Action != "" && e.Action != f.Action {
			continue
		}
		if !since.IsZero() && e.At.Before(since) {
			continue
		}
		if c := f.Cursor; c != nil {
			at := normTime(c.CreatedAt)
			if e.At.After(at) || e.At.Equal(at) && e.ID >= c.ID {
				continue
			}
		}
		out = append(out, copyAudit(e))
	}
	slices.SortFunc(out, func(x, y *store.AuditEntry) int {
		return cmp.Or(y.At.Compare(x.At), strings.Compare(y.ID, x.ID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// RecordUsage implements [store.UsageStore].
func (a *Auth) RecordUsage(ctx context.Context, r *store.UsageRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("memstore: record usage: nil record")
	}
	c := *r
	c.At = normTime(r.At)
	if c.ID == "" {
		c.ID = store.NewUsageID(c.At)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.usageIDs[c.ID]; dup {
		return nil
	}
	if a.usageIDs == nil {
		a.usageIDs = map[string]struct{}{}
	}
	a.usageIDs[c.ID] = struct{}{}
	a.usage = append(a.usage, c)
	return nil
}

// AggregateUsage implements [store.UsageStore].
func (a *Auth) AggregateUsage(ctx context.Context, f store.UsageFilter) ([]store.UsageBucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, to := normTime(f.From), normTime(f.To)
	type key struct{ day, provider string }
	agg := map[key]*store.UsageBucket{}
	a.mu.Lock()
	for _, r := range a.usage {
		if f.UserID != "" && r.UserID != f.UserID || r.At.Before(from) || !r.At.Before(to) {
			continue
		}
		k := key{r.At.Format(time.DateOnly), r.Provider}
		b, ok := agg[k]
		if !ok {
			b = &store.UsageBucket{Day: k.day, Provider: k.provider}
			agg[k] = b
		}
		b.Requests++
		b.TokensIn += r.TokensIn
		b.TokensOut += r.TokensOut
		b.CostUSD += r.CostUSD
	}
	a.mu.Unlock()
	out := make([]store.UsageBucket, 0, len(agg))
	for _, b := range agg {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool {
		return cmp.Or(strings.Compare(out[i].Day, out[j].Day), strings.Compare(out[i].Provider, out[j].Provider)) < 0
	})
	return out, nil
}
