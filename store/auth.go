package store

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/aragora/aragora/internal/ulid"
)

// AuthStore is the union of the authentication ports
// (docs/http-api.md#authentication); every primary backend implements it.
type AuthStore interface {
	UserStore
	APIKeyStore
	RevocationStore
	IssuedTokenStore
	TokenVersionStore
	KeyRingStore
	AuditStore
	UsageStore
}

// This file holds the optional ports of authentication, administration and
// billing (docs/http-api.md#authentication, docs/http-api.md#accounts, docs/operations.md#rotate-keys-and-respond-to-a-compromise, docs/http-api.md#administration): users, API keys, issued token ids,
// revocations and token versions, the JWT key ring, the audit log and usage
// records. Every
// one is an optional capability found by type assertion; package auth
// declares the union it needs. Times are stored in UTC at microsecond
// precision, like every other record.
//
// # Tables the SQL backends are expected to create
//
//	users(id TEXT PK, email TEXT UNIQUE NOT NULL, name TEXT, role TEXT NOT NULL,
//	      password_hash TEXT NOT NULL, password_change_required BOOL, disabled BOOL,
//	      created_at, updated_at, last_login_at NULL)
//	api_keys(id TEXT PK, key_id TEXT UNIQUE NOT NULL, prefix TEXT, user_id TEXT NOT NULL,
//	      name TEXT, hash BYTEA/BLOB NOT NULL, created_at, expires_at NULL,
//	      last_used_at NULL, revoked_at NULL)
//	      -- "one active key per user": CreateAPIKey revokes the user's
//	      -- unrevoked keys in the same transaction (a partial unique index
//	      -- on user_id WHERE revoked_at IS NULL enforces it).
//	revoked_tokens(token_id TEXT PK, kind TEXT, user_id TEXT, revoked_at, revoked_by TEXT,
//	      reason TEXT, expires_at)            -- index on expires_at
//	issued_tokens(token_id TEXT PK, kind TEXT, user_id TEXT, issued_at,
//	      expires_at)                         -- index on expires_at
//	token_versions(user_id TEXT PK, version BIGINT NOT NULL, updated_at)
//	token_generation(id INT PK CHECK (id = 1), generation BIGINT NOT NULL, revoked_at,
//	      revoked_by TEXT, reason TEXT)
//	jwt_keys(kid TEXT PK, alg TEXT, ciphertext BYTEA/BLOB, created_at, retired_at NULL,
//	      valid_until NULL)
//	audit_log(id TEXT PK, at, actor_id TEXT, actor_type TEXT, actor_role TEXT, action TEXT,
//	      target TEXT, ip TEXT, user_agent TEXT, correlation_id TEXT, outcome TEXT,
//	      details JSON)                       -- index (at DESC, id DESC); append-only
//	usage_records(id BIGSERIAL/INTEGER PK, user_id TEXT, provider TEXT, model TEXT,
//	      tokens_in BIGINT, tokens_out BIGINT, cost_usd DOUBLE, debate_id TEXT, at,
//	      idempotency_key TEXT UNIQUE)        -- index (user_id, at)
//
// Nullable times map to the zero time.Time.

// User is one account (docs/http-api.md#accounts). Email is stored as given; package auth
// lower-cases it before every call, so comparisons are exact.
type User struct {
	ID                     string // usr_…
	Email                  string // unique
	Name                   string
	Role                   string // owner, admin, member or viewer
	PasswordHash           string // PHC argon2id or bcrypt string
	PasswordChangeRequired bool
	Disabled               bool
	CreatedAt              time.Time
	UpdatedAt              time.Time
	LastLoginAt            time.Time // zero: never
}

// UserUpdate changes the non-nil fields of a user and sets UpdatedAt.
type UserUpdate struct {
	Name                   *string
	Role                   *string
	PasswordHash           *string
	PasswordChangeRequired *bool
	Disabled               *bool
	LastLoginAt            *time.Time
	UpdatedAt              time.Time // required: the time of the change
}

// UserStore persists accounts.
type UserStore interface {
	// CreateUser stores u; ErrConflict if its ID or Email exists.
	CreateUser(ctx context.Context, u *User) error
	// CreateFirstUser stores u only while no user exists, atomically (the
	// one-time bootstrap registration); ErrConflict otherwise.
	CreateFirstUser(ctx context.Context, u *User) error
	// GetUser returns the user or an error wrapping ErrNotFound.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByEmail returns the user with exactly that email or an error
	// wrapping ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns every user, oldest first (CreatedAt, then ID).
	ListUsers(ctx context.Context) ([]*User, error)
	// CountUsers returns the number of users.
	CountUsers(ctx context.Context) (int, error)
	// UpdateUser applies upd and returns the updated user; ErrNotFound for
	// an unknown id.
	UpdateUser(ctx context.Context, id string, upd UserUpdate) (*User, error)
}

// APIKey is the stored form of an API key `ara_<KeyID>_<secret>` (docs/http-api.md#accounts):
// never the key itself, only the SHA-256 of the whole key string.
type APIKey struct {
	ID         string // key_…, the record id shown to users
	KeyID      string // the 8 characters embedded in the key; unique, used for lookup
	Prefix     string // "ara_" + KeyID, shown in listings
	UserID     string
	Name       string
	Hash       []byte // SHA-256 of the full key
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never
	RevokedAt  time.Time // zero: active
}

// Active reports whether the key is not revoked (it may still have expired).
func (k *APIKey) Active() bool { return k.RevokedAt.IsZero() }

// APIKeyStore persists API keys. A user has at most one active
// (unrevoked) key.
type APIKeyStore interface {
	// CreateAPIKey stores k and, in the same atomic write, revokes the
	// user's active key (RevokedAt = k.CreatedAt), which it returns (nil
	// when there was none). ErrConflict if k.ID or k.KeyID exists.
	CreateAPIKey(ctx context.Context, k *APIKey) (replaced *APIKey, err error)
	// GetAPIKey returns a key by record id, revoked ones included;
	// ErrNotFound otherwise.
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	// GetAPIKeyByKeyID returns a key by its embedded key id, revoked ones
	// included; ErrNotFound otherwise.
	GetAPIKeyByKeyID(ctx context.Context, keyID string) (*APIKey, error)
	// ActiveAPIKey returns the user's unrevoked key; ErrNotFound if none.
	ActiveAPIKey(ctx context.Context, userID string) (*APIKey, error)
	// ListAPIKeys returns the keys of userID ("" for every user), revoked
	// ones included, newest first (CreatedAt desc, then ID desc).
	ListAPIKeys(ctx context.Context, userID string) ([]*APIKey, error)
	// RevokeAPIKey sets RevokedAt of an active key and returns the key;
	// ErrNotFound for an unknown or already revoked id.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (*APIKey, error)
	// RevokeAllAPIKeys revokes every active key and returns how many.
	RevokeAllAPIKeys(ctx context.Context, at time.Time) (int64, error)
	// TouchAPIKey sets LastUsedAt; ErrNotFound for an unknown id.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// Revocation kinds (docs/http-api.md#administration).
const (
	RevocationAccess  = "access"
	RevocationRefresh = "refresh"
	RevocationAPIKey  = "api_key"
	RevocationUnknown = "unknown"
)

// Revocation is one deny-listed token id, kept until ExpiresAt.
type Revocation struct {
	TokenID   string // a JWT jti (tok_…) or an API key id (key_…)
	Kind      string // one of the Revocation* kinds
	UserID    string // "" when unknown
	RevokedAt time.Time
	RevokedBy string // principal id, "" for the system
	Reason    string // free text; "rotated" marks a refresh token used once
	ExpiresAt time.Time
}

// RevocationStore is the durable deny-list of token ids.
type RevocationStore interface {
	// RevokeToken deny-lists r.TokenID. ErrConflict if it is already
	// deny-listed (the stored entry is left unchanged): refresh rotation
	// relies on this to detect a token presented twice.
	RevokeToken(ctx context.Context, r *Revocation) error
	// GetRevocation returns the entry for tokenID, expired or not, or an
	// error wrapping ErrNotFound.
	GetRevocation(ctx context.Context, tokenID string) (*Revocation, error)
	// ListRevocations returns up to limit (<= 0: all) entries with
	// ExpiresAt > now, newest first (RevokedAt desc, then TokenID).
	ListRevocations(ctx context.Context, now time.Time, limit int) ([]Revocation, error)
	// DeleteExpiredRevocations deletes entries with ExpiresAt <= now and
	// returns how many.
	DeleteExpiredRevocations(ctx context.Context, now time.Time) (int64, error)
}

// IssuedToken records one JWT the auth service signed, so that revoking
// its jti by id (docs/http-api.md#administration) knows its kind, user and expiry.
type IssuedToken struct {
	TokenID   string // the jti, tok_…
	Kind      string // RevocationAccess or RevocationRefresh
	UserID    string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// IssuedTokenStore records the ids of issued JWTs until they expire.
type IssuedTokenStore interface {
	// RecordIssued stores t; ErrConflict if t.TokenID is recorded (the
	// stored record is left unchanged).
	RecordIssued(ctx context.Context, t *IssuedToken) error
	// GetIssued returns the record of tokenID, expired or not, or an error
	// wrapping ErrNotFound.
	GetIssued(ctx context.Context, tokenID string) (*IssuedToken, error)
	// DeleteExpiredIssued deletes records with ExpiresAt <= now and returns
	// how many.
	DeleteExpiredIssued(ctx context.Context, now time.Time) (int64, error)
}

// Generation is the global token generation (docs/http-api.md#administration): every JWT whose
// tg claim is lower is rejected. The zero value is generation 0, never
// bumped.
type Generation struct {
	Value     int64
	RevokedAt time.Time // when it was last bumped; zero for generation 0
	RevokedBy string
	Reason    string
}

// TokenVersionStore keeps the per-user token versions and the global
// token generation.
type TokenVersionStore interface {
	// TokenVersion returns the user's token version, 0 when never bumped
	// (also for unknown users).
	TokenVersion(ctx context.Context, userID string) (int64, error)
	// BumpTokenVersion increments the user's version atomically and
	// returns the new value.
	BumpTokenVersion(ctx context.Context, userID string, at time.Time) (int64, error)
	// TokenVersions returns every non-zero version by user id.
	TokenVersions(ctx context.Context) (map[string]int64, error)
	// TokenGeneration returns the current global generation.
	TokenGeneration(ctx context.Context) (Generation, error)
	// BumpTokenGeneration increments the generation atomically, records
	// at, by and reason, and returns the new state.
	BumpTokenGeneration(ctx context.Context, at time.Time, by, reason string) (Generation, error)
}

// SigningKey is one persisted JWT signing key of the key ring (docs/operations.md#rotate-keys-and-respond-to-a-compromise).
// The key material is stored encrypted; the store never sees it in
// the clear.
type SigningKey struct {
	KID        string // e.g. k3-9f2c1a7b
	Alg        string // "HS256"
	Ciphertext []byte // AES-GCM nonce || ciphertext, opaque to the store
	CreatedAt  time.Time
	RetiredAt  time.Time // zero: the current signing key
	ValidUntil time.Time // zero: verifies without limit; else verifies only before it
}

// KeyRingStore persists the JWT key ring.
type KeyRingStore interface {
	// ListSigningKeys returns every key, oldest first (CreatedAt, then KID).
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// RotateSigningKey atomically retires the current key prevKID (sets
	// RetiredAt = next.CreatedAt and ValidUntil = prevValidUntil) and
	// inserts next as the new current key. prevKID must name the one
	// unretired key, or be "" when there is none; otherwise, or when
	// next.KID exists, it returns ErrConflict and changes nothing (another
	// replica rotated first: reload and retry).
	RotateSigningKey(ctx context.Context, prevKID string, prevValidUntil time.Time, next *SigningKey) error
}

// Audit outcomes (docs/http-api.md#administration).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
)

// AuditActor is who performed an audited action.
type AuditActor struct {
	ID   string // usr_…, "service", "local" or "system"
	Type string // user, api_key, service, local or system
	Role string
}

// AuditEntry is one append-only audit log row (docs/http-api.md#administration).
type AuditEntry struct {
	ID            string // aud_…
	At            time.Time
	Actor         AuditActor
	Action        string // e.g. admin.rotate_keys, auth.login
	Target        string
	IP            string
	UserAgent     string
	CorrelationID string
	Outcome       string          // one of the Outcome* constants
	Details       json.RawMessage // a JSON object; nil is stored as {}
}

// AuditFilter selects entries in ListAudit.
type AuditFilter struct {
	Limit  int       // <= 0: 50
	Actor  string    // actor id; "" any
	Action string    // exact action; "" any
	Since  time.Time // At >= Since; zero: any
	// Cursor continues a listing with entries strictly older than it
	// (At desc, ID desc); its CreatedAt is the entry's At.
	Cursor *Cursor
}

// AuditStore is the append-only audit log. It has no update or delete.
type AuditStore interface {
	// AppendAudit stores e; ErrConflict if e.ID exists.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns entries newest first (At desc, ID desc).
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}

// UsageRecord is one provider call's token usage and cost.
type UsageRecord struct {
	// ID is the record's idempotency key, unique in the store: recording
	// an ID already stored stores nothing and succeeds, so a write that
	// only looked failed can be retried (or re-committed from the result
	// spool) without charging twice. Give it before the first attempt and
	// keep it across retries; "" gets a fresh one ([NewUsageID]) from the
	// store, which makes the write not idempotent.
	ID        string
	UserID    string // the charged user: the debate owner or the caller
	Provider  string
	Model     string
	TokensIn  int64
	TokensOut int64
	CostUSD   float64
	DebateID  string // "" for calls outside a debate (agent tests)
	At        time.Time
}

// NewUsageID returns a fresh usage idempotency key (usg_…) for a record
// made at.
func NewUsageID(at time.Time) string {
	return ulid.New("usg_", at.UnixMilli())
}

// UsageFilter selects usage records: [From, To) for one user or all.
type UsageFilter struct {
	UserID string // "" every user
	From   time.Time
	To     time.Time
}

// UsageBucket is the usage of one provider on one UTC day.
type UsageBucket struct {
	Day       string // YYYY-MM-DD in UTC
	Provider  string
	Requests  int64
	TokensIn  int64
	TokensOut int64
	CostUSD   float64
}

// UsageStore records usage and aggregates it for /api/billing/usage.
type UsageStore interface {
	// RecordUsage appends r, unless a record with r.ID is stored already
	// (then it stores nothing and returns nil).
	RecordUsage(ctx context.Context, r *UsageRecord) error
	// AggregateUsage groups the records matching f by UTC day and
	// provider, ordered by Day then Provider (SQL: GROUP BY).
	AggregateUsage(ctx context.Context, f UsageFilter) ([]UsageBucket, error)
}

// UsageTotals are token and cost sums.
type UsageTotals struct {
	Requests  int64
	TokensIn  int64
	TokensOut int64
	CostUSD   float64
}

// ProviderUsage is one provider's totals.
type ProviderUsage struct {
	Provider string
	UsageTotals
}

// DayUsage is one UTC day's totals and the debates created that day.
type DayUsage struct {
	Date    string // YYYY-MM-DD
	Debates int
	UsageTotals
}

// UsageSummary is the body of /api/billing/usage before rendering.
type UsageSummary struct {
	Debates         int
	DebatesByStatus map[Status]int
	Total           UsageTotals
	ByProvider      []ProviderUsage // by provider name
	ByDay           []DayUsage      // by date; days with usage or debates
}

// SummarizeUsage folds buckets (from AggregateUsage) and the user's
// debates into a summary. Debates are counted when CreatedAt lies in
// [from, to); pass the same period as the UsageFilter.
func SummarizeUsage(buckets []UsageBucket, debates []*Debate, from, to time.Time) UsageSummary {
	sum := UsageSummary{DebatesByStatus: map[Status]int{}}
	prov := map[string]*ProviderUsage{}
	days := map[string]*DayUsage{}
	day := func(d string) *DayUsage {
		if x, ok := days[d]; ok {
			return x
		}
		x := &DayUsage{Date: d}
		days[d] = x
		return x
	}
	for _, b := range buckets {
		t := UsageTotals{Requests: b.Requests, TokensIn: b.TokensIn, TokensOut: b.TokensOut, CostUSD: b.CostUSD}
		sum.Total.add(t)
		p, ok := prov[b.Provider]
		if !ok {
			p = &ProviderUsage{Provider: b.Provider}
			prov[b.Provider] = p
		}
		p.add(t)
		day(b.Day).add(t)
	}
	for _, d := range debates {
		if d == nil || d.CreatedAt.Before(from) || !d.CreatedAt.Before(to) {
			continue
		}
		sum.Debates++
		sum.DebatesByStatus[d.Status]++
		day(d.CreatedAt.UTC().Format(time.DateOnly)).Debates++
	}
	for _, p := range prov {
		sum.ByProvider = append(sum.ByProvider, *p)
	}
	sort.Slice(sum.ByProvider, func(i, j int) bool { return sum.ByProvider[i].Provider < sum.ByProvider[j].Provider })
	for _, d := range days {
		sum.ByDay = append(sum.ByDay, *d)
	}
	sort.Slice(sum.ByDay, func(i, j int) bool { return sum.ByDay[i].Date < sum.ByDay[j].Date })
	return sum
}

func (t *UsageTotals) add(o UsageTotals) {
	t.Requests += o.Requests
	t.TokensIn += o.TokensIn
	t.TokensOut += o.TokensOut
	t.CostUSD += o.CostUSD
}
