package nomic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aragora/aragora/store"
)

// Status is the document of GET /api/admin/nomic/status.
type Status struct {
	Running          bool            `json:"running"`
	State            string          `json:"state"`
	Loop             *LoopInfo       `json:"loop"`
	Cycle            *CycleInfo      `json:"cycle"`
	Phase            string          `json:"phase"`
	PhaseStartedAt   *time.Time      `json:"phase_started_at"`
	LastTransitionAt *time.Time      `json:"last_transition_at"`
	Paused           *Paused         `json:"paused"`
	Errors           []ErrorEntry    `json:"errors"`
	CircuitBreakers  BreakerSummary  `json:"circuit_breakers"`
	PendingCommands  []PendingCmd    `json:"pending_commands"`
	LastCheckpoint   *CheckpointInfo `json:"last_checkpoint"`
	LastOutcome      *Outcome        `json:"last_outcome,omitempty"`
	Metrics          MetricsSummary  `json:"metrics"`
}

// BreakerSummary counts the loop breakers.
type BreakerSummary struct {
	Open  []string `json:"open"`
	Total int      `json:"total"`
}

// PendingCmd is a command not yet acknowledged.
type PendingCmd struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

// CheckpointInfo is the last checkpoint's time and phase.
type CheckpointInfo struct {
	At    time.Time `json:"at"`
	Phase string    `json:"phase"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func statusLocked(st *State, now time.Time, pending []store.NomicCommand) Status {
	s := Status{Running: st.Running(now), State: st.StateName(now), Loop: st.Loop, Cycle: st.Cycle, Phase: st.Phase,
		PhaseStartedAt: timePtr(st.PhaseStartedAt), LastTransitionAt: timePtr(st.LastTransitionAt), Paused: st.Paused,
		Errors: st.Errors, CircuitBreakers: BreakerSummary{Open: st.OpenBreakers(), Total: len(st.Breakers)},
		PendingCommands: []PendingCmd{}, LastOutcome: st.LastOutcome, Metrics: st.Metrics(now)}
	if s.CircuitBreakers.Open == nil {
		s.CircuitBreakers.Open = []string{}
	}
	if st.Checkpoint != nil {
		s.LastCheckpoint = &CheckpointInfo{At: st.Checkpoint.At, Phase: st.Checkpoint.Phase}
	}
	for _, c := range pending {
		s.PendingCommands = append(s.PendingCommands, PendingCmd{ID: c.ID, Kind: string(c.Kind), CreatedAt: c.CreatedAt})
	}
	return s
}

// Control is the operator's side of the loop, over the store: the
// server's /api/nomic/* and /api/admin/nomic/* endpoints and the metrics
// exporter use it, in another process than the loop.
type Control struct {
	Store store.NomicStore
	// Now is the clock (default time.Now).
	Now func() time.Time
	// AckTimeout bounds the wait for a running loop's acknowledgement
	// (default 10 s); PollInterval is the wait between reads (200 ms).
	AckTimeout, PollInterval time.Duration
}

// ErrInvalidState reports a command the loop's state does not allow (409).
var ErrInvalidState = errors.New("nomic: invalid state")

// ErrInvalidPhase reports an unknown target phase (400).
var ErrInvalidPhase = errors.New("nomic: unknown target_phase: want context, debate, design, implement, verify, commit or idle")

func (c *Control) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// State loads the state (the idle state before any loop reported).
func (c *Control) State(ctx context.Context) (*State, int64, error) {
	return loadState(ctx, c.Store)
}

// Status returns the status document.
func (c *Control) Status(ctx context.Context) (Status, error) {
	st, _, err := c.State(ctx)
	if err != nil {
		return Status{}, err
	}
	pending, err := c.Store.PendingNomicCommands(ctx)
	if err != nil {
		return Status{}, err
	}
	return statusLocked(st, c.now(), pending), nil
}

// Metrics returns the metrics document.
func (c *Control) Metrics(ctx context.Context) (MetricsSummary, error) {
	st, _, err := c.State(ctx)
	if err != nil {
		return MetricsSummary{}, err
	}
	return st.Metrics(c.now()), nil
}

// Result is a command's answer: Pending with CommandID when the loop did
// not acknowledge in time (202), else the document (200).
type Result struct {
	Pending   bool
	CommandID string
	Doc       json.RawMessage
}

// Pause asks the running loop to pause.
func (c *Control) Pause(ctx context.Context, reason, by string) (Result, error) {
	st, _, err := c.State(ctx)
	if err != nil {
		return Result{}, err
	}
	now := c.now()
	if !st.Running(now) {
		return Result{}, fmt.Errorf("%w: no nomic loop is running", ErrInvalidState)
	}
	if st.Paused != nil {
		return Result{}, fmt.Errorf("%w: the loop is already paused", ErrInvalidState)
	}
	return c.send(ctx, CmdPause, CommandArgs{Reason: reason, By: by})
}

// Resume asks the paused loop to resume, at target ("" for the paused
// phase).
func (c *Control) Resume(ctx context.Context, target, by string) (Result, error) {
	if target != "" && !ValidResetPhase(target) {
		return Result{}, ErrInvalidPhase
	}
	st, _, err := c.State(ctx)
	if err != nil {
		return Result{}, err
	}
	if !st.Running(c.now()) || st.Paused == nil {
		return Result{}, fmt.Errorf("%w: the loop is not paused", ErrInvalidState)
	}
	return c.send(ctx, CmdResume, CommandArgs{TargetPhase: target, By: by})
}

// Reset resets the cycle to target: through the running loop, or by
// rewriting the checkpoint when none runs.
func (c *Control) Reset(ctx context.Context, target string, clearErrors bool, reason, by string) (Result, error) {
	if !ValidResetPhase(target) {
		return Result{}, ErrInvalidPhase
	}
	args := CommandArgs{TargetPhase: target, ClearErrors: clearErrors, Reason: reason, By: by}
	return c.sendOrApply(ctx, CmdReset, args, func(st *State, now time.Time) (any, store.NomicWrite, error) {
		res := ResetResult{PreviousPhase: st.Phase, NewPhase: target, Applied: "checkpoint"}
		var w store.NomicWrite
		if st.Cycle != nil {
			id := st.Cycle.ID
			res.CycleID = &id
		}
		switch {
		case st.Cycle == nil:
			res.NewPhase = PhaseIdle
		case target == PhaseIdle:
			out := Outcome{CycleID: st.Cycle.ID, Number: st.Cycle.Number, Outcome: OutcomeAborted, Reason: "reset to idle by an operator: " + reason,
				StartedAt: st.Cycle.StartedAt, FinishedAt: now}
			if st.Checkpoint != nil {
				out.Improvement, out.ReceiptID, out.DebateID = st.Checkpoint.Improvement, st.Checkpoint.ReceiptID, st.Checkpoint.DebateID
			}
			doc, _ := json.Marshal(out)
			w.Outcome = &store.NomicOutcome{CycleID: out.CycleID, Number: out.Number, Outcome: out.Outcome, Reason: out.Reason, StartedAt: out.StartedAt, FinishedAt: now, Doc: doc}
			msg, err := cycleOutcomeMessage(&out)
			if err != nil {
				return nil, w, err
			}
			w.Outbox = []store.OutboxMessage{msg}
			st.Counters.Cycles[OutcomeAborted]++
			st.LastOutcome = &out
			st.Counters.Transitions[st.Phase+"->"+PhaseIdle]++
			st.Cycle, st.Checkpoint, st.Phase = nil, nil, PhaseIdle
			st.LastTransitionAt, st.PhaseStartedAt = now, now
		default:
			st.Phase = target
			if st.Checkpoint != nil {
				st.Checkpoint.Phase, st.Checkpoint.At = target, now
				clearAfter(st.Checkpoint, target)
			}
			st.LastTransitionAt = now
		}
		if clearErrors {
			st.Errors = []ErrorEntry{}
		}
		st.Counters.Recovery["restart"]++
		return res, w, nil
	})
}

// sendOrApply sends the command to the running loop; when none runs it
// applies it to the persisted state instead: apply changes st and returns
// the result document and what to write with the state (compare-and-swap,
// applied again on a conflict).
func (c *Control) sendOrApply(ctx context.Context, kind store.NomicCommandKind, args CommandArgs,
	apply func(st *State, now time.Time) (any, store.NomicWrite, error)) (Result, error) {
	for {
		st, ver, err := c.State(ctx)
		if err != nil {
			return Result{}, err
		}
		now := c.now()
		if st.Running(now) {
			return c.send(ctx, kind, args)
		}
		res, w, err := apply(st, now)
		if err != nil {
			return Result{}, err
		}
		w.Doc, _ = json.Marshal(st)
		w.UpdatedAt = now
		_, err = c.Store.SaveNomicState(ctx, ver, w)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		b, _ := json.Marshal(res)
		return Result{Doc: b}, nil
	}
}

// clearAfter drops what the phases from target on produced, so they run
// again.
func clearAfter(cp *Checkpoint, target string) {
	i := slices.Index(CyclePhases, target)
	if i <= slices.Index(CyclePhases, PhaseContext) {
		cp.Context, cp.BaseHead = "", ""
	}
	if i <= slices.Index(CyclePhases, PhaseDebate) {
		cp.Improvement, cp.ReceiptID, cp.DebateID = "", "", ""
	}
	if i <= slices.Index(CyclePhases, PhaseDesign) {
		cp.Design = nil
	}
	if i <= slices.Index(CyclePhases, PhaseImplement) {
		cp.Change = nil
	}
	cp.Verified = false
}

// Breakers is the document of GET /api/admin/nomic/circuit-breakers.
type Breakers struct {
	Breakers map[string]*Brk `json:"breakers"`
	Open     []string        `json:"open"`
	Total    int             `json:"total"`
}

// CircuitBreakers returns the loop breakers.
func (c *Control) CircuitBreakers(ctx context.Context) (Breakers, error) {
	st, _, err := c.State(ctx)
	if err != nil {
		return Breakers{}, err
	}
	b := Breakers{Breakers: st.Breakers, Open: st.OpenBreakers(), Total: len(st.Breakers)}
	if b.Open == nil {
		b.Open = []string{}
	}
	return b, nil
}

// ResetBreakers closes every loop breaker: through the running loop, or in
// the persisted state when none runs.
func (c *Control) ResetBreakers(ctx context.Context, by string) (Result, error) {
	return c.sendOrApply(ctx, CmdBreakerReset, CommandArgs{By: by}, func(st *State, _ time.Time) (any, store.NomicWrite, error) {
		res := BreakerResetResult{PreviouslyOpen: st.OpenBreakers(), Reset: len(st.Breakers)}
		if res.PreviouslyOpen == nil {
			res.PreviouslyOpen = []string{}
		}
		for _, b := range st.Breakers {
			*b = Brk{State: "closed"}
		}
		return res, store.NomicWrite{}, nil
	})
}

// send stores a command and waits for the loop's acknowledgement.
func (c *Control) send(ctx context.Context, kind store.NomicCommandKind, args CommandArgs) (Result, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "cmd_" + hex.EncodeToString(b[:])
	raw, _ := json.Marshal(args)
	if err := c.Store.EnqueueNomicCommand(ctx, store.NomicCommand{ID: id, Kind: kind, Args: raw, CreatedAt: c.now()}); err != nil {
		return Result{}, err
	}
	wait, every := c.AckTimeout, c.PollInterval
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		cmd, err := c.Store.GetNomicCommand(ctx, id)
		if err != nil {
			return Result{}, err
		}
		switch cmd.Status {
		case store.NomicCommandApplied:
			return Result{CommandID: id, Doc: cmd.Result}, nil
		case store.NomicCommandRejected:
			var r struct {
				Message string `json:"message"`
			}
			_ = json.Unmarshal(cmd.Result, &r)
			return Result{CommandID: id}, fmt.Errorf("%w: %s", ErrInvalidState, r.Message)
		}
		select {
		case <-ctx.Done():
			return Result{}, context.Cause(ctx)
		case <-deadline.C:
			return Result{Pending: true, CommandID: id}, nil
		case <-tick.C:
		}
	}
}
