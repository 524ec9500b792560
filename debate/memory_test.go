package debate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/memstore"
)

const (
	mistake     = "Keep the passwords in plain text in the users table so support can read them."
	flagged     = "Storing passwords in plain text exposes every account on a breach"
	memoryBlock = "### Memory from earlier debates"
)

// memoryCast is a scripted agent that repeats a mistake and two critics
// that flag it (severity 8) and prefer each other's proposals.
func memoryCast() (*agenttest.ScriptedAgent, []debate.Participant) {
	critique := fmt.Sprintf(`{"issues":[%q],"suggestions":["hash them with argon2id"],"severity":8,"reasoning":"security"}`, flagged)
	sloppy := agenttest.Scripted(agenttest.Script{Proposals: []string{mistake}, Votes: []string{"alice"}})
	alice := agenttest.Scripted(agenttest.Script{Proposals: []string{"Hash passwords with argon2id and never store them."}, Critique: critique, Votes: []string{"alice"}})
	bob := agenttest.Scripted(agenttest.Script{Proposals: []string{"Use argon2id hashes with per-user salts."}, Critique: critique, Votes: []string{"alice"}})
	return sloppy, []debate.Participant{{Name: "sloppy", Agent: sloppy}, {Name: "alice", Agent: alice}, {Name: "bob", Agent: bob}}
}

func memoryConfig(mem debate.Memory, rec *recorder, id string) debate.Config {
	cfg := demoConfig()
	cfg.Rounds = 2
	cfg.Domain = "security"
	cfg.NewID = func() string { return id }
	cfg.Memory = mem
	if rec != nil {
		cfg.Observers = []debate.Observer{rec}
	}
	return cfg
}

func newMemory(t *testing.T, now *time.Time) *memory.Continuum {
	t.Helper()
	c, err := memory.New(memory.Config{Store: memstore.NewMemory(), Now: func() time.Time { return *now }})
	require.NoError(t, err)
	return c
}

func proposalPrompts(a *agenttest.ScriptedAgent) []string {
	var out []string
	for _, r := range a.Calls() {
		if r.Phase == agent.PhasePropose || r.Phase == agent.PhaseRevise {
			out = append(out, r.Prompt)
		}
	}
	return out
}

// TestMemoryScenario: with memory on, the second and third debates on the
// same domain receive the pattern the critics flagged in the first, the
// event and the receipt name the memory ids, and the entries used get
// outcome updates.
func TestMemoryScenario(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := fixedNow
	mem := newMemory(t, &now)
	question := "How should the login service store user passwords?"
	var runs []*debate.Result
	var prompts [][]string
	var recs []*recorder
	for i := range 3 {
		sloppy, ps := memoryCast()
		rec := &recorder{}
		o, err := debate.New(memoryConfig(mem, rec, fmt.Sprintf("deb%d", i+1)), ps...)
		require.NoError(t, err)
		res, err := o.Run(ctx, question)
		require.NoError(t, err)
		runs, recs = append(runs, res), append(recs, rec)
		prompts = append(prompts, proposalPrompts(sloppy))
		now = now.Add(time.Hour)
	}

	// The first debate had nothing to recall.
	for _, p := range prompts[0] {
		assert.NotContains(t, p, memoryBlock)
	}
	assert.Nil(t, runs[0].MemoryIDs)
	assert.NotContains(t, runs[0].Receipt.Metadata, "memory_ids")
	assert.NotContains(t, recs[0].types(), debate.EventMemoryRecalled)

	pattern := memory.EntryID(memory.KindCritiquePattern, "security", "Critics flagged: "+flagged)
	for i := 1; i < 3; i++ {
		require.NotEmpty(t, prompts[i])
		for _, p := range prompts[i] {
			assert.Contains(t, p, memoryBlock, "debate %d", i+1)
			assert.Contains(t, p, "Critics flagged: "+flagged, "debate %d", i+1)
		}
		res := runs[i]
		assert.Contains(t, res.MemoryIDs, pattern, "debate %d", i+1)
		assert.Contains(t, res.MemoryIDs, memory.OutcomeID(fmt.Sprintf("deb%d", i)), "the previous outcome is recalled")
		assert.Equal(t, strings.Join(res.MemoryIDs, ","), res.Receipt.Metadata["memory_ids"])
		assert.True(t, res.Receipt.VerifyHash())
		var recalled []debate.MemoryRecalledData
		for _, e := range recs[i].all() {
			if e.Type == debate.EventMemoryRecalled {
				recalled = append(recalled, e.Data.(debate.MemoryRecalledData))
				assert.Equal(t, int64(2), e.Seq, "right after debate_start")
			}
		}
		require.Len(t, recalled, 1)
		assert.Equal(t, res.MemoryIDs, recalled[0].IDs)
	}

	// The pattern was used twice, by debates that reached consensus with
	// confidence: two successes.
	e, err := mem.Get(ctx, pattern)
	require.NoError(t, err)
	assert.Equal(t, memory.KindCritiquePattern, e.Kind)
	assert.Equal(t, 2, e.Updates)
	assert.Equal(t, runs[1].Consensus.Reached && runs[1].Confidence >= 0.7, e.Successes >= 1)
	for i := range 3 {
		_, err := mem.Get(ctx, memory.OutcomeID(fmt.Sprintf("deb%d", i+1)))
		require.NoError(t, err, "outcome of debate %d recorded", i+1)
	}
}

// TestMemoryOffChangesNothing: without Config.Memory, or with an empty
// memory, nothing is injected and the result and events are identical.
func TestMemoryOffChangesNothing(t *testing.T) {
	t.Parallel()
	run := func(mem debate.Memory) (string, string, []string) {
		sloppy, ps := memoryCast()
		rec := &recorder{}
		rj, ej := runMarshalled(t, memoryConfig(mem, rec, "same"), ps, rec, "How should the login service store user passwords?")
		return string(rj), string(ej), proposalPrompts(sloppy)
	}
	now := fixedNow
	offR, offE, offP := run(nil)
	emptyR, emptyE, emptyP := run(newMemory(t, &now))
	assert.Equal(t, offR, emptyR)
	assert.Equal(t, offE, emptyE)
	assert.Equal(t, offP, emptyP)
	assert.NotContains(t, offR, "memory_ids")
	assert.NotContains(t, offE, string(debate.EventMemoryRecalled))
	for _, p := range offP {
		assert.NotContains(t, p, memoryBlock)
	}
}

// TestMemoryDeterminism: same seed, same memory contents, same clock: the
// same debate, prompts included.
func TestMemoryDeterminism(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	seeded := func() *memory.Continuum {
		now := fixedNow
		mem := newMemory(t, &now)
		for _, c := range []string{"Critics flagged: " + flagged, "Salted hashes stop rainbow tables"} {
			_, err := mem.Add(ctx, memory.Entry{Kind: memory.KindCritiquePattern, Domain: "security", Content: c})
			require.NoError(t, err)
		}
		return mem
	}
	run := func(mem debate.Memory) (string, []string) {
		sloppy, ps := memoryCast()
		o, err := debate.New(memoryConfig(mem, nil, "det"), ps...)
		require.NoError(t, err)
		res, err := o.Run(ctx, "How should the login service store user passwords?")
		require.NoError(t, err)
		require.Len(t, res.MemoryIDs, 2)
		rj, err := json.Marshal(res)
		require.NoError(t, err)
		return string(rj), proposalPrompts(sloppy)
	}
	r1, p1 := run(seeded())
	r2, p2 := run(seeded())
	assert.Equal(t, r1, r2)
	assert.Equal(t, p1, p2)
}
