package enginebench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/bench/measure"
)

// EngineConfig sizes the engine scenarios. The zero value gives the issue 8
// figures: 5 agents, 3 rounds, 1000 concurrent debates, 200 ms agents for the
// overhead and 50 ms agents for the concurrent-latency run.
type EngineConfig struct {
	Agents        int           // default 5
	Rounds        int           // default 3
	Concurrent    int           // debates at once; default 1000
	SerialFor     time.Duration // how long the serial loop runs; default 3s
	OverheadSleep time.Duration // agent latency for the overhead case; default 200ms
	OverheadRuns  int           // debates in the overhead case; default 2
	SlowSleep     time.Duration // agent latency for the concurrent case; default 50ms
	// SlowGoroutines makes the concurrent case's fake providers plain
	// agents, called in a goroutine per call, instead of agent.Async ones
	// (asyncProvider).
	SlowGoroutines bool
	// Heap takes a heap profile in the middle of the concurrent case.
	Heap measure.HeapProbe
}

// ConcurrentConfig configures scenario "concurrent" (agent.Async fake
// providers) or "concurrent-goroutines" (a goroutine per call) for
// [EngineConcurrentSlow]: the issue 8 figures, or tiny ones with quick
// (a smoke test; the figures are meaningless).
func ConcurrentConfig(scenario string, quick bool) EngineConfig {
	var c EngineConfig
	if quick {
		c = EngineConfig{Concurrent: 20, SlowSleep: 5 * time.Millisecond}
	}
	c.SlowGoroutines = scenario == "concurrent-goroutines"
	return c
}

func (c EngineConfig) withDefaults() EngineConfig {
	if c.Agents == 0 {
		c.Agents = 5
	}
	if c.Rounds == 0 {
		c.Rounds = 3
	}
	if c.Concurrent == 0 {
		c.Concurrent = 1000
	}
	if c.SerialFor == 0 {
		c.SerialFor = 3 * time.Second
	}
	if c.OverheadSleep == 0 {
		c.OverheadSleep = 200 * time.Millisecond
	}
	if c.OverheadRuns == 0 {
		c.OverheadRuns = 2
	}
	if c.SlowSleep == 0 {
		c.SlowSleep = 50 * time.Millisecond
	}
	return c
}

var styles = []demo.Style{demo.StyleBalanced, demo.StyleSupportive, demo.StyleCritical, demo.StyleContrarian, demo.StyleBalanced}

// participants returns n demo participants with a fixed seed, each behind
// a fakeProvider with latency sleep.
func participants(n int, sleep time.Duration, spent *atomic.Int64) []debate.Participant {
	ps := make([]debate.Participant, n)
	for i := range ps {
		name := fmt.Sprintf("demo-%c", 'a'+i)
		ps[i] = debate.Participant{Name: name, Agent: &fakeProvider{demo: demo.New(name, styles[i%len(styles)], 42), sleep: sleep, spent: spent,
			answers: new(answers)}}
	}
	return ps
}

// asyncParticipants is participants behind asyncProviders; stop ends
// their delivery goroutines. heap is given their means of holding answers
// (HeapProbe); it must be set up before the first call.
func asyncParticipants(n int, sleep time.Duration, heap *measure.HeapProbe) (ps []debate.Participant, stop func()) {
	ps = participants(n, sleep, nil)
	var as []*asyncProvider
	for i := range ps {
		a := newAsyncProvider(*ps[i].Agent.(*fakeProvider))
		as = append(as, a)
		ps[i].Agent = a
	}
	each := func(f func(*asyncProvider)) func() {
		return func() {
			for _, a := range as {
				f(a)
			}
		}
	}
	heap.SetHooks(func() func() {
		each((*asyncProvider).pause)()
		return each((*asyncProvider).resume)
	}, func(round int, phase agent.Phase, want int) (<-chan struct{}, func()) {
		g := newGate(round, phase, want)
		each(func(a *asyncProvider) { a.gate = g })()
		return g.full, g.open
	})
	return ps, each((*asyncProvider).close)
}

// callsPerPhase is the largest phase of an all-to-all debate: n*(n-1) critiques.
func callsPerPhase(n int) int { return n * (n - 1) }

// Engine runs the engine scenarios: instant demo agents serially and
// concurrently, the per-round overhead with sleeping agents, and the
// concurrent debates with 50 ms agents.
func Engine(ctx context.Context, cfg EngineConfig) (measure.Table, error) {
	cfg = cfg.withDefaults()
	var t measure.Table
	add := func(rows ...measure.Row) { t = append(t, rows...) }

	rows, err := engineSerial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	add(rows...)
	if rows, err = engineConcurrentInstant(ctx, cfg); err != nil {
		return nil, err
	}
	add(rows...)
	if rows, err = engineOverhead(ctx, cfg); err != nil {
		return nil, err
	}
	add(rows...)
	if rows, err = EngineConcurrentSlow(ctx, cfg); err != nil {
		return nil, err
	}
	add(rows...)
	return t, nil
}

func instantOrchestrator(cfg EngineConfig, spent *atomic.Int64) (*debate.Orchestrator, error) {
	return debate.New(debate.Config{Rounds: cfg.Rounds, DisableEarlyStop: true}, participants(cfg.Agents, 0, spent)...)
}

func engineSerial(ctx context.Context, cfg EngineConfig) ([]measure.Row, error) {
	var spent atomic.Int64
	o, err := instantOrchestrator(cfg, &spent)
	if err != nil {
		return nil, err
	}
	if _, err := o.Run(ctx, question); err != nil { // warm up
		return nil, err
	}
	spent.Store(0)
	runtime.GC()
	before := measure.MemStats()
	start := time.Now()
	n := 0
	for time.Since(start) < cfg.SerialFor {
		if _, err := o.Run(ctx, question); err != nil {
			return nil, err
		}
		n++
	}
	wall := time.Since(start)
	after := measure.MemStats()
	c := fmt.Sprintf("serial, %d instant demo agents, %d rounds", cfg.Agents, cfg.Rounds)
	perDebate := wall / time.Duration(n)
	agentPer := time.Duration(spent.Load()) / time.Duration(n)
	return []measure.Row{
		{Scenario: "engine", Case: c, Metric: "debates/s", Value: float64(n) / wall.Seconds()},
		{Scenario: "engine", Case: c, Metric: "ms/debate", Value: measure.MS(perDebate),
			Baseline: "demo agents' own time per debate (ms)", BaselineValue: measure.MS(agentPer)},
		{Scenario: "engine", Case: c, Metric: "bytes allocated/debate", Value: float64(after.TotalAlloc-before.TotalAlloc) / float64(n)},
		{Scenario: "engine", Case: c, Metric: "allocs/debate", Value: float64(after.Mallocs-before.Mallocs) / float64(n)},
	}, nil
}

// runConcurrent runs n debates at once; probe (nil for none) counts them
// in flight.
func runConcurrent(ctx context.Context, o *debate.Orchestrator, n int, probe *measure.ProbeRun) (time.Duration, error) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Go(func() {
			probe.Enter()
			defer probe.Leave()
			if _, err := o.Run(ctx, question); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	close(errs)
	return wall, <-errs
}

func engineConcurrentInstant(ctx context.Context, cfg EngineConfig) ([]measure.Row, error) {
	o, err := instantOrchestrator(cfg, nil)
	if err != nil {
		return nil, err
	}
	runtime.GC()
	before := measure.MemStats()
	wall, err := runConcurrent(ctx, o, cfg.Concurrent, nil)
	if err != nil {
		return nil, err
	}
	after := measure.MemStats()
	c := fmt.Sprintf("%d concurrent, %d instant demo agents, %d rounds", cfg.Concurrent, cfg.Agents, cfg.Rounds)
	return []measure.Row{
		{Scenario: "engine", Case: c, Metric: "debates/s", Value: float64(cfg.Concurrent) / wall.Seconds()},
		{Scenario: "engine", Case: c, Metric: "bytes allocated/debate", Value: float64(after.TotalAlloc-before.TotalAlloc) / float64(cfg.Concurrent)},
	}, nil
}

func engineOverhead(ctx context.Context, cfg EngineConfig) ([]measure.Row, error) {
	var mu sync.Mutex
	var timings []debate.RoundTiming
	conc := callsPerPhase(cfg.Agents)
	o, err := debate.New(debate.Config{Rounds: cfg.Rounds, DisableEarlyStop: true, MaxConcurrency: conc,
		OnRound: func(rt debate.RoundTiming) {
			mu.Lock()
			timings = append(timings, rt)
			mu.Unlock()
		}}, participants(cfg.Agents, cfg.OverheadSleep, nil)...)
	if err != nil {
		return nil, err
	}
	for range cfg.OverheadRuns {
		if _, err := o.Run(ctx, question); err != nil {
			return nil, err
		}
	}
	var walls, slow, over []time.Duration
	for _, rt := range timings {
		walls = append(walls, rt.Wall)
		slow = append(slow, rt.Slowest)
		over = append(over, rt.Overhead)
	}
	c := fmt.Sprintf("%d agents sleeping %s, MaxConcurrency %d, %d rounds", cfg.Agents, cfg.OverheadSleep, conc, len(timings))
	return []measure.Row{
		{Scenario: "engine", Case: c, Metric: "round wall p50 (ms)", Value: measure.MS(measure.Percentile(walls, 50)),
			Baseline: "sum of phases' slowest call p50 (ms)", BaselineValue: measure.MS(measure.Percentile(slow, 50))},
		{Scenario: "engine", Case: c, Metric: "orchestrator overhead/round p50 (ms)", Value: measure.MS(measure.Percentile(over, 50))},
		{Scenario: "engine", Case: c, Metric: "orchestrator overhead/round max (ms)", Value: measure.MS(measure.Percentile(over, 100))},
	}, nil
}

// EngineConcurrentSlow runs cfg.Concurrent debates at once with agents
// sleeping cfg.SlowSleep and reports the wall time against the ideal
// (rounds × phases × sleep), the peak RSS and the goroutines left after.
// Peak RSS is the process's VmHWM after resetting it, so run it in a
// fresh process (benchall -scenario concurrent) for a clean figure.
func EngineConcurrentSlow(ctx context.Context, cfg EngineConfig) (measure.Table, error) {
	cfg = cfg.withDefaults()
	ps := participants(cfg.Agents, cfg.SlowSleep, nil)
	if !cfg.SlowGoroutines {
		var stop func()
		ps, stop = asyncParticipants(cfg.Agents, cfg.SlowSleep, &cfg.Heap)
		defer stop()
	}
	o, err := debate.New(debate.Config{Rounds: cfg.Rounds, DisableEarlyStop: true, MaxConcurrency: callsPerPhase(cfg.Agents)}, ps...)
	if err != nil {
		return nil, err
	}
	runtime.GC()
	goBefore := runtime.NumGoroutine() // the asyncProviders' included
	rssBefore := measure.ReadStatusKB("VmRSS")
	measure.ResetPeakRSS()
	memBefore := measure.MemStats()
	cpuBefore := measure.CPUTime()
	stop := measure.SampleRuntime(5 * time.Millisecond)
	phaseCalls := cfg.Agents // in a proposal or vote phase
	if cfg.Heap.Phase == agent.PhaseCritique {
		phaseCalls = callsPerPhase(cfg.Agents)
	}
	probe := cfg.Heap.Start(cfg.Concurrent, phaseCalls)
	wall, err := runConcurrent(ctx, o, cfg.Concurrent, probe)
	peaks := stop()
	if err != nil {
		return nil, err
	}

	cpu := measure.CPUTime() - cpuBefore
	memAfter := measure.MemStats()
	peak := measure.ReadStatusKB("VmHWM")
	goAfter := runtime.NumGoroutine()
	settled := settleGoroutines(goBefore, 2*time.Second)
	phases := 3 // propose, critique, vote (majority)
	ideal := time.Duration(cfg.Rounds*phases) * cfg.SlowSleep
	calls := "agent.Async"
	if cfg.SlowGoroutines {
		calls = "a goroutine per call"
	}
	c := fmt.Sprintf("%d concurrent, %d agents sleeping %s, %d rounds, %s", cfg.Concurrent, cfg.Agents, cfg.SlowSleep, cfg.Rounds, calls)
	rows := []measure.Row{
		{Scenario: "concurrent", Case: c, Metric: "wall (ms)", Value: measure.MS(wall),
			Baseline: "ideal rounds×phases×sleep (ms)", BaselineValue: measure.MS(ideal)},
		{Scenario: "concurrent", Case: c, Metric: "peak RSS (MiB)", Value: float64(peak) / 1024,
			Baseline: "RSS before (MiB)", BaselineValue: float64(rssBefore) / 1024},
		{Scenario: "concurrent", Case: c, Metric: "CPU ms/debate (rusage)", Value: cpu.Seconds() * 1000 / float64(cfg.Concurrent)},
		{Scenario: "concurrent", Case: c, Metric: "bytes allocated/debate", Value: float64(memAfter.TotalAlloc-memBefore.TotalAlloc) / float64(cfg.Concurrent)},
		{Scenario: "concurrent", Case: c, Metric: "allocs/debate", Value: float64(memAfter.Mallocs-memBefore.Mallocs) / float64(cfg.Concurrent)},
		{Scenario: "concurrent", Case: c, Metric: "GC cycles", Value: float64(memAfter.NumGC - memBefore.NumGC)},
		{Scenario: "concurrent", Case: c, Metric: "goroutines right after", Value: float64(goAfter),
			Baseline: "goroutines before", BaselineValue: float64(goBefore)},
		{Scenario: "concurrent", Case: c, Metric: "goroutines after 2 s", Value: float64(settled),
			Baseline: "goroutines before", BaselineValue: float64(goBefore)},
	}
	probed, err := probe.Rows("concurrent", c)
	if err != nil {
		return nil, err
	}
	rows = append(rows, peaks.Rows("concurrent", c)...)
	return append(rows, probed...), nil
}

// settleGoroutines waits up to d for the goroutine count to fall to want
// and returns the last count.
func settleGoroutines(want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}
