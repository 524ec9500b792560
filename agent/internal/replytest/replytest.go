// Package replytest holds what the tests of the agents that write their
// replies themselves (agenttest's scripted agents, the demo agents) share:
// the JSON replies of docs/agents.md#phases-and-reply-formats, a strict
// decoder of them, and a call that fails the test on an error.
package replytest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// Critique is the JSON reply of the critique phase.
type Critique struct {
	Issues      []string `json:"issues"`
	Suggestions []string `json:"suggestions"`
	Severity    float64  `json:"severity"`
	Reasoning   string   `json:"reasoning"`
}

// Vote is the JSON reply of the vote phase.
type Vote struct {
	Choice     string  `json:"choice"`
	Confidence float64 `json:"confidence"`
	Reasoning  string  `json:"reasoning"`
}

// Judge is the JSON reply of the judge phase.
type Judge struct {
	Decided    bool    `json:"decided"`
	Choice     string  `json:"choice"`
	Confidence float64 `json:"confidence"`
	Reasoning  string  `json:"reasoning"`
	Answer     string  `json:"answer"`
}

// Synthesis is the JSON reply of the synthesis phase.
type Synthesis struct {
	Answer     string  `json:"answer"`
	Confidence float64 `json:"confidence"`
}

// Decode parses a reply strictly: the whole text is one JSON object with
// exactly the fields of T.
func Decode[T any](t testing.TB, text string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "reply %q", text)
	require.False(t, dec.More(), "one object only: %q", text)
	return v
}

// Respond returns a's reply to req, failing the test on an error.
func Respond(t testing.TB, a agent.Agent, req agent.Request) agent.Response {
	t.Helper()
	resp, err := a.Respond(t.Context(), req)
	require.NoError(t, err)
	return resp
}
