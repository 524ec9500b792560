// Package peerbench is the peer scenario of the benchmarks (issue 13): the
// workload of the Python original, run by the lean binary cmd/benchpeer.
// It imports only the engine (debate, agent, agent/demo), the shared
// measuring tools (internal/bench/measure) and the standard library, so
// that the process it runs in holds the engine and nothing else, as the
// original's process held only its library (see bench/README.md).
package peerbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/bench/measure"
)

// Question is the Question of every benchmark debate.
const Question = "Should we migrate the billing service to Postgres?"

// Reference figures of the peer scenario: the Python original
// (aragora-debate, Arena with 5 styled mock agents, 3 rounds, early stop
// off, 90 agent calls per debate, asyncio on one core), measured on this
// machine kind and reported in issue 13. RSS is ru_maxrss, read as MiB.
var peerReference = map[int]struct {
	wall  time.Duration
	rssMB float64 // 0: not reported
}{
	200:  {wall: 330 * time.Millisecond},
	1000: {wall: 2550 * time.Millisecond, rssMB: 107},
}

// PeerConfig sizes the peer scenario. The zero value is the reference
// workload: 5 agents, 3 rounds, 200 then 1000 concurrent debates.
type PeerConfig struct {
	Agents     int   // default 5
	Rounds     int   // default 3
	Concurrent []int // default 200, 1000
	// Heap takes a heap profile in the middle of the last (largest) size.
	Heap measure.HeapProbe
}

func (c PeerConfig) withDefaults() PeerConfig {
	if c.Agents == 0 {
		c.Agents = 5
	}
	if c.Rounds == 0 {
		c.Rounds = 3
	}
	if len(c.Concurrent) == 0 {
		c.Concurrent = []int{200, 1000}
	}
	return c
}

// peerStyles cycle over the agents as in the reference workload.
var peerStyles = []demo.Style{demo.StyleSupportive, demo.StyleCritical, demo.StyleBalanced}

// peerOrchestrator builds the reference workload: n demo agents (styles
// supportive, critical, balanced, cycling), majority, all-to-all, early
// stop off, no store and no observer.
// With a non-nil gate, the agents wait at its gate (HeapProbe).
func peerOrchestrator(n, rounds int, gate *atomic.Pointer[inlineGate]) (*debate.Orchestrator, error) {
	ps := make([]debate.Participant, n)
	for i := range ps {
		name := fmt.Sprintf("demo-%c", 'a'+i)
		var a agent.Agent = demo.New(name, peerStyles[i%len(peerStyles)], 42)
		if gate != nil {
			a = gatedDemo{a.(*demo.Agent), gate}
		}
		ps[i] = debate.Participant{Name: name, Agent: a}
	}
	return debate.New(debate.Config{Rounds: rounds, DisableEarlyStop: true}, ps...)
}

// gatedDemo is a demo agent (still agent.Immediate and agent.PromptBorrower:
// it keeps nothing of a request) whose calls wait at
// the gate set in gate, if any.
type gatedDemo struct {
	*demo.Agent
	gate *atomic.Pointer[inlineGate]
}

func (a gatedDemo) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	a.gate.Load().wait(ctx, &req)
	return a.Agent.Respond(ctx, req)
}

// inlineGate holds each debate at its first call of one phase of one round:
// the debate's goroutine waits in the agent until the gate opens (full is
// closed once want calls wait), so that a heap profile finds every debate
// at the same point (HeapProbe). A nil gate holds nothing.
type inlineGate struct {
	round  int
	phase  agent.Phase
	want   int64
	n      atomic.Int64
	full   chan struct{}
	opened chan struct{}
}

func (g *inlineGate) wait(ctx context.Context, req *agent.Request) {
	if g == nil || req.Round != g.round || req.Phase != g.phase {
		return
	}
	select {
	case <-g.opened:
		return
	default:
	}
	if g.n.Add(1) == g.want {
		close(g.full)
	}
	select {
	case <-g.opened:
	case <-ctx.Done():
	}
}

// Peer runs the reference workload of the Python original (issue 13) at
// each concurrency, one goroutine per debate, and reports each figure
// next to the original's where it has one. Peak RSS is VmHWM reset just
// before each size, after returning freed memory to the OS; run it in a
// fresh process (benchall -scenario peer) for a clean figure.
func Peer(ctx context.Context, cfg PeerConfig) (measure.Table, error) {
	cfg = cfg.withDefaults()
	var gate *atomic.Pointer[inlineGate]
	if cfg.Heap.Phase != "" {
		gate = new(atomic.Pointer[inlineGate])
		cfg.Heap.SetHooks(nil, func(round int, phase agent.Phase, want int) (<-chan struct{}, func()) {
			g := &inlineGate{round: round, phase: phase, want: int64(want), full: make(chan struct{}), opened: make(chan struct{})}
			gate.Store(g)
			return g.full, func() { close(g.opened) }
		})
	}
	o, err := peerOrchestrator(cfg.Agents, cfg.Rounds, gate)
	if err != nil {
		return nil, err
	}
	if _, err := o.Run(ctx, Question); err != nil { // warm up: first-use initialisation
		return nil, err
	}
	t := measure.Table{binaryRow()}
	for i, n := range cfg.Concurrent {
		var heap measure.HeapProbe
		if i == len(cfg.Concurrent)-1 {
			heap = cfg.Heap
		}
		rows, err := peerRun(ctx, o, cfg, n, heap)
		if err != nil {
			return nil, err
		}
		t = append(t, rows...)
	}
	return t, nil
}

func peerRun(ctx context.Context, o *debate.Orchestrator, cfg PeerConfig, n int, heap measure.HeapProbe) ([]measure.Row, error) {
	// Each debate's agent calls are counted as it ends and its result is
	// dropped, so that peak RSS measures the engine, not results kept by
	// the harness.
	calls := make([]int, n)
	runtime.GC()
	debug.FreeOSMemory()
	rssBefore := measure.ReadStatusKB("VmRSS")
	measure.ResetPeakRSS()
	before := measure.MemStats()
	cpuBefore := measure.CPUTime()
	stop := measure.SampleRuntime(5 * time.Millisecond)
	probe := heap.Start(n, 1) // a debate waits at its first call of the phase
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			probe.Enter()
			res, err := o.Run(ctx, Question)
			probe.Leave()
			if err != nil {
				errs <- err
				return
			}
			calls[i] = agentCalls(res)
		})
	}
	wg.Wait()
	wall := time.Since(start)
	peaks := stop()
	cpu := measure.CPUTime() - cpuBefore
	after := measure.MemStats()
	peak := measure.ReadStatusKB("VmHWM")
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	total := 0
	for _, c := range calls {
		total += c
	}
	ref := peerReference[n]
	c := fmt.Sprintf("%d concurrent, %d demo agents, %d rounds, no early stop", n, cfg.Agents, cfg.Rounds)
	rows := []measure.Row{
		{Scenario: "peer", Case: c, Metric: "wall (ms)", Value: millis(wall)},
		{Scenario: "peer", Case: c, Metric: "debates/s", Value: float64(n) / wall.Seconds()},
		{Scenario: "peer", Case: c, Metric: "CPU ms/debate (rusage)", Value: cpu.Seconds() * 1000 / float64(n)},
		{Scenario: "peer", Case: c, Metric: "peak RSS (MiB)", Value: float64(peak) / 1024},
		{Scenario: "peer", Case: c, Metric: "RSS before (MiB)", Value: float64(rssBefore) / 1024},
		{Scenario: "peer", Case: c, Metric: "bytes allocated/debate", Value: float64(after.TotalAlloc-before.TotalAlloc) / float64(n)},
		{Scenario: "peer", Case: c, Metric: "allocs/debate", Value: float64(after.Mallocs-before.Mallocs) / float64(n)},
		{Scenario: "peer", Case: c, Metric: "agent calls/debate", Value: float64(total) / float64(n)},
	}
	if ref.wall > 0 {
		rows[0].Baseline, rows[0].BaselineValue = "Python original wall (ms)", millis(ref.wall)
		rows[1].Baseline, rows[1].BaselineValue = "Python original debates/s", float64(n)/ref.wall.Seconds()
		// The original ran on one core, so its CPU time per debate is at
		// most its wall time per debate.
		rows[2].Baseline, rows[2].BaselineValue = "Python original wall/debate on 1 core (ms)", ref.wall.Seconds()*1000/float64(n)
	}
	if ref.rssMB > 0 {
		rows[3].Baseline, rows[3].BaselineValue = "Python original max RSS (MiB)", ref.rssMB
	}
	probed, err := probe.Rows("peer", c)
	if err != nil {
		return nil, err
	}
	rows = append(rows, peaks.Rows("peer", c)...)
	return append(rows, probed...), nil
}

// agentCalls counts the agent calls of a finished debate from its
// transcript: every call ends as a fresh proposal, a critique, a vote or a
// failure (a rescued call has a reply and a recoverable error; it counts
// once).
func agentCalls(res *debate.Result) int {
	n := 0
	for _, r := range res.Transcript {
		for _, p := range r.Proposals {
			if !p.Carried {
				n++
			}
		}
		n += len(r.Critiques) + len(r.Votes)
		for _, e := range r.Errors {
			if !e.Recoverable {
				n++
			}
		}
	}
	return n
}

// millis converts a duration to float milliseconds.
func millis(d time.Duration) float64 { return d.Seconds() * 1000 }

// binaryRow names the binary this process runs (its "RSS before" is that
// binary's start-up) with its size on disk: cmd/benchpeer links the
// engine only, cmd/benchall every backend (bench/README.md).
func binaryRow() measure.Row {
	name, size := "unknown", 0.0
	if exe, err := os.Executable(); err == nil {
		name = filepath.Base(exe)
		if fi, err := os.Stat(exe); err == nil {
			size = float64(fi.Size()) / (1 << 20)
		}
	}
	return measure.Row{Scenario: "peer", Case: "process", Metric: "binary " + name + " (MiB on disk)", Value: size}
}
