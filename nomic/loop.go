package nomic

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/tick"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/webhook"
)

// Agent phases of the loop's own calls (agent.Request.Phase). The debate
// phase uses the debate engine's phases.
const (
	AgentPhaseDesign    agent.Phase = "nomic_design"
	AgentPhaseImplement agent.Phase = "nomic_implement"
)

// ErrRefused wraps every reason the loop refuses to start (a bad
// constitution, a missing key, not a git repository, a held lock).
var ErrRefused = errors.New("nomic: refusing to start")

// errReset is the cause that aborts a phase for a reset command.
var errReset = errors.New("nomic: reset by an operator")

// Approval is what an approver is shown before a commit.
type Approval struct {
	CycleID     string
	Number      int
	Improvement string
	Diff        string
	Summary     string // the verify summary
}

// Approver is the approval gate of the commit phase (interactive y/N on a
// terminal); nil refuses every commit unless the loop is in auto mode.
type Approver interface {
	Approve(ctx context.Context, a Approval) (bool, error)
}

// Progress is one line of live progress.
type Progress struct {
	CycleID string
	Number  int
	Phase   string
	Message string
}

// Config configures a Loop. Path, Participants, Store and PublicKey are
// required.
type Config struct {
	// Path is the target git repository (its top-level directory).
	Path string
	// Participants debate the improvement; design and implement go to
	// them in order, skipping agents whose loop breaker is open.
	Participants []debate.Participant
	// Store persists state, commands and outcomes.
	Store store.NomicStore
	// PublicKey verifies the constitution's signature; without it the
	// loop refuses to start.
	PublicKey ed25519.PublicKey
	// Auto skips the approval gate; AutoCommit (NOMIC_AUTO_COMMIT=1) is
	// then needed for the change to reach the branch.
	Auto, AutoCommit bool
	Approver         Approver
	// Verifier checks changes; nil means Checker{}.
	Verifier Verifier
	// Outcomes also records outcomes (.nomic/outcomes.db); optional.
	Outcomes OutcomeRecorder
	// Progress receives a line per phase and step; optional.
	Progress func(Progress)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits between retries (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	// DebateRounds is the rounds of the debate phase (default 2).
	DebateRounds int
	// AgentTimeout bounds one agent call (default 5 min).
	AgentTimeout time.Duration
	// MaxRetries is the retries of a failed agent phase (default 2),
	// with Backoff doubling from its value (default 2 s).
	MaxRetries int
	Backoff    time.Duration
	// BreakerThreshold consecutive failures open an agent's breaker
	// (default 3) for BreakerCooldown cycles (default 2).
	BreakerThreshold, BreakerCooldown int
	// ContextTokens bounds the context snapshot (default 6000 tokens).
	ContextTokens int
	// HeartbeatInterval and CommandInterval default to 10 s and 2 s.
	HeartbeatInterval, CommandInterval time.Duration
	// Host names this machine in the state (default os.Hostname).
	Host   string
	Logger *slog.Logger
}

// Loop runs nomic cycles over one repository.
type Loop struct {
	cfg  Config
	con  *Constitution
	lock *Lock

	saveMu  sync.Mutex // serialises store writes
	mu      sync.Mutex // guards st, version, resetTo, cancelPhase
	st      *State
	version int64
	resetTo string // a pending reset's target phase
	cancel  context.CancelCauseFunc
	wake    chan struct{}
	cmdMu   sync.Mutex
	tr      atomic.Pointer[transcript] // read by the controller's notes
}

// New checks cfg and returns a Loop; Run starts it.
func New(cfg Config) (*Loop, error) {
	if cfg.Path == "" || cfg.Store == nil {
		return nil, errors.New("nomic: Config.Path and Config.Store are required")
	}
	if len(cfg.Participants) == 0 {
		return nil, errors.New("nomic: no participants")
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, err
	}
	cfg.Path = abs
	if cfg.Verifier == nil {
		cfg.Verifier = Checker{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.DebateRounds <= 0 {
		cfg.DebateRounds = 2
	}
	if cfg.AgentTimeout <= 0 {
		cfg.AgentTimeout = 5 * time.Minute
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	} else if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 2
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.BreakerThreshold <= 0 {
		cfg.BreakerThreshold = 3
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 2
	}
	if cfg.ContextTokens <= 0 {
		cfg.ContextTokens = DefaultContextTokens
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = HeartbeatInterval
	}
	if cfg.CommandInterval <= 0 {
		cfg.CommandInterval = CommandInterval
	}
	if cfg.Host == "" {
		cfg.Host, _ = os.Hostname()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Loop{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// sleepCtx is agent.Sleep returning the context's cause.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if agent.Sleep(ctx, d) != nil {
		return context.Cause(ctx)
	}
	return nil
}

// Preconditions checks what Run checks before it starts: a git
// repository, a constitution whose signature verifies with the public key.
func Preconditions(ctx context.Context, path string, pub ed25519.PublicKey) (*Constitution, error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if os.Getenv("ARAGORA_CONSTITUTION_KEY") != "" {
		return nil, fmt.Errorf("%w: ARAGORA_CONSTITUTION_KEY is set: the private key never belongs in the environment of the process that runs generated code", ErrRefused)
	}
	top, err := git(ctx, path, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a git repository: %v", ErrRefused, path, err)
	}
	if t, _ := filepath.EvalSymlinks(strings.TrimSpace(top)); t != "" {
		if p, _ := filepath.EvalSymlinks(path); p != t {
			return nil, fmt.Errorf("%w: %s is not the top of its git repository (%s)", ErrRefused, path, t)
		}
	}
	if _, err := gitHead(ctx, path); err != nil {
		return nil, fmt.Errorf("%w: the repository has no commit yet", ErrRefused)
	}
	con, err := VerifyFile(filepath.Join(path, ConstitutionPath), pub)
	if err != nil {
		return nil, fmt.Errorf("%w: constitution: %w", ErrRefused, err)
	}
	return con, nil
}

// Run runs up to cycles cycles (an interrupted cycle found at start is
// resumed first and counts) and returns their outcomes. It refuses to
// start, with an error wrapping ErrRefused, when Preconditions fail, the
// lock is held or a live loop is registered in the store elsewhere.
func (l *Loop) Run(ctx context.Context, cycles int) (outs []Outcome, err error) {
	if cycles <= 0 {
		return nil, errors.New("nomic: cycles must be >= 1")
	}
	if l.con, err = Preconditions(ctx, l.cfg.Path, l.cfg.PublicKey); err != nil {
		return nil, err
	}
	if l.lock, err = AcquireLock(l.cfg.Path, l.cfg.Now()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	defer l.lock.Release()
	if l.lock.Replaced != "" {
		l.progress(nil, PhaseIdle, l.lock.Replaced)
		l.cfg.Logger.Warn("nomic_stale_lock", "detail", l.lock.Replaced)
	}
	if err := ensureExcludes(ctx, l.cfg.Path); err != nil {
		return nil, err
	}
	if err := l.register(ctx, cycles); err != nil {
		return nil, err
	}
	ctrlCtx, stopCtrl := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); l.controller(ctrlCtx) }()
	defer func() {
		stopCtrl()
		wg.Wait()
		l.mu.Lock()
		l.st.Stopped = true
		if l.st.Loop != nil {
			l.st.Loop.HeartbeatAt = l.cfg.Now().UTC()
		}
		l.mu.Unlock()
		if serr := l.save(context.WithoutCancel(ctx), nil, nil); serr != nil && err == nil {
			err = serr
		}
	}()

	for done := 0; done < cycles; {
		if err := ctx.Err(); err != nil {
			return outs, context.Cause(ctx)
		}
		o, err := l.runCycle(ctx, cycles)
		if err != nil {
			return outs, err
		}
		if o != nil {
			outs = append(outs, *o)
			done++
		}
	}
	return outs, nil
}

// register loads the state, refuses a live loop registered elsewhere and
// records this one.
func (l *Loop) register(ctx context.Context, cycles int) error {
	now := l.cfg.Now().UTC()
	for {
		st, ver, err := loadState(ctx, l.cfg.Store)
		if err != nil {
			return err
		}
		if st.Running(now) && st.Loop != nil && !(st.Loop.Host == l.cfg.Host && st.Loop.Path == l.cfg.Path) {
			return fmt.Errorf("%w: a loop is running for this store: pid %d on %s in %s (heartbeat %s ago)", ErrRefused,
				st.Loop.PID, st.Loop.Host, st.Loop.Path, now.Sub(st.Loop.HeartbeatAt).Round(time.Second))
		}
		st.Loop = &LoopInfo{PID: os.Getpid(), Host: l.cfg.Host, Path: l.cfg.Path, Auto: l.cfg.Auto, TargetCycles: cycles, StartedAt: now, HeartbeatAt: now}
		st.Stopped = false
		doc, _ := json.Marshal(st)
		v, err := l.cfg.Store.SaveNomicState(ctx, ver, store.NomicWrite{Doc: doc, UpdatedAt: now})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.st, l.version = st, v
		l.mu.Unlock()
		return nil
	}
}

func loadState(ctx context.Context, s store.NomicStore) (*State, int64, error) {
	raw, err := s.LoadNomicState(ctx)
	if errors.Is(err, store.ErrNotFound) {
		st, _ := DecodeState(nil)
		return st, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := DecodeState(raw.Doc)
	return st, raw.Version, err
}

// save writes the state (with an outcome and its outbox message, when
// given). A conflict (someone rewrote the state while this loop owns it)
// is resolved in this loop's favour.
func (l *Loop) save(ctx context.Context, o *store.NomicOutcome, msgs []store.OutboxMessage) error {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	for range 5 {
		l.mu.Lock()
		doc, err := json.Marshal(l.st)
		ver := l.version
		l.mu.Unlock()
		if err != nil {
			return err
		}
		v, err := l.cfg.Store.SaveNomicState(ctx, ver, store.NomicWrite{Doc: doc, UpdatedAt: l.cfg.Now().UTC(), Outcome: o, Outbox: msgs})
		if errors.Is(err, store.ErrConflict) && o == nil {
			if raw, lerr := l.cfg.Store.LoadNomicState(ctx); lerr == nil {
				l.mu.Lock()
				l.version = raw.Version
				l.mu.Unlock()
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("nomic: save state: %w", err)
		}
		l.mu.Lock()
		l.version = v
		l.mu.Unlock()
		return nil
	}
	return fmt.Errorf("nomic: save state: %w", store.ErrConflict)
}

// controller heartbeats and consumes commands until ctx ends.
func (l *Loop) controller(ctx context.Context) {
	tick.Both(ctx, tick.Job{Period: l.cfg.HeartbeatInterval, Run: func() {
		l.mu.Lock()
		l.st.Loop.HeartbeatAt = l.cfg.Now().UTC()
		l.mu.Unlock()
		if err := l.save(ctx, nil, nil); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Warn("nomic_heartbeat_failed", "error", err)
		}
	}}, tick.Job{Period: l.cfg.CommandInterval, Run: func() { l.pollCommands(ctx) }})
}

func (l *Loop) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// pollCommands applies the pending commands, oldest first.
func (l *Loop) pollCommands(ctx context.Context) {
	l.cmdMu.Lock()
	defer l.cmdMu.Unlock()
	cmds, err := l.cfg.Store.PendingNomicCommands(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.cfg.Logger.Warn("nomic_commands_failed", "error", err)
		}
		return
	}
	for _, c := range cmds {
		status, result := l.apply(c)
		if err := l.save(ctx, nil, nil); err != nil {
			l.cfg.Logger.Warn("nomic_command_save_failed", "error", err)
			return
		}
		if err := l.cfg.Store.AckNomicCommand(ctx, c.ID, status, result, l.cfg.Now().UTC()); err != nil && !errors.Is(err, store.ErrConflict) {
			l.cfg.Logger.Warn("nomic_command_ack_failed", "error", err)
		}
		l.signal()
	}
}

// Command kinds (store.NomicCommand.Kind).
const (
	CmdPause        = store.NomicCommandPause
	CmdResume       = store.NomicCommandResume
	CmdReset        = store.NomicCommandReset
	CmdBreakerReset = store.NomicCommandBreakerReset
)

// CommandArgs are the arguments of a command.
type CommandArgs struct {
	Reason      string `json:"reason,omitempty"`
	By          string `json:"by,omitempty"`
	TargetPhase string `json:"target_phase,omitempty"`
	ClearErrors bool   `json:"clear_errors,omitempty"`
}

// ResetResult is the document of a reset.
type ResetResult struct {
	PreviousPhase string  `json:"previous_phase"`
	NewPhase      string  `json:"new_phase"`
	CycleID       *string `json:"cycle_id"`
	Applied       string  `json:"applied"` // loop or checkpoint
}

// BreakerResetResult is the document of a breaker reset.
type BreakerResetResult struct {
	PreviouslyOpen []string `json:"previously_open"`
	Reset          int      `json:"reset"`
}

func rejected(msg string) (store.NomicCommandStatus, json.RawMessage) {
	b, _ := json.Marshal(map[string]string{"error": "invalid_state", "message": msg})
	return store.NomicCommandRejected, b
}

// apply applies one command to the running loop's state.
func (l *Loop) apply(c store.NomicCommand) (store.NomicCommandStatus, json.RawMessage) {
	var a CommandArgs
	_ = json.Unmarshal(c.Args, &a)
	now := l.cfg.Now().UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	switch c.Kind {
	case CmdPause:
		if st.Paused != nil {
			return rejected("the loop is already paused")
		}
		st.Paused = &Paused{At: now, By: a.By, Reason: a.Reason}
		st.Counters.Recovery["pause"]++
		l.note("paused by %s: %s", or(a.By, "an operator"), a.Reason)
	case CmdResume:
		if st.Paused == nil {
			return rejected("the loop is not paused")
		}
		if a.TargetPhase != "" && !ValidResetPhase(a.TargetPhase) {
			return rejected("unknown target_phase " + a.TargetPhase)
		}
		st.Paused = nil
		if a.TargetPhase != "" && st.Cycle != nil && a.TargetPhase != st.Phase {
			l.requestReset(a.TargetPhase)
		}
		l.note("resumed by %s", or(a.By, "an operator"))
	case CmdReset:
		if !ValidResetPhase(a.TargetPhase) {
			return rejected("unknown target_phase " + a.TargetPhase)
		}
		res := ResetResult{PreviousPhase: st.Phase, NewPhase: a.TargetPhase, Applied: "loop"}
		if st.Cycle != nil {
			id := st.Cycle.ID
			res.CycleID = &id
			l.requestReset(a.TargetPhase)
		} else {
			res.NewPhase = PhaseIdle
		}
		if a.ClearErrors {
			st.Errors = []ErrorEntry{}
		}
		l.note("reset by %s to %s: %s", or(a.By, "an operator"), a.TargetPhase, a.Reason)
		b, _ := json.Marshal(res)
		return store.NomicCommandApplied, b
	case CmdBreakerReset:
		res := BreakerResetResult{PreviouslyOpen: st.OpenBreakers(), Reset: len(st.Breakers)}
		if res.PreviouslyOpen == nil {
			res.PreviouslyOpen = []string{}
		}
		for _, b := range st.Breakers {
			*b = Brk{State: "closed"}
		}
		b, _ := json.Marshal(res)
		return store.NomicCommandApplied, b
	default:
		return rejected("unknown command " + string(c.Kind))
	}
	doc, _ := json.Marshal(statusLocked(st, now, nil))
	return store.NomicCommandApplied, doc
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// requestReset aborts the phase in flight (l.mu held).
func (l *Loop) requestReset(target string) {
	l.resetTo = target
	if l.cancel != nil {
		l.cancel(errReset)
	}
}

// note appends a line to the transcript (l.mu may be held: the
// transcript has its own lock).
func (l *Loop) note(format string, args ...any) {
	if tr := l.tr.Load(); tr != nil {
		tr.line(fmt.Sprintf(format, args...))
	}
}

// checkpoint is called at phase boundaries and before agent calls: it
// consumes commands, waits while paused and reports a pending reset.
func (l *Loop) checkpoint(ctx context.Context) error {
	l.pollCommands(ctx)
	for {
		l.mu.Lock()
		paused, reset := l.st.Paused != nil, l.resetTo != ""
		l.mu.Unlock()
		if reset {
			return errReset
		}
		if !paused {
			return nil
		}
		t := time.NewTimer(l.cfg.CommandInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-l.wake:
		case <-t.C:
			l.pollCommands(ctx)
		}
		t.Stop()
	}
}

// transition moves the state to phase to and checkpoints it.
func (l *Loop) transition(ctx context.Context, to string) error {
	now := l.cfg.Now().UTC()
	l.mu.Lock()
	st := l.st
	from := st.Phase
	if from != to {
		st.Counters.Transitions[from+"->"+to]++
		if slices.Contains(CyclePhases, from) && !st.PhaseStartedAt.IsZero() {
			st.Counters.observePhase(from, now.Sub(st.PhaseStartedAt))
		}
	}
	st.Phase, st.PhaseStartedAt, st.LastTransitionAt = to, now, now
	if st.Checkpoint != nil {
		st.Checkpoint.Phase, st.Checkpoint.At = to, now
	}
	var c *CycleInfo
	if st.Cycle != nil {
		cc := *st.Cycle
		c = &cc
	}
	l.mu.Unlock()
	if c != nil {
		l.progress(c, to, "")
	}
	return l.save(ctx, nil, nil)
}

func (l *Loop) progress(c *CycleInfo, phase, msg string) {
	if l.cfg.Progress == nil {
		return
	}
	p := Progress{Phase: phase, Message: msg}
	if c != nil {
		p.CycleID, p.Number = c.ID, c.Number
	}
	l.cfg.Progress(p)
}

// recordError adds an error entry and counts it.
func (l *Loop) recordError(phase, typ, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Errors = append(l.st.Errors, ErrorEntry{At: l.cfg.Now().UTC(), Phase: phase, Type: typ, Message: msg})
	if len(l.st.Errors) > 50 {
		l.st.Errors = l.st.Errors[len(l.st.Errors)-50:]
	}
	l.st.Counters.Errors[phase+"/"+typ]++
	l.note("error (%s/%s): %s", phase, typ, msg)
}

func (l *Loop) countRecovery(strategy string) {
	l.mu.Lock()
	l.st.Counters.Recovery[strategy]++
	l.mu.Unlock()
}

// newCycleID returns c_ and 8 hex digits.
func newCycleID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "c_" + hex.EncodeToString(b[:])
}

// ensureExcludes keeps the loop's files out of `git status`.
func ensureExcludes(ctx context.Context, root string) error {
	out, err := git(ctx, root, "rev-parse", "--git-path", "info/exclude")
	if err != nil {
		return err
	}
	p := strings.TrimSpace(out)
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	b, _ := os.ReadFile(p)
	want := []string{"/.nomic/nomic.lock", "/.nomic/backups/", "/.nomic/sessions/", "/.nomic/worktrees/", "/.nomic/outcomes.db*"}
	var add []string
	for _, w := range want {
		if !slices.Contains(strings.Split(string(b), "\n"), w) {
			add = append(add, w)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if len(b) > 0 && !strings.HasSuffix(string(b), "\n") {
		_, _ = f.WriteString("\n")
	}
	_, err = f.WriteString("# aragora nomic loop\n" + strings.Join(add, "\n") + "\n")
	return err
}

// cycleOutcomeMessage builds the nomic.cycle_finished webhook message.
func cycleOutcomeMessage(o *Outcome) (store.OutboxMessage, error) {
	data := map[string]any{"cycle_id": o.CycleID, "number": o.Number, "outcome": o.Outcome, "started_at": o.StartedAt,
		"finished_at": o.FinishedAt, "committed": o.Committed, "reason": o.Reason, "receipt_id": o.ReceiptID}
	return webhook.NewMessage(webhook.EventNomicCycleFinished, data, o.FinishedAt, o.CycleID)
}
