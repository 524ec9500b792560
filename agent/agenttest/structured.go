package agenttest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// structuredRequest is the structured-reply request of the conformance
// cases: a vote with its schema.
var structuredRequest = func() agent.Request {
	r := conformanceRequest
	r.Phase = agent.PhaseVote
	r.Schema = &agent.Schema{Name: "vote", Description: "Your vote.", JSON: []byte(`{"type":"object","properties":` +
		`{"choice":{"type":"string","enum":["alice","bob"]},"confidence":{"type":"number"},"reasoning":{"type":"string"}},` +
		`"required":["choice","confidence","reasoning"],"additionalProperties":false}`)}
	return r
}()

// structuredValue is the value the fake answers a structured request with.
const structuredValue = `{"choice":"bob","confidence":0.75,"reasoning":"bob's plan has a rollback"}`

// proseVote is the prose the fake answers an unstructured request with.
const proseVote = "Having read both, I vote for alice: the plan is safer."

// schemaReplier returns a as an agent.SchemaReplier, reporting false
// (without t.Skip) when the adapter is not one and Wire.Structured is nil.
func schemaReplier(t *testing.T, h Harness, a agent.Agent) (agent.SchemaReplier, bool) {
	t.Helper()
	s, ok := implements[agent.SchemaReplier](t, a, "agent.SchemaReplier", "Structured", h.Wire.Structured != nil)
	if !ok {
		return nil, false
	}
	require.NotNil(t, h.Wire.DecodeRequest, "agenttest: Wire.Structured needs Wire.DecodeRequest")
	require.NotNil(t, h.Wire.RejectSchema, "agenttest: Wire.Structured needs Wire.RejectSchema")
	return s, true
}

// sentLog records whether each request the fake received asked for a
// structured reply.
type sentLog struct {
	mu         sync.Mutex
	structured []bool
}

func (l *sentLog) add(b bool) {
	l.mu.Lock()
	l.structured = append(l.structured, b)
	l.mu.Unlock()
}

// take returns and clears the record.
func (l *sentLog) take() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.structured
	l.structured = nil
	return out
}

// structuredServer serves structured requests with onStructured and the
// others with a prose vote, logging which was which.
func structuredServer(t *testing.T, h Harness, onStructured func(w http.ResponseWriter)) (agent.Agent, *sentLog) {
	t.Helper()
	log := &sentLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sent, err := h.Wire.DecodeRequest(r, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		log.add(sent.Structured)
		if sent.Structured {
			onStructured(w)
			return
		}
		h.Wire.Reply(w, proseVote, agent.Usage{InputTokens: 5, OutputTokens: 7})
	}))
	t.Cleanup(srv.Close)
	return newAgent(t, h, srv.URL, srv.Client()), log
}

func respondTo(t *testing.T, a agent.Agent, req agent.Request) (agent.Response, error) {
	t.Helper()
	return callFunc(t, t.Context(), callTimeout, func(ctx context.Context) (agent.Response, error) {
		return a.Respond(ctx, req)
	})
}

// testStructured: a request with a Schema asks for a structured reply,
// whose JSON value becomes the Response text, marked Structured, with no
// prose in it; a request without one asks in prose, as before.
func testStructured(t *testing.T, h Harness) {
	usage := agent.Usage{InputTokens: 17, OutputTokens: 19}
	a, log := structuredServer(t, h, func(w http.ResponseWriter) {
		h.Wire.Structured(w, structuredRequest.Schema.Name, structuredValue, usage)
	})
	if _, ok := schemaReplier(t, h, a); !ok {
		return
	}
	assert.True(t, agent.SupportsSchema(a), "a fresh adapter supports schemas")
	resp, err := respondTo(t, a, structuredRequest)
	require.NoError(t, err)
	assert.True(t, resp.Structured, "the reply to a structured request is marked Structured")
	assert.JSONEq(t, structuredValue, resp.Text, "the reply is the JSON value alone")
	assert.Equal(t, usage, resp.Usage)
	assert.Equal(t, []bool{true}, log.take(), "one request, asking for a structured reply")

	resp, err = respondTo(t, a, conformanceRequest)
	require.NoError(t, err)
	assert.False(t, resp.Structured)
	assert.Equal(t, proseVote, resp.Text)
	assert.Equal(t, []bool{false}, log.take(), "a request without a Schema asks in prose")
}

// testStructuredRejected: a provider that rejects the schema parameter is
// asked once with it and then only in prose; the rejected call is sent
// again at once in prose and succeeds.
func testStructuredRejected(t *testing.T, h Harness) {
	a, log := structuredServer(t, h, func(w http.ResponseWriter) { h.Wire.RejectSchema(w) })
	if _, ok := schemaReplier(t, h, a); !ok {
		return
	}
	resp, err := respondTo(t, a, structuredRequest)
	require.NoError(t, err, "a schema rejection is answered in prose, not failed")
	assert.False(t, resp.Structured)
	assert.Equal(t, proseVote, resp.Text)
	assert.Equal(t, 2, resp.Attempts, "the rejected request and its prose retry")
	assert.Equal(t, []bool{true, false}, log.take(), "asked once with the schema, then at once in prose")
	assert.False(t, agent.SupportsSchema(a), "the rejection is remembered")

	for range 2 {
		resp, err = respondTo(t, a, structuredRequest)
		require.NoError(t, err)
		assert.False(t, resp.Structured)
		assert.Equal(t, proseVote, resp.Text)
	}
	assert.Equal(t, []bool{false, false}, log.take(), "never asked with the schema again")
}

// testStructuredBadRequest: a 400 that does not name the schema parameter
// fails the structured call without a second request.
func testStructuredBadRequest(t *testing.T, h Harness) {
	a, log := structuredServer(t, h, func(w http.ResponseWriter) {
		h.Wire.Error(w, http.StatusBadRequest, "max_tokens is too large for this model", false)
	})
	if _, ok := schemaReplier(t, h, a); !ok {
		return
	}
	_, err := respondTo(t, a, structuredRequest)
	requireKind(t, h, agent.KindOther, http.StatusBadRequest, err)
	assert.Equal(t, []bool{true}, log.take(), "a failed call is not sent twice")
	assert.True(t, agent.SupportsSchema(a), "only a rejection of the schema parameter is remembered")
}
