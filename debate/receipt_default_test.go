package debate_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/debate"
)

// described is a scripted agent that names its provider and model.
type described struct{ *agenttest.ScriptedAgent }

func (described) Describe() agent.Info { return agent.Info{Provider: "acme", Model: "acme-large-2"} }

func TestReceiptOnByDefault(t *testing.T) {
	t.Parallel()
	ps := []debate.Participant{
		{Name: "ada", Agent: agent.Chain(described{agenttest.Scripted(agenttest.Script{})}, agent.Timeout(0), agent.Retry(agent.RetryConfig{}))},
		{Name: "bob", Agent: agenttest.Scripted(agenttest.Script{}), Model: "bob-model"},
	}
	o, err := debate.New(debate.Config{Rounds: 1}, ps...)
	require.NoError(t, err)
	res, err := o.Run(context.Background(), "Which database?")
	require.NoError(t, err)
	require.NotNil(t, res.Receipt, "a zero Config gives a receipt")
	assert.Nil(t, res.Receipt.Signature, "unsigned without a signer")
	assert.True(t, res.Receipt.VerifyHash())
	require.Len(t, res.Receipt.Agents, 2)
	assert.Equal(t, "acme-large-2", res.Receipt.Agents[0].Model, "the model comes from agent.Describer, through middleware")
	assert.Equal(t, "bob-model", res.Receipt.Agents[1].Model, "Participant.Model wins")

	o, err = debate.New(debate.Config{Rounds: 1, DisableReceipt: true}, ps...)
	require.NoError(t, err)
	res, err = o.Run(context.Background(), "Which database?")
	require.NoError(t, err)
	assert.Nil(t, res.Receipt, "DisableReceipt opts out")

	_, err = debate.New(debate.Config{DisableReceipt: true, Receipt: &debate.ReceiptOptions{}}, ps...)
	require.ErrorIs(t, err, debate.ErrInvalidConfig)
}
