package nomic

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// Phases of a cycle, in order, then the loop's other states
// (docs/nomic.md#phases).
const (
	PhaseIdle      = "idle"
	PhaseContext   = "context"
	PhaseDebate    = "debate"
	PhaseDesign    = "design"
	PhaseImplement = "implement"
	PhaseVerify    = "verify"
	PhaseCommit    = "commit"
	PhasePaused    = "paused"
	PhaseRecovery  = "recovery"
	PhaseFailed    = "failed"
)

// CyclePhases are the phases of one cycle, in order.
var CyclePhases = []string{PhaseContext, PhaseDebate, PhaseDesign, PhaseImplement, PhaseVerify, PhaseCommit}

// PhaseCode is the value of aragora_nomic_current_phase for a phase.
func PhaseCode(phase string) int {
	switch phase {
	case PhaseContext:
		return 1
	case PhaseDebate:
		return 2
	case PhaseDesign:
		return 3
	case PhaseImplement:
		return 4
	case PhaseVerify:
		return 5
	case PhaseCommit:
		return 6
	case PhasePaused:
		return 7
	case PhaseRecovery:
		return 8
	case PhaseFailed:
		return 9
	}
	return 0
}

// ValidResetPhase reports whether p is a target of reset or resume.
func ValidResetPhase(p string) bool { return p == PhaseIdle || slices.Contains(CyclePhases, p) }

// Cycle outcomes (the outcome label of aragora_nomic_cycles_total).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeAborted = "aborted"
)

// Recovery strategies (aragora_nomic_recovery_decisions_total).
var RecoveryStrategies = []string{"retry", "skip", "rollback", "restart", "pause", "fail"}

// Loop timings (docs/nomic.md#live-control).
const (
	HeartbeatInterval = 10 * time.Second
	CommandInterval   = 2 * time.Second
	LiveWindow        = 60 * time.Second
	StuckThreshold    = 1800 * time.Second
)

// PhaseDurationBuckets are the buckets of aragora_nomic_phase_duration_seconds.
var PhaseDurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}

// State is the loop's persisted state document (store.NomicState.Doc).
type State struct {
	Loop             *LoopInfo       `json:"loop,omitempty"`
	Stopped          bool            `json:"stopped"` // the last loop exited cleanly
	Cycle            *CycleInfo      `json:"cycle,omitempty"`
	LastCycle        int             `json:"last_cycle"` // the highest cycle number started
	Phase            string          `json:"phase"`
	PhaseStartedAt   time.Time       `json:"phase_started_at"`
	LastTransitionAt time.Time       `json:"last_transition_at"`
	Paused           *Paused         `json:"paused"`
	Errors           []ErrorEntry    `json:"errors"`
	Breakers         map[string]*Brk `json:"breakers"`
	Checkpoint       *Checkpoint     `json:"checkpoint,omitempty"`
	Counters         Counters        `json:"counters"`
	LastOutcome      *Outcome        `json:"last_outcome,omitempty"`
}

// LoopInfo names the process running the loop.
type LoopInfo struct {
	PID          int       `json:"pid"`
	Host         string    `json:"host"`
	Path         string    `json:"path"`
	Auto         bool      `json:"auto"`
	TargetCycles int       `json:"target_cycles"`
	StartedAt    time.Time `json:"started_at"`
	HeartbeatAt  time.Time `json:"heartbeat_at"`
}

// CycleInfo describes the cycle in progress.
type CycleInfo struct {
	ID           string    `json:"id"`
	Number       int       `json:"number"`
	TargetCycles int       `json:"target_cycles"`
	StartedAt    time.Time `json:"started_at"`
}

// Paused is set while the loop is paused.
type Paused struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// ErrorEntry is one loop error.
type ErrorEntry struct {
	At      time.Time `json:"at"`
	Phase   string    `json:"phase"`
	Type    string    `json:"type"`
	Message string    `json:"message"`
}

// Brk is one agent's loop breaker.
type Brk struct {
	State                   string `json:"state"` // closed or open
	ConsecutiveFailures     int    `json:"consecutive_failures"`
	CooldownCyclesRemaining int    `json:"cooldown_cycles_remaining"`
}

// Checkpoint is what a cycle has produced so far, so a killed or reset
// loop continues it.
type Checkpoint struct {
	At          time.Time `json:"at"`
	Phase       string    `json:"phase"`
	Context     string    `json:"context,omitempty"`
	Improvement string    `json:"improvement,omitempty"`
	ReceiptID   string    `json:"receipt_id,omitempty"`
	DebateID    string    `json:"debate_id,omitempty"`
	Design      *Design   `json:"design,omitempty"`
	Change      *Change   `json:"change,omitempty"`
	BaseHead    string    `json:"base_head,omitempty"`
	Verified    bool      `json:"verified,omitempty"`
}

// Histogram is a cumulative histogram over PhaseDurationBuckets.
type Histogram struct {
	Counts []uint64 `json:"counts"` // per bucket, not cumulative; one more for +Inf
	Sum    float64  `json:"sum"`
	Count  uint64   `json:"count"`
}

// Observe adds one value.
func (h *Histogram) Observe(v float64) {
	if len(h.Counts) != len(PhaseDurationBuckets)+1 {
		h.Counts = make([]uint64, len(PhaseDurationBuckets)+1)
	}
	i := sort.SearchFloat64s(PhaseDurationBuckets, v)
	h.Counts[i]++
	h.Sum += v
	h.Count++
}

// Cumulative returns the cumulative bucket counts keyed by upper bound.
func (h *Histogram) Cumulative() map[float64]uint64 {
	out := map[float64]uint64{}
	var acc uint64
	for i, b := range PhaseDurationBuckets {
		if i < len(h.Counts) {
			acc += h.Counts[i]
		}
		out[b] = acc
	}
	return out
}

// Counters are the loop's cumulative counters, the source of the nomic
// metrics.
type Counters struct {
	Transitions    map[string]int64      `json:"transitions"` // "from->to"
	Cycles         map[string]int64      `json:"cycles"`      // by outcome
	Errors         map[string]int64      `json:"errors"`      // "phase/type"
	Retries        map[string]int64      `json:"retries"`     // by phase
	Recovery       map[string]int64      `json:"recovery"`    // by strategy
	PhaseDurations map[string]*Histogram `json:"phase_durations"`
}

// observePhase adds d, the time spent in phase, to its duration histogram.
func (c *Counters) observePhase(phase string, d time.Duration) {
	h := c.PhaseDurations[phase]
	if h == nil {
		h = &Histogram{}
		c.PhaseDurations[phase] = h
	}
	h.Observe(d.Seconds())
}

func (c *Counters) init() {
	if c.Transitions == nil {
		c.Transitions = map[string]int64{}
	}
	if c.Cycles == nil {
		c.Cycles = map[string]int64{}
	}
	if c.Errors == nil {
		c.Errors = map[string]int64{}
	}
	if c.Retries == nil {
		c.Retries = map[string]int64{}
	}
	if c.Recovery == nil {
		c.Recovery = map[string]int64{}
	}
	if c.PhaseDurations == nil {
		c.PhaseDurations = map[string]*Histogram{}
	}
}

// DecodeState parses a state document; nil or empty gives the idle state.
func DecodeState(doc []byte) (*State, error) {
	st := &State{Phase: PhaseIdle}
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, st); err != nil {
			return nil, fmt.Errorf("nomic: decode state: %w", err)
		}
	}
	if st.Phase == "" {
		st.Phase = PhaseIdle
	}
	if st.Breakers == nil {
		st.Breakers = map[string]*Brk{}
	}
	if st.Errors == nil {
		st.Errors = []ErrorEntry{}
	}
	st.Counters.init()
	return st, nil
}

// Running reports whether a live loop owns the state at now: it has not
// stopped and its heartbeat is younger than LiveWindow.
func (s *State) Running(now time.Time) bool {
	return s.Loop != nil && !s.Stopped && now.Sub(s.Loop.HeartbeatAt) < LiveWindow
}

// OpenBreakers lists the open breakers' agents, sorted.
func (s *State) OpenBreakers() []string {
	var open []string
	for _, name := range slices.Sorted(maps.Keys(s.Breakers)) {
		if s.Breakers[name].State == "open" {
			open = append(open, name)
		}
	}
	return open
}

// CurrentPhaseCode is aragora_nomic_current_phase for the state at now:
// idle when no live loop runs a cycle, paused while paused.
func (s *State) CurrentPhaseCode(now time.Time) int {
	if !s.Running(now) {
		return 0
	}
	if s.Paused != nil {
		return PhaseCode(PhasePaused)
	}
	return PhaseCode(s.Phase)
}

// InProgress is aragora_nomic_cycles_in_progress at now.
func (s *State) InProgress(now time.Time) int {
	if s.Running(now) && s.Cycle != nil {
		return 1
	}
	return 0
}

// MetricsSummary is the document of GET /api/nomic/metrics.
type MetricsSummary struct {
	Status           string     `json:"status"`
	CurrentPhase     string     `json:"current_phase"`
	CycleID          *string    `json:"cycle_id"`
	LastTransitionAt *time.Time `json:"last_transition_at"`
	Stuck            Stuck      `json:"stuck"`
	Summary          Summary    `json:"summary"`
}

// Stuck is the stuck detector's view.
type Stuck struct {
	IsStuck                bool  `json:"is_stuck"`
	SecondsSinceTransition int64 `json:"seconds_since_transition"`
	ThresholdSeconds       int64 `json:"threshold_seconds"`
}

// Summary are the counters of the metrics document.
type Summary struct {
	CyclesInProgress    int              `json:"cycles_in_progress"`
	CircuitBreakersOpen int              `json:"circuit_breakers_open"`
	Cycles              map[string]int64 `json:"cycles"`
	PhaseTransitions    map[string]int64 `json:"phase_transitions"`
	Errors              map[string]int64 `json:"errors"`
	Retries             map[string]int64 `json:"retries"`
	RecoveryDecisions   map[string]int64 `json:"recovery_decisions"`
}

// Metrics summarises the state at now.
func (s *State) Metrics(now time.Time) MetricsSummary {
	m := MetricsSummary{CurrentPhase: s.Phase, Stuck: Stuck{ThresholdSeconds: int64(StuckThreshold / time.Second)}}
	cycles := map[string]int64{OutcomeSuccess: 0, OutcomeFailure: 0, OutcomeAborted: 0}
	maps.Copy(cycles, s.Counters.Cycles)
	m.Summary = Summary{CyclesInProgress: s.InProgress(now), CircuitBreakersOpen: len(s.OpenBreakers()), Cycles: cycles,
		PhaseTransitions: maps.Clone(s.Counters.Transitions), Errors: maps.Clone(s.Counters.Errors),
		Retries: maps.Clone(s.Counters.Retries), RecoveryDecisions: maps.Clone(s.Counters.Recovery)}
	if s.Cycle != nil {
		id := s.Cycle.ID
		m.CycleID = &id
	}
	if !s.LastTransitionAt.IsZero() {
		t := s.LastTransitionAt
		m.LastTransitionAt = &t
		m.Stuck.SecondsSinceTransition = int64(now.Sub(t) / time.Second)
	}
	running := s.Running(now)
	switch {
	case !running:
		m.Status = "not_running"
	case s.Paused != nil:
		m.Status = "paused"
		m.CurrentPhase = PhasePaused
	case s.Cycle == nil:
		m.Status = "idle"
	case now.Sub(s.LastTransitionAt) > StuckThreshold:
		m.Status = "stuck"
		m.Stuck.IsStuck = true
	default:
		m.Status = "healthy"
	}
	return m
}

// StateName is the status document's state: running, paused, idle or
// stopped.
func (s *State) StateName(now time.Time) string {
	switch {
	case !s.Running(now):
		if s.Loop == nil {
			return "idle"
		}
		return "stopped"
	case s.Paused != nil:
		return "paused"
	case s.Cycle == nil:
		return "idle"
	}
	return "running"
}
