package debate_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
)

// schemaAgent is a scripted agent that supports structured replies: a
// reply to a request with a Schema is marked Structured, and vote, when
// set, answers the structured votes.
type schemaAgent struct {
	*agenttest.ScriptedAgent
	vote string
}

func (a schemaAgent) SupportsSchema() bool { return true }

func (a schemaAgent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	resp, err := a.ScriptedAgent.Respond(ctx, req)
	if err == nil && req.Schema != nil {
		resp.Structured = true
		if req.Phase == agent.PhaseVote && a.vote != "" {
			resp.Text = a.vote
		}
	}
	return resp, err
}

// TestStructuredReplies checks that the engine asks only agents that
// support schemas for structured critiques, votes and judgements, with the
// phase's schema and the choice limited to the proposals' owners, reads a
// structured reply as JSON, and falls back to prose parsing when a
// structured reply is not JSON (docs/agents.md#structured-replies).
func TestStructuredReplies(t *testing.T) {
	t.Parallel()
	alice := schemaAgent{ScriptedAgent: agenttest.Scripted(agenttest.Script{Votes: []string{"bob"}})}
	// bob's structured vote was cut short: it is parsed as prose, which
	// finds the name "carol".
	bob := schemaAgent{ScriptedAgent: agenttest.Scripted(agenttest.Script{}), vote: `{"choice":"carol","confid`}
	carol := agenttest.Scripted(agenttest.Script{Votes: []string{"alice"}})
	judge := schemaAgent{ScriptedAgent: agenttest.Scripted(agenttest.Script{})}
	cfg := demoConfig()
	cfg.Rounds = 1
	cfg.Consensus = consensus.Judge{}
	cfg.Judge, cfg.JudgeAgent = "judge", judge
	o, err := debate.New(cfg, debate.Participant{Name: "alice", Agent: alice}, debate.Participant{Name: "bob", Agent: bob},
		debate.Participant{Name: "carol", Agent: carol})
	require.NoError(t, err)
	res, err := o.Run(t.Context(), "Should we migrate the billing service to Postgres?")
	require.NoError(t, err)

	for _, req := range carol.Calls() {
		assert.Nil(t, req.Schema, "an agent without the capability gets no schema (%s)", req.Phase)
	}
	choices := func(s *agent.Schema) []string {
		var v struct {
			Properties struct {
				Choice struct {
					Enum []string `json:"enum"`
				} `json:"choice"`
			} `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(s.JSON, &v))
		return v.Properties.Choice.Enum
	}
	for _, req := range alice.Calls() {
		switch req.Phase {
		case agent.PhaseCritique:
			require.NotNil(t, req.Schema)
			assert.Equal(t, "critique", req.Schema.Name)
		case agent.PhaseVote:
			require.NotNil(t, req.Schema)
			assert.Equal(t, "vote", req.Schema.Name)
			assert.Equal(t, []string{"alice", "bob", "carol"}, choices(req.Schema))
		default:
			assert.Nil(t, req.Schema, "no schema in the %s phase", req.Phase)
		}
	}
	jc := judge.CallsIn(agent.PhaseJudge)
	require.NotEmpty(t, jc)
	require.NotNil(t, jc[0].Schema)
	assert.Equal(t, "judge", jc[0].Schema.Name)
	assert.Equal(t, []string{"alice", "bob", "carol"}, choices(jc[0].Schema))

	require.Len(t, res.Transcript, 1)
	votes := map[string]debate.VoteRecord{}
	for _, v := range res.Transcript[0].Votes {
		votes[v.Agent] = v
	}
	assert.Equal(t, "bob", votes["alice"].Choice)
	assert.Equal(t, "json", votes["alice"].Parse, "a structured vote is read as JSON")
	assert.Equal(t, "carol", votes["bob"].Choice)
	assert.Equal(t, "fallback", votes["bob"].Parse, "a structured reply that is not JSON is parsed as prose")
	assert.Equal(t, "alice", votes["carol"].Choice)
	for _, c := range res.Transcript[0].Critiques {
		assert.Equal(t, "json", c.Parse)
	}
}
