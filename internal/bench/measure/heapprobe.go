package measure

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
)

// HeapProbe takes one heap profile in the middle of a concurrent run: it
// collects the garbage, writes the heap profile to Path (inuse_space is
// then what the debates in flight hold) and reports the live heap per
// debate in flight. The probe perturbs the run's wall time and peaks, so
// the other figures of a probed run are for the profile only. The zero
// value takes none.
//
// With Phase set, the agents hold the calls of that phase of round Round
// (concurrent: every call, until all are made; peer: each debate's first,
// the debate's goroutine waiting in the agent, until every debate waits)
// and the profile is taken once nothing allocates: every debate is then at
// the same point, and the collection keeps no garbage allocated while it
// runs. Else the profile is taken After the run starts (the concurrent
// scenario holds every answer first and waits until nothing allocates).
type HeapProbe struct {
	Path  string
	After time.Duration // default 300 ms
	Round int
	Phase agent.Phase
	// hold holds the agents' answers until the returned function is
	// called, gate the calls of one phase (want is how many per debate)
	// until open is called; nil where the scenario cannot.
	hold func() (release func())
	gate func(round int, phase agent.Phase, want int) (full <-chan struct{}, open func())
}

// SetHooks gives the probe the scenario's means of holding the agents:
// hold holds every answer until release is called, gate the calls of one
// phase (want of them) until open is called; either may be nil where the
// scenario cannot.
func (p *HeapProbe) SetHooks(hold func() (release func()), gate func(round int, phase agent.Phase, want int) (full <-chan struct{}, open func())) {
	p.hold, p.gate = hold, gate
}

// ProbeRun is one probed run: the debates in flight and the probe's
// outcome.
type ProbeRun struct {
	inFlight atomic.Int64
	ended    chan struct{} // closed when the run ends
	done     chan struct{}
	taken    bool // the profile was taken
	err      error
	live     float64 // heap in use at the collection, bytes (profiled)
	debates  int64   // debates in flight at the collection
}

// Start arms the probe for a run of debates starting now, each making
// calls calls in the probe's phase; nil if p takes none.
func (p HeapProbe) Start(debates, calls int) *ProbeRun {
	if p.Path == "" {
		return nil
	}
	r := &ProbeRun{ended: make(chan struct{}), done: make(chan struct{})}
	hold := p.hold
	var due <-chan struct{}
	var timer *time.Timer
	if p.Phase != "" && p.gate != nil {
		full, open := p.gate(p.Round, p.Phase, debates*calls)
		due, hold = full, func() func() { return open }
	} else {
		after := p.After
		if after == 0 {
			after = 300 * time.Millisecond
		}
		t := make(chan struct{})
		timer = time.AfterFunc(after, func() { close(t) })
		due = t
	}
	go func() {
		defer close(r.done)
		select {
		case <-due:
		case <-r.ended:
			if timer != nil {
				timer.Stop()
			}
			return
		}
		r.taken = true
		if hold != nil {
			release := hold()
			waitIdle()
			defer release()
		}
		r.profile(p.Path)
	}()
	return r
}

// profile collects the garbage, counts the debates in flight and the heap
// they hold, and writes the heap profile to path.
func (r *ProbeRun) profile(path string) {
	runtime.GC()
	runtime.GC() // frees what was allocated while the first one marked
	r.debates = r.inFlight.Load()
	r.live = profiledInUse()
	f, err := os.Create(path)
	if err != nil {
		r.err = err
		return
	}
	r.err = pprof.WriteHeapProfile(f)
	if err := f.Close(); r.err == nil {
		r.err = err
	}
}

// Enter and Leave count a debate in flight (no-ops on a nil probe).
func (r *ProbeRun) Enter() {
	if r != nil {
		r.inFlight.Add(1)
	}
}

func (r *ProbeRun) Leave() {
	if r != nil {
		r.inFlight.Add(-1)
	}
}

// Rows waits for the probe and reports it as rows of scenario s, case c.
func (r *ProbeRun) Rows(s, c string) ([]Row, error) {
	if r == nil {
		return nil, nil
	}
	close(r.ended)
	<-r.done
	if !r.taken {
		return nil, fmt.Errorf("heap probe: the run ended before the profile was due")
	}
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
