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
	gidx, ng := group(&in, opts, nil, nil)
	out := make([][]string, ng)
	for i, g := range gidx { // a group's members are in agent order
		out[g] = append(out[g], opts[i].Agent)
	}
	return out
}

// small is the number of options and participants the count keeps in
// arrays on the stack; larger debates get slices of their own.
const small = 8

// options returns in.Options without empty or repeated agents: in.Options
// itself when it has none (it is only read).
func options(in *Input) []Option {
	all := in.Options
	for k := range all {
		if a := all[k].Agent; a == "" || hasAgent(all[:k], a) {
			out := make([]Option, k, len(all)-1)
			copy(out, all[:k])
			for _, o := range all[k+1:] {
				if o.Agent != "" && !hasAgent(out, o.Agent) {
					out = append(out, o)
				}
			}
			return out
		}
	}
	return all
}

// hasAgent reports whether an option of opts is agent's.
func hasAgent(opts []Option, agent string) bool { return agentIndex(opts, agent) >= 0 }

// agentIndex returns the index of agent's option in opts, or -1.
func agentIndex(opts []Option, agent string) int {
	for i := range opts {
		if opts[i].Agent == agent {
			return i
		}
	}
	return -1
}

// grouped reports whether the options of in are compared for grouping (n
// options, without empty or repeated agents).
func grouped(in *Input, n int) bool { return !in.DisableGrouping && n > 1 }

// group returns the group of each of opts, the options of in, in gidx
// (buf's memory when it has room), and the number of groups. Groups are
// numbered in the order of their canonical (first) member and list their
// members in agent order, so gidx says all a list of each group's members
// would. The texts compared go in texts when it has room.
func group(in *Input, opts []Option, buf []int32, texts []string) (gidx []int32, ng int) {
	n := len(opts)
	gidx = buf[:0]
	if cap(gidx) < n {
		gidx = make([]int32, 0, n)
	}
	gidx = gidx[:n]
	m := matrixOf(in, opts, texts)
	threshold := groupingThreshold(in)
	for i := range gidx {
		gidx[i] = -1
	}
	for i := range n {
		if gidx[i] >= 0 {
			continue
		}
		gidx[i] = int32(ng)
		if m != nil && len(m[i]) == n {
			row := m[i]
			for j := i + 1; j < n; j++ {
				if gidx[j] < 0 && row[j] >= threshold-eps {
					gidx[j] = int32(ng)
				}
			}
		}
		ng++
	}
	return gidx, ng
}

// matrixOf returns the similarity matrix of the texts of opts, the
// options of in, written to texts when it has room; nil when they are not
// compared or the backend's matrix is malformed.
func matrixOf(in *Input, opts []Option, texts []string) [][]float64 {
	n := len(opts)
	if !grouped(in, n) {
		return nil
	}
	sim := in.Similarity
	if sim == nil {
		sim = similarity.TFIDF{}
	}
	if len(texts) < n {
		texts = make([]string, n)
	}
	texts = texts[:n:n]
	for i := range opts {
		texts[i] = opts[i].Text
	}
	m := sim.Matrix(texts)
	if len(m) != n {
		return nil // a malformed custom backend: do not group
	}
	return m
}

// groupingThreshold is the similarity from which options group.
func groupingThreshold(in *Input) float64 {
	if t := in.GroupingThreshold; t > 0 {
		return t
	}
	return DefaultGroupingThreshold
}

// tally is the vote count shared by every method. Debates have few
// participants: names are looked up in slices, in agent order, which
// tallyOf places in a tallyBuf on its caller's stack when they fit.
type tally struct {
	opts []Option
	gidx []int32 // by option: its group index
	ng   int     // groups
	// votes are the Input's; order are the participants, agent order.
	votes []Vote
	order []string
	// By order index: the index in votes of the vote that counts (-1:
	// none), the option it is for and its weight.
	vote     []int32
	opt      []int32
	weight   []float64
	direct   []float64 // by option: the weight of the votes for it
	gw       []float64 // by group: its weight
	nCounted int
	total    float64
	leader   int // group index, -1 if none
	winner   int // option index, -1 if none
	share    float64
	nGroups  int // groups with at least one counted vote
}

// tallyBuf holds a tally of up to small options and participants.
type tallyBuf struct {
	order              [small]string
	vote, opt          [small]int32
	weight, direct, gw [small]float64
	voted              [small]bool
}

// optionOf returns the index of option agent name, or -1.
func (t *tally) optionOf(name string) int { return agentIndex(t.opts, name) }

// groupOf returns the group index of option agent name; false if it is
// not an option.
func (t *tally) groupOf(name string) (int, bool) {
	if i := t.optionOf(name); i >= 0 {
		return int(t.gidx[i]), true
	}
	return 0, false
}

// resolveChoice is ResolveChoice over the option agents.
func (t *tally) resolveChoice(choice string) string {
	var nb [small]string
	names := nb[:0]
	if len(t.opts) > small {
		names = make([]string, 0, len(t.opts))
	}
	for i := range t.opts {
		names = append(names, t.opts[i].Agent)
	}
	return ResolveChoice(choice, names)
}

// orderOf returns the participants of in in agent order, appended to
// order: in.Participants, or else the voters in vote order, without empty
// or repeated names.
func orderOf(in *Input, order []string) []string {
	if len(in.Participants) > 0 {
		for _, p := range in.Participants {
			if p != "" && !slices.Contains(order, p) {
				order = append(order, p)
			}
		}
		return order
	}
	for k := range in.Votes {
		if p := in.Votes[k].Voter; p != "" && !slices.Contains(order, p) {
			order = append(order, p)
		}
	}
	return order
}

// orderBound bounds the number of participants of a tally of in.
func orderBound(in *Input) int {
	if len(in.Participants) > 0 {
		return len(in.Participants)
	}
	return len(in.Votes)
}

// tallyOf tallies in's votes for opts, grouped as gidx says (ng groups),
// in b when they fit.
func tallyOf(in *Input, opts []Option, gidx []int32, ng int, b *tallyBuf) (t tally) {
	n := len(opts)
	t = tally{opts: opts, gidx: gidx, ng: ng, votes: in.Votes, leader: -1, winner: -1}
	t.order = b.order[:0]
	if k := orderBound(in); k > small {
		t.order = make([]string, 0, k)
	}
	t.order = orderOf(in, t.order)
	k := len(t.order)
	if k <= small {
		t.vote, t.opt, t.weight = b.vote[:k], b.opt[:k], b.weight[:k]
	} else {
		t.vote, t.opt, t.weight = make([]int32, k), make([]int32, k), make([]float64, k)
	}
	var voted []bool
	if n <= small { // ng ≤ n
		t.direct, t.gw, voted = b.direct[:n], b.gw[:ng], b.voted[:ng]
	} else {
		t.direct, t.gw, voted = make([]float64, n), make([]float64, ng), make([]bool, ng)
	}
	for i := range t.vote {
		t.vote[i] = -1
	}

	for vi := range in.Votes {
		v := &in.Votes[vi]
		if !v.Valid {
			continue
		}
		k := slices.Index(t.order, v.Voter)
		if k < 0 || t.vote[k] >= 0 {
			continue
		}
		resolved := v.Resolved
		if resolved == "" {
			resolved = t.resolveChoice(v.Choice)
		}
		i := t.optionOf(resolved)
		if i < 0 {
			continue
		}
		t.vote[k], t.opt[k], t.weight[k] = int32(vi), int32(i), validWeight(v.Weight)
		t.nCounted++
	}

	for k := range t.order { // sums in agent order
		if t.vote[k] < 0 {
			continue
		}
		i := t.opt[k]
		g := t.gidx[i]
		t.gw[g] += t.weight[k]
		t.direct[i] += t.weight[k]
		voted[g] = true
	}
	for g := range t.gw {
		t.total += t.gw[g]
		if voted[g] {
			t.nGroups++
		}
	}
	if !(t.total > 0) {
		return t
	}
	best := math.Inf(-1)
	for _, w := range t.gw {
		best = math.Max(best, w)
	}
	for g, w := range t.gw {
		if w >= best-eps {
			t.leader = g
			break
		}
	}
	t.share = t.gw[t.leader] / t.total
	t.winner = t.topMember(t.leader)
	return t
}

// topMember returns the option of group g with the largest direct vote
// weight, ties by agent order.
func (t *tally) topMember(g int) int {
	best, who := math.Inf(-1), -1
	for i, gi := range t.gidx {
		if int(gi) != g {
			continue
		}
		if w := t.direct[i]; w > best+eps {
			best, who = w, i
		}
	}
	return who
}

// winnerName is the agent of the winning option, "" if none.
func (t *tally) winnerName() string {
	if t.winner < 0 {
		return ""
	}
	return t.opts[t.winner].Agent
}

// carve returns the next n strings of *slab (made when it has too few)
// as a slice of length n whose capacity ends there.
func carve(slab *[]string, n int) []string {
	if len(*slab) < n {
		*slab = make([]string, n)
	}
	s := (*slab)[:n:n]
	*slab = (*slab)[n:]
	return s
}

// groupList returns the groups with their weights, canonical agent order,
// their members carved from *slab; nil with no option. (A tally does not
// keep them: what a tally holds is on its caller's stack, what it
// returns not.)
func (t *tally) groupList(slab *[]string) []Group {
	if t.ng == 0 {
		return nil
	}
	members := carve(slab, len(t.opts))
	groups := make([]Group, t.ng)
	at := 0
	for g := range groups {
		start := at
		for i, gi := range t.gidx {
			if int(gi) == g {
				members[at] = t.opts[i].Agent
				at++
			}
		}
		groups[g] = Group{Canonical: members[start], Members: members[start:at:at], Weight: t.gw[g]}
	}
	return groups
}

// Tally groups the options, counts the valid votes and returns the groups
// with their weights, the leading group's canonical agent, the winning
// proposal's owner and the leader share (docs/debate.md#consensus). With a total
// weight of 0, leader and winner are "" and share is 0.
func Tally(in Input) (groups []Group, leader, winner string, share float64) {
	var buf [small]int32
	opts := options(&in)
	gidx, ng := group(&in, opts, buf[:0], nil)
	return tallyGroups(&in, opts, gidx, ng)
}

// tallyGroups is Tally once the options are grouped (a frame of its own:
// see decideShare).
//
//go:noinline
func tallyGroups(in *Input, opts []Option, gidx []int32, ng int) (groups []Group, leader, winner string, share float64) {
	var b tallyBuf
	t := tallyOf(in, opts, gidx, ng, &b)
	var slab []string
	groups = t.groupList(&slab)
	if t.leader >= 0 {
		leader = groups[t.leader].Canonical
	}
	return groups, leader, t.winnerName(), t.share
}

// result fills the fields common to every voting method, with the
// tally's groups (groupList) and supporting and dissenting relative to
// group g (-1: nobody supports). The three lists and the dissents' reasons
// are carved from *slab.
func (t *tally) result(method MethodName, threshold *float64, groups []Group, g int, slab *[]string) Result {
	r := Result{
		Method:     method,
		Threshold:  threshold,
		Tally:      groups,
		Supporting: []string{},
		Dissenting: []string{},
		Abstaining: []string{},
		Dissents:   []Dissent{},
	}
	if r.Tally == nil {
		r.Tally = []Group{}
	}
	// The three lists part t.order, and the dissents' reasons follow.
	var n [3]int
	for k := range t.order {
		n[t.side(k, g)]++
	}
	nd := n[sideDissents]
	if len(t.order) > 0 {
		all := carve(slab, len(t.order)+nd)
		s, d, e := n[sideSupports], n[sideSupports]+nd, len(t.order)
		r.Supporting, r.Dissenting, r.Abstaining = all[:0:s], all[s:s:d], all[d:d:e]
		if nd > 0 {
			r.Dissents = make([]Dissent, 0, nd)
		}
		reasons := all[e:]
		for k, p := range t.order {
			switch t.side(k, g) {
			case sideAbstains:
				r.Abstaining = append(r.Abstaining, p)
			case sideSupports:
				r.Supporting = append(r.Supporting, p)
			default:
				r.Dissenting = append(r.Dissenting, p)
				v := &t.votes[t.vote[k]]
				i := len(r.Dissents)
				if reasons[i] = v.Reasoning; reasons[i] == "" {
					reasons[i] = NoReason
				}
				r.Dissents = append(r.Dissents, Dissent{Agent: p, Choice: t.opts[t.opt[k]].Agent, Confidence: v.Confidence,
					Reasons: reasons[i : i+1 : i+1]})
			}
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
	case t.vote[k] < 0:
		return sideAbstains
	case g >= 0 && int(t.gidx[t.opt[k]]) == g:
		return sideSupports
	}
	return sideDissents
}

// resultSlab returns the strings a decision of in needs, in one
// allocation: the texts compared (when the n options are), the groups'
// members, and the participants' lists and dissents' reasons (bounded by
// orderBound and the valid votes).
func resultSlab(in *Input, n int) []string {
	size := n
	if grouped(in, n) {
		size += n
	}
	if k := orderBound(in); k > 0 {
		valid := 0
		for i := range in.Votes {
			if in.Votes[i].Valid {
				valid++
			}
		}
		size += k + min(valid, k)
	}
	if size == 0 {
		return nil
	}
	return make([]string, size)
}
