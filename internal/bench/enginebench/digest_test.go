package enginebench

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
)

// TestDigestReadsEveryField changes each field of a request in turn: every
// change but DebateID's changes the digest. A field added to agent.Request
// fails the test until digest writes it.
func TestDigestReadsEveryField(t *testing.T) {
	base := func() agent.Request {
		return agent.Request{DebateID: "d1", Participant: "a", Phase: agent.PhaseRevise, Round: 2, Rounds: 3,
			System: "s", Prompt: "p", MaxTokens: 10, Temperature: 0.5, Question: "q",
			Proposals: []agent.Proposal{{Agent: "a", Text: "x"}}, Own: "o", Target: "b",
			Critiques:    []agent.Critique{{Critic: "b", Target: "a", Issues: []string{"i"}, Suggestions: []string{"s"}, Severity: 3, Reasoning: "r"}},
			Participants: []string{"a", "b"}, PreviousLeader: "b", AgreementIntensity: 5, Stance: agent.StanceNeutral,
			Final: true, Schema: &agent.Schema{Name: "n", Description: "d", JSON: json.RawMessage(`{}`)}}
	}
	changes := map[string]func(*agent.Request){
		"Participant":        func(r *agent.Request) { r.Participant = "c" },
		"Phase":              func(r *agent.Request) { r.Phase = agent.PhaseVote },
		"Round":              func(r *agent.Request) { r.Round = 3 },
		"Rounds":             func(r *agent.Request) { r.Rounds = 4 },
		"System":             func(r *agent.Request) { r.System = "s2" },
		"Prompt":             func(r *agent.Request) { r.Prompt = "p2" },
		"MaxTokens":          func(r *agent.Request) { r.MaxTokens = 11 },
		"Temperature":        func(r *agent.Request) { r.Temperature = 0.6 },
		"Question":           func(r *agent.Request) { r.Question = "q2" },
		"Proposals":          func(r *agent.Request) { r.Proposals[0].Text = "y" },
		"Own":                func(r *agent.Request) { r.Own = "o2" },
		"Target":             func(r *agent.Request) { r.Target = "c" },
		"Critiques":          func(r *agent.Request) { r.Critiques[0].Issues = append(r.Critiques[0].Issues, "j") },
		"Participants":       func(r *agent.Request) { r.Participants = r.Participants[:1] },
		"PreviousLeader":     func(r *agent.Request) { r.PreviousLeader = "" },
		"AgreementIntensity": func(r *agent.Request) { r.AgreementIntensity = 6 },
		"Stance":             func(r *agent.Request) { r.Stance = agent.StanceNegative },
		"ForbidSelfVote":     func(r *agent.Request) { r.ForbidSelfVote = true },
		"Final":              func(r *agent.Request) { r.Final = false },
		"Schema":             func(r *agent.Request) { r.Schema.JSON = json.RawMessage(`{"type":"object"}`) },
	}
	var fields []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[agent.Request]()) {
		if f.Name != "DebateID" {
			fields = append(fields, f.Name)
		}
	}
	require.Len(t, changes, len(fields), "a field of agent.Request has no change here")
	b := base()
	want := digest(&b)
	for _, name := range fields {
		change, ok := changes[name]
		require.True(t, ok, name)
		r := base()
		change(&r)
		assert.NotEqual(t, want, digest(&r), name)
	}
	other := base()
	other.DebateID = "d2"
	assert.Equal(t, want, digest(&other), "DebateID is not read")
	// Moving a string's bytes from one field to the next changes it.
	moved := base()
	moved.System, moved.Prompt = "sp", ""
	assert.NotEqual(t, want, digest(&moved))
}

// TestRemoteAnswersKept: a provider with a latency gives the answer it
// computed to the same request of another debate, and computes the answer
// to another request; an instant one computes every answer.
func TestRemoteAnswersKept(t *testing.T) {
	ctx := context.Background()
	req := agent.Request{DebateID: "d1", Phase: agent.PhasePropose, Participant: "demo-a", Question: question, Prompt: "p"}
	again := req
	again.DebateID = "d2"
	other := req
	other.Prompt = "a longer prompt"

	remote := &fakeProvider{demo: demo.New("demo-a", demo.StyleBalanced, 42), sleep: time.Millisecond, answers: new(answers)}
	a, err := remote.answer(ctx, &req)
	require.NoError(t, err)
	b, err := remote.answer(ctx, &again)
	require.NoError(t, err)
	assert.Same(t, a, b)
	c, err := remote.answer(ctx, &other)
	require.NoError(t, err)
	want, err := remote.demo.Respond(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, want, *c, "another request: its own answer")
	assert.Len(t, remote.answers.byReq, 2)

	instant := &fakeProvider{demo: demo.New("demo-a", demo.StyleBalanced, 42), answers: new(answers)}
	_, err = instant.answer(ctx, &req)
	require.NoError(t, err)
	assert.Empty(t, instant.answers.byReq, "an instant provider keeps no answers by request")

	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = remote.answer(done, &req)
	assert.ErrorIs(t, err, context.Canceled, "a known answer is not given once the call's context is done")
}

func BenchmarkDigest(b *testing.B) {
	req := agent.Request{Participant: "demo-a", Phase: agent.PhaseVote, Round: 2, Rounds: 3, Question: question,
		System: strings.Repeat("s", 600), Prompt: strings.Repeat("p", 2500),
		Proposals: []agent.Proposal{{Agent: "demo-a", Text: strings.Repeat("x", 500)}, {Agent: "demo-b", Text: strings.Repeat("y", 500)}}}
	for b.Loop() {
		digest(&req)
	}
}
