// Package consensus decides a debate round from its votes (docs/debate.md#consensus).
//
// A [Method] turns an [Input] (the round's proposals, the resolved and
// weighted votes, and for [Judge] the judge's reply) into a [Result]. The
// methods are [Majority], [Supermajority], [Unanimous], [Weighted], [Judge]
// and [None]; [ByName] picks one from configuration.
//
// Every method shares the same tally: proposals whose texts are similar
// are grouped greedily ([Group]), each valid vote counts its weight for its
// proposal's group, and the heaviest group leads ([Tally]). Ties go to agent
// order, float comparisons use ε = 1e-9 and sums run in agent order, so
// results are deterministic. Methods are stateless values, safe for
// concurrent use; Decide makes no calls and never blocks.
//
// This package imports agent, similarity and the standard library.
package consensus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/internal/enum"
	"github.com/aragora/aragora/similarity"
)

// eps is the tolerance of every float comparison (docs/debate.md#conventions).
const eps = 1e-9

// Defaults.
const (
	DefaultGroupingThreshold      = 0.85
	DefaultSupermajorityThreshold = 2.0 / 3
	DefaultWeightedThreshold      = 0.6
	// NoReason is the dissent reason recorded for an empty reasoning.
	NoReason = "(no reason given)"
)

// MethodName is the configuration name of a consensus method
// (docs/debate.md#consensus). Its JSON form is the name; decoding rejects
// an unknown name.
type MethodName string

// Method names.
const (
	NameMajority      MethodName = "majority"
	NameSupermajority MethodName = "supermajority"
	NameUnanimous     MethodName = "unanimous"
	NameWeighted      MethodName = "weighted"
	NameJudge         MethodName = "judge"
	NameNone          MethodName = "none"
)

// MethodNames lists every MethodName.
var MethodNames = []MethodName{NameMajority, NameSupermajority, NameUnanimous, NameWeighted, NameJudge, NameNone}

// ParseMethodName returns the MethodName s; an unknown name is an error
// (ByName is the lenient lookup of a method).
func ParseMethodName(s string) (MethodName, error) {
	return enum.Parse("consensus: method", s, MethodNames)
}

func (n MethodName) String() string { return string(n) }

// MarshalText returns n as text.
func (n MethodName) MarshalText() ([]byte, error) { return []byte(n), nil }

// UnmarshalText sets n from text, rejecting an unknown name.
func (n *MethodName) UnmarshalText(b []byte) error {
	return enum.Unmarshal(n, b, "consensus: method", MethodNames)
}

var (
	// ErrNoVotes reports a round without any valid vote. Decide still
	// returns a filled, not reached Result with it.
	ErrNoVotes = errors.New("consensus: no valid votes")
	// ErrJudgeFailed reports a judge that failed, gave no usable choice, or
	// did not decide in a non-final round. The caller decides the round by
	// Majority instead (docs/debate.md#consensus).
	ErrJudgeFailed = errors.New("consensus: judge failed")
)

// Option is a current proposal: its owner and text.
type Option struct {
	Agent string `json:"agent"`
	Text  string `json:"text"`
}

// Vote is one participant's resolved vote. The caller resolves Choice to
// Resolved (see ResolveChoice), marks invalid votes (unresolvable, naming
// no current proposal, a forbidden self-vote) with Valid false, and sets
// Weight = Confidence × the voter's agent weight.
type Vote struct {
	Voter      string  `json:"voter"`
	Choice     string  `json:"choice"`
	Resolved   string  `json:"resolved"`
	Valid      bool    `json:"valid"`
	Confidence float64 `json:"confidence"`
	Weight     float64 `json:"weight"`
	Reasoning  string  `json:"reasoning"`
}

// Input is everything a Method needs to decide one round.
type Input struct {
	Question string
	Round    int
	Final    bool // the last round: any valid judge choice counts
	// Participants lists every participant in agent order; those without a
	// valid vote abstain. Votes from voters not listed here are ignored
	// (when Participants is empty, the voters in vote order are used).
	Participants []string
	// Options are the current proposals in agent order.
	Options []Option
	// Votes are in agent order; only the first valid vote of a voter counts.
	// A vote counts only if Valid and its Resolved names an option's agent
	// (an empty Resolved is resolved from Choice with ResolveChoice).
	Votes     []Vote
	Critiques []agent.Critique
	// Similarity groups options; nil means similarity.TFIDF{}.
	Similarity similarity.Similarity
	// GroupingThreshold is the similarity at which options are grouped;
	// ≤ 0 means 0.85.
	GroupingThreshold float64
	// DisableGrouping puts every option in its own group.
	DisableGrouping bool
	// Judgement is the judge's reply (judge method only); nil means the
	// judge call failed.
	Judgement *agent.Judgement
}

// Group is a group of similar options and the weight of its votes.
type Group struct {
	Canonical string   `json:"canonical"` // the first member in agent order
	Members   []string `json:"members"`   // agent order
	Weight    float64  `json:"weight"`
}

// Dissent records a dissenting vote.
type Dissent struct {
	Agent      string   `json:"agent"`
	Choice     string   `json:"choice"` // the proposal owner voted for
	Confidence float64  `json:"confidence"`
	Reasons    []string `json:"reasons"`
}

// Result is the decision of one round.
type Result struct {
	Method  MethodName `json:"method"`
	Reached bool       `json:"reached"`
	// Leader is the canonical agent of the leading group ("" if none).
	Leader string `json:"leader"`
	// Winner is the owner of the winning proposal ("" if none).
	Winner      string  `json:"winner"`
	LeaderShare float64 `json:"leader_share"`
	// Confidence is the leader share, or the judge's stated confidence.
	Confidence float64 `json:"confidence"`
	// Threshold is nil for judge and none; 0.5 for majority, 1 for unanimous.
	Threshold  *float64    `json:"threshold"`
	Tally      []Group     `json:"tally"`
	Supporting []string    `json:"supporting"` // agent order
	Dissenting []string    `json:"dissenting"` // agent order
	Abstaining []string    `json:"abstaining"` // agent order
	Dissents   []Dissent   `json:"dissents"`   // agent order
	Answer     string      `json:"answer"`     // the judge's answer, if any
	Usage      agent.Usage `json:"usage"`
}

// Method decides a round. Implementations must be safe for concurrent use.
type Method interface {
	// Name is the method's configuration name ("majority").
	Name() MethodName
	// NeedsVotes reports whether the debate must run a vote phase.
	NeedsVotes() bool
	// Decide returns the round's Result. Not reaching consensus is a
	// Result, not an error; Decide errs only when it cannot decide
	// (ErrNoVotes, ErrJudgeFailed, or ctx's error).
	Decide(ctx context.Context, in Input) (Result, error)
}

// JudgeNeeder is an optional Method capability: a method that needs a
// judge call before Decide (Input.Judgement).
type JudgeNeeder interface {
	NeedsJudge() bool
}

// NeedsJudge reports whether m needs a judge call, that is whether it
// implements JudgeNeeder and says so.
func NeedsJudge(m Method) bool {
	j, ok := m.(JudgeNeeder)
	return ok && j.NeedsJudge()
}

// ByName returns the method called name (ignoring case and surrounding
// space; "" means majority). threshold 0 means the method's default; it is
// used by supermajority and weighted and must otherwise still lie in
// (0, 1].
func ByName(name string, threshold float64) (Method, error) {
	if !validThreshold(threshold) {
		return nil, fmt.Errorf("consensus: threshold %v out of (0, 1]", threshold)
	}
	switch MethodName(strings.ToLower(strings.TrimSpace(name))) {
	case NameMajority, "":
		return Majority{}, nil
	case NameSupermajority:
		return Supermajority{Threshold: threshold}, nil
	case NameUnanimous:
		return Unanimous{}, nil
	case NameWeighted:
		return Weighted{Threshold: threshold}, nil
	case NameJudge:
		return Judge{}, nil
	case NameNone:
		return None{}, nil
	}
	return nil, fmt.Errorf("consensus: unknown method %q (want majority, supermajority, unanimous, weighted, judge or none)", name)
}

// ResolveChoice resolves a vote's choice to a name (docs/debate.md#consensus), trying
// in order: the exact name; the name ignoring case; a name contained in the
// choice as a whole word (the earliest occurrence, then the longest name,
// ignoring case); the choice being a prefix of exactly one name (ignoring
// case). It returns "" when none applies. Surrounding space is ignored.
func ResolveChoice(choice string, names []string) string {
	c := strings.TrimSpace(choice)
	if c == "" {
		return ""
	}
	for _, n := range names {
		if n == c {
			return n
		}
	}
	for _, n := range names {
		if n != "" && strings.EqualFold(n, c) {
			return n
		}
	}
	lc := strings.ToLower(c)
	best, bestPos := "", -1
	for _, n := range names {
		ln := strings.ToLower(n)
		if strings.TrimSpace(ln) == "" {
			continue
		}
		pos := similarity.WordIndex(lc, ln)
		if pos >= 0 && (bestPos < 0 || pos < bestPos || (pos == bestPos && len(ln) > len(best))) {
			best, bestPos = n, pos
		}
	}
	if bestPos >= 0 {
		return best
	}
	match := ""
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), lc) {
			if match != "" && match != n {
				return ""
			}
			match = n
		}
	}
	return match
}

func ptr(f float64) *float64 { return &f }

// validWeight returns w if it is a finite positive number, else 0.
func validWeight(w float64) float64 {
	if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		return 0
	}
	return w
}
