package enginebench

import (
	"context"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
)

// TestAsyncProviderAnswersLikeRespond checks that an asyncProvider delivers
// what its Respond returns, after its latency, and ctx's error at once
// when ctx ends first.
func TestAsyncProviderAnswersLikeRespond(t *testing.T) {
	p := newAsyncProvider(fakeProvider{demo: demo.New("demo-a", demo.StyleBalanced, 42), sleep: 20 * time.Millisecond})
	defer p.close()
	req := agent.Request{Phase: agent.PhasePropose, Participant: "demo-a", Question: question, System: "Vous êtes « demo-a »…", Prompt: "## Question\n" + question}
	want, err := p.Respond(context.Background(), req)
	require.NoError(t, err)
	require.Positive(t, want.Usage.InputTokens)

	type answer struct {
		resp agent.Response
		err  error
		at   time.Duration
	}
	start := time.Now()
	got := make(chan answer, 2)
	done := func(resp agent.Response, err error) { got <- answer{resp, err, time.Since(start)} }
	p.RespondAsync(context.Background(), req, done)
	a := <-got
	require.NoError(t, a.err)
	assert.Equal(t, want, a.resp)
	assert.GreaterOrEqual(t, a.at, 20*time.Millisecond, "not before the latency")

	ctx, cancel := context.WithCancel(context.Background())
	p.RespondAsync(ctx, req, done)
	cancel()
	a = <-got
	assert.ErrorIs(t, a.err, context.Canceled)
	time.Sleep(40 * time.Millisecond) // past the cancelled call's due time: no second answer
	assert.Empty(t, got)
}

func TestConcurrentGoroutinesSmoke(t *testing.T) {
	rows, err := EngineConcurrentSlow(context.Background(), EngineConfig{Agents: 3, Rounds: 1, Concurrent: 4, SlowSleep: time.Millisecond, SlowGoroutines: true})
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	assert.Contains(t, rows[0].Case, "a goroutine per call")
}

// TestAnswersShared checks that a fakeProvider gives alike calls one copy
// of their answer, and stops keeping answers at maxAnswers.
func TestAnswersShared(t *testing.T) {
	p := &fakeProvider{demo: demo.New("demo-a", demo.StyleBalanced, 42), answers: new(answers)}
	req := agent.Request{Phase: agent.PhaseCritique, Participant: "demo-a", Target: "demo-b", Question: question, Prompt: "p"}
	a, err := p.answer(context.Background(), &req)
	require.NoError(t, err)
	b, err := p.answer(context.Background(), &req)
	require.NoError(t, err)
	assert.Same(t, a, b)
	c, err := p.Respond(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, *a, c)
	assert.Same(t, unsafe.StringData(a.Text), unsafe.StringData(c.Text))

	var full answers
	for i := range maxAnswers + 10 {
		full.share(&agent.Response{Text: strconv.Itoa(i)})
	}
	assert.Len(t, full.m, maxAnswers)
	r := agent.Response{Text: "new"}
	x, y := full.share(&r), full.share(&r)
	assert.Equal(t, r, *x)
	assert.NotSame(t, x, y, "not kept: a copy each")
	assert.NotSame(t, &r, x, "a copy, not the caller's")
}

// afterCtx is a cancellable context with an AfterFunc method, as the
// engine's call contexts have.
type afterCtx struct {
	context.Context
	calls int
}

func (c *afterCtx) AfterFunc(f func()) func() bool {
	c.calls++
	return context.AfterFunc(c.Context, f)
}

// TestAsyncProviderWatchesAfterFunc checks that an asyncProvider watches a
// context through its AfterFunc method when it has one.
func TestAsyncProviderWatchesAfterFunc(t *testing.T) {
	p := newAsyncProvider(fakeProvider{demo: demo.New("demo-a", demo.StyleBalanced, 42), sleep: time.Hour})
	defer p.close()
	req := agent.Request{Phase: agent.PhasePropose, Participant: "demo-a", Question: question, Prompt: "p"}
	parent, cancel := context.WithCancel(context.Background())
	ctx := &afterCtx{Context: parent}
	got := make(chan error, 1)
	p.RespondAsync(ctx, req, func(_ agent.Response, err error) { got <- err })
	assert.Equal(t, 1, ctx.calls)
	cancel()
	assert.ErrorIs(t, <-got, context.Canceled)
}

// TestPendingSize: what an asyncProvider keeps per call waiting stays in
// the 64-byte size class (provider.go).
func TestPendingSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(pending{}), uintptr(64))
}
