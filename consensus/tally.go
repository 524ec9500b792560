package consensus

import (
	"math"
	"slices"

	"github.com/aragora/aragora/similarity"
)

// GroupOptions groups in.Options greedily (docs/debate.md#consensus) and returns the
// members of each group in agent order, groups ordered by their canonical
// (first) member. Unless in.DisableGrouping, the first ungrouped option
// becomes a group's canonical member and every later ungrouped option whose
// similarity to the canonical text is ≥ the threshold joins it; this is not
// a transitive closure. Options with an empty or repeated agent name are
// ignored.
func GroupOptions(in Input) [][]string {
	opts := options(&in)
	idx := groupIndices(&in, opts)
	out := make([][]string, len(idx))
	for g, members := range idx {
		for _, i := range members {
			out[g] = append(out[g], opts[i].Agent)
		}
	}
	return out
}

// options returns in.Options without empty or repeated agents.
func options(in *Input) []Option {
	out := make([]Option, 0, len(in.Options))
	for _, o := range in.Options {
		if o.Agent == "" || slices.ContainsFunc(out, func(p Option) bool { return p.Agent == o.Agent }) {
			continue
		}
		out = append(out, o)
	}
	return out
}

func groupIndices(in *Input, opts []Option) [][]int {
	n := len(opts)
	var m [][]float64
	if !in.DisableGrouping && n > 1 {
		sim := in.Similarity
		if sim == nil {
			sim = similarity.TFIDF{}
		}
		texts := make([]string, n)
		for i, o := range opts {
			texts[i] = o.Text
		}
		m = sim.Matrix(texts)
		if len(m) != n {
			m = nil // a malformed custom backend: do not group
		}
	}
	threshold := in.GroupingThreshold
	if !(threshold > 0) {
		threshold = DefaultGroupingThreshold
	}
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

// tally is the vote count shared by every method. Debates have few
// participants: names are looked up in slices, in agent order.
type tally struct {
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

// optionOf returns the index of option agent name, or -1.
func (t *tally) optionOf(name string) int { return slices.Index(t.opts, name) }

// groupOf returns the group index of option agent name; false if it is
// not an option.
func (t *tally) groupOf(name string) (int, bool) {
	if i := t.optionOf(name); i >= 0 {
		return t.groupIdx[i], true
	}
	return 0, false
}

// count tallies in's votes. It groups the options first (groupIndices may
// compute a similarity matrix), before tallied's larger frame is on the
// stack: in a debate, the vote grouping is the deepest path of its
// goroutine, and a frame more there doubled the goroutine's stack
// (docs/BENCHMARKS.md, section 5).
func count(in *Input) tally {
	opts := options(in)
	return tallied(in, opts, groupIndices(in, opts))
}

// tallied is count once the options are grouped (grouped[g] lists the
// indices of group g's options).
func tallied(in *Input, opts []Option, grouped [][]int) tally {
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.Agent
	}
	t := tally{opts: names, groupIdx: make([]int, len(opts)), direct: make([]float64, len(opts)), leader: -1}
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
		if _, ok := t.groupOf(v.Resolved); !ok {
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
		i := t.optionOf(v.Resolved)
		g := t.groupIdx[i]
		t.groups[g].Weight += v.Weight
		t.direct[i] += v.Weight
		voted[g] = true
	}
	for g := range t.groups {
		t.total += t.groups[g].Weight
		if voted[g] {
			t.nGroups++
		}
	}
	if !(t.total > 0) {
		return t
	}
	best := math.Inf(-1)
	for _, g := range t.groups {
		best = math.Max(best, g.Weight)
	}
	for g := range t.groups {
		if t.groups[g].Weight >= best-eps {
			t.leader = g
			break
		}
	}
	t.share = t.groups[t.leader].Weight / t.total
	t.winner = t.topMember(t.leader)
	return t
}

// topMember returns the member of group g with the largest direct vote
// weight, ties by agent order.
func (t *tally) topMember(g int) string {
	best, who := math.Inf(-1), ""
	for _, m := range t.groups[g].Members {
		if w := t.direct[t.optionOf(m)]; w > best+eps {
			best, who = w, m
		}
	}
	return who
}

// Tally groups the options, counts the valid votes and returns the groups
// with their weights, the leading group's canonical agent, the winning
// proposal's owner and the leader share (docs/debate.md#consensus). With a total
// weight of 0, leader and winner are "" and share is 0.
func Tally(in Input) (groups []Group, leader, winner string, share float64) {
	t := count(&in)
	if t.leader >= 0 {
		leader = t.groups[t.leader].Canonical
	}
	return t.groups, leader, t.winner, t.share
}

// result fills the fields common to every voting method, with supporting
// and dissenting relative to group g (-1: nobody supports).
func (t *tally) result(method MethodName, threshold *float64, g int) Result {
	r := Result{
		Method:     method,
		Threshold:  threshold,
		Tally:      t.groups,
		Supporting: []string{},
		Dissenting: []string{},
		Abstaining: []string{},
		Dissents:   []Dissent{},
	}
	if r.Tally == nil {
		r.Tally = []Group{}
	}
	// The three lists part t.order: they share one allocation, and the
	// dissents' reasons another.
	var n [3]int
	for k := range t.order {
		n[t.side(k, g)]++
	}
	if len(t.order) > 0 {
		all := make([]string, len(t.order))
		s, d := n[sideSupports], n[sideSupports]+n[sideDissents]
		r.Supporting, r.Dissenting, r.Abstaining = all[:0:s], all[s:s:d], all[d:d]
	}
	var reasons []string
	if nd := n[sideDissents]; nd > 0 {
		r.Dissents, reasons = make([]Dissent, 0, nd), make([]string, nd)
	}
	for k, p := range t.order {
		switch t.side(k, g) {
		case sideAbstains:
			r.Abstaining = append(r.Abstaining, p)
		case sideSupports:
			r.Supporting = append(r.Supporting, p)
		default:
			r.Dissenting = append(r.Dissenting, p)
			v := &t.counted[k]
			i := len(r.Dissents)
			if reasons[i] = v.Reasoning; reasons[i] == "" {
				reasons[i] = NoReason
			}
			r.Dissents = append(r.Dissents, Dissent{Agent: p, Choice: v.Resolved, Confidence: v.Confidence, Reasons: reasons[i : i+1 : i+1]})
		}
	}
	return r
}

// The sides of a participant in a result.
const (
	sideSupports = iota
	sideDissents
	sideAbstains
)

// side returns the side of t.order[k] relative to group g (-1: nobody
// supports): abstains without a counted vote, supports with a vote in g,
// else dissents.
func (t *tally) side(k, g int) int {
	switch {
	case !t.has[k]:
		return sideAbstains
	case g >= 0 && t.groupIdx[t.optionOf(t.counted[k].Resolved)] == g:
		return sideSupports
	}
	return sideDissents
}
