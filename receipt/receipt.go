package receipt

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aragora/aragora/internal/enum"
)

// Schema is the value of every receipt's schema field.
const Schema = "aragora.decision_receipt.v1"

// Verdict is a debate's verdict (docs/debate.md#result-status-and-verdict).
// Its JSON form is its name; decoding rejects an unknown name.
type Verdict string

// Verdicts.
const (
	VerdictApproved               Verdict = "approved"
	VerdictApprovedWithConditions Verdict = "approved_with_conditions"
	VerdictNeedsReview            Verdict = "needs_review"
	VerdictRejected               Verdict = "rejected"
)

// Verdicts lists every Verdict.
var Verdicts = []Verdict{VerdictApproved, VerdictApprovedWithConditions, VerdictNeedsReview, VerdictRejected}

// ParseVerdict returns the Verdict named s; an unknown name is an error.
func ParseVerdict(s string) (Verdict, error) { return enum.Parse("receipt: verdict", s, Verdicts) }

func (v Verdict) String() string { return string(v) }

// MarshalText returns v's name.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v), nil }

// UnmarshalText sets v from its name, rejecting an unknown one.
func (v *Verdict) UnmarshalText(b []byte) error {
	return enum.Unmarshal(v, b, "receipt: verdict", Verdicts)
}

// TimeLayout is the layout of every receipt timestamp: RFC 3339 in UTC with
// exactly three fractional digits (milliseconds, truncated).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// hashPrefix starts every content hash.
const hashPrefix = "sha256:"

// ErrMalformed reports receipt JSON that [Parse] cannot accept.
var ErrMalformed = errors.New("receipt: malformed receipt")

// Receipt is the decision receipt of one debate (docs/receipts.md). Its fields
// are in the order of the JSON export.
//
// A Receipt is a plain value: it is not safe for concurrent mutation, but
// its read-only methods ([Receipt.VerifyHash], [Receipt.JSON],
// [Receipt.Markdown], [Receipt.HTML] and [Verify]) may run concurrently. The
// zero value is an empty, unsealed, unsigned receipt; [Receipt.Seal] fills
// its Schema.
type Receipt struct {
	Schema        string    // always [Schema]
	ReceiptID     string    // "DR-YYYYMMDD-xxxxxx", see [NewID]
	DebateID      string    // the debate's id
	CreatedAt     time.Time // written in UTC at millisecond precision
	Question      string    // the debate question
	ContextSHA256 string    // hex SHA-256 of the task context, "" without context; see [HashContext]
	Status        string    // the debate status (docs/debate.md#result-status-and-verdict)
	Verdict       Verdict
	Confidence    float64   // final (penalised) confidence in [0, 1]
	FinalAnswer   string    // the final answer
	Winner        string    // the winning agent, "" when none
	Consensus     Consensus // the last decision
	Agents        []Agent   // the participants in agent order
	RoundsPlanned int
	RoundsUsed    int
	// TricksterInterventions counts hollow-consensus interventions.
	TricksterInterventions int
	Convergence            Convergence
	Usage                  Usage
	StartedAt              time.Time
	EndedAt                time.Time
	DurationMS             int64             // run time in milliseconds
	Metadata               map[string]string // the task metadata, covered by the hash
	ContentHash            string            // "sha256:" + hex; set by [Receipt.Seal]
	Signature              *Signature        // nil when unsigned; set by [Receipt.Sign]
}

// Consensus summarises the last decision of a debate. Like every receipt
// part it is plain data (no internal synchronisation); the zero value is a
// decision that was not reached, with no threshold (null) and empty lists.
type Consensus struct {
	Method           string    `json:"method"`
	Reached          bool      `json:"reached"`
	LeaderShare      float64   `json:"leader_share"`
	Threshold        *float64  `json:"threshold"` // nil (null) for judge and none
	SupportingAgents []string  `json:"supporting_agents"`
	DissentingAgents []string  `json:"dissenting_agents"`
	AbstainingAgents []string  `json:"abstaining_agents"`
	Dissents         []Dissent `json:"dissents"`
}

// Dissent is the vote of one dissenting agent. It is plain data; nil
// Reasons are written as [].
type Dissent struct {
	Agent      string   `json:"agent"`
	Choice     string   `json:"choice"`
	Confidence float64  `json:"confidence"`
	Reasons    []string `json:"reasons"`
}

// Agent describes one participant. It is plain data; the zero value is an
// unnamed agent of weight 0.
type Agent struct {
	Name   string  `json:"name"`
	Model  string  `json:"model"`
	Stance string  `json:"stance"`
	Role   string  `json:"role"`
	Weight float64 `json:"weight"`
}

// Convergence reports whether the proposals converged. It is plain data;
// the zero value means not detected, similarity 0.
type Convergence struct {
	Detected        bool    `json:"detected"`
	FinalSimilarity float64 `json:"final_similarity"`
}

// Usage is the token usage and cost of the whole debate. It is plain data;
// the zero value is no usage.
type Usage struct {
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	TotalTokens  int     `json:"total_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// Signature is a receipt signature. Value is base64url without padding. It
// is plain data; a zero Signature never verifies.
type Signature struct {
	Algorithm string `json:"algorithm"` // [AlgHMACSHA256] or [AlgEd25519]
	KeyID     string `json:"key_id"`
	Value     string `json:"value"`
}

// NewID returns a receipt id: "DR-", the UTC date of t as YYYYMMDD, "-" and
// 6 lowercase hex characters made from 3 bytes of random (crypto/rand when
// nil), e.g. "DR-20260211-a3f8c2".
func NewID(t time.Time, random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [3]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("receipt: new id: %w", err)
	}
	var buf [24]byte
	id := append(buf[:0], "DR-"...)
	id = append(t.UTC().AppendFormat(id, "20060102"), '-')
	return string(hex.AppendEncode(id, b[:])), nil
}

// HashContext returns the context_sha256 of a task context: the lowercase
// hex SHA-256 of its bytes, or "" when there is no context.
func HashContext(context string) string {
	if context == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(context))
	return hex.EncodeToString(sum[:])
}

// VerdictLabel returns the human label of a verdict ("approved_with_conditions"
// → "Approved with conditions"); an unknown verdict is returned unchanged.
func VerdictLabel(v Verdict) string {
	switch v {
	case VerdictApproved:
		return "Approved"
	case VerdictApprovedWithConditions:
		return "Approved with conditions"
	case VerdictNeedsReview:
		return "Needs review"
	case VerdictRejected:
		return "Rejected"
	}
	return string(v)
}

// Seal sets Schema when it is empty and sets ContentHash to "sha256:" + the
// hex SHA-256 of the canonical form of the receipt without content_hash and
// signature. It leaves Signature alone: re-sign after changing a signed
// receipt. It fails for a NaN or infinite number or a timestamp outside
// years 0–9999.
func (r *Receipt) Seal() error {
	if r.Schema == "" {
		r.Schema = Schema
	}
	h, err := r.computeHash()
	if err != nil {
		return err
	}
	r.ContentHash = h
	return nil
}

// VerifyHash reports whether ContentHash matches a recomputation. It checks
// integrity only, not the signature; see [Verify].
func (r *Receipt) VerifyHash() bool {
	if r == nil || r.ContentHash == "" {
		return false
	}
	h, err := r.computeHash()
	return err == nil && h == r.ContentHash
}

func (r *Receipt) computeHash() (string, error) {
	bp, _ := hashedBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer hashedBufs.Put(bp)
	if c, ok := r.appendHashed(slices.Grow((*bp)[:0], r.hashedSize())); ok {
		sum := sha256.Sum256(c)
		*bp = c[:0] // only the sum leaves
		return hashPrefix + hex.EncodeToString(sum[:]), nil
	}
	t, err := r.tree(false, nil, false)
	if err != nil {
		return "", err
	}
	c, err := Canonical(t)
	if err != nil {
		return "", fmt.Errorf("receipt: seal: %w", err)
	}
	sum := sha256.Sum256(c)
	return hashPrefix + hex.EncodeToString(sum[:]), nil
}

// hashedBufs holds the buffers the hashed form is written into
// (computeHash): it is hashed and dropped.
var hashedBufs sync.Pool // *[]byte

// formatTime formats t in [TimeLayout].
func formatTime(field string, t time.Time) (string, error) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("receipt: %s: year %d outside 0-9999", field, y)
	}
	return u.Format(TimeLayout), nil
}

// tree returns the receipt as an ordered JSON object in the field order of docs/receipts.md#format. It
// is the single source of both the JSON export and the canonical form. With
// tail false, content_hash and signature are left out (the hashed form).
// With tail true, signature is sig, and its value is included only when
// withValue is set (the signed form leaves it out).
func (r *Receipt) tree(tail bool, sig *Signature, withValue bool) (object, error) {
	created, err := formatTime("created_at", r.CreatedAt)
	if err != nil {
		return nil, err
	}
	started, err := formatTime("started_at", r.StartedAt)
	if err != nil {
		return nil, err
	}
	ended, err := formatTime("ended_at", r.EndedAt)
	if err != nil {
		return nil, err
	}
	c := r.Consensus
	var threshold any
	if c.Threshold != nil {
		threshold = *c.Threshold
	}
	dissents := make([]any, len(c.Dissents))
	for i, d := range c.Dissents {
		dissents[i] = object{
			{"agent", d.Agent},
			{"choice", d.Choice},
			{"confidence", d.Confidence},
			{"reasons", nonNil(d.Reasons)},
		}
	}
	agents := make([]any, len(r.Agents))
	for i, a := range r.Agents {
		agents[i] = object{
			{"name", a.Name},
			{"model", a.Model},
			{"stance", a.Stance},
			{"role", a.Role},
			{"weight", a.Weight},
		}
	}
	metadata := r.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	o := make(object, 0, 26)
	o = append(o,
		member{"schema", r.Schema},
		member{"receipt_id", r.ReceiptID},
		member{"debate_id", r.DebateID},
		member{"created_at", created},
		member{"question", r.Question},
		member{"context_sha256", r.ContextSHA256},
		member{"status", r.Status},
		member{"verdict", string(r.Verdict)},
		member{"confidence", r.Confidence},
		member{"final_answer", r.FinalAnswer},
		member{"winner", r.Winner},
		member{"consensus", object{
			{"method", c.Method},
			{"reached", c.Reached},
			{"leader_share", c.LeaderShare},
			{"threshold", threshold},
			{"supporting_agents", nonNil(c.SupportingAgents)},
			{"dissenting_agents", nonNil(c.DissentingAgents)},
			{"abstaining_agents", nonNil(c.AbstainingAgents)},
			{"dissents", dissents},
		}},
		member{"agents", agents},
		member{"rounds_planned", int64(r.RoundsPlanned)},
		member{"rounds_used", int64(r.RoundsUsed)},
		member{"trickster_interventions", int64(r.TricksterInterventions)},
		member{"convergence", object{
			{"detected", r.Convergence.Detected},
			{"final_similarity", r.Convergence.FinalSimilarity},
		}},
		member{"usage", object{
			{"input_tokens", int64(r.Usage.InputTokens)},
			{"output_tokens", int64(r.Usage.OutputTokens)},
			{"total_tokens", int64(r.Usage.TotalTokens)},
			{"cost_usd", r.Usage.CostUSD},
		}},
		member{"started_at", started},
		member{"ended_at", ended},
		member{"duration_ms", r.DurationMS},
		member{"metadata", metadata},
	)
	if !tail {
		return o, nil
	}
	var sv any
	if sig != nil {
		so := object{{"algorithm", sig.Algorithm}, {"key_id", sig.KeyID}}
		if withValue {
			so = append(so, member{"value", sig.Value})
		}
		sv = so
	}
	return append(o, member{"content_hash", r.ContentHash}, member{"signature", sv}), nil
}

// nonNil turns a nil slice into an empty one, so that it is written as [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
