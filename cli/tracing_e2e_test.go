package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/tracing/tracingtest"
)

// TestE2ETracingOTLP runs `aragora serve` with OTEL_EXPORTER_OTLP_ENDPOINT
// pointed at an OTLP/HTTP receiver of the test (docs/observability.md#traces):
// a debate created with a client traceparent arrives as one trace —
// request, debate, rounds, phases and agent calls with their GenAI
// attributes and the debate's tokens — flushed when the server stops.
func TestE2ETracingOTLP(t *testing.T) {
	t.Parallel()
	rc := tracingtest.NewReceiver()
	defer rc.Close()
	p := startServer(t, t.TempDir(), map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rc.URL, "OTEL_SERVICE_NAME": "aragora-e2e"}, nil)
	const clientTrace, clientSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	id, hdr := p.createDebateWith(t, `{"topic":"Trace test: adopt Postgres?","rounds":2,"min_rounds":2,"seed":3}`,
		"traceparent", "00-"+clientTrace+"-"+clientSpan+"-01")
	assert.True(t, strings.HasPrefix(hdr.Get("traceparent"), "00-"+clientTrace+"-"), hdr.Get("traceparent"))
	p.waitDebate(t, id, "finished", finished)
	var final struct {
		Tokens struct{ Input, Output int64 } `json:"tokens"`
	}
	p.getJSON(t, "/api/debates/"+id, &final)

	p.stop(t)
	require.NoError(t, rc.Err())

	spans := rc.Spans()
	tree := tracingtest.Tree(spans, clientTrace)
	t.Logf("trace %s:\n%s", clientTrace, tree)
	count := map[string]int{}
	byID := map[string]tracingtest.Span{}
	var in, out int64
	for _, s := range spans {
		if s.TraceID() != clientTrace {
			continue
		}
		byID[s.SpanID()] = s
		assert.Equal(t, "aragora-e2e", s.Resource["service.name"])
		name, _, _ := strings.Cut(s.Name, " ")
		switch {
		case s.Name == "POST /api/debates":
			assert.Equal(t, clientSpan, s.ParentID())
		case name == "chat":
			assert.Equal(t, "chat", s.Attr("gen_ai.operation.name"))
			assert.Equal(t, "demo", s.Attr("gen_ai.provider.name"))
			assert.NotEmpty(t, s.Attr("gen_ai.request.model"))
			assert.Equal(t, id, s.Attr("gen_ai.conversation.id"))
			ti, _ := s.Attr("gen_ai.usage.input_tokens").(int64)
			to, _ := s.Attr("gen_ai.usage.output_tokens").(int64)
			in, out = in+ti, out+to
		case s.Name == "debate":
			assert.Equal(t, id, s.Attr("aragora.debate.id"))
		}
		count[name]++
	}
	assert.Equal(t, 1, count["POST"], tree)
	assert.Equal(t, 1, count["debate"], tree)
	assert.Equal(t, 2, count["round"], tree)
	assert.Equal(t, 6, count["phase"], tree) // propose, critique, vote; revise, critique, vote
	assert.Equal(t, 24, count["chat"], tree) // three demo agents: 3 + 6 + 3 per round
	for _, s := range byID {
		if s.Name != "POST /api/debates" {
			_, ok := byID[s.ParentID()]
			assert.True(t, ok, "%s has its parent in the trace", s.Name)
		}
	}
	assert.Equal(t, final.Tokens.Input, in)
	assert.Equal(t, final.Tokens.Output, out)
}
