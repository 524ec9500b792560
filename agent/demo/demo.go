// Package demo provides deterministic, offline demo agents with styles
// (docs/debate.md#demo-agents), so that a debate can run without any API key.
//
// A demo agent answers every phase with text that the debate parses like a
// model's reply: plain text for proposals and revisions, JSON for
// critiques, votes, judgements and syntheses. Its randomness comes from a
// PCG seeded per call from the agent's seed and the call's question, name,
// round, phase and target, so the same seed always gives the same debate,
// whatever the order of the calls and across resumes.
//
// Styles ([Style]) differ in their proposals, the number and severity of the
// issues they raise, how they vote and how confident they are:
//
//	style       critique issues, severity   vote (non-self, agent order)             confidence
//	supportive  2, uniform 2.0–4.0          the first                                0.85 ± 0.05
//	critical    4, uniform 6.0–9.0          a seeded pick                            0.60 ± 0.05
//	balanced    2, uniform 4.0–6.0          a seeded pick; from round 2, with        0.70 ± 0.05
//	                                        probability intensity/10, the previous
//	                                        round's leader
//	contrarian  3, uniform 5.0–8.0          the last                                 0.50 ± 0.05
//	hollow      1, uniform 1.0–3.0          the first                                0.90 ± 0.05
//
// [ParseSpec] reads the agent specs of the CLI ("demo-critic",
// "demo-judge:critical") and [DefaultStyle] gives the style of a name.
//
// This package imports only the standard library, package agent and
// internal/reply (its scan of plain JSON string bytes).
package demo

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/wordstream"
	"github.com/aragora/aragora/internal/reply"
)

// Provider is the Response.Provider of every demo agent.
const Provider = "demo"

// Limits of the texts quoted from other agents.
const (
	issueQuoteRunes     = 120 // a critique issue quoted in a revision
	synthesisQuoteRunes = 200 // a proposal's first sentence in a synthesis
)

var (
	_ agent.Agent     = (*Agent)(nil)
	_ agent.Streamer  = (*Agent)(nil)
	_ agent.Immediate = (*Agent)(nil)

	_ agent.PromptBorrower = (*Agent)(nil)
)

// Agent is a deterministic demo agent. It implements agent.Agent,
// agent.Streamer, agent.Immediate, agent.PromptBorrower and agent.Describer. Its settings are immutable after New and it is safe for concurrent use.
// The zero value is a balanced agent with an empty name and seed 0; create
// agents with New.
type Agent struct {
	name  string
	style Style
	seed  int64
	model string // Model(), set by New
	// prefix is the SHA-256 state after the seed and the question of the
	// last debate seeded (rng), shared by its calls.
	prefix atomic.Pointer[seedPrefix]
	// systems holds, by phase, the rune count of the last system prompt
	// counted: the engine gives a participant the same system prompt for
	// every call of a phase. A phase's slot is the length of its name
	// modulo 8, which differs between the phases.
	systems [8]atomic.Pointer[countedText]
}

// countedText is a text and its rune count.
type countedText struct {
	text  string
	runes int
}

// systemRunes returns runeCount(system), the system prompt of a call of
// phase, from the count kept for the phase when the prompt is the same.
func (a *Agent) systemRunes(phase agent.Phase, system string) int {
	slot := &a.systems[len(phase)%len(a.systems)]
	if c := slot.Load(); c != nil && c.text == system {
		return c.runes
	}
	n := runeCount(system)
	slot.Store(&countedText{text: system, runes: n})
	return n
}

// seedPrefix is the marshalled SHA-256 state after seed ‖ question.
type seedPrefix struct {
	question string
	state    []byte
}

// New returns a demo agent. name is used when a Request carries no
// participant name; an invalid style is treated as balanced.
func New(name string, style Style, seed int64) *Agent {
	if !style.Valid() {
		style = StyleBalanced
	}
	return &Agent{name: name, style: style, seed: seed, model: Prefix + string(style)}
}

// Name returns the agent's own name, as given to New.
func (a *Agent) Name() string { return a.name }

// Style returns the agent's effective style.
func (a *Agent) Style() Style {
	if !a.style.Valid() {
		return StyleBalanced
	}
	return a.style
}

// Seed returns the agent's seed.
func (a *Agent) Seed() int64 { return a.seed }

// Model returns the model label of the agent's responses: "demo-<style>".
func (a *Agent) Model() string {
	if a.model != "" {
		return a.model
	}
	return Prefix + string(a.Style())
}

// Describe names the provider ("demo") and the model ("demo-<style>").
func (a *Agent) Describe() agent.Info { return agent.Info{Provider: Provider, Model: a.Model()} }

// Immediate reports true: a demo agent never waits (agent.Immediate).
func (a *Agent) Immediate() bool { return true }

// BorrowsPrompt reports true: a demo agent only counts the runes of a
// request's prompt and keeps nothing of it (agent.PromptBorrower).
func (a *Agent) BorrowsPrompt() bool { return true }

// Respond answers req according to its phase (an empty phase is treated as
// propose). It never sleeps; it returns ctx.Err() if ctx is already done,
// and an error for an unknown phase.
//
// Usage is deterministic: InputTokens = ⌈runes(System+Prompt)/4⌉ and
// OutputTokens = ⌈runes(reply)/4⌉. CostUSD is 0, Model is "demo-<style>",
// Provider is "demo" and FinishReason is "stop".
func (a *Agent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	if err := ctx.Err(); err != nil {
		return agent.Response{}, err
	}
	text, runes, err := a.reply(&req)
	if err != nil {
		return agent.Response{}, err
	}
	if runes < 0 {
		runes = runeCount(text)
	}
	return agent.Response{
		Text: text,
		Usage: agent.Usage{
			InputTokens:  tokens(a.systemRunes(req.Phase, req.System) + runeCount(req.Prompt)),
			OutputTokens: tokens(runes),
		},
		Model:        a.Model(),
		Provider:     Provider,
		FinishReason: "stop",
	}, nil
}

// RespondStream answers like Respond and delivers the reply through onChunk
// in word chunks (each word with the whitespace that follows it), whose
// concatenation is Response.Text. It returns ctx.Err() if ctx ends between
// chunks.
func (a *Agent) RespondStream(ctx context.Context, req agent.Request, onChunk func(chunk string)) (agent.Response, error) {
	return wordstream.Respond(ctx, req, a.Respond, onChunk)
}

// tokens estimates the tokens of n runes: ⌈n/4⌉.
func tokens(n int) int { return (n + 3) / 4 }

// reply computes the reply text of one call, and its rune count when the
// phase knows it (else -1).
func (a *Agent) reply(req *agent.Request) (text string, runes int, err error) {
	name := req.Participant
	if name == "" {
		name = a.name
	}
	phase := req.Phase
	if phase == "" {
		phase = agent.PhasePropose
	}
	g := a.rng(req.Question, name, req.Round, phase, req.Target)
	r := &g.r
	style := a.Style()
	runes = -1
	switch phase {
	case agent.PhasePropose:
		text = propose(style, req.Question, r)
	case agent.PhaseRevise:
		text = revise(style, req, r)
	case agent.PhaseCritique:
		text, runes = critique(style, name, req.Target, r)
	case agent.PhaseVote:
		text, runes = vote(style, name, req, r)
	case agent.PhaseJudge:
		text = judge(style, name, req, r)
	case agent.PhaseSynthesize:
		text = synthesize(style, req, r)
	default:
		err = fmt.Errorf("demo: %s: unknown phase %q", name, phase)
	}
	rngPool.Put(g)
	return text, runes, err
}

// rng returns the PCG of one call, seeded with the first 16 bytes of
// SHA-256(seed ‖ question ‖ name ‖ round ‖ phase ‖ target). Integers are
// 8-byte big-endian; each string is preceded by its byte length as an
// 8-byte big-endian integer, so that the concatenation is unambiguous.
//
// The generator comes from rngPool: the caller puts it back when the
// reply is made.
func (a *Agent) rng(question, name string, round int, phase agent.Phase, target string) *pooledRand {
	g := rngPool.Get().(*pooledRand)
	b := g.scratch[:0] // on the heap: an agent's call runs on a small stack
	putString := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	h := a.prefixed(g, question)
	if h == nil {
		b = binary.BigEndian.AppendUint64(b, uint64(a.seed))
		putString(question)
	}
	putString(name)
	b = binary.BigEndian.AppendUint64(b, uint64(int64(round)))
	putString(string(phase))
	putString(target)
	if h != nil {
		h.Write(b)
		h.Sum(g.sum[:0])
	} else {
		g.sum = sha256.Sum256(b)
	}
	g.pcg.Seed(binary.BigEndian.Uint64(g.sum[:8]), binary.BigEndian.Uint64(g.sum[8:16]))
	return g
}

// prefixed returns g's SHA-256 state after seed ‖ question (as rng writes
// them), or nil when they do not fill a block: the state is made once per
// question, so that the calls of a debate hash only what follows.
func (a *Agent) prefixed(g *pooledRand, question string) hash.Hash {
	if 16+len(question) < sha256.BlockSize {
		return nil
	}
	p := a.prefix.Load()
	if p == nil || p.question != question {
		h := sha256.New()
		var n [16]byte
		binary.BigEndian.PutUint64(n[:8], uint64(a.seed))
		binary.BigEndian.PutUint64(n[8:], uint64(len(question)))
		h.Write(n[:])
		io.WriteString(h, question)
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil
		}
		p = &seedPrefix{question: question, state: st}
		a.prefix.Store(p) // concurrent debates of other questions may replace it
	}
	if g.h == nil {
		g.h = sha256.New()
	}
	if g.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.state) != nil {
		return nil
	}
	return g.h
}

// pooledRand is a PCG and the Rand drawing from it. Seeding the PCG puts
// it in the state rand.NewPCG gives, and a Rand has no state of its own,
// so a reused one draws what rand.New(rand.NewPCG(…)) would.
type pooledRand struct {
	pcg     rand.PCG
	r       rand.Rand
	scratch [256]byte // the seed's input, when it fits
	h       hash.Hash // SHA-256 of the seed, from a prefix state
	sum     [sha256.Size]byte
}

var rngPool = sync.Pool{New: func() any {
	g := new(pooledRand)
	g.r = *rand.New(&g.pcg)
	return g
}}

// propose writes the style's proposal: one of its templates, with figures
// drawn from r.
func propose(s Style, question string, r *rand.Rand) string {
	ts := templatesOf(s)
	return ts[r.IntN(len(ts))](questionSnippet(question), r)
}

// revise appends to the own proposal one sentence acknowledging the most
// severe critique (Critiques are sorted highest severity first), quoting the
// first sentence of its first non-empty issue, else of its reasoning. A hollow
// agent returns its text unchanged. Without an own proposal it starts from
// a fresh proposal.
func revise(s Style, req *agent.Request, r *rand.Rand) string {
	own := strings.TrimSpace(req.Own)
	if own == "" {
		own = propose(s, req.Question, r)
	}
	if s == StyleHollow {
		return own
	}
	if len(req.Critiques) == 0 {
		return own + " Revision: no critique changed my view, so the proposal stands."
	}
	c := req.Critiques[0]
	point := ""
	for _, issue := range c.Issues {
		if point = firstSentence(issue, issueQuoteRunes); point != "" {
			break
		}
	}
	if point == "" {
		point = firstSentence(c.Reasoning, issueQuoteRunes)
	}
	point = strings.TrimRight(point, ".!? ")
	critic := c.Critic
	if critic == "" {
		critic = "the critic"
	}
	var fb [32]byte
	severity := strconv.AppendFloat(fb[:0], c.Severity, 'f', 1, 64) // %.1f
	if point == "" {
		return own + " Revision: I have taken " + critic + "'s critique (severity " + string(severity) +
			") into account and tightened the plan accordingly."
	}
	return own + " Revision: I accept " + critic + "'s point (severity " + string(severity) + ") that \"" + point +
		"\" and have addressed it in the plan above."
}

// critiqueReply is the JSON critique of docs/agents.md#phases-and-reply-formats.
type critiqueReply struct {
	Issues      []string `json:"issues"`
	Suggestions []string `json:"suggestions"`
	Severity    float64  `json:"severity"`
	Reasoning   string   `json:"reasoning"`
	// reasoning, when set, stands for Reasoning as the concatenation of
	// its parts, encoded without being joined first.
	reasoning []string
}

// critique writes the style's JSON critique of target, and its rune count
// when it is known without counting (else -1).
func critique(s Style, name, target string, r *rand.Rand) (string, int) {
	p := profileOf(s)
	t := critiqueTextFor(s)
	severity := clamp(round1(p.sevLo+r.Float64()*(p.sevHi-p.sevLo)), 0.1, 10)
	if target == "" {
		target = "the target"
	}
	var issues, suggestions [maxPhrases]int // the picks, as indices in t's lists
	is := pick(issues[:0], len(t.issues), p.issues, r)
	ss := pick(suggestions[:0], len(t.suggestions), p.issues, r)
	// The severity and the JSON around it, written at once.
	const severityHead, reasoningHead = `],"severity":`, `,"reasoning":"`
	var mb [64]byte
	mid, ok := appendFloat(append(mb[:0], severityHead...), severity)
	mid = append(mid, reasoningHead...)
	if !ok || !plainJSON(name) || !plainJSON(target) {
		// The names need escaping: the reasoning is quoted from its
		// parts, or as one string when they are not valid UTF-8
		// (appendJoined).
		var iss, sug [maxPhrases]string
		return critiqueReply{
			Issues:      pickedOf(iss[:0], t.issues, is),
			Suggestions: pickedOf(sug[:0], t.suggestions, ss),
			Severity:    severity,
			reasoning:   []string{name, " reviewed ", target, "'s proposal: ", t.verdict},
		}.json(), -1
	}
	// What critiqueReply.json writes, from the phrases quoted once
	// (critiqueText.quoted), into a string of its exact size;
	// TestCritiqueMatchesReply compares them.
	const issuesHead, suggestionsHead, reviewed = `{"issues":[`, `],"suggestions":[`, " reviewed "
	n := len(issuesHead) + picksLen(t.quoted.issues, is) + len(suggestionsHead) + picksLen(t.quoted.suggestions, ss) +
		len(mid) + len(name) + len(reviewed) + len(target) + len(t.quoted.verdict)
	var b strings.Builder
	b.Grow(n)
	b.WriteString(issuesHead)
	writePicks(&b, t.quoted.issues, is)
	b.WriteString(suggestionsHead)
	writePicks(&b, t.quoted.suggestions, ss)
	b.Write(mid)
	b.WriteString(name)
	b.WriteString(reviewed)
	b.WriteString(target)
	b.WriteString(t.quoted.verdict) // closes the reasoning and the object
	if !t.quoted.ascii {
		return b.String(), -1
	}
	return b.String(), n // plain names are ASCII
}

// plainJSON reports whether s is written into a JSON string as it is: only
// ASCII bytes that need no escape.
func plainJSON(s string) bool { return reply.PlainEnd(s, 0) == len(s) }

// identity is pick's starting order.
var identity = [maxPhrases]int{0, 1, 2, 3, 4, 5, 6, 7}

// pick returns the indices of n items of a list of size items in a
// seeded order (all of them when n exceeds it), made in perm's array: the
// first n of r.Perm(size), drawn as r.Shuffle draws them.
func pick(perm []int, size, n int, r *rand.Rand) []int {
	if size <= len(identity) {
		perm = append(perm[:0], identity[:size]...)
	} else {
		perm = perm[:0]
		for i := range size {
			perm = append(perm, i)
		}
	}
	for i := size - 1; i > 0; i-- {
		j := int(r.Uint64N(uint64(i + 1)))
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm[:min(n, size)]
}

// pickedOf appends to out the items of list at indices.
func pickedOf(out, list []string, indices []int) []string {
	for _, i := range indices {
		out = append(out, list[i])
	}
	return out
}

// voteReply is the JSON vote of docs/agents.md#phases-and-reply-formats.
type voteReply struct {
	Choice     string  `json:"choice"`
	Confidence float64 `json:"confidence"`
	Reasoning  string  `json:"reasoning"`
	// reasoning, when set, stands for Reasoning as in critiqueReply.
	reasoning []string
}

// options appends to opts the owners of the proposals the agent may vote
// for, in agent order: other agents; if there are none and self-votes are
// allowed, itself.
func options(opts []string, self string, req *agent.Request) []string {
	for _, p := range req.Proposals {
		if p.Agent != "" && !strings.EqualFold(p.Agent, self) {
			opts = append(opts, p.Agent)
		}
	}
	if len(opts) == 0 && !req.ForbidSelfVote {
		for _, p := range req.Proposals {
			if p.Agent != "" {
				opts = append(opts, p.Agent)
			}
		}
	}
	return opts
}

// choose applies the style's vote rule to opts (not empty). leader reports
// a balanced agent following the previous round's leader.
func choose(s Style, req *agent.Request, opts []string, r *rand.Rand) (choice string, leader bool) {
	switch s {
	case StyleSupportive, StyleHollow:
		return opts[0], false
	case StyleContrarian:
		return opts[len(opts)-1], false
	case StyleCritical:
		return opts[r.IntN(len(opts))], false
	}
	// Balanced: both draws are always made, so the sequence of r stays the
	// same whichever branch is taken.
	u, i := r.Float64(), r.IntN(len(opts))
	if req.Round >= 2 && req.PreviousLeader != "" {
		intensity := float64(min(max(req.AgreementIntensity, 0), 10))
		for _, o := range opts {
			if strings.EqualFold(o, req.PreviousLeader) && u < intensity/10 {
				return o, true
			}
		}
	}
	return opts[i], false
}

// confidence draws the style's confidence: centre ± 0.05 uniform, rounded
// to 0.01 and clamped to [0.1, 1.0].
func confidence(s Style, r *rand.Rand) float64 {
	c := profileOf(s).confidence + (r.Float64()*2-1)*confidenceSpread
	return clamp(math.Round(c*100)/100, 0.1, 1.0)
}

// vote writes the style's JSON vote, and its rune count when it is known
// without counting (else -1).
func vote(s Style, self string, req *agent.Request, r *rand.Rand) (string, int) {
	var buf [8]string // the options' owners
	opts := options(buf[:0], self, req)
	if len(opts) == 0 {
		return voteReply{Choice: "", Confidence: confidence(s, r), Reasoning: "There is no proposal to vote for."}.json(), -1
	}
	choice, leader := choose(s, req, opts, r)
	tail := voteReasonTail(s, leader)
	c := confidence(s, r)
	// The confidence and the JSON around it, written at once.
	const confidenceHead, reasoningHead = `","confidence":`, `,"reasoning":"`
	var mb [64]byte
	mid, ok := appendFloat(append(mb[:0], confidenceHead...), c)
	mid = append(mid, reasoningHead...)
	if !ok || !plainJSON(choice) || !plainJSON(tail) {
		reasoning := [...]string{choice, tail} // voteReason, encoded without joining
		return voteReply{Choice: choice, Confidence: c, reasoning: reasoning[:]}.json(), -1
	}
	// What voteReply.json writes, into a string of its exact size;
	// TestVoteMatchesReply compares them.
	const choiceHead, end = `{"choice":"`, `"}`
	n := len(choiceHead) + len(choice) + len(mid) + len(choice) + len(tail) + len(end)
	var b strings.Builder
	b.Grow(n)
	b.WriteString(choiceHead)
	b.WriteString(choice)
	b.Write(mid)
	b.WriteString(choice)
	b.WriteString(tail)
	b.WriteString(end)
	return b.String(), n // plain texts are ASCII
}

// judgeReply is the JSON judgement of docs/agents.md#phases-and-reply-formats.
type judgeReply struct {
	Decided    bool    `json:"decided"`
	Choice     string  `json:"choice"`
	Confidence float64 `json:"confidence"`
	Reasoning  string  `json:"reasoning"`
	Answer     string  `json:"answer"`
}

// judge always decides, choosing like a balanced voter over the other
// agents' proposals (its own only when there is no other); the confidence
// follows the judge's own style.
func judge(s Style, self string, req *agent.Request, r *rand.Rand) string {
	var buf [8]string // the options' owners
	opts := options(buf[:0], self, &agent.Request{Proposals: req.Proposals})
	if len(opts) == 0 {
		return judgeReply{Decided: false, Confidence: confidence(s, r), Reasoning: "There is no proposal to judge."}.json()
	}
	choice, leader := choose(StyleBalanced, req, opts, r)
	return judgeReply{Decided: true, Choice: choice, Confidence: confidence(s, r),
		Reasoning: voteReason(StyleBalanced, choice, leader)}.json()
}

// synthesisReply is the JSON synthesis of docs/agents.md#phases-and-reply-formats.
type synthesisReply struct {
	Answer     string  `json:"answer"`
	Confidence float64 `json:"confidence"`
}

// synthesize summarises the proposals in agent order by their first
// sentences.
func synthesize(s Style, req *agent.Request, r *rand.Rand) string {
	var b strings.Builder
	n := 0
	for _, p := range req.Proposals {
		if strings.TrimSpace(p.Text) == "" {
			continue
		}
		fmt.Fprintf(&b, " %s: %s", p.Agent, firstSentence(p.Text, synthesisQuoteRunes))
		n++
	}
	answer := "No proposals to synthesise."
	if n > 0 {
		plural := "s"
		if n == 1 {
			plural = ""
		}
		answer = fmt.Sprintf("Synthesis of %d proposal%s.%s", n, plural, b.String())
	}
	return synthesisReply{Answer: answer, Confidence: confidence(s, r)}.json()
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func clamp(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }
