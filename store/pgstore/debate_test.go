package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/pgstore"
)

// TestRealDebateSurvivesTerminatedBackends runs a real debate on Postgres
// and terminates the store's connections (pg_terminate_backend) in the
// middle of it, several times: the debate finishes after the store
// reconnects, with an event log numbered 1..N, nothing lost or repeated.
func TestRealDebateSurvivesTerminatedBackends(t *testing.T) {
	d := dsn(t)
	s, app := openNamed(t, "aragora_debate_", pgstore.Config{PoolSize: 2, MaxOverflow: 2})

	// Every agent call first waits for the test's go-ahead, so the test
	// cuts the connections between phases of a debate in flight.
	var mu sync.Mutex
	cuts := 0
	step := make(chan struct{})
	var ps []debate.Participant
	for _, name := range []string{"demo-analyst", "demo-critic", "demo-judge"} {
		da := demo.New(name, demo.DefaultStyle(name), 4)
		ps = append(ps, debate.Participant{Name: name, Agent: agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
			if req.Phase == agent.PhaseCritique && name == "demo-analyst" {
				mu.Lock()
				first := cuts < req.Round
				if first {
					cuts = req.Round
				}
				mu.Unlock()
				if first {
					select {
					case step <- struct{}{}:
					case <-ctx.Done():
						return agent.Response{}, ctx.Err()
					}
					<-step
				}
			}
			return da.Respond(ctx, req)
		})})
	}
	o, err := debate.New(debate.Config{Store: s, Rounds: 3, DisableEarlyStop: true}, ps...)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.CreateDebate(ctx, &store.Debate{ID: "cut1", Status: store.StatusRunning, CreatedAt: time.Now(), UpdatedAt: time.Now()}))
	done := make(chan struct{})
	var res *debate.Result
	var runErr error
	go func() {
		defer close(done)
		res, runErr = o.RunTask(ctx, debate.Task{ID: "cut1", Question: "Should billing move to Postgres?"})
	}()
	for range 3 { // once per round, while a critique call is held
		<-step
		assert.Positive(t, terminate(t, d, app), "the store had connections to cut")
		step <- struct{}{}
	}
	<-done
	require.NoError(t, runErr)
	assert.Equal(t, 3, res.RoundsUsed)
	evs, err := s.ListEvents(ctx, "cut1", 0, 0)
	require.NoError(t, err)
	require.NotEmpty(t, evs)
	for i, e := range evs {
		require.Equal(t, int64(i+1), e.Seq, "seq contiguous from 1")
	}
	assert.Equal(t, "debate_end", evs[len(evs)-1].Type)
	rec, err := s.GetDebate(ctx, "cut1")
	require.NoError(t, err)
	assert.Equal(t, res.Status, rec.Status)
	assert.Equal(t, int64(len(evs)), rec.LastSeq)
}
