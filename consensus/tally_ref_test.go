package consensus

// The tally as it was before it kept its arrays on the stack (and
// docs/debate.md#consensus describes it), for the differential tests of
// tally_test.go.

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/aragora/aragora/similarity"
)

// refGroupOptions groups in.Options greedily (docs/debate.md#consensus) and returns the
// members of each group in agent order, groups ordered by their canonical
// (first) member. Unless in.DisableGrouping, the first ungrouped option
// becomes a group's canonical member and every later ungrouped option whose
// similarity to the canonical text is ≥ the threshold joins it; this is not
// a transitive closure. Options with an empty or repeated agent name are
// ignored.
func refGroupOptions(in Input) [][]string {
	opts := refOptions(&in)
	idx := refGroupIndices(&in, opts)
	out := make([][]string, len(idx))
	for g, members := range idx {
		for _, i := range members {
			out[g] = append(out[g], opts[i].Agent)
		}
	}
	return out
}

// refOptions returns in.Options without empty or repeated agents.
func refOptions(in *Input) []Option {
	out := make([]Option, 0, len(in.Options))
	for _, o := range in.Options {
		if o.Agent == "" || slices.ContainsFunc(out, func(p Option) bool { return p.Agent == o.Agent }) {
			continue
		}
		out = append(out, o)
	}
	return out
}

func refGroupIndices(in *Input, opts []Option) [][]int {
	n := len(opts)
	m := matrixOf(in, opts, nil) // as it was
	threshold := groupingThreshold(in)
	grouped := make([]bool, n)
	var groups [][]int
	if n > 0 {
		groups = make([][]int, 0, n)
	}
	members := make([]int, 0, n) // every group's, each group's in a row
	for i := range n {
		if grouped[i] {
			continue
		}
		grouped[i] = true
		start := len(members)
		members = append(members, i)
		if m != nil && len(m[i]) == n {
			for j := i + 1; j < n; j++ {
				if !grouped[j] && m[i][j] >= threshold-eps {
					grouped[j] = true
					members = append(members, j)
				}
			}
		}
		groups = append(groups, members[start:len(members):len(members)])
	}
	return groups
}

// refTally is the vote count shared by every method. Debates have few
// participants: names are looked up in slices, in agent order.
type refTally struct {
	order    []string // participants, agent order
	counted  []Vote   // by order index: the vote that counts (Resolved filled)
	has      []bool   // by order index: whether counted holds a vote
	nCounted int
	opts     []string  // option agents
	groupIdx []int     // by option: its group index
	direct   []float64 // by option: the weight of the votes for it
	groups   []Group   // canonical agent order
	total    float64
	leader   int // group index, -1 if none
	winner   string
	share    float64
	nGroups  int // groups with at least one counted vote
}

// refOptionOf returns the index of option agent name, or -1.
func (t *refTally) refOptionOf(name string) int { return slices.Index(t.opts, name) }

// refGroupOf returns the group index of option agent name; false if it is
// not an option.
func (t *refTally) refGroupOf(name string) (int, bool) {
	if i := t.refOptionOf(name); i >= 0 {
		return t.groupIdx[i], true
	}
	return 0, false
}

// refCount tallies in's votes. It groups the options first (refGroupIndices may
// compute a similarity matrix), before tallied's larger frame is on the
// stack: in a debate, the vote grouping is the deepest path of its
// goroutine, and a frame more there doubled the goroutine's stack
// (docs/BENCHMARKS.md, section 5).
func refCount(in *Input) refTally {
	opts := refOptions(in)
	return refTallied(in, opts, refGroupIndices(in, opts))
}

// refTallied is refCount once the options are grouped (grouped[g] lists the
// indices of group g's options).
func refTallied(in *Input, opts []Option, grouped [][]int) refTally {
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.Agent
	}
	t := refTally{opts: names, groupIdx: make([]int, len(opts)), direct: make([]float64, len(opts)), leader: -1}
	if len(opts) > 0 { // with no option the tally stays nil
		t.groups = make([]Group, 0, len(opts))
	}
	if n := max(len(in.Participants), len(in.Votes)); n > 0 {
		t.order = make([]string, 0, n)
	}
	all := make([]string, 0, len(opts)) // the groups' members, one allocation
	for g, members := range grouped {
		start := len(all)
		for _, i := range members {
			all = append(all, opts[i].Agent)
			t.groupIdx[i] = g
		}
		t.groups = append(t.groups, Group{Canonical: opts[members[0]].Agent, Members: all[start:len(all):len(all)]})
	}

	// Agent order: the participants, or else the voters in vote order.
	src := in.Participants
	if len(src) == 0 {
		src = make([]string, 0, len(in.Votes))
		for _, v := range in.Votes {
			src = append(src, v.Voter)
		}
	}
	for _, p := range src {
		if p != "" && !slices.Contains(t.order, p) {
			t.order = append(t.order, p)
		}
	}
	t.counted = make([]Vote, len(t.order))
	t.has = make([]bool, len(t.order))

	for _, v := range in.Votes {
		if !v.Valid {
			continue
		}
		k := slices.Index(t.order, v.Voter)
		if k < 0 || t.has[k] {
			continue
		}
		if v.Resolved == "" {
			v.Resolved = ResolveChoice(v.Choice, names)
		}
		if _, ok := t.refGroupOf(v.Resolved); !ok {
			continue
		}
		v.Weight = validWeight(v.Weight)
		t.counted[k], t.has[k] = v, true
		t.nCounted++
	}

	voted := make([]bool, len(t.groups))
	for k := range t.order { // sums in agent order
		if !t.has[k] {
			continue
		}
		v := &t.counted[k]
		i := t.refOptionOf(v.Resolved)
		g := t.groupIdx[i]
		t.groups[g].Weight += v.Weight
		t.direct[i] += v.Weight
		voted[g] = true
	}
	for g, grp := range t.groups {
		t.total += grp.Weight
		if voted[g] {
			t.nGroups++
		}
	}
	if !(t.total > 0) {
		return t
	}
	// The leader is the first group within eps of every other (of the
	// heaviest).
	for g := 0; t.leader < 0; g++ {
		lead := true
		for _, h := range t.groups {
			lead = lead && t.groups[g].Weight >= h.Weight-eps
		}
		if lead {
			t.leader = g
		}
	}
	t.share = t.groups[t.leader].Weight / t.total
	t.winner = t.refTopMember(t.leader)
	return t
}

// refTopMember returns the member of group g with the largest direct vote
// weight, ties by agent order.
func (t *refTally) refTopMember(g int) string {
	best, who := math.Inf(-1), ""
	for _, m := range t.groups[g].Members {
		if w := t.direct[t.refOptionOf(m)]; w > best+eps {
			best, who = w, m
		}
	}
	return who
}

// refTallyFn groups the options, counts the valid votes and returns the groups
// with their weights, the leading group's canonical agent, the winning
// proposal's owner and the leader share (docs/debate.md#consensus). With a total
// weight of 0, leader and winner are "" and share is 0.
func refTallyFn(in Input) (groups []Group, leader, winner string, share float64) {
	t := refCount(&in)
	if t.leader >= 0 {
		leader = t.groups[t.leader].Canonical
	}
	return t.groups, leader, t.winner, t.share
}

// refResult fills the fields common to every voting method, with supporting
// and dissenting relative to group g (-1: nobody supports): the lists
// as the tally made them, here without their shared allocations.
func (t *refTally) refResult(method MethodName, threshold *float64, g int) Result {
	r := Result{Method: method, Threshold: threshold, Tally: t.groups,
		Supporting: []string{}, Dissenting: []string{}, Abstaining: []string{}, Dissents: []Dissent{}}
	if r.Tally == nil {
		r.Tally = []Group{}
	}
	for k, p := range t.order {
		if !t.has[k] {
			r.Abstaining = append(r.Abstaining, p)
			continue
		}
		v := t.counted[k]
		if g >= 0 && t.groupIdx[t.refOptionOf(v.Resolved)] == g {
			r.Supporting = append(r.Supporting, p)
			continue
		}
		r.Dissenting = append(r.Dissenting, p)
		reason := v.Reasoning
		if reason == "" {
			reason = NoReason
		}
		r.Dissents = append(r.Dissents, Dissent{Agent: p, Choice: v.Resolved, Confidence: v.Confidence, Reasons: []string{reason}})
	}
	return r
}

// refDecideShare is the shared body of the share-based methods: reached
// reports whether the tally reaches consensus.
func refDecideShare(ctx context.Context, in *Input, name MethodName, threshold float64, reached func(t *refTally) bool) (Result, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Result{Method: name}, err
		}
	}
	t := refCount(in)
	r := t.refResult(name, ptr(threshold), t.leader)
	if t.nCounted == 0 {
		return r, ErrNoVotes
	}
	if t.leader < 0 {
		return r, nil // total weight 0: not reached, confidence 0
	}
	r.Leader = t.groups[t.leader].Canonical
	r.Winner = t.winner
	r.LeaderShare = t.share
	r.Confidence = t.share
	r.Reached = reached(&t)
	return r, nil
}

func refJudge(ctx context.Context, in Input) (Result, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Result{Method: NameJudge}, err
		}
	}
	t := refCount(&in)
	failed := t.refResult(NameJudge, nil, t.leader)
	j := in.Judgement
	if j == nil {
		return failed, ErrJudgeFailed
	}
	names := make([]string, 0, len(t.opts))
	for _, o := range refOptions(&in) {
		names = append(names, o.Agent)
	}
	chosen := ResolveChoice(j.Choice, names)
	if chosen == "" || (!j.Decided && !in.Final) {
		return failed, ErrJudgeFailed
	}
	g, _ := t.refGroupOf(chosen)
	r := t.refResult(NameJudge, nil, g)
	r.Reached = true
	r.Leader = t.groups[g].Canonical
	r.Winner = chosen
	if t.total > 0 {
		r.LeaderShare = t.groups[g].Weight / t.total
	}
	r.Confidence = similarity.Clamp01(j.Confidence)
	if strings.TrimSpace(j.Answer) != "" {
		r.Answer = j.Answer
	}
	return r, nil
}

// refDecide is m.Decide as it was.
func refDecide(ctx context.Context, m Method, in Input) (Result, error) {
	switch m := m.(type) {
	case Majority:
		return refDecideShare(ctx, &in, NameMajority, 0.5, func(t *refTally) bool { return t.share > 0.5+eps })
	case Supermajority:
		th := orDefault(m.Threshold, DefaultSupermajorityThreshold)
		return refDecideShare(ctx, &in, NameSupermajority, th, func(t *refTally) bool { return t.share >= th-eps })
	case Unanimous:
		return refDecideShare(ctx, &in, NameUnanimous, 1, func(t *refTally) bool {
			return t.nGroups == 1 && t.nCounted == len(t.order)
		})
	case Weighted:
		th := orDefault(m.Threshold, DefaultWeightedThreshold)
		return refDecideShare(ctx, &in, NameWeighted, th, func(t *refTally) bool { return t.share >= th-eps })
	case Judge:
		return refJudge(ctx, in)
	}
	panic("refDecide: unknown method")
}
