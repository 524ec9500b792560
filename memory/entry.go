package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aragora/aragora/internal/enum"
)

// Sentinel errors. Backends wrap ErrNotFound with %w.
var (
	// ErrNotFound reports a missing entry.
	ErrNotFound = errors.New("memory: not found")
	// ErrRedLine reports an attempt to delete a red-line entry.
	ErrRedLine = errors.New("memory: red-line entry cannot be deleted")
	// ErrInvalid reports a bad entry, tier, kind or configuration.
	ErrInvalid = errors.New("memory: invalid")
)

// Tier is one of the four memory tiers, fastest first. Its text and JSON
// form is its name. [ParseTier] rejects an unknown name where a tier comes
// in (a query, a flag); decoding and the backends do not, because entries
// are read back from storage a newer version may have written, and
// [Entry.Validate] still refuses an entry of an unknown tier.
type Tier string

// Tiers.
const (
	TierFast    Tier = "fast"
	TierMedium  Tier = "medium"
	TierSlow    Tier = "slow"
	TierGlacial Tier = "glacial"
	// Forgotten is the destination of a transition that deleted the entry;
	// it is not a tier entries live in.
	Forgotten Tier = "forgotten"
)

// Tiers lists the tiers fastest first.
var Tiers = []Tier{TierFast, TierMedium, TierSlow, TierGlacial}

// Valid reports whether t is one of the four tiers.
func (t Tier) Valid() bool { return t.index() >= 0 }

func (t Tier) index() int {
	for i, x := range Tiers {
		if x == t {
			return i
		}
	}
	return -1
}

// ParseTier returns the tier called s, or an error wrapping ErrInvalid.
func ParseTier(s string) (Tier, error) { return parseName("tier", s, Tiers) }

// parseName is enum.Parse with the error wrapping ErrInvalid.
func parseName[T ~string](what, s string, valid []T) (T, error) {
	v, err := enum.Parse(what, s, valid)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return v, nil
}

func (t Tier) String() string { return string(t) }

// MarshalText returns t's name.
func (t Tier) MarshalText() ([]byte, error) { return []byte(t), nil }

// TierSpec is one tier's parameters.
type TierSpec struct {
	HalfLife time.Duration
	// Promote moves an entry one tier faster when its surprise exceeds
	// it; 0 means never (the fast tier).
	Promote float64
	// Demote moves an entry one tier slower when its surprise is below
	// it; 0 means never (the glacial tier).
	Demote float64
	// MaxItems is the tier's capacity; Cleanup evicts beyond it.
	MaxItems int
}

// DefaultTiers are the tiers' default parameters (docs/memory.md#tiers).
func DefaultTiers() map[Tier]TierSpec {
	return map[Tier]TierSpec{
		TierFast:    {HalfLife: time.Hour, Demote: 0.2, MaxItems: 1000},
		TierMedium:  {HalfLife: 24 * time.Hour, Promote: 0.7, Demote: 0.3, MaxItems: 5000},
		TierSlow:    {HalfLife: 168 * time.Hour, Promote: 0.6, Demote: 0.4, MaxItems: 10000},
		TierGlacial: {HalfLife: 720 * time.Hour, Promote: 0.5, MaxItems: 50000},
	}
}

// Kind classifies an entry. Its text and JSON form is its name; like
// [Tier], it is parsed strictly where it comes in ([ParseKind]) and read
// back as is.
type Kind string

// Kinds.
const (
	KindOutcome         Kind = "outcome"
	KindCritiquePattern Kind = "critique_pattern"
	KindInsight         Kind = "insight"
)

// Kinds lists every Kind.
var Kinds = []Kind{KindOutcome, KindCritiquePattern, KindInsight}

// ParseKind returns the kind called s, or an error wrapping ErrInvalid.
func ParseKind(s string) (Kind, error) { return parseName("kind", s, Kinds) }

func (k Kind) String() string { return string(k) }

// MarshalText returns k's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k), nil }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// DefaultImportance is the importance of an entry created without one.
const DefaultImportance = 0.5

// Entry is one memory.
type Entry struct {
	ID      string   `json:"id"`
	Tier    Tier     `json:"tier"`
	Kind    Kind     `json:"kind"`
	Content string   `json:"content"`
	Domain  string   `json:"domain"` // "" for entries of no domain
	Tags    []string `json:"tags"`   // free labels, nil when none
	// Importance is in [0, 1]; default DefaultImportance.
	Importance float64 `json:"importance"`
	// Surprise is the exponential moving average of |actual − expected|
	// over outcome updates, in [0, 1].
	Surprise float64 `json:"surprise"`
	// Consolidation is min(1, ln(1+Updates)/ln 100).
	Consolidation float64 `json:"consolidation"`
	Updates       int     `json:"update_count"`
	Successes     int     `json:"success_count"`
	Failures      int     `json:"failure_count"`
	// Source names what created the entry (a debate id, "api", "cli").
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// TierChangedAt is the last promotion or demotion (zero: never); the
	// cooldown runs from it, or from CreatedAt.
	TierChangedAt time.Time `json:"tier_changed_at"`
	// ExpiresAt, when not zero, is when Cleanup forgets the entry.
	ExpiresAt time.Time `json:"expires_at"`
	// RedLine entries are never deleted, by Cleanup or by Delete.
	RedLine bool `json:"red_line"`
}

// Clone returns a deep copy of e.
func (e *Entry) Clone() *Entry {
	c := *e
	if e.Tags != nil {
		c.Tags = append([]string{}, e.Tags...)
	}
	return &c
}

// Validate checks the fields a store relies on.
func (e *Entry) Validate() error {
	switch {
	case e.ID == "" || len(e.ID) > 128:
		return fmt.Errorf("%w: entry id must be 1-128 bytes", ErrInvalid)
	case !e.Tier.Valid():
		return fmt.Errorf("%w: entry tier %q", ErrInvalid, e.Tier)
	case !e.Kind.Valid():
		return fmt.Errorf("%w: entry kind %q (want outcome, critique_pattern or insight)", ErrInvalid, e.Kind)
	case e.Content == "":
		return fmt.Errorf("%w: entry content is empty", ErrInvalid)
	case e.Importance < 0 || e.Importance > 1:
		return fmt.Errorf("%w: importance %v outside [0, 1]", ErrInvalid, e.Importance)
	}
	return nil
}

// Transition records a tier change or a deletion (To == Forgotten).
type Transition struct {
	EntryID  string
	From     Tier
	To       Tier
	Reason   string // "promote", "demote", "stale", "expired", "capacity", "deleted"
	Surprise float64
	At       time.Time
}

// Filter selects entries in ListMemories.
type Filter struct {
	Tier   Tier // "": any
	Kind   Kind // "": any
	Domain *string
	// Limit caps the result; <= 0: no limit.
	Limit int
}

// TierStats are one tier's figures.
type TierStats struct {
	Tier  Tier  `json:"tier"`
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"` // total content bytes
}

// TransitionCount counts the recorded transitions from one tier to another.
type TransitionCount struct {
	From  Tier  `json:"from"`
	To    Tier  `json:"to"`
	Count int64 `json:"count"`
}

// Stats are what MemoryStats reports.
type Stats struct {
	Tiers       []TierStats       // every tier, fastest first
	Transitions []TransitionCount // ordered by From, then To
}

// Store is the persistence port of the continuum memory. Implementations
// must be safe for concurrent use, keep times in UTC at microsecond
// precision, copy values in and out, and pass memorytest.Run.
type Store interface {
	// PutMemory inserts or replaces the entry e.ID and appends ts, in one
	// atomic write.
	PutMemory(ctx context.Context, e *Entry, ts []Transition) error
	// GetMemory returns the entry or an error wrapping ErrNotFound.
	GetMemory(ctx context.Context, id string) (*Entry, error)
	// DeleteMemory deletes t.EntryID and appends t, in one atomic write;
	// an error wrapping ErrNotFound (and nothing recorded) when missing.
	DeleteMemory(ctx context.Context, t Transition) error
	// ListMemories returns the entries f selects, most recently updated
	// first (UpdatedAt desc, then ID asc).
	ListMemories(ctx context.Context, f Filter) ([]*Entry, error)
	// MemoryStats counts entries and content bytes per tier (every tier,
	// fastest first, zero counts included) and recorded transitions per
	// (from, to).
	MemoryStats(ctx context.Context) (Stats, error)
}
