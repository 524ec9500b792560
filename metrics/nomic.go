package metrics

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aragora/aragora/nomic"
)

// NomicCacheTTL is how long the nomic series reuse the state they read.
const NomicCacheTTL = 5 * time.Second

// nomicErrorTypes are the error_type values the loop records, exported at
// zero for every cycle phase from the first scrape.
var nomicErrorTypes = []string{"agent", "parse_error", "constitution", "invalid_change", "protected_file", "test_removed",
	"limits", "build_failure", "test_failure", "timeout", "git", "internal"}

// nomicCollector exports the ten aragora_nomic_* series from the loop's
// state in the store (docs/nomic.md#metrics), read at most every
// NomicCacheTTL. Before any loop has reported, or without a source, the
// series are those of an idle loop.
type nomicCollector struct {
	mu     sync.Mutex
	source func(ctx context.Context) (*nomic.State, error)
	cached *nomic.State
	at     time.Time

	transitions, current, duration, cycles, inProgress, lastTransition, breakersOpen, errors, recovery, retries *prometheus.Desc
}

func newNomicCollector() *nomicCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &nomicCollector{
		transitions:    d("aragora_nomic_phase_transitions_total", "Nomic loop phase transitions.", "from_phase", "to_phase"),
		current:        d("aragora_nomic_current_phase", "Nomic loop phase: 0 idle, 1 context, 2 debate, 3 design, 4 implement, 5 verify, 6 commit, 7 paused, 8 recovery, 9 failed."),
		duration:       d("aragora_nomic_phase_duration_seconds", "Time spent per nomic phase.", "phase"),
		cycles:         d("aragora_nomic_cycles_total", "Nomic cycle outcomes.", "outcome"),
		inProgress:     d("aragora_nomic_cycles_in_progress", "Nomic cycles running."),
		lastTransition: d("aragora_nomic_phase_last_transition_timestamp", "Unix time of the nomic loop's last phase transition."),
		breakersOpen:   d("aragora_nomic_circuit_breakers_open", "Open nomic loop breakers."),
		errors:         d("aragora_nomic_errors_total", "Nomic loop errors.", "phase", "error_type"),
		recovery:       d("aragora_nomic_recovery_decisions_total", "Nomic recovery decisions.", "strategy"),
		retries:        d("aragora_nomic_retries_total", "Nomic phase retries.", "phase"),
	}
}

// SetNomicSource sets where the nomic series read the loop's state from
// (nomic.Control.State over the store); nil exports an idle loop.
func (m *Metrics) SetNomicSource(src func(ctx context.Context) (*nomic.State, error)) {
	m.nomic.mu.Lock()
	m.nomic.source, m.nomic.cached, m.nomic.at = src, nil, time.Time{}
	m.nomic.mu.Unlock()
}

func (c *nomicCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.transitions, c.current, c.duration, c.cycles, c.inProgress, c.lastTransition, c.breakersOpen, c.errors, c.recovery, c.retries} {
		ch <- d
	}
}

func (c *nomicCollector) state() *nomic.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached != nil && time.Since(c.at) < NomicCacheTTL {
		return c.cached
	}
	if c.source != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.source(ctx)
		cancel()
		if err == nil && st != nil {
			c.cached, c.at = st, time.Now()
			return st
		}
		if c.cached != nil {
			return c.cached // keep the last good state through a store outage
		}
	}
	idle, _ := nomic.DecodeState(nil)
	return idle
}

func (c *nomicCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.state()
	now := time.Now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.current, float64(st.CurrentPhaseCode(now)))
	gauge(c.inProgress, float64(st.InProgress(now)))
	last := 0.0
	if !st.LastTransitionAt.IsZero() {
		last = float64(st.LastTransitionAt.UnixNano()) / 1e9
	}
	gauge(c.lastTransition, last)
	gauge(c.breakersOpen, float64(len(st.OpenBreakers())))

	k := st.Counters
	transitions := map[string]int64{}
	prev := nomic.PhaseIdle
	for _, p := range append(nomic.CyclePhases, nomic.PhaseIdle) {
		transitions[prev+"->"+p] = 0
		prev = p
	}
	for key, v := range k.Transitions {
		transitions[key] = v
	}
	for key, v := range transitions {
		from, to, _ := strings.Cut(key, "->")
		counter(c.transitions, v, from, to)
	}
	for _, o := range []string{nomic.OutcomeSuccess, nomic.OutcomeFailure, nomic.OutcomeAborted} {
		counter(c.cycles, k.Cycles[o], o)
	}
	for _, s := range nomic.RecoveryStrategies {
		counter(c.recovery, k.Recovery[s], s)
	}
	errs := map[string]int64{}
	for _, p := range nomic.CyclePhases {
		counter(c.retries, k.Retries[p], p)
		for _, typ := range nomicErrorTypes {
			errs[p+"/"+typ] = 0
		}
		h := k.PhaseDurations[p]
		if h == nil {
			h = &nomic.Histogram{}
		}
		ch <- prometheus.MustNewConstHistogram(c.duration, h.Count, h.Sum, h.Cumulative(), p)
	}
	for key, v := range k.Errors {
		errs[key] = v
	}
	for key, v := range errs {
		phase, typ, _ := strings.Cut(key, "/")
		counter(c.errors, v, phase, typ)
	}
}
