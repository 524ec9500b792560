package consensus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aragora/aragora/similarity"
)

// rule is how a share-based method decides whether a tally reaches
// consensus.
type rule uint8

const (
	ruleMajority  rule = iota // the leader share is > 0.5
	ruleAtLeast               // the leader share is ≥ the threshold
	ruleUnanimous             // one group has every participant's vote
)

// reached reports whether t reaches consensus by rule u with threshold.
func (t *tally) reached(u rule, threshold float64) bool {
	switch u {
	case ruleMajority:
		return t.share > 0.5+eps
	case ruleUnanimous:
		return t.nGroups == 1 && t.nCounted == len(t.order)
	}
	return t.share >= threshold-eps
}

// decideShare is the shared body of the share-based methods: u says
// whether the tally reaches consensus. It groups the options first
// (group may compute a similarity matrix), before the tally's larger
// frame is on the stack (decideTally): in a debate, the vote grouping is
// the deepest path of its goroutine, and a frame more there doubled the
// goroutine's stack (docs/BENCHMARKS.md, section 5). The strings of the
// result, and the texts grouped, share one allocation (resultSlab).
func decideShare(ctx context.Context, in *Input, name MethodName, threshold float64, u rule) (Result, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Result{Method: name}, err
		}
	}
	var buf [small]int32
	opts := options(in)
	slab := resultSlab(in, len(opts))
	gidx, ng := group(in, opts, buf[:0], slab)
	if grouped(in, len(opts)) {
		slab = slab[len(opts):]
	}
	return decideTally(in, opts, gidx, ng, slab, name, threshold, u)
}

// decideTally is decideShare once the options are grouped.
//
//go:noinline
func decideTally(in *Input, opts []Option, gidx []int32, ng int, slab []string, name MethodName, threshold float64, u rule) (Result, error) {
	var b tallyBuf
	t := tallyOf(in, opts, gidx, ng, &b)
	r := t.result(name, ptr(threshold), t.groupList(&slab), t.leader, &slab)
	if t.nCounted == 0 {
		return r, ErrNoVotes
	}
	if t.leader < 0 {
		return r, nil // total weight 0: not reached, confidence 0
	}
	r.Leader = r.Tally[t.leader].Canonical
	r.Winner = t.winnerName()
	r.LeaderShare = t.share
	r.Confidence = t.share
	r.Reached = t.reached(u, threshold)
	return r, nil
}

// Majority reaches consensus when the leader share is > 0.5 (strictly: a
// 1–1 split is not consensus). The zero value is ready to use.
type Majority struct{}

// Name returns "majority".
func (Majority) Name() MethodName { return NameMajority }

// NeedsVotes returns true.
func (Majority) NeedsVotes() bool { return true }

// Decide tallies the votes; see Method.
func (Majority) Decide(ctx context.Context, in Input) (Result, error) {
	return decideShare(ctx, &in, NameMajority, 0.5, ruleMajority)
}

// Supermajority reaches consensus when the leader share is ≥ Threshold
// (ε-tolerant). The zero Threshold means exactly 2/3, so 2 of 3 equal votes
// pass. A Threshold must otherwise lie in (0, 1]: [Validate], and so
// debate.New and [ByName], refuse any other (negative, NaN, infinite, or
// above 1, which no share could reach).
type Supermajority struct{ Threshold float64 }

// Name returns "supermajority".
func (Supermajority) Name() MethodName { return NameSupermajority }

// NeedsVotes returns true.
func (Supermajority) NeedsVotes() bool { return true }

// Decide tallies the votes; see Method.
func (m Supermajority) Decide(ctx context.Context, in Input) (Result, error) {
	th := orDefault(m.Threshold, DefaultSupermajorityThreshold)
	return decideShare(ctx, &in, NameSupermajority, th, ruleAtLeast)
}

// Unanimous reaches consensus when exactly one group received valid votes
// and every participant cast a valid vote (abstainers count as
// non-agreement). The zero value is ready to use.
type Unanimous struct{}

// Name returns "unanimous".
func (Unanimous) Name() MethodName { return NameUnanimous }

// NeedsVotes returns true.
func (Unanimous) NeedsVotes() bool { return true }

// Decide tallies the votes; see Method.
func (Unanimous) Decide(ctx context.Context, in Input) (Result, error) {
	return decideShare(ctx, &in, NameUnanimous, 1, ruleUnanimous)
}

// Weighted reaches consensus when the leader share is ≥ Threshold
// (ε-tolerant); the zero Threshold means 0.6. A Threshold must otherwise
// lie in (0, 1], as for [Supermajority]. Vote weights already carry the
// agent weights (Vote.Weight).
type Weighted struct{ Threshold float64 }

// Name returns "weighted".
func (Weighted) Name() MethodName { return NameWeighted }

// NeedsVotes returns true.
func (Weighted) NeedsVotes() bool { return true }

// Decide tallies the votes; see Method.
func (m Weighted) Decide(ctx context.Context, in Input) (Result, error) {
	th := orDefault(m.Threshold, DefaultWeightedThreshold)
	return decideShare(ctx, &in, NameWeighted, th, ruleAtLeast)
}

func orDefault(v, def float64) float64 {
	if !(v > 0) {
		return def
	}
	return v
}

// Judge decides by the judge's reply in Input.Judgement: consensus is
// reached when its choice resolves (ResolveChoice over the options' agents)
// and it is decided, or the round is final. The winner is the chosen
// proposal's owner, Confidence the judge's stated confidence (clamped to
// [0, 1]), Answer the judge's answer, and supporting/dissenting are
// relative to the chosen proposal's group. A nil Judgement, an
// unresolvable choice or an undecided non-final judgement return
// ErrJudgeFailed with a not reached Result (lists relative to the vote
// leader); the caller then decides by Majority. The zero value is ready to
// use.
type Judge struct{}

// Name returns "judge".
func (Judge) Name() MethodName { return NameJudge }

// NeedsVotes returns true: the debaters still vote for the lists.
func (Judge) NeedsVotes() bool { return true }

// NeedsJudge returns true.
func (Judge) NeedsJudge() bool { return true }

// Decide applies the judgement; see Judge.
func (Judge) Decide(ctx context.Context, in Input) (Result, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Result{Method: NameJudge}, err
		}
	}
	var buf [small]int32
	opts := options(&in)
	slab := resultSlab(&in, len(opts))
	gidx, ng := group(&in, opts, buf[:0], slab)
	if grouped(&in, len(opts)) {
		slab = slab[len(opts):]
	}
	return judgeTally(&in, opts, gidx, ng, slab)
}

// judgeTally is Judge.Decide once the options are grouped (see
// decideShare).
//
//go:noinline
func judgeTally(in *Input, opts []Option, gidx []int32, ng int, slab []string) (Result, error) {
	var b tallyBuf
	t := tallyOf(in, opts, gidx, ng, &b)
	groups := t.groupList(&slab)
	j := in.Judgement
	if j == nil {
		return t.result(NameJudge, nil, groups, t.leader, &slab), ErrJudgeFailed
	}
	chosen := t.resolveChoice(j.Choice)
	if chosen == "" || (!j.Decided && !in.Final) {
		return t.result(NameJudge, nil, groups, t.leader, &slab), ErrJudgeFailed
	}
	g, _ := t.groupOf(chosen)
	r := t.result(NameJudge, nil, groups, g, &slab)
	r.Reached = true
	r.Leader = r.Tally[g].Canonical
	r.Winner = chosen
	if t.total > 0 {
		r.LeaderShare = t.gw[g] / t.total
	}
	r.Confidence = similarity.Clamp01(j.Confidence)
	if strings.TrimSpace(j.Answer) != "" {
		r.Answer = j.Answer
	}
	return r, nil
}

// None never reaches consensus and needs no vote phase: the debate runs all
// rounds and a synthesiser writes the answer. The zero value is ready to
// use.
type None struct{}

// Name returns "none".
func (None) Name() MethodName { return NameNone }

// NeedsVotes returns false.
func (None) NeedsVotes() bool { return false }

// Decide returns Result{Method: "none"}: not reached, with empty lists.
func (None) Decide(ctx context.Context, _ Input) (Result, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Result{Method: NameNone}, err
		}
	}
	return Result{Method: NameNone}, nil
}

// Interface checks.
var (
	_ Method      = Majority{}
	_ Method      = Supermajority{}
	_ Method      = Unanimous{}
	_ Method      = Weighted{}
	_ Method      = Judge{}
	_ Method      = None{}
	_ JudgeNeeder = Judge{}
)

// Validate reports a method whose settings are out of range: a
// Supermajority or Weighted Threshold other than 0 (the default) outside
// (0, 1], including NaN and ±Inf, or a nil *Supermajority or *Weighted. The
// other methods of this package have no setting. debate.New calls it, so a
// debate that could never reach consensus is refused before it starts.
func Validate(m Method) error {
	var name MethodName
	var t float64
	switch v := m.(type) {
	case nil:
		return errors.New("consensus: no method")
	case Supermajority:
		name, t = NameSupermajority, v.Threshold
	case Weighted:
		name, t = NameWeighted, v.Threshold
	case *Supermajority:
		if v == nil {
			return errors.New("consensus: nil *Supermajority")
		}
		name, t = NameSupermajority, v.Threshold
	case *Weighted:
		if v == nil {
			return errors.New("consensus: nil *Weighted")
		}
		name, t = NameWeighted, v.Threshold
	default:
		return nil
	}
	if !validThreshold(t) {
		return fmt.Errorf("consensus: %s Threshold %v out of range (0, 1]", name, t)
	}
	return nil
}

// validThreshold reports whether t is 0 (the method's default) or lies in
// (0, 1].
func validThreshold(t float64) bool { return t == 0 || t > 0 && t <= 1 }

// ThresholdOf returns the share threshold m applies: 0.5 for majority, 1
// for unanimous, the configured (or default) threshold for supermajority
// and weighted, and nil for judge, none and methods it does not know.
func ThresholdOf(m Method) *float64 {
	var t float64
	switch v := m.(type) {
	case Majority, *Majority:
		t = 0.5
	case Unanimous, *Unanimous:
		t = 1
	case Supermajority:
		t = orDefault(v.Threshold, DefaultSupermajorityThreshold)
	case *Supermajority:
		t = orDefault(v.Threshold, DefaultSupermajorityThreshold)
	case Weighted:
		t = orDefault(v.Threshold, DefaultWeightedThreshold)
	case *Weighted:
		t = orDefault(v.Threshold, DefaultWeightedThreshold)
	default:
		return nil
	}
	return &t
}
