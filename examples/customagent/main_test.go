package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, "Should we adopt Postgres?"))
	s := out.String()
	assert.Contains(t, s, "[round 1] checklist → demo-analyst (severity ")
	assert.Contains(t, s, "[round 1] checklist votes ")
	assert.Contains(t, s, "status:  ")
	assert.Regexp(t, `tokens:  checklist [1-9]\d* of \d+`, s)
	assert.Regexp(t, `receipt: DR-\d{8}-[0-9a-f]{6}`, s)
}

func TestChecklistReplies(t *testing.T) {
	t.Parallel()
	c := Checklist{Items: []string{"rollback", "cost"}}
	props := []agent.Proposal{{Agent: "a", Text: "Just do it."}, {Agent: "b", Text: "Pilot first; rollback plan and cost cap."}}
	tests := []struct {
		name  string
		req   agent.Request
		check func(t *testing.T, reply map[string]any)
	}{
		{name: "critique lists gaps", req: agent.Request{Phase: agent.PhaseCritique, Target: "a", Proposals: props[:1]},
			check: func(t *testing.T, r map[string]any) {
				assert.Equal(t, []any{"The proposal does not address rollback.", "The proposal does not address cost."}, r["issues"])
				assert.Equal(t, 4.0, r["severity"])
			}},
		{name: "vote picks fewest gaps", req: agent.Request{Phase: agent.PhaseVote, Proposals: props},
			check: func(t *testing.T, r map[string]any) { assert.Equal(t, "b", r["choice"]) }},
		{name: "judge decides", req: agent.Request{Phase: agent.PhaseJudge, Proposals: props},
			check: func(t *testing.T, r map[string]any) {
				assert.Equal(t, true, r["decided"])
				assert.Equal(t, "b", r["choice"])
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.Respond(context.Background(), tt.req)
			require.NoError(t, err)
			var reply map[string]any
			require.NoError(t, json.Unmarshal([]byte(resp.Text), &reply))
			tt.check(t, reply)
		})
	}
}

func TestChecklistHonoursContextAndPhase(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Checklist{}.Respond(ctx, agent.Request{Phase: agent.PhasePropose})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = Checklist{}.Respond(context.Background(), agent.Request{Phase: "dance"})
	assert.Error(t, err)
}
