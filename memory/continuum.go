package memory

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/similarity"
)

// Defaults of Config (docs/memory.md#configuration).
const (
	DefaultAlpha          = 0.3
	DefaultCooldown       = time.Hour
	DefaultTier           = TierSlow
	DefaultLimit          = 5
	DefaultTokenBudget    = 400
	DefaultMinRelevance   = 0.1
	DefaultDomainBonus    = 0.25
	DefaultMaxCandidates  = 2000
	DefaultHighConfidence = 0.7
)

// Config configures a Continuum. Only Store is required.
type Config struct {
	Store Store
	// Tiers overrides the tiers' parameters; nil means DefaultTiers. A
	// map must name all four tiers.
	Tiers map[Tier]TierSpec
	// TierWeights weighs retrieval scores by tier; nil means fast 1,
	// medium 0.9, slow 0.8, glacial 0.7.
	TierWeights map[Tier]float64
	// Alpha is the smoothing factor of the surprise EMA; default 0.3.
	Alpha float64
	// Cooldown is the minimum time between two tier changes of an entry
	// (counted from its creation for the first); default 1 h.
	Cooldown time.Duration
	// DefaultTier receives new entries that name none; default slow.
	DefaultTier Tier
	// Limit is Retrieve's top-k when the query names none; default 5.
	Limit int
	// TokenBudget caps the retrieved entries' content, in tokens (about
	// four characters each), when the query names none; default 400.
	TokenBudget int
	// MinRelevance drops entries less relevant than it; default 0.1.
	MinRelevance float64
	// DomainBonus is added to the relevance of an entry of the query's
	// domain; default 0.25.
	DomainBonus float64
	// MaxCandidates caps the entries scored per retrieval (the most
	// recently updated of each scope); default 2,000.
	MaxCandidates int
	// HighConfidence is the confidence at or above which a debate that
	// reached consensus counts as a success for the entries it used;
	// default 0.7.
	HighConfidence float64
	// Similarity scores relevance; default similarity.TFIDF{}. Ignored
	// when Embedder is set.
	Similarity similarity.Similarity
	// Embedder, when set, scores relevance as the cosine of embeddings.
	Embedder Embedder
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnTransition, when set, is called after each recorded transition
	// (for the transitions metric); it must return quickly.
	OnTransition func(from, to Tier)
	// OnRetrieve, when set, is called after each retrieval with the
	// number of entries returned; it must return quickly.
	OnRetrieve func(n int)
}

// Embedder turns texts into vectors, for users who have an embedding
// model. Vectors of one call must have equal length.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float64, error)
}

// Continuum is the tiered memory over a Store. It is safe for concurrent
// use; read-modify-write operations of one process are serialised.
type Continuum struct {
	cfg Config
	mu  sync.Mutex
}

// New returns a Continuum, or an error wrapping ErrInvalid for a bad cfg.
func New(cfg Config) (*Continuum, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: config: Store is required", ErrInvalid)
	}
	if cfg.Tiers == nil {
		cfg.Tiers = DefaultTiers()
	}
	for _, t := range Tiers {
		s, ok := cfg.Tiers[t]
		if !ok || s.HalfLife <= 0 || s.MaxItems <= 0 {
			return nil, fmt.Errorf("%w: config: tier %s needs a positive half-life and capacity", ErrInvalid, t)
		}
	}
	if cfg.TierWeights == nil {
		cfg.TierWeights = map[Tier]float64{TierFast: 1, TierMedium: 0.9, TierSlow: 0.8, TierGlacial: 0.7}
	}
	if cfg.Alpha <= 0 || cfg.Alpha > 1 {
		cfg.Alpha = DefaultAlpha
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = DefaultCooldown
	}
	if cfg.DefaultTier == "" {
		cfg.DefaultTier = DefaultTier
	}
	if !cfg.DefaultTier.Valid() {
		return nil, fmt.Errorf("%w: config: default tier %q", ErrInvalid, cfg.DefaultTier)
	}
	if cfg.Limit <= 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.TokenBudget == 0 {
		cfg.TokenBudget = DefaultTokenBudget
	}
	if cfg.MinRelevance == 0 {
		cfg.MinRelevance = DefaultMinRelevance
	}
	if cfg.DomainBonus == 0 {
		cfg.DomainBonus = DefaultDomainBonus
	}
	if cfg.MaxCandidates <= 0 {
		cfg.MaxCandidates = DefaultMaxCandidates
	}
	if cfg.HighConfidence == 0 {
		cfg.HighConfidence = DefaultHighConfidence
	}
	if cfg.Similarity == nil {
		cfg.Similarity = similarity.TFIDF{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Continuum{cfg: cfg}, nil
}

// Store returns the continuum's store.
func (c *Continuum) Store() Store { return c.cfg.Store }

// Spec returns tier t's parameters.
func (c *Continuum) Spec(t Tier) TierSpec { return c.cfg.Tiers[t] }

func (c *Continuum) now() time.Time { return c.cfg.Now().UTC().Truncate(time.Microsecond) }

// EntryID is the id Add gives an entry without one: "mem_" and 16 hex
// digits of a hash of its kind, domain and content, so the same memory
// added twice is one entry.
func EntryID(kind Kind, domain, content string) string {
	sum := sha256.Sum256([]byte(string(kind) + "\x00" + domain + "\x00" + normalize(content)))
	return "mem_" + hex.EncodeToString(sum[:8])
}

func normalize(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// Add stores a new entry, filling ID (EntryID), Tier (the default tier),
// Importance (0.5) and the times. When the id exists already, the stored
// entry is refreshed instead: its UpdatedAt is set, its importance raised
// to e's when higher, and it is returned.
func (c *Continuum) Add(ctx context.Context, e Entry) (*Entry, error) {
	e.Content = strings.TrimSpace(e.Content)
	if e.ID == "" {
		e.ID = EntryID(e.Kind, e.Domain, e.Content)
	}
	if e.Tier == "" {
		e.Tier = c.cfg.DefaultTier
	}
	if e.Importance == 0 {
		e.Importance = DefaultImportance
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	old, err := c.cfg.Store.GetMemory(ctx, e.ID)
	switch {
	case err == nil:
		old.UpdatedAt = now
		old.Importance = max(old.Importance, e.Importance)
		old.RedLine = old.RedLine || e.RedLine
		if err := c.cfg.Store.PutMemory(ctx, old, nil); err != nil {
			return nil, err
		}
		return old, nil
	case !isNotFound(err):
		return nil, err
	}
	e.Surprise, e.Consolidation, e.Updates, e.Successes, e.Failures = 0, 0, 0, 0, 0
	e.CreatedAt, e.UpdatedAt, e.TierChangedAt = now, now, time.Time{}
	if e.Tags != nil {
		e.Tags = slices.Clone(e.Tags)
	}
	if err := c.cfg.Store.PutMemory(ctx, &e, nil); err != nil {
		return nil, err
	}
	return e.Clone(), nil
}

// Get returns one entry.
func (c *Continuum) Get(ctx context.Context, id string) (*Entry, error) {
	return c.cfg.Store.GetMemory(ctx, id)
}

// List returns the entries f selects, most recently updated first.
func (c *Continuum) List(ctx context.Context, f Filter) ([]*Entry, error) {
	return c.cfg.Store.ListMemories(ctx, f)
}

// Delete forgets one entry (reason "deleted"): ErrRedLine for a red-line
// entry, an error wrapping ErrNotFound for a missing one.
func (c *Continuum) Delete(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.cfg.Store.GetMemory(ctx, id)
	if err != nil {
		return err
	}
	if e.RedLine {
		return fmt.Errorf("%w: %s", ErrRedLine, id)
	}
	return c.forget(ctx, e, "deleted", c.now())
}

func (c *Continuum) forget(ctx context.Context, e *Entry, reason string, at time.Time) error {
	t := Transition{EntryID: e.ID, From: e.Tier, To: Forgotten, Reason: reason, Surprise: e.Surprise, At: at}
	if err := c.cfg.Store.DeleteMemory(ctx, t); err != nil {
		return err
	}
	c.transitioned(t)
	return nil
}

func (c *Continuum) transitioned(t Transition) {
	if c.cfg.OnTransition != nil {
		c.cfg.OnTransition(t.From, t.To)
	}
}

// Expected is the success rate an entry predicts: successes/(successes+
// failures), or 0.5 before any outcome.
func Expected(successes, failures int) float64 {
	if successes+failures == 0 {
		return 0.5
	}
	return float64(successes) / float64(successes+failures)
}

// Consolidation is min(1, ln(1+n)/ln 100) for n updates.
func Consolidation(n int) float64 {
	return math.Min(1, math.Log1p(float64(n))/math.Log(100))
}

// Observe applies one outcome to an entry (success: the debate it
// informed went well): the surprise becomes the EMA (Config.Alpha) of
// |actual − expected| with expected taken before this outcome, the counts
// and consolidation are updated, and the entry moves one tier when its
// surprise crosses its tier's thresholds and the cooldown has passed (the
// transition is recorded with the entry, atomically). It returns the
// updated entry.
func (c *Continuum) Observe(ctx context.Context, id string, success bool) (*Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.cfg.Store.GetMemory(ctx, id)
	if err != nil {
		return nil, err
	}
	now := c.now()
	actual := 0.0
	if success {
		actual = 1
		e.Successes++
	} else {
		e.Failures++
	}
	expected := Expected(e.Successes-int(actual), e.Failures-int(1-actual))
	e.Surprise = c.cfg.Alpha*math.Abs(actual-expected) + (1-c.cfg.Alpha)*e.Surprise
	e.Updates++
	e.Consolidation = Consolidation(e.Updates)
	e.UpdatedAt = now
	var ts []Transition
	if to, reason := c.move(e, now); to != e.Tier {
		ts = append(ts, Transition{EntryID: e.ID, From: e.Tier, To: to, Reason: reason, Surprise: e.Surprise, At: now})
		e.Tier, e.TierChangedAt = to, now
	}
	if err := c.cfg.Store.PutMemory(ctx, e, ts); err != nil {
		return nil, err
	}
	for _, t := range ts {
		c.transitioned(t)
	}
	return e, nil
}

// thresholdEps keeps rounding noise from crossing a threshold: a surprise
// within 1e-9 of it counts as equal.
const thresholdEps = 1e-9

// move returns the tier e belongs in after an update, and why.
func (c *Continuum) move(e *Entry, now time.Time) (Tier, string) {
	since := e.TierChangedAt
	if since.IsZero() {
		since = e.CreatedAt
	}
	if now.Sub(since) < c.cfg.Cooldown {
		return e.Tier, ""
	}
	i := e.Tier.index()
	spec := c.cfg.Tiers[e.Tier]
	switch {
	case spec.Promote > 0 && i > 0 && e.Surprise > spec.Promote+thresholdEps:
		return Tiers[i-1], "promote"
	case spec.Demote > 0 && i < len(Tiers)-1 && e.Surprise < spec.Demote-thresholdEps:
		return Tiers[i+1], "demote"
	}
	return e.Tier, ""
}

// Recency is 0.5^(age/half-life) of an entry last updated at updated.
func Recency(updated, now time.Time, halfLife time.Duration) float64 {
	age := now.Sub(updated)
	if age <= 0 {
		return 1
	}
	return math.Pow(0.5, float64(age)/float64(halfLife))
}

// CleanupReport says what Cleanup forgot, per reason ("stale",
// "expired", "capacity") and per tier.
type CleanupReport struct {
	Deleted int            `json:"deleted"`
	Reasons map[string]int `json:"reasons"`
	Tiers   map[Tier]int   `json:"tiers"` // deleted per tier
	Kept    map[Tier]int   `json:"kept"`  // left per tier
}

// Cleanup forgets, in every tier, the entries past their expiry
// ("expired"), those not updated for twice their tier's half-life
// ("stale"), and beyond the tier's capacity those of lowest importance ×
// recency ("capacity"). Red-line entries are kept (and count towards the
// capacity).
func (c *Continuum) Cleanup(ctx context.Context) (CleanupReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	rep := CleanupReport{Reasons: map[string]int{}, Tiers: map[Tier]int{}, Kept: map[Tier]int{}}
	for _, tier := range Tiers {
		spec := c.cfg.Tiers[tier]
		es, err := c.cfg.Store.ListMemories(ctx, Filter{Tier: tier})
		if err != nil {
			return rep, err
		}
		var keep []*Entry
		for _, e := range es {
			reason := ""
			switch {
			case e.RedLine:
			case !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt):
				reason = "expired"
			case now.Sub(e.UpdatedAt) > 2*spec.HalfLife:
				reason = "stale"
			}
			if reason == "" {
				keep = append(keep, e)
				continue
			}
			if err := c.forgetCounted(ctx, e, reason, now, &rep); err != nil {
				return rep, err
			}
		}
		if over := len(keep) - spec.MaxItems; over > 0 {
			value := func(e *Entry) float64 { return e.Importance * Recency(e.UpdatedAt, now, spec.HalfLife) }
			slices.SortStableFunc(keep, func(a, b *Entry) int {
				return cmp.Or(cmp.Compare(value(a), value(b)), a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ID, b.ID))
			})
			var rest []*Entry
			for _, e := range keep {
				if over > 0 && !e.RedLine {
					if err := c.forgetCounted(ctx, e, "capacity", now, &rep); err != nil {
						return rep, err
					}
					over--
					continue
				}
				rest = append(rest, e)
			}
			keep = rest
		}
		rep.Kept[tier] = len(keep)
	}
	return rep, nil
}

func (c *Continuum) forgetCounted(ctx context.Context, e *Entry, reason string, now time.Time, rep *CleanupReport) error {
	if err := c.forget(ctx, e, reason, now); err != nil && !isNotFound(err) {
		return err
	}
	rep.Deleted++
	rep.Reasons[reason]++
	rep.Tiers[e.Tier]++
	return nil
}

// Stats returns the store's per-tier counts and transition counts.
func (c *Continuum) Stats(ctx context.Context) (Stats, error) {
	return c.cfg.Store.MemoryStats(ctx)
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }
