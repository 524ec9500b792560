package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// agents resolves demo-<name>[:<style>] specs; when gate is set, every
// call first waits for it (or ctx) and is counted.
type agents struct {
	gate  chan struct{}
	calls *atomic.Int64
}

func (a agents) Resolve(spec string, seed int64) (lifecycle.Agent, error) {
	if !strings.HasPrefix(spec, "demo-") {
		return lifecycle.Agent{}, fmt.Errorf("%w: %q", lifecycle.ErrUnknownAgent, spec)
	}
	name, style, err := demo.ParseSpec(spec)
	if err != nil {
		return lifecycle.Agent{}, fmt.Errorf("%w: %v", lifecycle.ErrUnknownAgent, err)
	}
	var ag agent.Agent = demo.New(name, style, seed)
	if a.gate != nil {
		next := ag
		ag = agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
			a.calls.Add(1)
			select {
			case <-a.gate:
			case <-ctx.Done():
				return agent.Response{}, ctx.Err()
			}
			return next.Respond(ctx, req)
		})
	}
	return lifecycle.Agent{Name: name, Provider: "demo", Model: "demo-" + string(style), Agent: ag}, nil
}

// gated returns agents whose calls wait until open is called.
func gated() (a agents, open func()) {
	a = agents{gate: make(chan struct{}), calls: &atomic.Int64{}}
	var once sync.Once
	return a, func() { once.Do(func() { close(a.gate) }) }
}

func newManager(t *testing.T, st store.DebateStore, a lifecycle.Agents, cfg lifecycle.Config) *lifecycle.Manager {
	t.Helper()
	m, err := lifecycle.New(st, a, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, m.Shutdown(ctx))
	})
	return m
}

// heldJob validates the spec of body, stores the debate leased to m
// (CreateHeld) and prepares its run.
func heldJob(t *testing.T, m *lifecycle.Manager, body string) (*store.Debate, *lifecycle.Job) {
	t.Helper()
	sp := spec(t, body)
	require.NoError(t, m.Validate(sp))
	d, err := m.CreateHeld(context.Background(), sp, "local")
	require.NoError(t, err)
	j, err := m.Prepare(context.Background(), d.ID)
	require.NoError(t, err)
	return d, j
}

func spec(t *testing.T, body string) *lifecycle.Spec {
	t.Helper()
	var req lifecycle.Request
	require.NoError(t, json.Unmarshal([]byte(body), &req))
	sp, err := req.Normalise(lifecycle.Defaults{})
	require.NoError(t, err)
	return sp
}

func waitStatus(t *testing.T, st store.DebateStore, id string, ok func(store.Status) bool) *store.Debate {
	t.Helper()
	var d *store.Debate
	require.Eventually(t, func() bool {
		var err error
		d, err = st.GetDebate(context.Background(), id)
		return err == nil && ok(d.Status)
	}, 20*time.Second, 5*time.Millisecond)
	return d
}

func events(t *testing.T, st store.DebateStore, id string) []store.Event {
	t.Helper()
	evs, err := st.(store.EventReader).ListEvents(context.Background(), id, 0, 0)
	require.NoError(t, err)
	return evs
}

func ends(evs []store.Event) int {
	n := 0
	for _, e := range evs {
		if e.Type == store.EventDebateEnd {
			n++
		}
	}
	return n
}

func TestCreateRunsToItsEndDurableBeforeVisible(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	finished := make(chan *store.Debate, 1)
	var atEnd atomic.Pointer[store.Debate]
	endSeen := debate.ObserverFunc(func(e debate.Event) {
		if e.Type == debate.EventDebateEnd {
			d, _ := st.GetDebate(context.Background(), e.DebateID)
			atEnd.Store(d)
		}
	})
	m := newManager(t, st, agents{}, lifecycle.Config{Observers: []debate.Observer{endSeen},
		OnFinished: func(d *store.Debate) { finished <- d }})
	d, err := m.Create(context.Background(), spec(t, `{"topic":"Adopt Postgres?","rounds":2,"seed":7}`), "usr_1", "corr-1")
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, d.Status)

	var got *store.Debate
	select {
	case got = <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("the debate did not finish")
	}
	// What OnFinished and the debate_end observer see is already stored,
	// result and receipt included.
	for _, d := range []*store.Debate{got, atEnd.Load()} {
		require.NotNil(t, d)
		assert.True(t, store.Terminal(d.Status), d.Status)
		var doc lifecycle.ResultDoc
		require.NoError(t, json.Unmarshal(d.Result, &doc))
		assert.Equal(t, d.Status, doc.Status)
		assert.NotEmpty(t, doc.ReceiptID)
		assert.NotEmpty(t, doc.Receipt)
	}
	assert.Empty(t, got.LeaseOwner, "a finished debate has no lease")
	evs := events(t, st, d.ID)
	assert.Equal(t, 1, ends(evs))
	assert.Equal(t, int64(len(evs)), got.LastSeq)
	buckets, err := st.AggregateUsage(context.Background(), store.UsageFilter{UserID: "usr_1", From: got.CreatedAt.Add(-time.Hour), To: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, buckets, 1, "usage charged to the owner, with the final state")
	assert.Positive(t, buckets[0].TokensIn)

	o := m.Object(got, true)
	assert.Equal(t, got.Status, o.Status)
	require.NotNil(t, o.ReceiptID)
	assert.Equal(t, []string{"demo-analyst", "demo-critic", "demo-judge"}, o.Agents)
	assert.Equal(t, "corr-1", o.CorrelationID)
	b, _ := m.ObjectJSON(got)
	assert.Contains(t, string(b), `"receipt_id":"`+*o.ReceiptID+`"`)
}

func TestCreateRefusesBadAgents(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	m := newManager(t, st, agents{}, lifecycle.Config{})
	_, err := m.Create(context.Background(), spec(t, `{"topic":"x","agents":["demo-a","gpt-17"]}`), "u", "")
	var ae *lifecycle.AgentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "gpt-17", ae.Spec)
	assert.ErrorIs(t, err, lifecycle.ErrUnknownAgent)
	_, err = m.Create(context.Background(), spec(t, `{"topic":"x","agents":["demo-a","demo-a:critical"]}`), "u", "")
	var ve *lifecycle.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, ve.Fields["agents"], "duplicate")
	ds, err := st.ListDebates(context.Background(), store.Filter{})
	require.NoError(t, err)
	assert.Empty(t, ds, "nothing stored")
}

func TestPrepareRefusesALiveHolderBeforeAnyAgentCall(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	owner := newManager(t, st, agents{}, lifecycle.Config{Holder: "server-a"})
	sp := spec(t, `{"topic":"Held?"}`)
	require.NoError(t, owner.Validate(sp))
	d, err := owner.CreateHeld(context.Background(), sp, "local")
	require.NoError(t, err)

	a, open := gated()
	defer open()
	late := newManager(t, st, a, lifecycle.Config{Holder: "cli:elsewhere:1"})
	_, err = late.Prepare(context.Background(), d.ID)
	var held *lifecycle.HeldError
	require.ErrorAs(t, err, &held)
	require.ErrorIs(t, err, lifecycle.ErrHeld)
	assert.Equal(t, "server-a", held.Holder)
	assert.Contains(t, err.Error(), "is running in server-a")
	assert.Zero(t, a.calls.Load(), "no agent call")
	got, err := st.GetDebate(context.Background(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, store.Lease{Owner: "server-a", Generation: 1}, store.LeaseOf(got), "the lease is untouched")
}

func TestPrepareTakesOverADeadHolderOfThisHost(t *testing.T) {
	t.Parallel()
	// A process of this host that has exited.
	c := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, c.Run())
	host, err := os.Hostname()
	require.NoError(t, err)
	dead := fmt.Sprintf("cli:%s:%d", host, c.Process.Pid)

	st := memstore.New()
	killed := newManager(t, st, agents{}, lifecycle.Config{Holder: dead})
	sp := spec(t, `{"topic":"Resume me","rounds":1}`)
	require.NoError(t, killed.Validate(sp))
	d, err := killed.CreateHeld(context.Background(), sp, "local")
	require.NoError(t, err)

	m := newManager(t, st, agents{}, lifecycle.Config{Holder: "cli:" + host + ":1"})
	j, err := m.Prepare(context.Background(), d.ID)
	require.NoError(t, err)
	l, ok := j.Lease()
	require.True(t, ok)
	assert.Equal(t, store.Lease{Owner: "cli:" + host + ":1", Generation: 2}, l)
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	assert.True(t, store.Terminal(res.Status))
}

// A run whose lease is taken away (here an operator times the debate out)
// stops at once: its heartbeat cancels it, it calls no agent and writes
// nothing more.
func TestLostLeaseStopsAtOnceAndWritesNothing(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	a, open := gated()
	defer open()
	m := newManager(t, st, a, lifecycle.Config{HeartbeatEvery: 10 * time.Millisecond})
	d, j := heldJob(t, m, `{"topic":"Lose the lease","rounds":3}`)
	type out struct {
		res *debate.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := j.Run(context.Background())
		done <- out{res, err}
	}()
	require.Eventually(t, func() bool { return a.calls.Load() > 0 }, 10*time.Second, time.Millisecond, "the first phase started")
	before := len(events(t, st, d.ID))
	require.NoError(t, st.UpdateStatus(context.Background(), d.ID, nil, store.StatusTimeout, time.Now()))
	var o out
	select {
	case o = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop")
	}
	require.ErrorIs(t, o.err, store.ErrLeaseLost)
	calls := a.calls.Load()
	open()
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, calls, a.calls.Load(), "no agent call after the loss")
	evs := events(t, st, d.ID)
	assert.Len(t, evs, before, "nothing written after the loss")
	assert.Zero(t, ends(evs), "the lost run wrote no debate_end")
	got, err := st.GetDebate(context.Background(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, store.StatusTimeout, got.Status, "the operator's status stands")
	assert.Empty(t, got.Result)
}

// A stale writer (another claim happened since) has its next checkpoint
// refused: the orchestrator stops and the new holder's log is intact.
func TestStaleWriterIsFenced(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	a, open := gated()
	defer open()
	// A long heartbeat: only the fenced write can notice the loss.
	m := newManager(t, st, a, lifecycle.Config{Holder: "paused", HeartbeatEvery: time.Hour, LeaseDuration: time.Millisecond})
	d, j := heldJob(t, m, `{"topic":"Fence me","rounds":2}`)
	done := make(chan error, 1)
	go func() {
		_, err := j.Run(context.Background())
		done <- err
	}()
	require.Eventually(t, func() bool { return a.calls.Load() > 0 }, 10*time.Second, time.Millisecond)
	// The paused holder's lease expired; another process claims it.
	time.Sleep(5 * time.Millisecond)
	claimed, err := st.ClaimDebate(context.Background(), d.ID, "other", time.Now(), time.Hour)
	require.NoError(t, err)
	before := events(t, st, d.ID)
	open() // the paused holder wakes up and tries to write its phase
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stale writer did not stop")
	}
	require.ErrorIs(t, err, store.ErrLeaseLost)
	assert.Equal(t, before, events(t, st, d.ID), "the stale writer appended nothing")
	got, err := st.GetDebate(context.Background(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, store.LeaseOf(claimed), store.LeaseOf(got), "the new holder keeps its lease")
	assert.Equal(t, store.StatusRunning, got.Status)
}

// Shutdown suspends a running debate back to pending; another process's
// sweeper resumes it to the end, with one contiguous event log.
func TestShutdownSuspendsAndAnotherProcessResumes(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	a, open := gated()
	first, err := lifecycle.New(st, a, lifecycle.Config{Holder: "first"})
	require.NoError(t, err)
	d, err := first.Create(context.Background(), spec(t, `{"topic":"Suspend me","rounds":2,"seed":3}`), "u", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return a.calls.Load() >= 3 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, first.Shutdown(ctx))
	open()
	got, err := st.GetDebate(context.Background(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, store.StatusPending, got.Status)
	assert.Empty(t, got.LeaseOwner, "the lease is released")
	late, err := first.Create(context.Background(), spec(t, `{"topic":"late"}`), "u", "")
	require.NoError(t, err, "a create while shutting down is accepted")
	assert.Equal(t, store.StatusPending, late.Status, "stored pending for the next process")

	second := newManager(t, st, agents{}, lifecycle.Config{Holder: "second", SweepEvery: 10 * time.Millisecond})
	second.Start()
	waitStatus(t, st, late.ID, store.Terminal)
	final := waitStatus(t, st, d.ID, store.Terminal)
	evs := events(t, st, d.ID)
	for i, e := range evs {
		require.Equal(t, int64(i+1), e.Seq, "seq contiguous from 1")
	}
	assert.Equal(t, 1, ends(evs))
	assert.NotEmpty(t, final.Result)
}

func TestUnrunnableSettingsFailWithADebateEnd(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	now := time.Now()
	cfg, _ := json.Marshal(lifecycle.Spec{Topic: "x", Agents: []string{"demo-a", "gpt-17"}, Rounds: 1, MinRounds: 1,
		Consensus: "majority", Topology: "all-to-all"})
	require.NoError(t, st.CreateDebate(context.Background(), &store.Debate{ID: "deb_x", Topic: "x", Status: store.StatusPending,
		Config: cfg, CreatedAt: now, UpdatedAt: now}))
	m := newManager(t, st, agents{}, lifecycle.Config{})
	status, err := m.Submit("deb_x", false)
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, status)
	got := waitStatus(t, st, "deb_x", store.Terminal)
	assert.Equal(t, store.StatusFailed, got.Status)
	var doc lifecycle.ResultDoc
	require.NoError(t, json.Unmarshal(got.Result, &doc))
	require.NotNil(t, doc.Error)
	assert.Equal(t, "agent_unavailable", doc.Error.Code)
	assert.Equal(t, 1, ends(events(t, st, "deb_x")))
}

func TestTimeOutStaleInOneWrite(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	old := time.Now().Add(-time.Hour)
	cfg, _ := json.Marshal(lifecycle.Spec{Topic: "stale"})
	require.NoError(t, st.CreateDebate(context.Background(), &store.Debate{ID: "deb_stale", Topic: "stale", Status: store.StatusRunning,
		Config: cfg, CreatedAt: old, UpdatedAt: old, StartedAt: old}))
	m := newManager(t, st, agents{}, lifecycle.Config{})
	dry := m.TimeOutStale(context.Background(), 10*time.Minute, true)
	require.Len(t, dry, 1)
	got, err := st.GetDebate(context.Background(), "deb_stale")
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, got.Status, "a dry run changes nothing")

	out := m.TimeOutStale(context.Background(), 10*time.Minute, false)
	require.Len(t, out, 1)
	assert.Equal(t, "deb_stale", out[0].ID)
	got, err = st.GetDebate(context.Background(), "deb_stale")
	require.NoError(t, err)
	assert.Equal(t, store.StatusTimeout, got.Status)
	var doc lifecycle.ResultDoc
	require.NoError(t, json.Unmarshal(got.Result, &doc))
	assert.Equal(t, debate.StopStale, doc.StopReason)
	evs := events(t, st, "deb_stale")
	require.Len(t, evs, 1)
	assert.Contains(t, string(evs[0].JSON), `"stop_reason":"stale"`)
}

func TestCancelQueuedDebateRecordsItCancelled(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	a, open := gated()
	defer open()
	m := newManager(t, st, a, lifecycle.Config{MaxConcurrent: 1})
	first, err := m.Create(context.Background(), spec(t, `{"topic":"one"}`), "u", "")
	require.NoError(t, err)
	queued, err := m.Create(context.Background(), spec(t, `{"topic":"two"}`), "u", "")
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, first.Status)
	assert.Equal(t, store.StatusPending, queued.Status)
	active, pending := m.Counts()
	assert.Equal(t, 1, active)
	assert.Equal(t, 1, pending)
	done, ok := m.Cancel(queued.ID, context.Canceled)
	require.True(t, ok)
	<-done
	got := waitStatus(t, st, queued.ID, store.Terminal)
	assert.Equal(t, store.StatusCancelled, got.Status)
	assert.Equal(t, 1, ends(events(t, st, queued.ID)))
	_, ok = m.Cancel("deb_unknown", context.Canceled)
	assert.False(t, ok)
}

func TestNormalise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		badFields []string
	}{
		{name: "defaults", body: `{"topic":" Adopt Postgres? "}`},
		{name: "question alias", body: `{"question":"q"}`},
		{name: "topic and question differ", body: `{"topic":"a","question":"b"}`, badFields: []string{"topic"}},
		{name: "no topic", body: `{}`, badFields: []string{"topic"}},
		{name: "one agent", body: `{"topic":"x","agents":["demo-a"]}`, badFields: []string{"agents"}},
		{name: "rounds", body: `{"topic":"x","rounds":13}`, badFields: []string{"rounds"}},
		{name: "threshold with majority", body: `{"topic":"x","consensus":"majority","threshold":0.5}`, badFields: []string{"threshold"}},
		{name: "unknown consensus", body: `{"topic":"x","consensus":"plurality"}`, badFields: []string{"consensus"}},
		{name: "unknown topology", body: `{"topic":"x","topology":"mesh"}`, badFields: []string{"topology"}},
		{name: "sparse_k without sparse", body: `{"topic":"x","sparse_k":1}`, badFields: []string{"sparse_k"}},
		{name: "several", body: `{"topic":"x","rounds":0,"seed":-1,"max_tokens":5}`, badFields: []string{"max_tokens", "rounds", "seed"}},
		{name: "timeout above the maximum", body: `{"topic":"x","timeout_seconds":901}`, badFields: []string{"timeout_seconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var req lifecycle.Request
			require.NoError(t, json.Unmarshal([]byte(tt.body), &req))
			sp, err := req.Normalise(lifecycle.Defaults{})
			if len(tt.badFields) == 0 {
				require.NoError(t, err)
				assert.NotEmpty(t, sp.Topic)
				assert.Equal(t, strings.TrimSpace(sp.Topic), sp.Topic)
				assert.Equal(t, []string{"demo-analyst", "demo-critic", "demo-judge"}, sp.Agents)
				assert.Equal(t, "weighted", sp.Consensus.String())
				require.NotNil(t, sp.Threshold)
				assert.Equal(t, 0.6, *sp.Threshold)
				assert.Equal(t, 900, sp.TimeoutSeconds)
				return
			}
			var ve *lifecycle.ValidationError
			require.ErrorAs(t, err, &ve)
			var got []string
			for f := range ve.Fields {
				got = append(got, f)
			}
			assert.ElementsMatch(t, tt.badFields, got)
			first, _ := ve.First()
			assert.Equal(t, tt.badFields[0], first, "the first field alphabetically")
		})
	}
}

func TestDebateConfigFromSpec(t *testing.T) {
	t.Parallel()
	sp := spec(t, `{"topic":"x","consensus":"supermajority","rounds":4,"trickster":true,"convergence":false,"timeout_seconds":60}`)
	cfg, err := sp.DebateConfig()
	require.NoError(t, err)
	assert.Equal(t, 4, cfg.Rounds)
	assert.Equal(t, "supermajority", cfg.Consensus.Name().String())
	assert.True(t, cfg.Trickster.Enabled)
	assert.True(t, cfg.DisableConvergence)
	assert.Equal(t, time.Minute, cfg.Timeout)
	sp.Consensus = "plurality"
	_, err = sp.DebateConfig()
	assert.Error(t, err)
	_, err = lifecycle.ParseSpec([]byte("{"))
	assert.Error(t, err)
	assert.False(t, errors.Is(err, lifecycle.ErrHeld))
}
