package debate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/evidence"
	"github.com/aragora/aragora/internal/reply"
	"github.com/aragora/aragora/similarity"
)

type pair struct{ critic, target int }

// critiquePairs lists who critiques whom this round (docs/debate.md#topologies), in
// critic then target order, skipping targets without a proposal.
func (r *run) critiquePairs() []pair {
	return r.pairsFor(r.st.Round, true, nil)
}

// pairsFor lists who critiques whom in round, appended to ps (a critique
// phase passes the run's buffer).
func (r *run) pairsFor(round int, needProposal bool, ps []pair) []pair {
	n := len(r.o.ps)
	topo := r.cfg.Topology
	k := min(max(r.cfg.SparseK, 1), n-1)
	if n == 2 || (topo == TopologySparse && k >= n-1) {
		topo = TopologyAllToAll
	}
	hub := 0
	if r.cfg.Moderator != "" {
		hub = r.o.index(r.cfg.Moderator)
	}
	ps = slices.Grow(ps, n*(n-1))
	var tbuf [16]int
	for i := range n {
		ts := tbuf[:0]
		switch topo {
		case TopologyAllToAll:
			for j := range n {
				if j != i {
					ts = append(ts, j)
				}
			}
		case TopologyRing:
			ts = append(ts, (i+1)%n)
		case TopologyStar:
			if i == hub {
				for j := range n {
					if j != i {
						ts = append(ts, j)
					}
				}
			} else {
				ts = append(ts, hub)
			}
		case TopologySparse:
			for m := range k {
				ts = append(ts, (i+1+(((round-1)*k+m)%(n-1)))%n)
			}
			slices.Sort(ts)
			ts = slices.Compact(ts)
		}
		for _, j := range ts {
			if needProposal && !r.st.Current[j].Has {
				continue
			}
			ps = append(ps, pair{i, j})
		}
	}
	return ps
}

// visiblePeers returns whose proposals a reviser sees (docs/agents.md#phases-and-reply-formats),
// appended to vis.
func (r *run) visiblePeers(i int, vis []int) []int {
	n := len(r.o.ps)
	switch {
	case r.cfg.Topology == TopologyAllToAll || n == 2:
		for j := range n {
			if j != i {
				vis = append(vis, j)
			}
		}
	case r.cfg.Topology == TopologyStar:
		hub := 0
		if r.cfg.Moderator != "" {
			hub = r.o.index(r.cfg.Moderator)
		}
		for j := range n {
			if j != i && (i == hub || j == hub) {
				vis = append(vis, j)
			}
		}
	default:
		seen := map[int]bool{}
		for _, p := range r.pairsFor(r.st.Round-1, false, nil) {
			if p.critic == i {
				seen[p.target] = true
			}
			if p.target == i {
				seen[p.critic] = true
			}
		}
		for j := range n {
			if seen[j] {
				vis = append(vis, j)
			}
		}
	}
	return vis
}

// withCap returns s, or for a nil s an empty slice with room for n
// elements: a slice that nothing is appended to stays nil.
func withCap[T any](s []T, n int) []T {
	if s == nil {
		return make([]T, 0, n)
	}
	return s
}

// ---- proposal phase ----

// proposalSpec writes into *s, a zero spec, the call of agent i in the
// proposal phase; its prompt is built when the call starts.
func (r *run) proposalSpec(s *callSpec, i int) {
	st := r.st
	phase := r.proposalPhaseOf(i)
	revise := phase == agent.PhaseRevise
	req := &s.req
	r.initRequest(req, i, phase)
	var items []promptItem
	instr := tailPropose
	if revise {
		instr = tailRevise
		prev := st.Transcript[st.Round-2].Critiques
		var mineBuf [16]*CritiqueRecord
		mine := mineBuf[:0]
		for k, t := range r.critiqueTargets(prev) {
			if int(t) == i {
				mine = append(mine, &prev[k])
			}
		}
		slices.SortStableFunc(mine, bySeverity)
		var visBuf [16]int
		vis := r.visiblePeers(i, visBuf[:0])
		items = r.items(len(mine) + len(vis) + 3)
		items = append(items, promptItem{head: revisedHead, text: unfence(st.Current[i].Text), required: true})
		if st.PendingChallenge != "" {
			items = append(items, promptItem{text: "### Quality challenge\n" + st.PendingChallenge})
		}
		// The revisers' critiques and proposals share one allocation each
		// per phase (agents must not modify a request's slices).
		if len(mine) > 0 {
			req.Critiques = take(&r.reqCritiques, len(mine), len(prev))
		}
		for _, c := range mine {
			req.Critiques = append(req.Critiques, agent.Critique{Critic: c.Critic, Target: c.Target, Issues: c.Issues,
				Suggestions: c.Suggestions, Severity: c.Severity, Reasoning: c.Reasoning})
			items = append(items, r.pb.critiqueQuote(r.critiqueHead(c.Critic), c))
		}
		if k := r.countWithProposal(vis); k > 0 {
			req.Proposals = take(&r.reqProposals, k, k*(len(r.o.ps)-i))
		}
		for _, j := range vis {
			if st.Current[j].Has {
				req.Proposals = append(req.Proposals, agent.Proposal{Agent: r.o.names[j], Text: st.Current[j].Text})
				items = append(items, *r.peerQuote(j))
			}
		}
	}
	if len(st.Memory) > 0 {
		items = append(items, r.memoryItem()...)
	}
	s.idx, s.target, s.prompt, s.items, s.instr = i, -1, proposalPrompt, items, instr
}

// critiqueTargets returns the index of each critique's target among the
// participants (-1 for another name), found once for a phase's revisers.
func (r *run) critiqueTargets(prev []CritiqueRecord) []int32 {
	if len(prev) == 0 {
		return nil
	}
	b := r.phaseBufs()
	if b.critFrom == &prev[0] && len(b.critTargets) == len(prev) {
		return b.critTargets
	}
	ts := b.critTargets[:0]
	for k := range prev {
		ts = append(ts, int32(r.nameIndex(prev[k].Target)))
	}
	b.critTargets, b.critFrom = ts, &prev[0]
	return ts
}

// nameIndex is o.index(name), found at once for one of the participants'
// own name strings, which the run's records hold: names are unique, and a
// string of the same bytes at the same address is the same.
func (r *run) nameIndex(name string) int {
	for j, n := range r.o.names {
		if unsafe.StringData(n) == unsafe.StringData(name) && len(n) == len(name) {
			return j
		}
	}
	return r.o.index(name)
}

// critiqueHead is o.critiqueLabel(critic), the head of a critique by
// critic in a reviser's prompt.
func (r *run) critiqueHead(critic string) string {
	if j := r.nameIndex(critic); j >= 0 {
		return r.o.labels[j].critique
	}
	return r.o.critiqueLabel(critic)
}

// revisedHead heads a reviser's own proposal in its prompt, a quote
// without the note that quoteHead has.
const revisedHead = "### Your proposal from the previous round\n```\n"

// proposalPhaseOf is agent i's call in the proposal phase: a revision of
// its proposal after round 1, else a proposal.
func (r *run) proposalPhaseOf(i int) agent.Phase {
	if r.st.Round > 1 && r.st.Current[i].Has {
		return agent.PhaseRevise
	}
	return agent.PhasePropose
}

// proposalPrompt builds the prompt of a proposal or revision from its items.
func proposalPrompt(r *run, s *callSpec) string {
	return r.pb.userTail(r.st.Round, r.cfg.Rounds, s.req.Phase, s.items, s.instr)
}

// critiqueText is a critique as a reviser reads it: "Severity 7.5.
// Issues: a; b. Suggestions: c. Reasoning: …".
func critiqueText(c *CritiqueRecord) string {
	return promptOf(appendCritique(make([]byte, 0, critiqueLen(c)), c))
}

// The fixed parts of critiqueText.
const (
	critSeverity    = "Severity "
	critIssues      = ". Issues: "
	critSuggestions = ". Suggestions: "
	critReasoning   = ". Reasoning: "
	critSep         = "; "
)

// appendCritique appends critiqueText(c) to b.
func appendCritique(b []byte, c *CritiqueRecord) []byte {
	b = append(b, critSeverity...)
	b = appendSeverity(b, c.Severity)
	b = append(b, critIssues...)
	b = appendJoined(b, c.Issues, critSep)
	b = append(b, critSuggestions...)
	b = appendJoined(b, c.Suggestions, critSep)
	b = append(b, critReasoning...)
	return append(b, c.Reasoning...)
}

// critiqueMeasure returns the length of critiqueText(c) as count measures
// its parts: runes (runes; every part boundary has an ASCII byte on one
// side), or bytes (strLen; critiqueLen, without function values).
func critiqueMeasure(c *CritiqueRecord, count func(string) int) int {
	return len(critSeverity) + severityLen(c.Severity) + len(critIssues) + joinedMeasure(c.Issues, count) +
		len(critSuggestions) + joinedMeasure(c.Suggestions, count) + len(critReasoning) + count(c.Reasoning)
}

// joinedMeasure returns the length of strings.Join(items, critSep) as
// count measures its parts.
func joinedMeasure(items []string, count func(string) int) int {
	if len(items) == 0 {
		return 0
	}
	n := (len(items) - 1) * len(critSep)
	for _, x := range items {
		n += count(x)
	}
	return n
}

// appendSeverity appends sev as strconv.AppendFloat(b, sev, 'f', 1, 64)
// does (%.1f); directly when 10·sev, rounded, is an integer m from 0 to
// 1000 and sev is not -0: sev is then m/10 up to an error far below the
// 0.05 that would change the digit.
func appendSeverity(b []byte, sev float64) []byte {
	if t := sev * 10; t >= 0 && t <= 1000 && t == float64(int(t)) && !math.Signbit(sev) {
		m := int(t)
		if m >= 100 {
			b = strconv.AppendInt(b, int64(m/10), 10)
		} else {
			b = append(b, byte('0'+m/10))
		}
		return append(b, '.', byte('0'+m%10))
	}
	return strconv.AppendFloat(b, sev, 'f', 1, 64)
}

// severityLen returns len(appendSeverity(nil, sev)).
func severityLen(sev float64) int {
	if t := sev * 10; t >= 0 && t <= 1000 && t == float64(int(t)) && !math.Signbit(sev) {
		switch m := int(t); {
		case m < 100:
			return 3 // d.d
		case m < 1000:
			return 4 // dd.d
		}
		return 5 // 100.0
	}
	var fb [32]byte
	return len(strconv.AppendFloat(fb[:0], sev, 'f', 1, 64))
}

// appendJoined appends strings.Join(items, sep) to b.
func appendJoined(b []byte, items []string, sep string) []byte {
	for i, x := range items {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, x...)
	}
	return b
}

// bySeverity orders critiques highest severity first, as the less
// function a.Severity > b.Severity does.
func bySeverity(a, b *CritiqueRecord) int {
	switch {
	case a.Severity > b.Severity:
		return -1
	case b.Severity > a.Severity:
		return 1
	}
	return 0
}

// countWithProposal counts the agents of idx with a current proposal.
func (r *run) countWithProposal(idx []int) int {
	k := 0
	for _, j := range idx {
		if r.st.Current[j].Has {
			k++
		}
	}
	return k
}

// peerQuote quotes j's current proposal for revisers, once per phase (in
// the quotes of the proposal phase's specs).
func (r *run) peerQuote(j int) *promptItem {
	q := &r.bufs.quotes[j]
	if !q.flat {
		it := r.pb.quoted(r.o.labels[j].current, r.st.Current[j].Text)
		*q = flatten(&r.bufs.quoteBytes, &it)
	}
	return q
}

func (r *run) proposalPhase(ctx context.Context) ([]Event, error) {
	n := len(r.o.ps)
	r.quotes()
	r.resetItems()
	specs := r.specsFor(n)
	for i := range n {
		r.proposalSpec(&specs[i], i)
	}
	// The requests have their critiques and proposals: the run does not
	// keep them while it waits for the replies.
	r.reqCritiques, r.reqProposals = nil, nil
	outs := r.runCalls(ctx, specs)
	if ctx.Err() != nil {
		return nil, nil
	}
	return r.proposalOutcome(outs)
}

// proposalOutcome reads the replies of the proposal phase, then checks
// convergence and runs the trickster.
func (r *run) proposalOutcome(outs []callOut) ([]Event, error) {
	st := r.st
	n := len(r.o.ps)
	rec := st.round()
	rec.Proposals = nil
	var batch []Event
	var pt phaseTotal
	// This round's fresh proposals (the next one's PrevFresh): the run's
	// rounds share one allocation (take).
	fresh := take(&r.freshSlab, n, n*(r.cfg.Rounds-st.Round+1))[:n]
	var scoreBuf [16]evidence.Scores
	var freshBuf [16]int
	scores, freshIdx := scoreBuf[:0], freshBuf[:0] // for this phase only
	answered := 0
	var now time.Time
	for i := range outs {
		out := &outs[i]
		phase := r.proposalPhaseOf(i) // as for its spec: only st.Current[i] changes below
		r.account(i, "proposal", out, &pt)
		text := strings.TrimSpace(out.resp.Text)
		failErr := out.err
		if failErr == nil && text == "" {
			failErr = invalid("empty proposal")
		}
		if !quiet(out, failErr) {
			batch = append(batch, r.callEvents(i, phase, "", out, failErr)...)
		}
		if failErr != nil {
			if st.Current[i].Has {
				st.Current[i].Fresh, st.Current[i].Carried = false, true
				rec.Proposals = append(withCap(rec.Proposals, n), ProposalRecord{Agent: r.o.names[i], Text: st.Current[i].Text, Carried: true})
			}
			continue
		}
		answered++
		if now.IsZero() {
			now = r.now() // one reading for the phase's scores
		}
		sc := evidence.ScoreExtending(text, now, r.cfg.Trickster.Weights, &r.checkpoints()[i])
		st.Current[i] = proposalState{Text: text, Has: true, Fresh: true}
		st.Proposed[i] = true
		fresh[i] = text
		scores = append(scores, sc)
		freshIdx = append(freshIdx, i)
		cost := out.resp.CostUSD
		if cost == 0 {
			cost = r.o.ps[i].Pricing.Cost(out.resp.Usage)
		}
		rec.Proposals = append(withCap(rec.Proposals, n), ProposalRecord{}) // written in place
		pr := &rec.Proposals[len(rec.Proposals)-1]
		pr.Agent, pr.Text, pr.Evidence, pr.Usage = r.o.names[i], text, sc, usageOf(out.resp.Usage)
		var data any
		if !r.unread {
			data = ProposalData{Content: text, Revised: phase == agent.PhaseRevise, Tokens: tokensOf(out.resp.Usage),
				CostUSD: round6(cost), LatencyMS: out.latency.Milliseconds(), Evidence: sc}
		}
		batch = r.addEvent(batch, n+2, EventProposal, st.Round, r.o.names[i], data)
	}
	r.endPhaseTotal("proposal", pt)
	cross := r.convergence(fresh, &batch)
	r.trickster(freshIdx, scores, cross, &batch)
	st.PrevFresh = fresh
	if answered < r.o.quorum {
		name := "propose"
		if st.Round > 1 {
			name = "revise"
		}
		return batch, r.quorumErr(name, answered)
	}
	return batch, nil
}

func (r *run) quorumErr(phase string, answered int) error {
	return quorumError(fmt.Sprintf("quorum not met in %s of round %d: %d of %d answered", phase, r.st.Round, answered, len(r.o.ps)))
}

// convergence runs the check of docs/debate.md#convergence and returns cross.
func (r *run) convergence(fresh []string, batch *[]Event) float64 {
	st := r.st
	var curBuf, prevBuf [16]int
	cur, prev := curBuf[:0], prevBuf[:0]
	for i, t := range fresh {
		if t != "" {
			cur = append(cur, i)
		}
	}
	for i := range st.PrevFresh {
		if st.PrevFresh[i] != "" {
			prev = append(prev, i)
		}
	}
	// The lists, and sims, are on the stack for up to 5 agents
	// (AppendPairsRetain keeps none).
	var corpusBuf [10]string
	var pairsBuf [15][2]int
	corpus := corpusBuf[:0]
	if n := len(cur) + len(prev); n > len(corpusBuf) {
		corpus = make([]string, 0, n)
	}
	for _, i := range cur {
		corpus = append(corpus, fresh[i])
	}
	for _, i := range prev {
		corpus = append(corpus, st.PrevFresh[i])
	}
	// Only the entries read are computed: the pairs of cur, then (from
	// round 2) each agent's pair with its previous proposal.
	pairs := pairsBuf[:0]
	if n := len(cur) * (len(cur) + 1) / 2; n > len(pairsBuf) {
		pairs = make([][2]int, 0, n)
	}
	for a := range cur {
		for b := a + 1; b < len(cur); b++ {
			pairs = append(pairs, [2]int{a, b})
		}
	}
	crossPairs := len(pairs)
	if st.Round > 1 {
		for a, i := range cur {
			if b := slices.Index(prev, i); b >= 0 {
				pairs = append(pairs, [2]int{a, len(cur) + b})
			}
		}
	}
	var simsBuf [15]float64
	var sims []float64
	if len(corpus) > 0 {
		// The previous round's proposals are not compared again; the
		// vote grouping compares this round's (their matrix is made
		// now, from the same analysis, when the round groups votes).
		group := r.cfg.Consensus.NeedsVotes() && !r.cfg.DisableVoteGrouping
		sims = similarity.AppendPairsRetain(simsBuf[:0], r.sim, corpus, pairs, len(cur), group)
	}
	cross := 0.0
	if crossPairs > 0 {
		sum := 0.0
		for _, s := range sims[:crossPairs] {
			sum += s
		}
		cross = sum / float64(crossPairs)
	}
	st.FinalSimilarity = round6(cross)
	if r.cfg.DisableConvergence {
		return cross
	}
	var stability *float64
	for _, s := range sims[crossPairs:] {
		if stability == nil || s < *stability {
			v := s
			stability = &v
		}
	}
	th := r.cfg.ConvergenceThreshold
	var criteria []string
	if len(cur) >= 2 && cross >= th-eps {
		criteria = append(criteria, "cross_agent")
	}
	if stability != nil && *stability >= th-eps {
		criteria = append(criteria, "stable")
	}
	rec := st.round()
	rec.Convergence = &ConvergenceRecord{Cross: round6(cross), Stability: roundPtr(stability), Converged: len(criteria) > 0}
	if len(criteria) == 0 {
		return cross
	}
	st.ConvergenceDetected = true
	// The trickster runs after this; convStop is finalised there.
	st.ConvStop = r.cfg.StopOnConvergence && st.Round >= r.cfg.MinRounds
	var data any
	if !r.unread {
		// The pairs are named only for the event.
		named := make(map[string]float64, crossPairs)
		for k, p := range pairs[:crossPairs] {
			named[r.o.pairName(cur[p[0]], cur[p[1]])] = round6(sims[k])
		}
		data = ConvergenceData{Cross: round6(cross), Stability: roundPtr(stability), Criteria: criteria,
			Backend: r.cfg.Similarity.Name(), Pairs: named, Stop: st.ConvStop}
	}
	*batch = append(*batch, r.event(EventConvergenceDetected, st.Round, "", data))
	return cross
}

func roundPtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := round6(*p)
	return &v
}

// trickster runs the hollow-consensus check and intervention (docs/debate.md#evidence-and-the-trickster).
func (r *run) trickster(freshIdx []int, scores []evidence.Scores, cross float64, batch *[]Event) {
	st := r.st
	t := r.cfg.Trickster
	consumed := st.PendingChallenge != "" && st.Round > 1
	if consumed {
		st.PendingChallenge = ""
	}
	if !t.Enabled {
		return
	}
	h := evidence.CheckHollow(scores, cross, t.MinQuality)
	flagged := h.Hollow && h.Severity >= 0.8-0.6*t.Sensitivity-eps
	rec := st.round()
	rec.Trickster = &TricksterRecord{Hollow: h.Hollow, Severity: round6(h.Severity), Flagged: flagged}
	if !flagged {
		return
	}
	st.Flagged = true
	if st.ConvStop {
		// A flagged round blocks the convergence stop; fix the event too.
		st.ConvStop = false
		for i := range *batch {
			if d, ok := (*batch)[i].Data.(ConvergenceData); ok { // none when unread
				d.Stop = false
				(*batch)[i].Data = d
			}
		}
	}
	cooldown := *t.Cooldown
	if st.LastIntervention > 0 && st.LastIntervention >= st.Round-cooldown {
		return
	}
	if st.Interventions >= t.MaxInterventions {
		return
	}
	type cand struct {
		idx int
		q   float64
		sc  evidence.Scores
	}
	var cands []cand
	for k, i := range freshIdx {
		cands = append(cands, cand{i, scores[k].Overall, scores[k]})
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].q < cands[b].q })
	var targets []cand
	for _, c := range cands {
		if c.q < t.MinQuality && len(targets) < 3 {
			targets = append(targets, c)
		}
	}
	if len(targets) == 0 && len(cands) > 0 {
		targets = cands[:1]
	}
	names := []string{}
	gaps := map[string][]string{}
	var tt []evidence.Target
	for _, c := range targets {
		g := evidence.Gaps(c.sc)
		if g == nil {
			g = []string{}
		}
		names = append(names, r.o.names[c.idx])
		gaps[r.o.names[c.idx]] = g
		tt = append(tt, evidence.Target{Name: r.o.names[c.idx], Gaps: g})
	}
	challenge := evidence.Challenge(cross, h.Average, tt)
	st.Interventions++
	st.LastIntervention = st.Round
	rec.Trickster.Intervened = true
	rec.Trickster.Targets = names
	if st.Round < r.cfg.Rounds {
		st.PendingChallenge = challenge
	}
	*batch = append(*batch, r.event(EventTricksterIntervention, st.Round, "", TricksterData{Kind: "hollow_consensus",
		Targets: names, Severity: round6(h.Severity), Similarity: round6(cross), Gaps: gaps, Challenge: challenge}))
}

// ---- critique phase ----

func (r *run) critiquePhase(ctx context.Context) ([]Event, error) {
	pairs := r.pairsFor(r.st.Round, true, r.pairBuf[:0])
	r.pairBuf = pairs
	specs := r.critiqueSpecs(pairs)
	outs := r.runCalls(ctx, specs)
	if b := r.bufs; b != nil {
		clear(b.quotes) // the prompts are built
	}
	if ctx.Err() != nil {
		return nil, nil
	}
	return r.critiqueOutcome(outs, pairs)
}

// critiqueSpecs returns the calls of the critique phase, one per pair.
func (r *run) critiqueSpecs(pairs []pair) []callSpec {
	st := r.st
	specs := r.specsFor(len(pairs))
	// Each proposal is quoted the same way for every critic, and every
	// critic of a target gets the same Proposals.
	n := len(r.o.ps)
	q := r.quotes()
	targetQ, ownQ := q[:n], q[n:]
	props := make([]agent.Proposal, n)
	// Each proposal's quoted text, made once for its two quotes.
	var textBuf [16]string
	texts := textBuf[:min(n, len(textBuf))]
	quoteText := func(j int) string {
		if j < len(texts) {
			if texts[j] == "" {
				texts[j] = r.pb.quoteText(st.Current[j].Text)
			}
			return texts[j]
		}
		return r.pb.quoteText(st.Current[j].Text)
	}
	for k, p := range pairs {
		s := &specs[k] // zero: written in place
		s.idx, s.target, s.prompt = p.critic, p.target, critiquePrompt
		req := &s.req
		// The critic's last request has every field initRequest sets as
		// this one's: copied, those set below set again. Its agent was
		// asked just now whether it supports schemas: when it did not,
		// it is not asked again for this phase (askSchema). A critic's
		// first pair quotes its own proposal.
		ask := true
		if k > 0 && pairs[k-1].critic == p.critic {
			*req = specs[k-1].req
			ask, req.Schema = req.Schema != nil, nil
		} else {
			r.initRequest(req, p.critic, agent.PhaseCritique)
			if st.Current[p.critic].Has && !ownQ[p.critic].flat {
				it := promptItem{head: ownHead, text: quoteText(p.critic)}
				ownQ[p.critic] = flatten(&r.bufs.quoteBytes, &it)
			}
		}
		tname := r.o.names[p.target]
		req.Target = tname
		if props[p.target].Agent == "" {
			props[p.target] = agent.Proposal{Agent: tname, Text: st.Current[p.target].Text}
		}
		req.Proposals = props[p.target : p.target+1 : p.target+1]
		if ask {
			r.askSchema(p.critic, req)
		}
		if !targetQ[p.target].flat {
			it := promptItem{head: r.o.labels[p.target].target, text: quoteText(p.target), required: true}
			targetQ[p.target] = flatten(&r.bufs.quoteBytes, &it)
		}
	}
	return specs
}

// ownHead heads a critic's own proposal in its critique prompt.
const ownHead = quoteOpen + "Your own current proposal, for contrast" + quoteMid

// critiqueOutcome reads the replies of the critique phase.
func (r *run) critiqueOutcome(outs []callOut, pairs []pair) ([]Event, error) {
	st := r.st
	rec := st.round()
	rec.Critiques = nil
	var batch []Event
	var pt phaseTotal
	n := len(r.o.ps)
	var wroteBuf, okBuf [16]int
	wrote, ok := wroteBuf[:], okBuf[:]
	if n > len(wroteBuf) {
		wrote, ok = make([]int, n), make([]int, n)
	}
	wrote, ok = wrote[:n], ok[:n]
	var eventBuf [32]int
	events := eventBuf[:0] // the critique events' places in batch, in record order
	var scratch *[]string  // the run's item scratch, once a reply is parsed
	for k := range outs {
		out := &outs[k]
		p := pairs[k]
		tname := r.o.names[p.target]
		r.account(p.critic, "critique", out, &pt)
		wrote[p.critic]++
		var c reply.Critique
		failErr := out.err
		if failErr == nil {
			switch nc, _ := out.native.(*agent.Critique); {
			case nc != nil:
				c = reply.Critique{Issues: nc.Issues, Suggestions: nc.Suggestions, Severity: min(max(nc.Severity, 0), 10), Reasoning: nc.Reasoning, Parse: "json"}
			case strings.TrimSpace(out.resp.Text) == "":
				failErr = invalid("empty critique")
			default:
				if scratch == nil {
					scratch = &r.phaseBufs().itemScratch
				}
				parseCritique(&c, &out.resp, scratch)
			}
		}
		if !quiet(out, failErr) {
			batch = append(batch, r.callEvents(p.critic, agent.PhaseCritique, tname, out, failErr)...)
		}
		if failErr != nil {
			continue
		}
		ok[p.critic]++
		rec.Critiques = append(withCap(rec.Critiques, len(pairs)), CritiqueRecord{}) // written in place
		cr := &rec.Critiques[len(rec.Critiques)-1]
		cr.Critic, cr.Target, cr.Issues, cr.Suggestions = r.o.names[p.critic], tname, c.Issues, c.Suggestions
		cr.Severity, cr.Reasoning, cr.Parse = c.Severity, c.Reasoning, c.Parse
		// The event gets its data once the items have their allocation.
		batch = r.addEvent(batch, len(pairs), EventCritique, st.Round, r.o.names[p.critic], nil)
		if !r.unread {
			events = append(events, len(batch)-1)
		}
	}
	r.settleItems(rec.Critiques)
	for j, e := range events { // none when unread
		c := &rec.Critiques[j]
		batch[e].Data = CritiqueData{Target: c.Target, Issues: c.Issues, Suggestions: c.Suggestions, Severity: c.Severity,
			Reasoning: c.Reasoning, Parse: c.Parse}
	}
	r.endPhaseTotal("critique", pt)
	answered := 0
	for i := range r.o.ps {
		if wrote[i] == 0 || ok[i] > 0 {
			answered++
		}
	}
	if answered < r.o.quorum {
		return batch, r.quorumErr("critique", answered)
	}
	return batch, nil
}

// settleItems gives the issues and suggestions of a critique phase's
// records, which a reply read into the run's item scratch (runBufs)
// shares (or the agent's own), one allocation of their total, and frees
// the buffer.
// Empty lists stay empty, not nil.
func (r *run) settleItems(recs []CritiqueRecord) {
	total := 0
	for i := range recs {
		total += len(recs[i].Issues) + len(recs[i].Suggestions)
	}
	all := make([]string, total)
	at := 0
	for i := range recs {
		c := &recs[i]
		start := at
		for _, x := range c.Issues { // lists of an item or two: no copy call
			all[at] = x
			at++
		}
		mid := at
		for _, x := range c.Suggestions {
			all[at] = x
			at++
		}
		c.Issues, c.Suggestions = all[start:mid:mid], all[mid:at:at]
	}
	if b := r.bufs; b != nil {
		clear(b.itemScratch)
		b.itemScratch = b.itemScratch[:0]
	}
}

// ---- structured replies ----

// askSchema asks the agent of idx for a structured reply to req (critique,
// vote or judge), with the phase's schema from package reply, when the
// agent supports schemas (docs/agents.md#structured-replies). Other agents
// get req unchanged. The choice of a vote or judgement is limited to the
// owners of req.Proposals.
func (r *run) askSchema(idx int, req *agent.Request) {
	if !agent.SupportsSchema(r.agentOf(idx)) {
		return
	}
	owners := make([]string, len(req.Proposals))
	for i, p := range req.Proposals {
		owners[i] = p.Agent
	}
	switch req.Phase {
	case agent.PhaseCritique:
		req.Schema = &agent.Schema{Name: reply.SchemaCritique, Description: "Your critique of the target proposal.", JSON: reply.CritiqueSchema()}
	case agent.PhaseVote:
		req.Schema = &agent.Schema{Name: reply.SchemaVote, Description: "Your vote for one proposal.", JSON: reply.VoteSchema(owners)}
	case agent.PhaseJudge:
		req.Schema = &agent.Schema{Name: reply.SchemaJudge, Description: "Your decision as the judge.", JSON: reply.JudgeSchema(owners)}
	}
}

// parseCritique reads a critique reply into *c: a structured reply as JSON
// first, then (for prose, or structured text that is not a JSON object)
// as prose.
func parseCritique(c *reply.Critique, resp *agent.Response, items *[]string) {
	if resp.Structured {
		var ok bool
		if *c, ok = reply.StructuredCritique(resp.Text); ok {
			return
		}
	}
	reply.ParseCritiqueInto(c, resp.Text, items)
}

// parseVote reads a vote reply into *v like parseCritique.
func parseVote(v *reply.Vote, resp *agent.Response, names []string, self string, forbidSelf bool) {
	if resp.Structured {
		var ok bool
		if *v, ok = reply.StructuredVote(resp.Text); ok {
			return
		}
	}
	reply.ParseVoteInto(v, resp.Text, names, self, forbidSelf)
}

// parseJudge reads a judge reply like parseCritique.
func parseJudge(resp agent.Response) reply.Judge {
	if resp.Structured {
		if j, ok := reply.StructuredJudge(resp.Text); ok {
			return j
		}
	}
	return reply.ParseJudge(resp.Text)
}

// votePrompt builds the prompt of voter s.idx: the proposals without its
// own when self-votes are forbidden, else the phase's shared prompt.
func votePrompt(r *run, s *callSpec) string {
	st := r.st
	if r.cfg.ForbidSelfVote {
		return r.pb.userTail(st.Round, r.cfg.Rounds, agent.PhaseVote, r.proposalItems(s.idx), s.instr)
	}
	if r.votePrompt == "" {
		r.pb.pending = 1 // one prompt for every voter: no chunk
		r.votePrompt = r.pb.userTail(st.Round, r.cfg.Rounds, agent.PhaseVote, r.proposalItems(-1), s.instr)
	}
	return r.votePrompt
}

// critiquePrompt builds the prompt of critic s.idx's critique of target
// s.target: the target's proposal, then the critic's own for contrast.
func critiquePrompt(r *run, s *callSpec) string {
	critic, target := s.idx, s.target
	st := r.st
	q := r.bufs.quotes // critiqueSpecs: targets, then critics' own
	var own *promptItem
	if st.Current[critic].Has {
		own = &q[len(r.o.ps)+critic]
	}
	if p, ok := r.pb.flatPrompt(st.Round, r.cfg.Rounds, agent.PhaseCritique, &q[target], own, tailCritique); ok {
		return p
	}
	var buf [2]promptItem
	items := append(buf[:0], q[target])
	if own != nil {
		items = append(items, *own)
	}
	return r.pb.userTail(st.Round, r.cfg.Rounds, agent.PhaseCritique, items, tailCritique)
}

// ---- vote phase ----

// critiqueSummary is the one-line summary under a proposal in vote and
// synthesis prompts, after a line break, for cnt critiques of maximum
// severity maxSev.
func (r *run) critiqueSummary(cnt int, maxSev float64) string {
	if m := &r.lastSummary; m.text != "" && m.cnt == cnt && m.maxSev == maxSev {
		return m.text // proposals often get the same line
	}
	var b [80]byte
	out := append(b[:0], "\nCritiques received: "...)
	out = strconv.AppendInt(out, int64(cnt), 10)
	out = append(out, ", maximum severity "...)
	out = appendSeverity(out, maxSev) // %.1f
	text := string(append(out, '.'))
	r.lastSummary = critiqueSummaryMemo{cnt, maxSev, text}
	return text
}

// critiqueSummaryMemo is the last critique summary line made, with its
// count and maximum severity.
type critiqueSummaryMemo struct {
	cnt    int
	maxSev float64
	text   string
}

func (r *run) proposalItems(exclude int) []promptItem {
	st := r.st
	var hasBuf [16]int
	has := hasBuf[:0]
	for i, c := range st.Current {
		if c.Has && i != exclude {
			has = append(has, i)
		}
	}
	// The critiques received and their maximum severity by participant,
	// in one pass over the round's critiques.
	n := len(r.o.ps)
	var cntBuf [16]int
	var sevBuf [16]float64
	cnt, maxSev := cntBuf[:], sevBuf[:]
	if n > len(cntBuf) {
		cnt, maxSev = make([]int, n), make([]float64, n)
	}
	crit := st.round().Critiques
	for k, j := range r.critiqueTargets(crit) { // the next round's revisers read them too
		if j >= 0 {
			cnt[j]++
			maxSev[j] = max(maxSev[j], crit[k].Severity)
		}
	}
	share := r.pb.shareOf(len(has))
	items := r.items(len(has) + len(crit)) // a judge adds the critiques
	for _, i := range has {
		it := r.pb.quoted(r.o.labels[i].proposal, reply.Truncate(st.Current[i].Text, share))
		it.after, it.required = r.critiqueSummary(cnt[i], maxSev[i]), true
		items = append(items, it)
	}
	return items
}

// The phases are split in three: building the calls, making them, and
// reading the replies, so that the frames of the first and the last are
// not on the stack while the agents run (a debate's goroutine then keeps a
// small stack).

func (r *run) votePhase(ctx context.Context) ([]Event, error) {
	props := r.currentProposals()
	specs, judging := r.voteSpecs(props)
	outs := r.runCalls(ctx, specs)
	r.votePrompt = ""
	if ctx.Err() != nil {
		return nil, nil
	}
	batch, votes, valid, pt := r.readVotes(outs)
	return r.decideVotes(ctx, outs, props, judging, batch, votes, valid, pt)
}

// voteSpecs returns the calls of the vote phase, the judge's last when
// judging.
func (r *run) voteSpecs(props []agent.Proposal) (specs []callSpec, judging bool) {
	n := len(r.o.ps)
	specs = r.specsFor(n + 1) // zero: written in place
	r.votePrompt = ""         // without ForbidSelfVote every voter gets the same prompt
	r.resetItems()
	for i := range n {
		s := &specs[i]
		req := &s.req
		r.initRequest(req, i, agent.PhaseVote)
		exclude := -1
		instr := tailVote
		if r.cfg.ForbidSelfVote {
			exclude = i
			instr = tailVoteNoSelf
		}
		if exclude < 0 {
			req.Proposals = slices.Clip(props) // the same for every voter
		} else {
			for _, p := range props {
				if p.Agent != r.o.names[i] {
					req.Proposals = append(req.Proposals, p)
				}
			}
		}
		r.askSchema(i, req)
		s.idx, s.target, s.prompt, s.instr = i, -1, votePrompt, instr
	}
	judging = consensus.NeedsJudge(r.cfg.Consensus)
	if !judging {
		return specs[:n], false
	}
	specs[n] = r.judgeSpec(props)
	return specs, true
}

// readVotes reads the voters' replies of the vote phase: their events and
// records, the votes and how many are valid.
func (r *run) readVotes(outs []callOut) (batch []Event, votes []consensus.Vote, valid int, pt phaseTotal) {
	st := r.st
	n := len(r.o.ps)
	rec := st.round()
	rec.Votes = nil
	if ownMethod(r.cfg.Consensus) {
		b := r.phaseBufs()
		votes, b.votes = slices.Grow(b.votes[:0], n), nil // given back by decideVotes
	} else {
		votes = make([]consensus.Vote, 0, n)
	}
	var names []string // the events' resolved choices and reasons, one allocation
	keep := func(s string) *string {
		if names == nil {
			names = make([]string, 0, 2*n)
		}
		names = append(names, s)
		return &names[len(names)-1]
	}
	for i := range n {
		out := &outs[i]
		name := r.o.names[i]
		r.account(i, "vote", out, &pt)
		var v reply.Vote
		failErr := out.err
		if failErr == nil {
			if nv, ok := out.native.(*agent.Vote); ok {
				v = reply.Vote{Choice: nv.Choice, Confidence: min(max(nv.Confidence, 0), 1), Reasoning: nv.Reasoning, Parse: "json", OK: strings.TrimSpace(nv.Choice) != ""}
			} else {
				parseVote(&v, &out.resp, r.o.names, name, r.cfg.ForbidSelfVote)
			}
			if !v.OK {
				failErr = invalid("no choice could be read from the vote")
			}
		}
		if !quiet(out, failErr) {
			batch = append(batch, r.callEvents(i, agent.PhaseVote, "", out, failErr)...)
		}
		if failErr != nil {
			continue
		}
		resolved := consensus.ResolveChoice(v.Choice, r.o.names)
		reason := ""
		ri := r.o.index(resolved)
		switch {
		case resolved == "":
			reason = "choice names no participant"
		case !st.Current[ri].Has:
			reason = "choice names an agent without a current proposal"
		case r.cfg.ForbidSelfVote && resolved == name:
			reason = "self-vote is forbidden"
		}
		weight := round6(v.Confidence * st.Weights[i])
		cv := consensus.Vote{Voter: name, Choice: v.Choice, Resolved: resolved, Valid: reason == "", Confidence: v.Confidence, Weight: weight, Reasoning: v.Reasoning}
		if !cv.Valid {
			cv.Weight = 0
		} else {
			valid++
		}
		votes = append(votes, cv)
		rec.Votes = append(withCap(rec.Votes, n), VoteRecord{}) // written in place
		vr := &rec.Votes[len(rec.Votes)-1]
		vr.Agent, vr.Choice, vr.Resolved, vr.Valid, vr.InvalidReason = name, v.Choice, resolved, cv.Valid, reason
		vr.Confidence, vr.Weight, vr.Reasoning, vr.Parse = v.Confidence, cv.Weight, v.Reasoning, v.Parse
		var data any
		if !r.unread {
			var resolvedP, reasonP *string
			if resolved != "" {
				resolvedP = keep(resolved)
			}
			if reason != "" {
				reasonP = keep(reason)
			}
			data = VoteData{Choice: v.Choice, Resolved: resolvedP, Valid: cv.Valid, InvalidReason: reasonP,
				Confidence: v.Confidence, Weight: cv.Weight, Reasoning: v.Reasoning, Parse: v.Parse}
		}
		batch = r.addEvent(batch, n+1, EventVote, st.Round, name, data)
	}
	return batch, votes, valid, pt
}

// decideVotes decides the round from the votes (and the judge's reply,
// last of outs, when judging).
func (r *run) decideVotes(ctx context.Context, outs []callOut, props []agent.Proposal, judging bool,
	batch []Event, votes []consensus.Vote, valid int, pt phaseTotal) ([]Event, error) {
	st := r.st
	n := len(r.o.ps)
	rec := st.round()
	in := consensus.Input{Question: st.Question, Round: st.Round, Final: st.Round >= r.cfg.Rounds,
		Participants: r.participants, Votes: votes, Similarity: r.sim,
		GroupingThreshold: r.cfg.GroupingThreshold, DisableGrouping: r.cfg.DisableVoteGrouping}
	own := ownMethod(r.cfg.Consensus)
	if own && len(props) > 0 {
		b := r.phaseBufs()
		in.Options, b.options = slices.Grow(b.options[:0], len(props)), nil
	}
	for _, p := range props {
		in.Options = append(withCap(in.Options, len(props)), consensus.Option{Agent: p.Agent, Text: p.Text})
	}
	if !own {
		for _, c := range rec.Critiques {
			in.Critiques = append(withCap(in.Critiques, len(rec.Critiques)), agent.Critique{Critic: c.Critic, Target: c.Target, Issues: c.Issues,
				Suggestions: c.Suggestions, Severity: c.Severity, Reasoning: c.Reasoning})
		}
	}
	method := r.cfg.Consensus
	var fallback *string
	checkAgent := ""
	if judging {
		checkAgent = r.o.judge.name
		if r.judgeDecides(ctx, &outs[n], &in, &pt, &batch) {
			r.endPhaseTotal("vote", pt)
			r.reuseInput(own, &in)
			return r.voteQuorum(batch, valid)
		}
		fb := "majority"
		fallback = &fb
		method = consensus.Majority{}
	}
	res, derr := decideWith(ctx, method, &in)
	r.reuseInput(own, &in)
	if fallback != nil {
		res.Method = r.cfg.Consensus.Name()
	}
	r.decide(res, derr, &batch, checkAgent, fallback)
	r.endPhaseTotal("vote", pt)
	return r.voteQuorum(batch, valid)
}

// reuseInput gives the votes and options of in, decided, to the next vote
// phase when the method kept nothing of them (own: ownMethod); the run's
// buffers are cleared when it ends (putBufs).
func (r *run) reuseInput(own bool, in *consensus.Input) {
	if own {
		b := r.phaseBufs()
		b.votes, b.options = in.Votes[:0], in.Options[:0]
	}
}

// ownMethod reports whether method is one of package consensus, which
// neither read consensus.Input.Critiques nor keep any of the Input's
// slices once Decide has returned (their Result shares none of its
// memory).
func ownMethod(method consensus.Method) bool {
	switch method.(type) {
	case consensus.Majority, *consensus.Majority, consensus.Supermajority, *consensus.Supermajority,
		consensus.Unanimous, *consensus.Unanimous, consensus.Weighted, *consensus.Weighted,
		consensus.Judge, *consensus.Judge, consensus.None, *consensus.None:
		return true
	}
	return false
}

// judgeDecides decides the round with the judge's reply *out; false when
// the judge failed and the votes decide instead.
func (r *run) judgeDecides(ctx context.Context, out *callOut, in *consensus.Input, pt *phaseTotal, batch *[]Event) bool {
	r.account(r.o.judge.idx, "vote", out, pt)
	failErr := out.err
	if failErr == nil {
		j, _ := out.native.(*agent.Judgement)
		if j == nil {
			pj := parseJudge(out.resp)
			if pj.OK {
				j = &agent.Judgement{Decided: pj.Decided, Choice: pj.Choice, Confidence: pj.Confidence, Reasoning: pj.Reasoning, Answer: pj.Answer}
			}
		}
		in.Judgement = j
		if j == nil {
			failErr = invalid("the judge's reply has no usable choice")
		}
	}
	var res consensus.Result
	var derr error
	if failErr == nil {
		res, derr = decideWith(ctx, r.cfg.Consensus, in)
		if errors.Is(derr, consensus.ErrJudgeFailed) {
			failErr = fmt.Errorf("%w: %v", agent.ErrInvalidResponse, derr)
		}
	}
	*batch = append(*batch, r.callEvents(r.o.judge.idx, agent.PhaseJudge, "", out, failErr)...)
	if failErr != nil {
		return false
	}
	r.decide(res, derr, batch, r.o.judge.name, nil)
	return true
}

// decideWith is method.Decide(ctx, *in).
func decideWith(ctx context.Context, method consensus.Method, in *consensus.Input) (consensus.Result, error) {
	return method.Decide(ctx, *in)
}

func (r *run) voteQuorum(batch []Event, valid int) ([]Event, error) {
	if valid < r.o.quorum {
		return batch, r.quorumErr("vote", valid)
	}
	return batch, nil
}

func (r *run) judgeSpec(props []agent.Proposal) callSpec {
	st := r.st
	req := r.baseRequest(r.o.judge.idx, agent.PhaseJudge)
	req.Proposals = props
	r.askSchema(r.o.judge.idx, &req)
	items := r.proposalItems(-1)
	crit := slices.Clone(st.round().Critiques)
	sort.SliceStable(crit, func(a, b int) bool { return crit[a].Severity > crit[b].Severity })
	for _, c := range crit {
		items = append(items, r.pb.quoted(quoteHead(fmt.Sprintf("Critique by %s of %s (severity %.1f)", c.Critic, c.Target, c.Severity)),
			strings.Join(c.Issues, "; ")))
	}
	instr := "Decide which proposal best answers the question. You do not see the votes."
	if req.Final {
		instr += " This is the final round: you must decide."
	} else {
		instr += " Set decided to false if the debate should continue."
	}
	req.Prompt = r.pb.user(st.Round, r.cfg.Rounds, agent.PhaseJudge, items, instr)
	return callSpec{idx: r.o.judge.idx, target: -1, req: req}
}

// decide records a round's decision and emits consensus_check.
func (r *run) decide(res consensus.Result, derr error, batch *[]Event, checkAgent string, fallback *string) {
	st := r.st
	if derr != nil && !errors.Is(derr, consensus.ErrNoVotes) {
		r.o.log.Error("consensus_error", "debate_id", st.DebateID, "error", derr)
	}
	if res.Method == "" {
		res.Method = r.cfg.Consensus.Name()
	}
	res.Supporting, res.Dissenting, res.Abstaining = nonNil(res.Supporting), nonNil(res.Dissenting), nonNil(res.Abstaining)
	if res.Tally == nil {
		res.Tally = []consensus.Group{}
	}
	if res.Dissents == nil {
		res.Dissents = []consensus.Dissent{}
	}
	rec := st.round()
	// The run's decisions share one allocation (take).
	d := append(take(&r.decisions, 1, r.cfg.Rounds-st.Round+1), res)
	rec.Decision, st.Decision = &d[0], &d[0]
	st.DecisionAnswer = res.Answer
	if st.DecisionAnswer == "" && res.Winner != "" {
		st.DecisionAnswer = st.Current[r.o.index(res.Winner)].Text
	}
	st.PrevLeader = res.Winner
	early := res.Reached && !r.cfg.DisableEarlyStop && st.Round >= r.cfg.MinRounds && !st.Flagged
	var data any
	if !r.unread {
		var leader *string
		if res.Leader != "" {
			l := res.Leader
			leader = &l
		}
		data = ConsensusCheckData{Method: res.Method, Reached: res.Reached, Confidence: res.Confidence, Leader: leader,
			LeaderShare: res.LeaderShare, Threshold: res.Threshold, Tally: res.Tally, Supporting: res.Supporting,
			Dissenting: res.Dissenting, Abstaining: res.Abstaining, EarlyStop: early, Fallback: fallback}
	}
	*batch = append(*batch, r.event(EventConsensusCheck, st.Round, checkAgent, data))
}

// ---- synthesis ----

func (r *run) synthesisPhase(ctx context.Context) []Event {
	st := r.st
	props := r.currentProposals()
	req := r.baseRequest(r.o.synth.idx, agent.PhaseSynthesize)
	req.Proposals = props
	items := r.proposalItems(-1)
	if d := st.Decision; d != nil && len(d.Tally) > 0 {
		var parts []string
		for _, g := range d.Tally {
			parts = append(parts, fmt.Sprintf("%s (%s): %.2f", g.Canonical, strings.Join(g.Members, ", "), g.Weight))
		}
		items = append(items, promptItem{text: "### Last vote tally\n" + strings.Join(parts, "\n")})
	}
	req.Prompt = r.pb.user(st.Round, r.cfg.Rounds, agent.PhaseSynthesize, items,
		"Write the final answer that best reflects the debate, and state your confidence.")
	// The spec is in the run's buffer, as every phase's, which is cleared
	// once the calls have their requests (runConcurrent).
	specs := r.specsFor(1)
	specs[0] = callSpec{idx: r.o.synth.idx, target: -1, req: req}
	outs := r.runCalls(ctx, specs)
	if ctx.Err() != nil {
		return nil
	}
	out := &outs[0]
	var pt phaseTotal
	r.account(r.o.synth.idx, "synthesis", out, &pt)
	r.endPhaseTotal("synthesis", pt)
	failErr := out.err
	var sy reply.Synthesis
	if failErr == nil {
		sy = reply.ParseSynthesis(out.resp.Text)
		if strings.TrimSpace(sy.Answer) == "" {
			failErr = invalid("empty synthesis")
		}
	}
	batch := r.callEvents(r.o.synth.idx, agent.PhaseSynthesize, "", out, failErr)
	if failErr == nil {
		st.Synthesis, st.SynthesisConfidence, st.SynthesisOK = sy.Answer, sy.Confidence, true
	} else if !r.cfg.Consensus.NeedsVotes() {
		st.Synthesis, st.SynthesisConfidence = r.digest(), 0.5
	}
	if !r.cfg.Consensus.NeedsVotes() {
		batch = append(batch, r.event(EventConsensusCheck, st.Round, r.o.synth.name, ConsensusCheckData{Method: r.cfg.Consensus.Name(),
			Confidence: st.SynthesisConfidence, Tally: []consensus.Group{}, Supporting: []string{}, Dissenting: []string{}, Abstaining: []string{}}))
	}
	return batch
}
