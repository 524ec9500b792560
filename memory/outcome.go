package memory

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DebateOutcome is what a finished debate teaches the memory.
type DebateOutcome struct {
	DebateID    string
	Question    string
	Domain      string
	Status      string // the debate's final status
	Verdict     string
	Winner      string
	FinalAnswer string
	Confidence  float64
	Consensus   bool // consensus was reached
	// Used are the ids of the entries that informed the debate.
	Used []string
	// Critiques are the critiques that changed minds: their target
	// revised the proposal afterwards.
	Critiques []CritiqueNote
}

// CritiqueNote is one critique issue worth remembering.
type CritiqueNote struct {
	Critic   string
	Target   string
	Issue    string
	Severity float64 // 0-10
}

// OutcomeID is the id of a debate's outcome entry.
func OutcomeID(debateID string) string { return EntryID(KindOutcome, "", "debate "+debateID) }

// Success reports whether o counts as a success for the entries it used:
// consensus reached with confidence at least Config.HighConfidence.
func (c *Continuum) Success(o DebateOutcome) bool {
	return o.Consensus && o.Confidence >= c.cfg.HighConfidence-1e-9
}

// RecordDebate records a finished debate (docs/memory.md#what-debates-record):
// each entry it used gets an outcome update (Observe; success per
// Success), each critique note becomes (or refreshes) a critique_pattern
// entry of the debate's domain, and the outcome becomes an outcome entry
// with id OutcomeID(o.DebateID). Recording a debate twice changes nothing
// the second time.
func (c *Continuum) RecordDebate(ctx context.Context, o DebateOutcome) error {
	if o.DebateID == "" {
		return fmt.Errorf("%w: outcome without debate id", ErrInvalid)
	}
	id := OutcomeID(o.DebateID)
	if _, err := c.cfg.Store.GetMemory(ctx, id); err == nil {
		return nil
	} else if !isNotFound(err) {
		return err
	}
	ok := c.Success(o)
	for _, u := range o.Used {
		if _, err := c.Observe(ctx, u, ok); err != nil && !isNotFound(err) {
			return err
		}
	}
	for _, n := range o.Critiques {
		issue := strings.TrimSpace(n.Issue)
		if issue == "" {
			continue
		}
		content := "Critics flagged: " + truncate(issue, 500)
		imp := min(1, DefaultImportance+n.Severity/20)
		if _, err := c.Add(ctx, Entry{Kind: KindCritiquePattern, Domain: o.Domain, Content: content, Importance: imp,
			Source: o.DebateID}); err != nil {
			return err
		}
	}
	verdict := o.Verdict
	if verdict == "" {
		verdict = "none"
	}
	content := fmt.Sprintf("Earlier debate %q ended %s (verdict %s, confidence %.2f)", truncate(o.Question, 200), o.Status, verdict, o.Confidence)
	if o.Winner != "" {
		content += "; winning proposal by " + o.Winner
	}
	if a := strings.TrimSpace(o.FinalAnswer); a != "" {
		content += ": " + truncate(a, 400)
	}
	imp := DefaultImportance
	if ok {
		imp = 0.6
	}
	_, err := c.Add(ctx, Entry{ID: id, Kind: KindOutcome, Domain: o.Domain, Content: content, Importance: imp, Source: o.DebateID})
	return err
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
