package demo_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/agent/internal/replytest"
	"github.com/aragora/aragora/internal/enum/enumtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const eps = 1e-9

const question = "Should we migrate our monolith to Kubernetes this year, given a team of six engineers and a tight budget?"

var phases = []agent.Phase{agent.PhasePropose, agent.PhaseRevise, agent.PhaseCritique, agent.PhaseVote,
	agent.PhaseJudge, agent.PhaseSynthesize}

var names = []string{"a", "b", "c", "d"}

func props() []agent.Proposal {
	out := make([]agent.Proposal, len(names))
	for i, n := range names {
		out[i] = agent.Proposal{Agent: n, Text: fmt.Sprintf("Proposal of %s. It has details.", n)}
	}
	return out
}

// request returns a request of phase for participant name with every
// structured field set.
func request(name string, phase agent.Phase, round int) agent.Request {
	return agent.Request{
		DebateID: "deb_1", Participant: name, Phase: phase, Round: round, Rounds: 3,
		System: "You are " + name + ".", Prompt: "## Question\n" + question,
		Question: question, Proposals: props(), Own: "Proposal of " + name + ".", Target: "c",
		Critiques:    []agent.Critique{{Critic: "c", Target: name, Issues: []string{"No cost estimate."}, Severity: 7.5}},
		Participants: names, PreviousLeader: "a", AgreementIntensity: 5, ForbidSelfVote: true, Final: round == 3,
	}
}

// transcript collects the replies of one agent to a fixed set of requests,
// keyed by request.
func transcript(t *testing.T, a *demo.Agent, order func([]agent.Request) []agent.Request) map[string]agent.Response {
	t.Helper()
	var reqs []agent.Request
	for _, n := range names {
		for round := 1; round <= 3; round++ {
			for _, p := range phases {
				reqs = append(reqs, request(n, p, round))
			}
		}
	}
	out := make(map[string]agent.Response, len(reqs))
	for _, r := range order(reqs) {
		out[fmt.Sprint(r.Participant, r.Round, r.Phase)] = replytest.Respond(t, a, r)
	}
	return out
}

func forward(r []agent.Request) []agent.Request { return r }

// eachStyle runs test for each style, in parallel subtests named after it.
func eachStyle(t *testing.T, test func(t *testing.T, s demo.Style)) {
	for _, s := range demo.Styles() {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			test(t, s)
		})
	}
}

func TestSameSeedSameReplies(t *testing.T) {
	t.Parallel()
	eachStyle(t, func(t *testing.T, s demo.Style) {
		first := transcript(t, demo.New("x", s, 42), forward)
		second := transcript(t, demo.New("x", s, 42), forward)
		assert.Equal(t, first, second)
	})
}

func TestDifferentSeedDifferentReplies(t *testing.T) {
	t.Parallel()
	eachStyle(t, func(t *testing.T, s demo.Style) {
		one := transcript(t, demo.New("x", s, 1), forward)
		two := transcript(t, demo.New("x", s, 2), forward)
		assert.NotEqual(t, one, two)
		if s != demo.StyleHollow {
			key := fmt.Sprint("a", 1, agent.PhasePropose)
			assert.NotEqual(t, one[key].Text, two[key].Text, "proposals depend on the seed")
		}
	})
}

func TestIndependentOfCallOrder(t *testing.T) {
	t.Parallel()
	eachStyle(t, func(t *testing.T, s demo.Style) {
		want := transcript(t, demo.New("x", s, 7), forward)
		reversed := transcript(t, demo.New("x", s, 7), func(r []agent.Request) []agent.Request {
			r = slices.Clone(r)
			slices.Reverse(r)
			return r
		})
		assert.Equal(t, want, reversed)

		// Concurrent calls on one agent give the same replies too.
		a := demo.New("x", s, 7)
		var mu sync.Mutex
		got := map[string]agent.Response{}
		var wg sync.WaitGroup
		for _, n := range names {
			for round := 1; round <= 3; round++ {
				for _, p := range phases {
					wg.Go(func() {
						resp, err := a.Respond(context.Background(), request(n, p, round))
						assert.NoError(t, err)
						mu.Lock()
						got[fmt.Sprint(n, round, p)] = resp
						mu.Unlock()
					})
				}
			}
		}
		wg.Wait()
		assert.Equal(t, want, got)
	})
}

func TestRepliesIgnoreUnseededFields(t *testing.T) {
	t.Parallel()
	a := demo.New("x", demo.StyleCritical, 3)
	base := request("b", agent.PhaseCritique, 2)
	other := base
	other.DebateID, other.Prompt, other.System = "deb_other", "another prompt", ""
	assert.Equal(t, replytest.Respond(t, a, base).Text, replytest.Respond(t, a, other).Text)

	target := base
	target.Target = "d"
	assert.NotEqual(t, replytest.Respond(t, a, base).Text, replytest.Respond(t, a, target).Text, "the target seeds the call")
}

func TestParticipantFallsBackToOwnName(t *testing.T) {
	t.Parallel()
	for _, p := range phases {
		a := demo.New("b", demo.StyleBalanced, 5)
		named := request("b", p, 2)
		anonymous := named
		anonymous.Participant = ""
		assert.Equal(t, replytest.Respond(t, a, named).Text, replytest.Respond(t, a, anonymous).Text, p)
	}
}

func TestVoteRules(t *testing.T) {
	t.Parallel()
	const seeds = 300
	tests := []struct {
		name      string
		style     demo.Style
		round     int
		leader    string
		intensity int
		// allowed choices; all of them must occur when spread is set.
		allowed []string
		spread  bool
		// leaderShare bounds the share of votes for the leader, when set.
		leaderShare [2]float64
	}{
		{name: "supportive picks the first", style: demo.StyleSupportive, round: 2, allowed: []string{"a"}},
		{name: "hollow picks the first", style: demo.StyleHollow, round: 2, allowed: []string{"a"}},
		{name: "contrarian picks the last", style: demo.StyleContrarian, round: 2, allowed: []string{"d"}},
		{name: "critical picks by seed", style: demo.StyleCritical, round: 2, leader: "a", intensity: 10,
			allowed: []string{"a", "c", "d"}, spread: true},
		{name: "balanced round 1 picks by seed", style: demo.StyleBalanced, round: 1, leader: "c", intensity: 10,
			allowed: []string{"a", "c", "d"}, spread: true},
		{name: "balanced intensity 10 follows the leader", style: demo.StyleBalanced, round: 2, leader: "c", intensity: 10,
			allowed: []string{"c"}},
		{name: "balanced intensity 0 ignores the leader", style: demo.StyleBalanced, round: 2, leader: "c", intensity: 0,
			allowed: []string{"a", "c", "d"}, spread: true, leaderShare: [2]float64{0.2, 0.47}},
		{name: "balanced intensity 5 leans to the leader", style: demo.StyleBalanced, round: 3, leader: "C", intensity: 5,
			allowed: []string{"a", "c", "d"}, spread: true, leaderShare: [2]float64{0.55, 0.78}},
		{name: "balanced never follows itself", style: demo.StyleBalanced, round: 2, leader: "b", intensity: 10,
			allowed: []string{"a", "c", "d"}, spread: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			counts := map[string]int{}
			for seed := range int64(seeds) {
				req := request("b", agent.PhaseVote, tt.round)
				req.PreviousLeader, req.AgreementIntensity = tt.leader, tt.intensity
				v := replytest.Decode[replytest.Vote](t, replytest.Respond(t, demo.New("b", tt.style, seed), req).Text)
				require.Contains(t, tt.allowed, v.Choice)
				assert.Contains(t, v.Reasoning, v.Choice)
				counts[v.Choice]++
			}
			if tt.spread {
				for _, c := range tt.allowed {
					assert.Positive(t, counts[c], "choice %s never picked: %v", c, counts)
				}
			}
			if tt.leaderShare != [2]float64{} {
				share := float64(counts[strings.ToLower(tt.leader)]) / seeds
				assert.GreaterOrEqual(t, share, tt.leaderShare[0], "%v", counts)
				assert.LessOrEqual(t, share, tt.leaderShare[1], "%v", counts)
			}
		})
	}
}

func TestVoteWithoutOtherProposals(t *testing.T) {
	t.Parallel()
	a := demo.New("a", demo.StyleCritical, 1)
	req := request("a", agent.PhaseVote, 1)
	req.Proposals = req.Proposals[:1] // only a's own

	req.ForbidSelfVote = true
	assert.Empty(t, replytest.Decode[replytest.Vote](t, replytest.Respond(t, a, req).Text).Choice, "nothing to vote for")

	req.ForbidSelfVote = false
	assert.Equal(t, "a", replytest.Decode[replytest.Vote](t, replytest.Respond(t, a, req).Text).Choice, "self-vote when allowed and alone")

	// Self is recognised ignoring case.
	req = request("A", agent.PhaseVote, 1)
	assert.Equal(t, "b", replytest.Decode[replytest.Vote](t, replytest.Respond(t, demo.New("A", demo.StyleSupportive, 1), req).Text).Choice)
}

func rounded(x float64, places int) bool {
	p := math.Pow(10, float64(places))
	return math.Abs(x*p-math.Round(x*p)) < 1e-6
}

func TestConfidenceRanges(t *testing.T) {
	t.Parallel()
	centre := map[demo.Style]float64{demo.StyleSupportive: 0.85, demo.StyleCritical: 0.60, demo.StyleBalanced: 0.70,
		demo.StyleContrarian: 0.50, demo.StyleHollow: 0.90}
	eachStyle(t, func(t *testing.T, s demo.Style) {
		seen := map[float64]bool{}
		for seed := range int64(200) {
			a := demo.New("b", s, seed)
			confs := []float64{
				replytest.Decode[replytest.Vote](t, replytest.Respond(t, a, request("b", agent.PhaseVote, 1)).Text).Confidence,
				replytest.Decode[replytest.Judge](t, replytest.Respond(t, a, request("b", agent.PhaseJudge, 1)).Text).Confidence,
				replytest.Decode[replytest.Synthesis](t, replytest.Respond(t, a, request("b", agent.PhaseSynthesize, 1)).Text).Confidence,
			}
			for _, c := range confs {
				assert.InDelta(t, centre[s], c, 0.05+eps)
				assert.True(t, rounded(c, 2), "confidence %v rounded to 0.01", c)
				assert.GreaterOrEqual(t, c, 0.1)
				assert.LessOrEqual(t, c, 1.0)
				seen[c] = true
			}
		}
		assert.Greater(t, len(seen), 5, "confidence varies with the seed")
	})
}

func TestCritiqueRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		style        demo.Style
		issues       int
		sevLo, sevHi float64
	}{
		{demo.StyleSupportive, 2, 2, 4},
		{demo.StyleCritical, 4, 6, 9},
		{demo.StyleBalanced, 2, 4, 6},
		{demo.StyleContrarian, 3, 5, 8},
		{demo.StyleHollow, 1, 1, 3},
	}
	for _, tt := range tests {
		t.Run(string(tt.style), func(t *testing.T) {
			t.Parallel()
			seen := map[float64]bool{}
			for seed := range int64(200) {
				c := replytest.Decode[replytest.Critique](t, replytest.Respond(t, demo.New("b", tt.style, seed), request("b", agent.PhaseCritique, 1)).Text)
				assert.Len(t, c.Issues, tt.issues)
				assert.Len(t, c.Suggestions, tt.issues)
				assert.Len(t, slices.Compact(slices.Sorted(slices.Values(c.Issues))), tt.issues, "distinct issues")
				assert.GreaterOrEqual(t, c.Severity, tt.sevLo-eps)
				assert.LessOrEqual(t, c.Severity, tt.sevHi+eps)
				assert.True(t, rounded(c.Severity, 1), "severity %v rounded to 0.1", c.Severity)
				assert.Contains(t, c.Reasoning, "c's proposal", "names the target")
				seen[c.Severity] = true
			}
			assert.Greater(t, len(seen), 5, "severity varies with the seed")
		})
	}
}

func TestProposals(t *testing.T) {
	t.Parallel()
	const snippet = "Should we migrate our monolith to Kubernetes this year, given a team of six…"
	tests := []struct {
		style demo.Style
		want  []string // every proposal contains each (case-insensitive)
	}{
		{demo.StyleSupportive, []string{"[1]", "according to", "%", "phase"}},
		{demo.StyleCritical, []string{"×", "tco", "risk", "cost"}},
		{demo.StyleBalanced, []string{"hybrid", "staged pilot of 90 days", "90"}},
		{demo.StyleContrarian, []string{"opposite"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.style), func(t *testing.T) {
			t.Parallel()
			templates := map[string]bool{}
			for seed := range int64(60) {
				text := replytest.Respond(t, demo.New("a", tt.style, seed), request("a", agent.PhasePropose, 1)).Text
				lower := strings.ToLower(text)
				assert.Contains(t, text, `"`+snippet+`"`)
				for _, w := range tt.want {
					assert.Contains(t, lower, w)
				}
				if tt.style == demo.StyleContrarian {
					assert.True(t, strings.Contains(lower, "agreement") || strings.Contains(lower, "converge"),
						"warns of premature agreement: %s", text)
				}
				templates[strings.SplitN(text, `"`, 2)[0]] = true
			}
			assert.Len(t, templates, 3, "three templates per style")
		})
	}
}

func TestQuestionSnippet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		question string
		want     string
	}{
		{name: "short", question: "Which database?", want: `"Which database?"`},
		{name: "whitespace collapsed", question: "  Which\n\tdatabase? ", want: `"Which database?"`},
		{name: "empty", question: "", want: `"the question"`},
		{name: "exactly 80 runes", question: strings.Repeat("é", 80), want: `"` + strings.Repeat("é", 80) + `"`},
		{name: "one long word", question: strings.Repeat("x", 90), want: `"` + strings.Repeat("x", 80) + `…"`},
		{name: "cut at a word boundary", question: strings.Repeat("abcd ", 20), want: `"` + strings.TrimSpace(strings.Repeat("abcd ", 16)) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := request("a", agent.PhasePropose, 1)
			req.Question = tt.question
			assert.Contains(t, replytest.Respond(t, demo.New("a", demo.StyleBalanced, 1), req).Text, tt.want)
		})
	}
}

func TestHollow(t *testing.T) {
	t.Parallel()
	for i, name := range []string{"demo-hollow", "h2", "x"} {
		a := demo.New(name, demo.StyleHollow, int64(i))
		req := request(name, agent.PhasePropose, 1)
		assert.Equal(t, demo.HollowText, replytest.Respond(t, a, req).Text)

		rev := request(name, agent.PhaseRevise, 2)
		rev.Own = demo.HollowText
		assert.Equal(t, demo.HollowText, replytest.Respond(t, a, rev).Text, "a hollow revision is stable")
		rev.Own = ""
		assert.Equal(t, demo.HollowText, replytest.Respond(t, a, rev).Text)
	}
}

func TestRevise(t *testing.T) {
	t.Parallel()
	a := demo.New("a", demo.StyleSupportive, 9)

	req := request("a", agent.PhaseRevise, 2)
	req.Own = "Use Postgres."
	req.Critiques = []agent.Critique{
		{Critic: "c", Issues: []string{"No cost estimate."}, Severity: 7.5},
		{Critic: "b", Issues: []string{"Minor wording."}, Severity: 2},
	}
	text := replytest.Respond(t, a, req).Text
	assert.Equal(t, `Use Postgres. Revision: I accept c's point (severity 7.5) that "No cost estimate" and have addressed it in the plan above.`, text)
	assert.Equal(t, text, replytest.Respond(t, a, req).Text, "deterministic")

	req.Critiques = nil
	assert.Equal(t, "Use Postgres. Revision: no critique changed my view, so the proposal stands.", replytest.Respond(t, a, req).Text)

	req.Critiques = []agent.Critique{{Critic: "c", Reasoning: "Too vague.", Severity: 6}}
	assert.Contains(t, replytest.Respond(t, a, req).Text, `c's point (severity 6.0) that "Too vague"`)

	req.Critiques = []agent.Critique{{Critic: "d", Issues: []string{"", "Costs are missing! Also the plan is long."}, Severity: 8.25}}
	assert.Equal(t, `Use Postgres. Revision: I accept d's point (severity 8.2) that "Costs are missing" and have addressed it in the plan above.`,
		replytest.Respond(t, a, req).Text, "one sentence: the issue's first sentence is quoted")

	req.Critiques = []agent.Critique{{Severity: 6}}
	assert.Contains(t, replytest.Respond(t, a, req).Text, "the critic's critique (severity 6.0)")

	req.Own = ""
	req.Critiques = nil
	text = replytest.Respond(t, a, req).Text
	assert.Contains(t, text, "[1]", "a fresh proposal when there is no own text")
	assert.True(t, strings.HasSuffix(text, "the proposal stands."))
}

func TestJudge(t *testing.T) {
	t.Parallel()
	for seed := range int64(50) {
		a := demo.New("b", demo.StyleCritical, seed)
		req := request("b", agent.PhaseJudge, 3)
		j := replytest.Decode[replytest.Judge](t, replytest.Respond(t, a, req).Text)
		assert.True(t, j.Decided)
		assert.Contains(t, []string{"a", "c", "d"}, j.Choice)
		assert.InDelta(t, 0.60, j.Confidence, 0.05+eps, "confidence of the judge's own style")
		assert.Empty(t, j.Answer)
	}

	// A judge that is not a participant may choose any proposal.
	outsider := request("judge", agent.PhaseJudge, 1)
	j := replytest.Decode[replytest.Judge](t, replytest.Respond(t, demo.New("judge", demo.StyleBalanced, 1), outsider).Text)
	assert.Contains(t, names, j.Choice)

	empty := request("judge", agent.PhaseJudge, 1)
	empty.Proposals = nil
	assert.False(t, replytest.Decode[replytest.Judge](t, replytest.Respond(t, demo.New("judge", demo.StyleBalanced, 1), empty).Text).Decided)
}

func TestSynthesize(t *testing.T) {
	t.Parallel()
	s := replytest.Decode[replytest.Synthesis](t, replytest.Respond(t, demo.New("a", demo.StyleBalanced, 1), request("a", agent.PhaseSynthesize, 3)).Text)
	assert.Equal(t, "Synthesis of 4 proposals. a: Proposal of a. b: Proposal of b. c: Proposal of c. d: Proposal of d.", s.Answer)

	req := request("a", agent.PhaseSynthesize, 3)
	req.Proposals = nil
	s = replytest.Decode[replytest.Synthesis](t, replytest.Respond(t, demo.New("a", demo.StyleBalanced, 1), req).Text)
	assert.Equal(t, "No proposals to synthesise.", s.Answer)
}

func TestUsageAndLabels(t *testing.T) {
	t.Parallel()
	for _, s := range demo.Styles() {
		a := demo.New("a", s, 1)
		for _, p := range phases {
			req := request("a", p, 1)
			resp := replytest.Respond(t, a, req)
			in := utf8.RuneCountInString(req.System + req.Prompt)
			out := utf8.RuneCountInString(resp.Text)
			assert.Equal(t, agent.Usage{InputTokens: (in + 3) / 4, OutputTokens: (out + 3) / 4}, resp.Usage)
			assert.Equal(t, "demo-"+string(s), resp.Model)
			assert.Equal(t, demo.Provider, resp.Provider)
			assert.Zero(t, resp.CostUSD)
			assert.Nil(t, resp.Fallback)
		}
	}
}

func TestPhases(t *testing.T) {
	t.Parallel()
	a := demo.New("a", demo.StyleBalanced, 1)
	noPhase := request("a", "", 1)
	assert.Equal(t, replytest.Respond(t, a, request("a", agent.PhasePropose, 1)).Text, replytest.Respond(t, a, noPhase).Text,
		"an empty phase proposes")

	_, err := a.Respond(context.Background(), request("a", "dance", 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `demo: a: unknown phase "dance"`)
}

func TestContextDone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := demo.New("a", demo.StyleBalanced, 1)
	_, err := a.Respond(ctx, request("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, context.Canceled)
	var chunks []string
	_, err = a.RespondStream(ctx, request("a", agent.PhasePropose, 1), func(c string) { chunks = append(chunks, c) })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, chunks)
}

func TestStream(t *testing.T) {
	t.Parallel()
	for _, s := range demo.Styles() {
		for _, p := range phases {
			t.Run(string(s)+"/"+string(p), func(t *testing.T) {
				t.Parallel()
				a := demo.New("a", s, 11)
				req := request("a", p, 2)
				var chunks []string
				resp, err := a.RespondStream(t.Context(), req, func(c string) { chunks = append(chunks, c) })
				require.NoError(t, err)
				assert.Equal(t, replytest.Respond(t, a, req), resp, "streaming returns what Respond returns")
				assert.Equal(t, resp.Text, strings.Join(chunks, ""))
				assert.Greater(t, len(chunks), 1, "streamed in several chunks")
				for _, c := range chunks[:len(chunks)-1] {
					assert.Equal(t, 1, len(strings.Fields(c)), "one word per chunk: %q", c)
				}
			})
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	a := demo.New("demo-x", "loud", 3)
	assert.Equal(t, demo.StyleBalanced, a.Style(), "an invalid style is balanced")
	assert.Equal(t, "demo-x", a.Name())
	assert.Equal(t, int64(3), a.Seed())
	assert.Equal(t, "demo-balanced", a.Model())

	var zero demo.Agent
	assert.Equal(t, demo.StyleBalanced, zero.Style())
	_, err := zero.Respond(context.Background(), request("z", agent.PhaseVote, 1))
	assert.NoError(t, err)
}

func TestStyleValid(t *testing.T) {
	t.Parallel()
	for _, s := range demo.Styles() {
		assert.True(t, s.Valid(), s)
	}
	for _, s := range []demo.Style{"", "Supportive", "neutral", "hollow "} {
		assert.False(t, s.Valid(), s)
	}
}

func TestDefaultStyle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want demo.Style
	}{
		{"analyst", demo.StyleSupportive},
		{"demo-analyst", demo.StyleSupportive},
		{"demo-supporter", demo.StyleSupportive},
		{"critic", demo.StyleCritical},
		{"demo-critic", demo.StyleCritical},
		{"demo-skeptic", demo.StyleCritical},
		{"Demo-Skeptic", demo.StyleCritical},
		{"demo-contrarian", demo.StyleContrarian},
		{"hollow", demo.StyleHollow},
		{"demo-hollow", demo.StyleHollow},
		{"demo-judge", demo.StyleBalanced},
		{"judge", demo.StyleBalanced},
		{"demo-analyst2", demo.StyleBalanced},
		{"", demo.StyleBalanced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, demo.DefaultStyle(tt.name))
		})
	}
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec      string
		wantName  string
		wantStyle demo.Style
		wantErr   bool
	}{
		{spec: "demo-analyst", wantName: "demo-analyst", wantStyle: demo.StyleSupportive},
		{spec: "demo-critic", wantName: "demo-critic", wantStyle: demo.StyleCritical},
		{spec: "demo-judge", wantName: "demo-judge", wantStyle: demo.StyleBalanced},
		{spec: "demo-hollow", wantName: "demo-hollow", wantStyle: demo.StyleHollow},
		{spec: "demo-judge:critical", wantName: "demo-judge", wantStyle: demo.StyleCritical},
		{spec: "demo-a.b_c-9:hollow", wantName: "demo-a.b_c-9", wantStyle: demo.StyleHollow},
		{spec: "demo-" + strings.Repeat("x", 59), wantName: "demo-" + strings.Repeat("x", 59), wantStyle: demo.StyleBalanced},
		{spec: "demo-" + strings.Repeat("x", 60), wantErr: true},
		{spec: "demo-", wantErr: true},
		{spec: "demo-:critical", wantErr: true},
		{spec: "demo-x:", wantErr: true},
		{spec: "demo-x:loud", wantErr: true},
		{spec: "demo-x:Critical", wantErr: true},
		{spec: "demo-x:critical:hollow", wantErr: true},
		{spec: "demo-a b", wantErr: true},
		{spec: "demo-ünï", wantErr: true},
		{spec: "demo-a/b", wantErr: true},
		{spec: "analyst", wantErr: true},
		{spec: "openrouter:demo-x", wantErr: true},
		{spec: "Demo-x", wantErr: true},
		{spec: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			name, style, err := demo.ParseSpec(tt.spec)
			if tt.wantErr {
				require.ErrorIs(t, err, demo.ErrInvalidSpec)
				assert.True(t, strings.HasPrefix(err.Error(), "demo: "), err.Error())
				assert.Empty(t, name)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, name)
			assert.Equal(t, tt.wantStyle, style)
		})
	}
}

func TestStyleText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, demo.Styles(), demo.ParseStyle, "loud")
}
