package measure

import (
	"runtime/metrics"
	"time"
)

// RuntimePeaks are the largest values of some runtime/metrics seen by a
// sampler: where the memory of a scenario goes at its peak.
type RuntimePeaks struct {
	goroutines  uint64 // /sched/goroutines
	stacks      uint64 // /memory/classes/heap/stacks: goroutine stacks, bytes
	heapObjects uint64 // /memory/classes/heap/objects: live and not yet swept objects, bytes
	heapLive    uint64 // /gc/heap/live: marked live by the last GC, bytes
	startStack  uint64 // /gc/stack/starting-size: a new goroutine's stack, bytes
}

var rtNames = []string{
	"/sched/goroutines:goroutines",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
	"/gc/stack/starting-size:bytes",
}

// SampleRuntime reads rtNames every interval until the returned function
// is called, which returns the peaks.
func SampleRuntime(every time.Duration) (stop func() RuntimePeaks) {
	samples := make([]metrics.Sample, len(rtNames))
	for i, n := range rtNames {
		samples[i].Name = n
	}
	var p RuntimePeaks
	read := func() {
		metrics.Read(samples)
		for i, dst := range []*uint64{&p.goroutines, &p.stacks, &p.heapObjects, &p.heapLive, &p.startStack} {
			if samples[i].Value.Kind() == metrics.KindUint64 {
				*dst = max(*dst, samples[i].Value.Uint64())
			}
		}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			read()
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() RuntimePeaks {
		close(quit)
		<-done
		read()
		return p
	}
}

// Rows reports p as rows of scenario s, case c.
func (p RuntimePeaks) Rows(s, c string) []Row {
	const mib = 1 << 20
	return []Row{
		{Scenario: s, Case: c, Metric: "peak goroutines (sampled)", Value: float64(p.goroutines)},
		{Scenario: s, Case: c, Metric: "peak stacks (MiB, sampled)", Value: float64(p.stacks) / mib},
		{Scenario: s, Case: c, Metric: "peak heap objects (MiB, sampled)", Value: float64(p.heapObjects) / mib},
		{Scenario: s, Case: c, Metric: "peak live heap at a GC (MiB)", Value: float64(p.heapLive) / mib},
		{Scenario: s, Case: c, Metric: "largest starting stack (KiB)", Value: float64(p.startStack) / 1024},
	}
}
