package reply_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/reply"
)

func TestSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		schema   []byte
		required []string
		enum     []any // the choice's enum; nil: none
	}{
		{"critique", reply.CritiqueSchema(), []string{"issues", "suggestions", "severity", "reasoning"}, nil},
		{"vote", reply.VoteSchema([]string{"alice", " bob ", "", "alice"}), []string{"choice", "confidence", "reasoning"}, []any{"alice", "bob"}},
		{"vote-any", reply.VoteSchema(nil), []string{"choice", "confidence", "reasoning"}, nil},
		{"judge", reply.JudgeSchema([]string{"alice", "bob"}), []string{"decided", "choice", "confidence", "reasoning", "answer"}, []any{"alice", "bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s map[string]any
			require.NoError(t, json.Unmarshal(tt.schema, &s))
			assert.Equal(t, "object", s["type"])
			assert.Equal(t, false, s["additionalProperties"], "closed objects, as OpenAI strict mode demands")
			var req []string
			for _, r := range s["required"].([]any) {
				req = append(req, r.(string))
			}
			assert.Equal(t, tt.required, req, "every property required, in order")
			props := s["properties"].(map[string]any)
			assert.Len(t, props, len(tt.required))
			for _, name := range tt.required {
				p := props[name].(map[string]any)
				assert.Contains(t, []any{"string", "number", "boolean", "array"}, p["type"], name)
				assert.NotContains(t, p, "minimum", "no numeric bounds: the parsers clamp")
			}
			if c, ok := props["choice"].(map[string]any); ok {
				if tt.enum == nil {
					assert.NotContains(t, c, "enum")
				} else {
					assert.Equal(t, tt.enum, c["enum"])
				}
			}
		})
	}
}

func TestStructuredCritique(t *testing.T) {
	t.Parallel()
	c, ok := reply.StructuredCritique(` {"issues":["no rollback"],"suggestions":["add one"],"severity":12,"reasoning":"r"} `)
	require.True(t, ok)
	assert.Equal(t, reply.Critique{Issues: []string{"no rollback"}, Suggestions: []string{"add one"}, Severity: 10, Reasoning: "r", Parse: reply.ParseJSON}, c)
	for _, bad := range []string{"", "The plan lacks a rollback.", `{"issues":["cut`, "```json\n{\"issues\":[]}\n```", `[1]`} {
		_, ok := reply.StructuredCritique(bad)
		assert.False(t, ok, "%q is not a structured reply: it is parsed as prose", bad)
	}
}

func TestStructuredVote(t *testing.T) {
	t.Parallel()
	v, ok := reply.StructuredVote(`{"choice":" bob ","confidence":0.8,"reasoning":"alice forgot the rollback"}`)
	require.True(t, ok)
	assert.Equal(t, reply.Vote{Choice: "bob", Confidence: 0.8, Reasoning: "alice forgot the rollback", Parse: reply.ParseJSON, OK: true}, v)
	// The structured reply is read as JSON only: the prose parser would
	// have taken "alice", named first in the text.
	for _, bad := range []string{`{"choice":""}`, `{"confidence":1}`, `I vote for bob`, `{"choice":"bob"`, `null`} {
		_, ok := reply.StructuredVote(bad)
		assert.False(t, ok, "%q", bad)
	}
}

func TestStructuredJudge(t *testing.T) {
	t.Parallel()
	j, ok := reply.StructuredJudge(`{"decided":true,"choice":"alice","confidence":0.9,"reasoning":"r","answer":" a "}`)
	require.True(t, ok)
	assert.Equal(t, reply.Judge{Decided: true, Choice: "alice", Confidence: 0.9, Reasoning: "r", Answer: "a", OK: true}, j)
	for _, bad := range []string{`{"decided":true,"choice":""}`, `alice`, `{`} {
		_, ok := reply.StructuredJudge(bad)
		assert.False(t, ok, "%q", bad)
	}
}
