package openai_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/fakeprovider"
	"github.com/aragora/aragora/agent/openai"
	"github.com/aragora/aragora/debate"
)

// The vote-quality measurement of docs/agents.md#structured-replies: real
// debates (the engine and this adapter) against a fake OpenAI-format
// provider whose voters mean a definite choice. Asked in prose, the fake
// writes that choice the ways models do when told to answer in JSON: mostly
// clean or fenced JSON, sometimes prose, reasoning before the choice cut
// off by the token limit, a choice naming no participant, single quotes, a
// wrong key, a refusal to pick. Asked with a schema, it answers the schema,
// as constrained decoding does, except that the same token-limit cut still
// happens (after the choice, which the schema puts first).

var (
	roundRE    = regexp.MustCompile(`## Round (\d+) of \d+: (\w+)`)
	questionRE = regexp.MustCompile(`## Question\n([^\n]*)`)
)

var voters = []string{"alice", "bob", "carol", "dave"}

// voteStyles is the mix of prose replies, by weight: 8 clean JSON, 2
// fenced JSON, 1 of each messy style.
var voteStyles = func() []int {
	w := []int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1}
	for s := 2; s <= 11; s++ {
		w = append(w, s)
	}
	return w
}()

// pick returns a deterministic index below n for key.
func pick(n int, key ...string) int {
	h := fnv.New32a()
	for _, k := range key {
		_, _ = h.Write([]byte(k))
		_, _ = h.Write([]byte{0})
	}
	return int(h.Sum32() % uint32(n))
}

// intent is the choice the voter means in a round, and style how it writes
// it in prose.
func intent(question, voter, round string) (choice, other string, style int) {
	i := pick(len(voters), question, voter, round, "choice")
	choice = voters[i]
	other = voters[(i+1+pick(len(voters)-1, question, voter, round, "other"))%len(voters)]
	return choice, other, voteStyles[pick(len(voteStyles), question, voter, round, "style")]
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// proseVote writes choice in style; other is another participant.
func proseVoteReply(choice, other string, style int) string {
	c, o := title(choice), title(other)
	switch style {
	case 0:
		return fmt.Sprintf(`{"choice": %q, "confidence": 0.8, "reasoning": "%s's plan has the clearest rollback."}`, choice, c)
	case 1:
		return fmt.Sprintf("Here is my vote:\n\n```json\n{\"choice\": %q, \"confidence\": 0.7, \"reasoning\": \"Safer migration path.\"}\n```", choice)
	case 2:
		return fmt.Sprintf("I vote for %s's proposal: it has the clearest rollback plan.", c)
	case 3:
		return fmt.Sprintf("Both %s and %s make good points, but %s's plan is safer. Vote: %s", o, c, c, c)
	case 4:
		return "**Choice:** the second proposal\n**Confidence:** high\n**Reasoning:** it phases the migration."
	case 5:
		return fmt.Sprintf("{'choice': '%s', 'confidence': 0.8}", choice)
	case 6:
		return fmt.Sprintf(`{"choice": "The proposal of %s", "confidence": 0.75, "reasoning": "Phased."}`, c)
	case 7:
		return fmt.Sprintf(`{"choice": "Option 2", "confidence": 0.6, "reasoning": "%s's is the most complete."}`, c)
	case 8: // reasoning first, cut off by the token limit
		return fmt.Sprintf(`{"reasoning": "%s's plan lacks a rollback, whereas the other plan`, o)
	case 9:
		return fmt.Sprintf(`{"vote": %q, "confidence": 0.8}`, choice)
	case 10:
		return "I can't pick one: each proposal has merits the others lack."
	default:
		return fmt.Sprintf(`{"choice": {"name": %q}, "confidence": 0.8}`, choice)
	}
}

// structuredVoteReply is the fake's answer to a vote with a schema: the
// choice it means, or for the cut-off style the same cut after the choice.
func structuredVoteReply(choice, other string, style int) string {
	if style == 8 {
		return fmt.Sprintf(`{"choice":%q,"confidence":0.7,"reasoning":"%s's plan lacks a rollback, whereas the other plan`, choice, title(other))
	}
	return fmt.Sprintf(`{"choice":%q,"confidence":0.8,"reasoning":"%s's plan has the clearest rollback."}`, choice, title(choice))
}

// voteFake serves the debate's calls. honour: answer a schema; otherwise
// reject response_format with a 400, as a model without structured
// outputs does.
func voteFake(t *testing.T, honour bool, requests, rejected *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var body struct {
			Model          string          `json:"model"`
			ResponseFormat json.RawMessage `json:"response_format"`
			Messages       []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		structured := len(body.ResponseFormat) > 0
		if structured && !honour {
			rejected.Add(1)
			wire.RejectSchema(w)
			return
		}
		prompt := body.Messages[len(body.Messages)-1].Content
		m, q := roundRE.FindStringSubmatch(prompt), questionRE.FindStringSubmatch(prompt)
		if m == nil || q == nil {
			http.Error(w, "no round header", http.StatusBadRequest)
			return
		}
		round, phase := m[1], m[2]
		var text string
		switch phase {
		case "vote":
			choice, other, style := intent(q[1], body.Model, round)
			if structured {
				text = structuredVoteReply(choice, other, style)
			} else {
				text = proseVoteReply(choice, other, style)
			}
		case "critique":
			text = `{"issues": ["no cost estimate"], "suggestions": ["add one"], "severity": 4, "reasoning": "Costs matter."}`
		default:
			text = fmt.Sprintf("%s's plan for round %s: migrate in stages, with a 90-day pilot and a rollback.", title(body.Model), round)
		}
		fakeprovider.WriteJSON(w, http.StatusOK, reply(text, agent.Usage{InputTokens: 100, OutputTokens: 20}))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// voteQuality counts a mode's votes.
type voteQuality struct {
	votes, invalid, misread, fallback, requests, rejected int
}

func measureVotes(t *testing.T, honour bool, debates int) voteQuality {
	t.Helper()
	var requests, rejected atomic.Int64
	srv := voteFake(t, honour, &requests, &rejected)
	ps := make([]debate.Participant, len(voters))
	for i, name := range voters {
		// The model names the voter to the fake; one adapter per
		// participant for every debate, as the registry builds them.
		a, err := openai.New(openai.Config{Provider: openai.ProviderOpenRouter, APIKey: "k", Model: name,
			BaseURL: srv.URL, HTTPClient: srv.Client()})
		require.NoError(t, err)
		ps[i] = debate.Participant{Name: name, Agent: a}
	}
	var q voteQuality
	for d := range debates {
		o, err := debate.New(debate.Config{Rounds: 3, DisableEarlyStop: true, Quorum: 1}, ps...)
		require.NoError(t, err)
		question := fmt.Sprintf("Should service %d move its billing to Postgres?", d)
		res, err := o.Run(t.Context(), question)
		require.NotNil(t, res, "debate %d: %v", d, err)
		for _, rd := range res.Transcript {
			round := fmt.Sprint(rd.Round)
			for _, v := range rd.Votes {
				q.votes++
				if v.Parse == "fallback" {
					q.fallback++
				}
				choice, _, _ := intent(question, v.Agent, round)
				switch {
				case !v.Valid:
					q.invalid++
				case v.Resolved != choice:
					q.misread++
				}
			}
			for _, e := range rd.Errors {
				if e.Phase == agent.PhaseVote {
					q.votes++
					q.invalid++ // no choice could be read
				}
			}
		}
	}
	q.requests, q.rejected = int(requests.Load()), int(rejected.Load())
	return q
}

func pct(n, of int) float64 { return 100 * float64(n) / float64(of) }

// TestVoteQualityStructuredVsProse measures the invalid and misread vote
// rates of the same voters asked with a schema and in prose (a provider
// that rejects the schema, remembered after one rejection per adapter).
func TestVoteQualityStructuredVsProse(t *testing.T) {
	t.Parallel()
	const debates = 25
	structured := measureVotes(t, true, debates)
	prose := measureVotes(t, false, debates)
	for _, m := range []struct {
		name string
		q    voteQuality
	}{{"structured", structured}, {"prose", prose}} {
		t.Logf("%-10s votes %d, invalid %d (%.1f %%), misread %d (%.1f %%), read by the prose fallback %d, requests %d, schema rejections %d",
			m.name, m.q.votes, m.q.invalid, pct(m.q.invalid, m.q.votes), m.q.misread, pct(m.q.misread, m.q.votes), m.q.fallback,
			m.q.requests, m.q.rejected)
	}
	want := debates * 3 * len(voters)
	assert.Equal(t, want, structured.votes)
	assert.Equal(t, want, prose.votes)
	assert.Zero(t, structured.invalid, "a schema-constrained vote always names a participant")
	assert.Zero(t, structured.misread, "a cut-off structured vote still has its choice first")
	assert.Positive(t, structured.fallback, "a cut-off structured vote is read by the prose fallback")
	assert.Positive(t, prose.invalid)
	assert.Positive(t, prose.misread)
	assert.Zero(t, structured.rejected)
	// Each adapter is refused at least once (its first critiques, sent
	// concurrently before the first refusal came back) and then asked in
	// prose; each refusal costs exactly one extra request.
	assert.GreaterOrEqual(t, prose.rejected, len(voters))
	assert.Equal(t, structured.requests+prose.rejected, prose.requests)
}
