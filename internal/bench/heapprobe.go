package bench

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// HeapProbe takes one heap profile in the middle of a concurrent run: After
// the run starts, it collects the garbage and writes the heap profile to
// Path (inuse_space is then what the debates in flight hold), and reports
// the live heap per debate in flight. Where the scenario can hold its
// agents' answers (the concurrent one), it does so first and waits for the
// debates to go idle, so that the collection keeps no garbage allocated
// while it runs: the profile is then exactly what the debates hold while
// they wait for their agents. The probe perturbs the run's wall time and
// peaks, so the other figures of a probed run are for the profile only.
// The zero value takes none.
type HeapProbe struct {
	Path  string
	After time.Duration // default 300 ms
	// hold holds the agents' answers until the returned function is
	// called; nil where the scenario cannot.
	hold func() (release func())
}

// probeRun is one probed run: the debates in flight and the probe's
// outcome.
type probeRun struct {
	inFlight atomic.Int64
	timer    *time.Timer
	done     chan struct{}
	err      error
	live     float64 // heap in use at the collection, bytes (profiled)
	debates  int64   // debates in flight at the collection
}

// start arms the probe for a run starting now; nil if p takes none.
func (p HeapProbe) start() *probeRun {
	if p.Path == "" {
		return nil
	}
	after := p.After
	if after == 0 {
		after = 300 * time.Millisecond
	}
	r := &probeRun{done: make(chan struct{})}
	r.timer = time.AfterFunc(after, func() {
		defer close(r.done)
		if p.hold != nil {
			release := p.hold()
			waitIdle()
			defer release()
		}
		runtime.GC()
		runtime.GC() // frees what was allocated while the first one marked
		r.debates = r.inFlight.Load()
		r.live = profiledInUse()
		f, err := os.Create(p.Path)
		if err != nil {
			r.err = err
			return
		}
		r.err = pprof.WriteHeapProfile(f)
		if err := f.Close(); r.err == nil {
			r.err = err
		}
	})
	return r
}

// enter and leave count a debate in flight (no-ops on a nil probe).
func (r *probeRun) enter() {
	if r != nil {
		r.inFlight.Add(1)
	}
}

func (r *probeRun) leave() {
	if r != nil {
		r.inFlight.Add(-1)
	}
}

// rows waits for the probe and reports it as rows of scenario s, case c.
func (r *probeRun) rows(s, c string) ([]Row, error) {
	if r == nil {
		return nil, nil
	}
	if r.timer.Stop() {
		return nil, fmt.Errorf("heap probe: the run ended before the profile was due")
	}
	<-r.done
	if r.err != nil {
		return nil, r.err
	}
	per := 0.0
	if r.debates > 0 {
		per = r.live / float64(r.debates) / 1024
	}
	return []Row{
		{Scenario: s, Case: c, Metric: "debates in flight at the heap profile", Value: float64(r.debates)},
		{Scenario: s, Case: c, Metric: "live heap per debate in flight (KiB, profiled)", Value: per},
	}, nil
}

// profiledInUse is the heap in use as of the last collection, as the heap
// profile estimates it (pprof's inuse_space total): objects allocated
// while the collection ran are not in it, unlike in runtime.MemStats, so
// it is what the debates held when it started.
func profiledInUse() float64 {
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	total := 0.0
	for _, r := range recs {
		objs, bytes := float64(r.InUseObjects()), float64(r.InUseBytes())
		if objs == 0 || bytes == 0 {
			continue
		}
		if rate > 1 { // undo the sampling as pprof does
			bytes /= 1 - math.Exp(-bytes/objs/rate)
		}
		total += bytes
	}
	return total
}

// waitIdle waits until the process stops allocating (no allocation over
// 10 ms), for at most a second.
func waitIdle() {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	last := uint64(0)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v != last {
			last = v
		} else {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
