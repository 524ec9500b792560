package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

// Sentinel errors of the Manager.
var (
	// ErrAtCapacity reports a full debate queue.
	ErrAtCapacity = errors.New("lifecycle: at capacity")
	// ErrShuttingDown reports a Manager that is shutting down.
	ErrShuttingDown = errors.New("lifecycle: shutting down")
	// ErrHeld reports a debate another live process holds; *HeldError
	// names the holder.
	ErrHeld = errors.New("lifecycle: debate held by another process")
)

// Factory builds the orchestrator of one debate; the default is debate.New.
// A composition wraps it to add observers of its own (metrics).
type Factory func(cfg debate.Config, participants ...debate.Participant) (*debate.Orchestrator, error)

// Outbox supplies the outbox messages written in the same transaction as a
// debate's creation and finish (store.OutboxCreator, store.Final), so a
// webhook announces a change exactly when it is durable. Implementations
// must be safe for concurrent use and must not block.
type Outbox interface {
	OnCreate(d *store.Debate, sp *Spec) []store.OutboxMessage
	OnFinish(d *store.Debate, doc *ResultDoc) []store.OutboxMessage
}

// Tracer follows this process's debates for a tracing system
// (docs/observability.md#traces); the composition's tracing package
// implements it. Its methods must be safe for concurrent use and return
// quickly.
type Tracer interface {
	// Created is called by Create with the creating request's context once
	// debate id is stored, before it is queued: the tracer keeps what it
	// needs of ctx (its span) for the run.
	Created(ctx context.Context, id string)
	// Start is called as a run (or resume) of debate id begins in this
	// process, with the run's context; the run uses the context it
	// returns, and end is called once with the run's final status ("" when
	// it has none: suspended, lease lost) and error when it returns.
	Start(ctx context.Context, id string) (context.Context, func(status string, err error))
	// Agent wraps the agent of participant name (served by provider and
	// model) outermost, around the agent call log.
	Agent(name, provider, model string, a agent.Agent) agent.Agent
	// Observer receives every debate's events.
	Observer() debate.Observer
}

// Config tunes a Manager. The zero value works: ten concurrent debates, a
// queue of 100, the lease timing of docs/operations.md#stop-drain-and-restart, demo default agents.
type Config struct {
	// Defaults apply to omitted request fields (Request.Normalise).
	Defaults Defaults
	// MaxConcurrent debates run at once in this process; default 10.
	MaxConcurrent int
	// QueueSize debates wait as pending before ErrAtCapacity; default
	// 100, negative: none wait.
	QueueSize int
	// AgentTimeout bounds each agent call; 0: the engine's default (60 s).
	AgentTimeout time.Duration
	// HeartbeatEvery is how often a running debate's lease is renewed;
	// default a third of LeaseDuration, at most 10 s (a heartbeat slower
	// than the lease would let peers take over a live debate).
	HeartbeatEvery time.Duration
	// LeaseDuration is how long a lease lasts after its last heartbeat;
	// default 30 s.
	LeaseDuration time.Duration
	// StaleAfter is the heartbeat age at which a debate that cannot be
	// resumed is timed out; default 600 s.
	StaleAfter time.Duration
	// SweepEvery is how often orphaned debates are looked for; default
	// LeaseDuration, at most 10 s, so that an expired lease is taken over
	// within two lease durations.
	SweepEvery time.Duration
	// Holder names this process as lease owner; default NewHolder().
	Holder string
	// NewDebate builds each orchestrator; default debate.New.
	NewDebate Factory
	// Observers receive every debate's events (each on its own goroutine
	// per debate); they must be safe for concurrent use.
	Observers []debate.Observer
	// OnRound receives each round's timing; it must return quickly.
	OnRound func(debate.RoundTiming)
	// OnFinished is called once a debate's final state is durable (or, for
	// a store that cannot write it, once it is known), with the stored
	// record; it must not block.
	OnFinished func(d *store.Debate)
	// Outbox supplies webhook outbox messages; nil: none.
	Outbox Outbox
	// ReceiptSigner signs receipts; nil: unsigned.
	ReceiptSigner receipt.Signer
	// Rand is the randomness of debate and receipt ids; default crypto/rand.
	Rand io.Reader
	// Logger receives the aragora.debate.orchestrator records (among them
	// each round's round_start and round_end); nil discards.
	Logger *slog.Logger
	// AgentLogger returns the logger of provider's agent calls
	// (aragora.agent.<provider>), which receives agent_call, agent_error
	// and agent_fallback for every call (docs/operations.md#logs); nil:
	// agent calls are not logged.
	AgentLogger func(provider string) *slog.Logger
	// Tracer, when set, traces each debate run; nil: none.
	Tracer Tracer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SpoolDir keeps what this process computed but could not commit: a
	// final result whose commit failed, usage rows that could not be
	// written (docs/operations.md#the-result-spool). A later resume on the
	// same SpoolDir commits the spooled result instead of running agents
	// again. "": kept in memory for the life of the process.
	SpoolDir string
	// SpoolReserve is the size of a file SpoolDir keeps in reserve and
	// deletes to make room for a record on a full volume (SQLite's data
	// directory: DefaultSpoolReserve); 0: none.
	SpoolReserve int64
}

func (c Config) withDefaults() Config {
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 10
	}
	if c.QueueSize < 0 {
		c.QueueSize = 0
	} else if c.QueueSize == 0 {
		c.QueueSize = 100
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 30 * time.Second
	}
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = max(time.Millisecond, min(10*time.Second, c.LeaseDuration/3))
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 600 * time.Second
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = max(time.Millisecond, min(10*time.Second, c.LeaseDuration))
	}
	if c.Holder == "" {
		c.Holder = NewHolder()
	}
	if c.NewDebate == nil {
		c.NewDebate = debate.New
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Defaults = c.Defaults.withDefaults()
	return c
}

// Manager runs stored debates: it creates them, queues them within the
// process's limits, claims each one's lease (fenced by generation, docs/operations.md#stop-drain-and-restart),
// builds its orchestrator from the stored Spec, runs or resumes it,
// commits its result together with its final state, and resumes or times
// out the debates other processes left behind. It keeps the live state of
// the debates it runs, which the debate object (Object) merges with the
// stored record. It is safe for concurrent use. Create it with New; Start
// begins the background sweeper, and Shutdown suspends every running
// debate.
type Manager struct {
	cfg    Config
	st     store.DebateStore
	leaser store.Leaser // nil: the store keeps no leases
	agents Agents
	log    *slog.Logger

	overlay *overlay
	docs    *docCache

	mu       sync.Mutex
	queue    []queued
	running  map[string]*running
	draining bool
	wg       sync.WaitGroup
	root     context.Context
	stopRoot context.CancelFunc

	bgStop context.CancelFunc
	bgDone chan struct{}

	// sole: this process holds the data directory's serve lock, so every
	// lease of another serve process is void (SetSoleServer).
	sole atomic.Bool
	// swept is closed once the first orphan sweep after Start is done.
	swept     chan struct{}
	sweptOnce sync.Once
	started   atomic.Bool

	spool      *spool
	usageStore store.UsageStore // where spooled usage rows go (RecordUsage)
}

type queued struct {
	id     string
	resume bool
}

type running struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
	// claimed is closed once the debate's claim was tried (Prepare
	// returned).
	claimed chan struct{}
}

// New returns a Manager of the debates in st, resolving agents with agents.
func New(st store.DebateStore, agents Agents, cfg Config) (*Manager, error) {
	if st == nil {
		return nil, errors.New("lifecycle: a store is required")
	}
	cfg = cfg.withDefaults()
	root, stop := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, st: st, agents: agents, log: cfg.Logger, overlay: newOverlay(), docs: newDocCache(docCacheBytes),
		running: map[string]*running{}, root: root, stopRoot: stop, swept: make(chan struct{}),
		spool: newSpool(cfg.SpoolDir, cfg.SpoolReserve, cfg.Logger)}
	if l, ok := st.(store.Leaser); ok {
		m.leaser = l
	}
	return m, nil
}

// Holder returns the lease owner name of this process.
func (m *Manager) Holder() string { return m.cfg.Holder }

// SetSoleServer records that this process holds the exclusive lock of its
// store (SQLite's data directory lock of `aragora serve`): no other server
// process runs on the store, so the leases of every other server holder are
// void and their debates are claimed at once, without waiting for the
// leases to expire. Leases of `aragora debate` processes (cli: holders)
// still count while their process lives.
func (m *Manager) SetSoleServer() { m.sole.Store(true) }

// ownerDead reports whether lease owner h cannot be running its debates:
// a dead process of this host, or another server while this one is the
// sole server.
func (m *Manager) ownerDead(h string) bool {
	if h == "" || h == m.cfg.Holder {
		return false
	}
	return holderDead(h) || (m.sole.Load() && !strings.HasPrefix(h, "cli:"))
}

// Resumed reports whether the first orphan sweep after Start has been done
// (readiness waits for it, docs/operations.md#stop-drain-and-restart); true
// before Start.
func (m *Manager) Resumed() bool {
	if !m.started.Load() {
		return true
	}
	select {
	case <-m.swept:
		return true
	default:
		return false
	}
}

// Defaults returns the request defaults (Config.Defaults with defaults applied).
func (m *Manager) Defaults() Defaults { return m.cfg.Defaults }

// Store returns the store the Manager runs debates in.
func (m *Manager) Store() store.DebateStore { return m.st }

func (m *Manager) now() time.Time { return m.cfg.Now() }

// Validate resolves sp's agents (filling sp.Names) and builds its
// orchestrator once, without storing anything, so that a caller can refuse
// a debate that could not run before creating it. Errors are those of
// ResolveAgents, or wrap debate.ErrInvalidConfig.
func (m *Manager) Validate(sp *Spec) error {
	_, err := m.build(&store.Debate{ID: "validate"}, sp, nil, nil)
	return err
}

// Create stores a new debate with settings sp for owner, pending, and
// submits it to this process's queue. It resolves the agents first
// (filling sp.Names): a refused agent is an *AgentError, a duplicate a
// *ValidationError. When the queue is full (ErrAtCapacity) the stored
// debate is finished as failed and the error returned. While the Manager
// drains, the debate is stored pending and not submitted: the next process
// or a peer runs it. The returned record's Status is the effective one
// (running or pending).
func (m *Manager) Create(ctx context.Context, sp *Spec, owner, correlationID string) (*store.Debate, error) {
	if _, _, err := ResolveAgents(m.agents, sp); err != nil {
		return nil, err
	}
	now := m.now().UTC()
	d, err := m.newRecord(sp, owner, correlationID, now)
	if err != nil {
		return nil, err
	}
	if m.leaser != nil && !m.isDraining() {
		// Reserved for this process's queue for one lease (generation 0:
		// not a claim): peers' sweepers leave it alone meanwhile instead
		// of queueing it too, and take it over if it waits longer (this
		// replica is saturated, or it died).
		d.LeaseOwner, d.LeaseExpiresAt = m.cfg.Holder, now.Add(m.cfg.LeaseDuration)
	}
	if err := m.insert(ctx, d, sp); err != nil {
		return nil, err
	}
	if m.cfg.Tracer != nil {
		m.cfg.Tracer.Created(ctx, d.ID)
	}
	status, err := m.Submit(d.ID, false)
	if errors.Is(err, ErrShuttingDown) {
		status, err = store.StatusPending, nil
		m.log.Info("debate_deferred", "debate_id", d.ID, "correlation_id", d.CorrelationID, "detail", "draining: stored pending for the next process")
	}
	if err != nil {
		m.overlay.update(d.ID, func(ls *liveState) { ls.Status = store.StatusFailed })
		if m.leaser != nil {
			_ = m.leaser.FinishDebate(context.WithoutCancel(ctx), d.ID, &store.Finish{From: []store.Status{store.StatusPending},
				Status: store.StatusFailed}, now)
		}
		return nil, err
	}
	m.log.Info("debate_created", "debate_id", d.ID, "correlation_id", d.CorrelationID, "agents", sp.Names,
		"rounds", sp.Rounds, "topic_len", utf8.RuneCountInString(sp.Topic), "status", status)
	d.Status = status
	return d, nil
}

// CreateHeld stores a new debate with settings sp for owner, already
// running and leased by this process (generation 1), so that no sweeper
// takes it before the caller runs it with Prepare and Job.Run (what
// `aragora debate` does). sp must have been validated (Validate).
func (m *Manager) CreateHeld(ctx context.Context, sp *Spec, owner string) (*store.Debate, error) {
	now := m.now()
	d, err := m.newRecord(sp, owner, "", now)
	if err != nil {
		return nil, err
	}
	d.Status, d.StartedAt = store.StatusRunning, now
	if m.leaser != nil {
		d.LeaseOwner, d.LeaseExpiresAt, d.LeaseGeneration = m.cfg.Holder, now.Add(m.cfg.LeaseDuration), 1
	}
	if err := m.insert(ctx, d, sp); err != nil {
		return nil, err
	}
	return d, nil
}

func (m *Manager) newRecord(sp *Spec, owner, correlationID string, now time.Time) (*store.Debate, error) {
	id, err := NewDebateID(now, m.cfg.Rand)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: encode spec: %w", err)
	}
	return &store.Debate{ID: id, Topic: sp.Topic, Status: store.StatusPending, Owner: owner, CorrelationID: correlationID,
		Config: raw, CreatedAt: now, UpdatedAt: now}, nil
}

// insert creates d, with the Outbox's creation messages when there are any.
func (m *Manager) insert(ctx context.Context, d *store.Debate, sp *Spec) error {
	var msgs []store.OutboxMessage
	if m.cfg.Outbox != nil {
		msgs = m.cfg.Outbox.OnCreate(d, sp)
	}
	var err error
	if oc, ok := m.st.(store.OutboxCreator); ok && len(msgs) > 0 {
		err = oc.CreateDebateWithOutbox(ctx, d, msgs)
	} else if len(msgs) > 0 {
		err = fmt.Errorf("the store cannot write outbox messages: %w", errors.ErrUnsupported)
	} else {
		err = m.st.CreateDebate(ctx, d)
	}
	if err != nil {
		return fmt.Errorf("lifecycle: create debate: %w", err)
	}
	return nil
}

// HeldError reports a debate another live process holds: Prepare does not
// take it over, so that nothing runs a debate twice.
type HeldError struct {
	DebateID string
	Holder   string
	// Heartbeat is the holder's last heartbeat (the record's UpdatedAt).
	Heartbeat time.Time
	// Age is how long before the refusal that heartbeat was.
	Age time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("debate %s is running in %s (heartbeat %d s ago)", e.DebateID, e.Holder, int(e.Age.Round(time.Second)/time.Second))
}

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// SetupError reports a debate that cannot run as stored: Code is
// invalid_config (settings unreadable or inconsistent) or
// agent_unavailable.
type SetupError struct {
	Code string
	Err  error
}

func (e *SetupError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *SetupError) Unwrap() error { return e.Err }
