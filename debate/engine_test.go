package debate_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/syncbuf"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

var fixedNow = time.Date(2026, 2, 11, 9, 30, 0, 0, time.UTC)

func fixedClock() func() time.Time { return func() time.Time { return fixedNow } }

// zeroReader is a deterministic "random" reader for receipt ids.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xab
	}
	return len(p), nil
}

// runMarshalled runs one debate of ps with cfg on topic and returns the
// result and the events rec observed, as JSON.
func runMarshalled(t *testing.T, cfg debate.Config, ps []debate.Participant, rec *recorder, topic string) (res, events []byte) {
	t.Helper()
	o, err := debate.New(cfg, ps...)
	require.NoError(t, err)
	r, err := o.Run(context.Background(), topic)
	require.NoError(t, err)
	res, err = json.Marshal(r)
	require.NoError(t, err)
	events, err = json.Marshal(rec.all())
	require.NoError(t, err)
	return res, events
}

func demoParticipants(seed int64, specs ...string) []debate.Participant {
	var ps []debate.Participant
	for _, s := range specs {
		name, style, err := demo.ParseSpec(s)
		if err != nil {
			panic(err)
		}
		ps = append(ps, debate.Participant{Name: name, Agent: demo.New(name, style, seed), Model: "demo-" + string(style)})
	}
	return ps
}

func demoConfig() debate.Config {
	return debate.Config{Now: fixedClock(), NewID: func() string { return "fixed" },
		Receipt: &debate.ReceiptOptions{Rand: zeroReader{}}}
}

func TestDemoDebateDeterministic(t *testing.T) { // scenario 14
	t.Parallel()
	runOnce := func() ([]byte, []byte) {
		rec := &recorder{}
		cfg := demoConfig()
		cfg.Observers = []debate.Observer{rec}
		cfg.Trickster.Enabled = true
		return runMarshalled(t, cfg, demoParticipants(42, "demo-analyst", "demo-critic", "demo-contrarian", "demo-judge"),
			rec, "Should we migrate the billing service to Postgres?")
	}
	r1, e1 := runOnce()
	r2, e2 := runOnce()
	assert.Equal(t, string(r1), string(r2))
	assert.Equal(t, string(e1), string(e2))
	// The demo agents exercise every path: critiques, votes, dissent.
	for _, want := range []string{`"type":"critique"`, `"type":"vote"`, `"type":"consensus_check"`} {
		assert.Contains(t, string(e1), want)
	}
	var res debate.Result
	require.NoError(t, json.Unmarshal(r1, &res))
	require.NotNil(t, res.Receipt)
	assert.Regexp(t, regexp.MustCompile(`^DR-20260211-[0-9a-f]{6}$`), res.Receipt.ReceiptID)
	assert.True(t, res.Receipt.VerifyHash())
}

func TestHollowDemoAgentsTrickster(t *testing.T) { // scenario 12
	t.Parallel()
	rec := &recorder{}
	cfg := demoConfig()
	cfg.Observers = []debate.Observer{rec}
	cfg.Trickster.Enabled = true
	o, err := debate.New(cfg, demoParticipants(7, "demo-a:hollow", "demo-b:hollow")...)
	require.NoError(t, err)
	res, err := o.Run(context.Background(), "Which option is better?")
	require.NoError(t, err)
	var rounds []int
	for _, e := range rec.all() {
		if e.Type == debate.EventTricksterIntervention {
			rounds = append(rounds, e.Round)
			d := e.Data.(debate.TricksterData)
			assert.Equal(t, []string{"demo-a", "demo-b"}, d.Targets)
			assert.Contains(t, d.Challenge, "QUALITY CHALLENGE: possible hollow consensus")
		}
	}
	assert.Equal(t, []int{1, 3}, rounds)
	for _, r := range res.Transcript {
		require.NotNil(t, r.Trickster)
		assert.True(t, r.Trickster.Flagged, "round %d", r.Round)
	}
	assert.Equal(t, 3, res.RoundsUsed)
	assert.Equal(t, store.StatusConsensusReached, res.Status)
	assert.True(t, res.Consensus.Reached)
	assert.InDelta(t, 0.90, res.Confidence, 1e-9)
	assert.Equal(t, "approved", res.Verdict.String())
	assert.Equal(t, 2, res.TricksterInterventions)
}

func TestReceiptSignedAndTamperEvident(t *testing.T) {
	t.Parallel()
	hmacSigner, err := receipt.NewHMACSigner(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	_, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	tests := []struct {
		name   string
		signer receipt.Signer
		key    any
	}{
		{"hmac", hmacSigner, bytes.Repeat([]byte{7}, 32)},
		{"ed25519", receipt.NewEd25519Signer(priv), priv.Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := demoConfig()
			cfg.Receipt.Signer = tt.signer
			o, err := debate.New(cfg, demoParticipants(1, "demo-analyst", "demo-critic", "demo-judge")...)
			require.NoError(t, err)
			res, err := o.RunTask(context.Background(), debate.Task{Question: "Adopt Postgres?", Metadata: map[string]string{"ticket": "OPS-1"}})
			require.NoError(t, err)
			rc := res.Receipt
			require.NotNil(t, rc)
			assert.True(t, receipt.Verify(rc, tt.key))
			data, err := rc.JSON()
			require.NoError(t, err)
			back, err := receipt.Parse(data)
			require.NoError(t, err)
			assert.True(t, receipt.Verify(back, tt.key))
			back.Metadata["ticket"] = "OPS-2"
			assert.False(t, receipt.Verify(back, tt.key), "a changed field must fail verification")
			back.Metadata["ticket"] = "OPS-1"
			back.Confidence += 0.01
			assert.False(t, receipt.Verify(back, tt.key))
		})
	}
}

// crashStore suspends the debate right after the k-th checkpoint write,
// like a process killed between two phases.
type crashStore struct {
	*memstore.Store
	mu     sync.Mutex
	k      int
	saves  int
	cancel context.CancelCauseFunc
}

func (c *crashStore) SaveCheckpoint(ctx context.Context, cp *store.Checkpoint) error {
	if err := c.Store.SaveCheckpoint(ctx, cp); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saves++
	if c.saves == c.k && c.cancel != nil {
		c.cancel(debate.ErrSuspend)
	}
	return nil
}

func storedEvents(t *testing.T, s *memstore.Store, id string) []string {
	t.Helper()
	evs, err := s.ListEvents(context.Background(), id, 0, 0)
	require.NoError(t, err)
	var out []string
	for _, e := range evs {
		out = append(out, string(e.JSON))
	}
	return out
}

func TestCrashAfterEveryCheckpointThenResume(t *testing.T) { // scenario 13
	t.Parallel()
	specs := []string{"demo-analyst", "demo-critic", "demo-contrarian"}
	newOrch := func(st store.DebateStore) *debate.Orchestrator {
		cfg := demoConfig()
		cfg.Store = st
		cfg.Rounds = 2
		cfg.DisableEarlyStop = true
		o, err := debate.New(cfg, demoParticipants(3, specs...)...)
		require.NoError(t, err)
		return o
	}
	ref := memstore.New()
	want, err := newOrch(ref).RunTask(context.Background(), debate.Task{ID: "ref", Question: "Adopt Postgres?"})
	require.NoError(t, err)
	wantEvents := storedEvents(t, ref, "ref")
	wantJSON, _ := json.Marshal(want)
	// init, then propose, critique, vote per round; the last vote phase is
	// written with the end: 1 + 3 + 2 + 1 = 7 checkpoints, the 7th final.
	for k := 1; k < 7; k++ {
		t.Run(fmt.Sprintf("crash after checkpoint %d", k), func(t *testing.T) {
			t.Parallel()
			cs := &crashStore{Store: memstore.New(), k: k}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			cs.cancel = cancel
			_, err := newOrch(cs).RunTask(ctx, debate.Task{ID: "ref", Question: "Adopt Postgres?"})
			require.ErrorIs(t, err, debate.ErrSuspend)
			got, err := newOrch(cs.Store).Resume(context.Background(), "ref", debate.ResumeOptions{})
			require.NoError(t, err)
			assert.Equal(t, 1, got.Resumes)
			got.Resumes = 0
			gotJSON, _ := json.Marshal(got)
			assert.JSONEq(t, string(wantJSON), string(gotJSON))
			assert.Equal(t, wantEvents, storedEvents(t, cs.Store, "ref"))
			_, err = newOrch(cs.Store).Resume(context.Background(), "ref", debate.ResumeOptions{})
			require.ErrorIs(t, err, debate.ErrFinished)
		})
	}
}

func TestResumeErrors(t *testing.T) {
	t.Parallel()
	ps := demoParticipants(1, "demo-a", "demo-b")
	o, err := debate.New(debate.Config{}, ps...)
	require.NoError(t, err)
	_, err = o.Resume(context.Background(), "x", debate.ResumeOptions{})
	require.ErrorIs(t, err, debate.ErrNoStore)
	st := memstore.New()
	o, err = debate.New(debate.Config{Store: st}, ps...)
	require.NoError(t, err)
	_, err = o.Resume(context.Background(), "missing", debate.ResumeOptions{})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = o.RunTask(context.Background(), debate.Task{ID: "d", Question: "q?"})
	require.NoError(t, err)
	other, err := debate.New(debate.Config{Store: st, Rounds: 5}, ps...)
	require.NoError(t, err)
	_, err = other.Resume(context.Background(), "d", debate.ResumeOptions{})
	require.ErrorIs(t, err, debate.ErrInvalidConfig)
}

func TestStreamTokens(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	cfg := demoConfig()
	cfg.StreamTokens = true
	cfg.Rounds = 1
	cfg.Observers = []debate.Observer{rec}
	o, err := debate.New(cfg, demoParticipants(1, "demo-a", "demo-b")...)
	require.NoError(t, err)
	_, err = o.Run(context.Background(), "Adopt Postgres?")
	require.NoError(t, err)
	var tokens int
	var lastDurable int64
	for _, e := range rec.all() {
		if e.Type == debate.EventAgentToken {
			tokens++
			assert.Zero(t, e.Seq)
			assert.LessOrEqual(t, e.Data.(debate.AgentTokenData).AfterSeq, lastDurable)
			continue
		}
		lastDurable = e.Seq
	}
	assert.Positive(t, tokens)
}

var _ = agent.PhaseVote

func TestOnRoundReportsOverhead(t *testing.T) {
	t.Parallel()
	// A clock that advances 10 ms per reading makes the timing exact.
	var mu sync.Mutex
	now := fixedNow
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(10 * time.Millisecond)
		return now
	}
	var got []debate.RoundTiming
	cfg := debate.Config{Rounds: 2, DisableEarlyStop: true, Now: clock,
		OnRound: func(rt debate.RoundTiming) { got = append(got, rt) }}
	o, err := debate.New(cfg, demoParticipants(1, "demo-a", "demo-b")...)
	require.NoError(t, err)
	_, err = o.Run(context.Background(), "Adopt Postgres?")
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i, rt := range got {
		assert.Equal(t, i+1, rt.Round)
		assert.Positive(t, rt.Slowest)
		assert.Equal(t, rt.Wall-rt.Slowest, rt.Overhead)
	}
}

func TestRatingsRecordedOncePerDebate(t *testing.T) { // docs/debate.md#elo-ratings, scenario 16 end to end
	t.Parallel()
	st := memstore.New()
	cfg := demoConfig()
	cfg.Store, cfg.Ratings, cfg.Domain = st, st, "databases"
	ps := demoParticipants(5, "demo-analyst", "demo-critic", "demo-contrarian")
	o, err := debate.New(cfg, ps...)
	require.NoError(t, err)
	res, err := o.RunTask(context.Background(), debate.Task{ID: "elo1", Question: "Adopt Postgres?"})
	require.NoError(t, err)
	require.NotEmpty(t, res.Winner)
	board, err := st.Ratings(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, board, 3)
	assert.Equal(t, res.Winner, board[0].Agent, "the winner leads the leaderboard")
	assert.Greater(t, board[0].Elo, 1500.0)
	sum := 0.0
	for _, r := range board {
		sum += r.Elo
		assert.Equal(t, 1, r.Debates)
	}
	assert.InDelta(t, 3*1500.0, sum, 1e-6, "ELO is zero-sum")
	domain, err := st.Ratings(context.Background(), "databases")
	require.NoError(t, err)
	assert.Len(t, domain, 3)

	// Resuming the finished debate records again, idempotently.
	_, err = o.Resume(context.Background(), "elo1", debate.ResumeOptions{})
	require.ErrorIs(t, err, debate.ErrFinished)
	again, err := st.Ratings(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, board, again)

	// Weights from ELO favour the leader in the next debate.
	cfg.WeightsFromELO = true
	o2, err := debate.New(cfg, ps...)
	require.NoError(t, err)
	res2, err := o2.RunTask(context.Background(), debate.Task{ID: "elo2", Question: "Adopt Postgres?"})
	require.NoError(t, err)
	for _, v := range res2.Transcript[0].Votes {
		if v.Agent == res.Winner && v.Valid {
			assert.Greater(t, v.Weight, v.Confidence, "a rating above 1500 weighs more than 1")
		}
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	cfg := demoConfig()
	cfg.Observers = []debate.Observer{rec}
	cfg.Trickster.Enabled = true
	cfg.StreamTokens = true
	// Room for every event: on a loaded machine the engine can stream tokens
	// faster than the recorder's goroutine takes them, and a full buffer
	// drops events (docs/debate.md); this test is about their JSON.
	cfg.ObserverBuffer = 1 << 16
	o, err := debate.New(cfg, demoParticipants(2, "demo-a:hollow", "demo-b:hollow", "demo-critic")...)
	require.NoError(t, err)
	res, err := o.Run(context.Background(), "Adopt Postgres?")
	require.NoError(t, err)
	require.Zero(t, res.ObserverDrops)
	types := map[debate.EventType]bool{}
	for _, e := range rec.all() {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		var back debate.Event
		require.NoError(t, json.Unmarshal(b, &back))
		assert.IsType(t, e.Data, back.Data, "%s decodes to its typed data", e.Type)
		again, err := json.Marshal(back)
		require.NoError(t, err)
		assert.JSONEq(t, string(b), string(again))
		types[e.Type] = true
	}
	for _, want := range []debate.EventType{debate.EventProposal, debate.EventCritique, debate.EventVote,
		debate.EventConsensusCheck, debate.EventTricksterIntervention, debate.EventAgentToken, debate.EventDebateEnd} {
		assert.True(t, types[want], "the run produced %s", want)
	}
	var unknown debate.Event
	require.NoError(t, json.Unmarshal([]byte(`{"seq":1,"type":"future_kind","data":{"x":1}}`), &unknown))
	assert.Equal(t, json.RawMessage(`{"x":1}`), unknown.Data)
}

// lateStreamer ignores its context and keeps streaming after the debate
// has ended, as a misbehaving provider adapter might.
type lateStreamer struct {
	agent.Agent
	release chan struct{}
	done    chan struct{}
}

func (l *lateStreamer) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	if req.Phase != agent.PhaseVote {
		return l.Respond(ctx, req)
	}
	<-l.release // outlives the call's deadline and the 5 s grace
	onChunk("late token")
	close(l.done)
	return agent.Response{}, ctx.Err()
}

func TestTokenFromAbandonedAgentAfterRunIsDropped(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 5 s abandonment grace")
	}
	t.Parallel()
	ps := demoParticipants(1, "demo-a", "demo-b", "demo-c")
	late := &lateStreamer{Agent: ps[2].Agent, release: make(chan struct{}), done: make(chan struct{})}
	ps[2].Agent = late
	var logs syncbuf.Buffer
	o, err := debate.New(debate.Config{Rounds: 1, StreamTokens: true, AgentTimeout: time.Second,
		Observers: []debate.Observer{&recorder{}}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, ps...)
	require.NoError(t, err)
	res, err := o.Run(context.Background(), "Adopt Postgres?")
	require.NoError(t, err)
	assert.NotEmpty(t, res.Status)
	// The late vote was skipped at its deadline; 5 s later the still-running
	// call is logged by name from the background (not by Run itself).
	assert.Contains(t, res.Consensus.Abstaining, "demo-c")
	abandoned := regexp.MustCompile(`"msg":"agent_abandoned".*"agent":"demo-c","phase":"vote"`)
	require.Eventually(t, func() bool { return abandoned.MatchString(logs.String()) }, time.Minute, 50*time.Millisecond,
		"agent_abandoned never logged: %s", logs.String())
	close(late.release) // the abandoned call now streams into a closed debate
	select {
	case <-late.done: // the token was dropped, nothing panicked
	case <-time.After(time.Minute):
		t.Fatal("the late token's publish never returned")
	}
}

// An observer sees debate_end only after the final checkpoint, and what
// Finalize returned, are stored together.
func TestFinalizeCommitsWithTheFinalCheckpoint(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	now := fixedNow
	require.NoError(t, st.CreateDebate(context.Background(), &store.Debate{ID: "d", Topic: "q?", Status: store.StatusRunning,
		CreatedAt: now, UpdatedAt: now}))
	var calls int
	var seenResult []byte
	cfg := demoConfig()
	cfg.Rounds = 1
	cfg.Store = st
	cfg.Finalize = func(res *debate.Result) *store.Final {
		calls++
		return &store.Final{Result: []byte(fmt.Sprintf(`{"status":%q}`, res.Status)),
			Usage: []store.UsageRecord{{UserID: "u", Provider: "demo", DebateID: res.DebateID, TokensIn: 1}}}
	}
	cfg.Observers = []debate.Observer{debate.ObserverFunc(func(e debate.Event) {
		if e.Type == debate.EventDebateEnd {
			d, err := st.GetDebate(context.Background(), "d")
			if err == nil {
				seenResult = d.Result
			}
		}
	})}
	o, err := debate.New(cfg, demoParticipants(1, "demo-a", "demo-b")...)
	require.NoError(t, err)
	res, err := o.RunTask(context.Background(), debate.Task{ID: "d", Question: "q?"})
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
	want := fmt.Sprintf(`{"status":%q}`, res.Status)
	assert.JSONEq(t, want, string(seenResult), "visible to observers only once durable")
	d, err := st.GetDebate(context.Background(), "d")
	require.NoError(t, err)
	assert.Equal(t, res.Status, d.Status)
	buckets, err := st.AggregateUsage(context.Background(), store.UsageFilter{UserID: "u", From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, buckets, 1)
	assert.Equal(t, int64(1), buckets[0].Requests)
}
