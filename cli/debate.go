package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/service"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// debateFlags are the flags of `aragora debate` (docs/cli.md).
type debateFlags struct {
	agents          string
	rounds          int
	consensus       string
	threshold       float64
	topology        string
	seed            int64
	trickster       bool
	convergenceStop bool
	maxTokens       int
	format          string
	receiptOut      string
	stream          bool
	noStore         bool
	noMemory        bool
	resume          string
	server          string
	token           string
}

// Output formats of `aragora debate`.
const (
	formatText     = "text"
	formatJSON     = "json"
	formatMarkdown = "markdown"
	formatHTML     = "html"
)

// debateHooks fix the clock and the randomness of `aragora debate` so that
// tests can assert byte-identical output. Only tests set them, through the
// context given to run (withDebateHooks); the binary never does.
type debateHooks struct {
	now  func() time.Time
	rand io.Reader // debate ids and receipt ids
}

type debateHooksKey struct{}

// withDebateHooks returns ctx carrying h for `aragora debate`.
func withDebateHooks(ctx context.Context, h debateHooks) context.Context {
	return context.WithValue(ctx, debateHooksKey{}, h)
}

func debateHooksFrom(ctx context.Context) debateHooks {
	h, _ := ctx.Value(debateHooksKey{}).(debateHooks)
	if h.now == nil {
		h.now = time.Now
	}
	if h.rand == nil {
		h.rand = rand.Reader
	}
	return h
}

func newDebateCmd(getenv env) *cobra.Command {
	var f debateFlags
	cmd := &cobra.Command{
		Use:   `debate "<question>"`,
		Short: "Run a multi-agent debate in this process",
		Long: `Run a multi-agent debate in this process and print its transcript, verdict and
decision receipt.

Without --agents, the agents are ARAGORA_DEFAULT_AGENTS when set, else the
offline demo agents demo-analyst, demo-critic and demo-judge (demo mode: no
API key, no network). Demo agents are written demo-<name>[:<style>], with
style supportive, critical, balanced, contrarian or hollow.

Receipts are signed when ARAGORA_RECEIPT_SIGNING_KEY (HMAC-SHA256, base64,
at least 32 bytes) or ARAGORA_RECEIPT_ED25519_KEY (base64 32-byte seed) is
set.

Defaults that differ from a server's (POST /api/debates, docs/cli.md):
  consensus    majority here; weighted on a server
  rounds       1-20 here; 1-12 on a server
  max-tokens   0 (unlimited) or any budget here; none or at least 1000 on a server
  timeout      none here; ARAGORA_DEBATE_TIMEOUT_SECONDS (900 s) on a server
With --server only the flags given are sent, so the server's defaults and
ranges apply.

Exit codes: 0 consensus_reached or no_consensus; 1 failed, timeout,
cancelled, budget_exceeded or a runtime error; 2 usage or configuration
error; 130 interrupted by SIGINT (the debate is recorded as cancelled).`,
		Example: `  aragora debate "Should we adopt Postgres?"
  aragora debate "Rewrite the billing service in Go?" --rounds 2 --consensus supermajority --format json
  aragora debate "Ship on Friday?" --agents demo-optimist:supportive,demo-skeptic,demo-judge --consensus judge --receipt-out receipt.html
  aragora debate --resume deb_01hq3z8k2m4n6p8r0t2v4x6z8b`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr(fmt.Errorf("debate: want one quoted question, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDebate(cmd, args, &f, getenv)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.agents, "agents", "", "comma-separated agent specs (default ARAGORA_DEFAULT_AGENTS, else "+defaultDemoAgents+")")
	fl.IntVar(&f.rounds, "rounds", 3, "rounds to run, 1-20")
	fl.StringVar(&f.consensus, "consensus", consensus.NameMajority.String(), "consensus method: majority, supermajority, unanimous, weighted, judge or none")
	fl.Float64Var(&f.threshold, "threshold", 0, "consensus threshold in (0, 1] for weighted (default ARAGORA_CONSENSUS_THRESHOLD, else 0.6) and supermajority (default 2/3)")
	fl.StringVar(&f.topology, "topology", debate.TopologyAllToAll.String(), "who critiques whom: all-to-all, ring, star or sparse")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the demo agents (same seed, same debate)")
	fl.BoolVar(&f.trickster, "trickster", false, "challenge hollow consensus: similar proposals with weak evidence")
	fl.BoolVar(&f.convergenceStop, "convergence-stop", false, "stop once proposals converge")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "token budget over all agents (0: unlimited); the debate stops with budget_exceeded")
	fl.StringVar(&f.format, "format", formatText, "output: text (live transcript), json, markdown or html")
	fl.StringVar(&f.receiptOut, "receipt-out", "", "also write the receipt to FILE: Markdown for .md, HTML for .html, else JSON")
	fl.BoolVar(&f.stream, "stream", false, "print agents' tokens as they are written (text format)")
	fl.BoolVar(&f.noStore, "no-store", false, "keep the debate in memory only")
	fl.BoolVar(&f.noMemory, "no-memory", false, "neither recall nor record continuum memory for this debate (ARAGORA_MEMORY_ENABLED=false for every debate)")
	fl.StringVar(&f.resume, "resume", "", "continue the interrupted debate ID from its last checkpoint, with its stored agents, settings and seed (takes no question)")
	fl.StringVar(&f.server, "server", "", "create the debate on the aragora server at URL and follow it (credential: --token or ARAGORA_TOKEN)")
	fl.StringVar(&f.token, "token", "", "credential for --server (prefer ARAGORA_TOKEN)")
	return cmd
}

// openDebateStore returns the store `aragora debate` persists to (the one
// `aragora serve` uses, docs/cli.md) and its close function. With
// --no-store, or a configured memory:// store, the debate is kept in a
// store of its own in memory (persisted is false).
func openDebateStore(ctx context.Context, getenv env, noStore bool) (st store.DebateStore, persisted bool, spoolDir string, closeFn func() error, err error) {
	mem := func() (store.DebateStore, bool, string, func() error, error) {
		return memstore.New(), false, "", func() error { return nil }, nil
	}
	if noStore {
		return mem()
	}
	c, b, err := openBackends(ctx, getenv)
	if err != nil {
		return nil, false, "", nil, err
	}
	if b.Kind == "memory" {
		_ = b.Close()
		return mem()
	}
	return b.Store, true, c.SpoolDir(), b.Close, nil
}

// cliHolder names this process as a lease owner.
func cliHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("cli:%s:%d", host, os.Getpid())
}

func runDebate(cmd *cobra.Command, args []string, f *debateFlags, getenv env) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if f.token != "" && f.server == "" {
		return usageErr(errors.New("debate: --token goes with --server"))
	}
	format := strings.ToLower(strings.TrimSpace(f.format))
	switch format {
	case formatText, formatJSON, formatMarkdown, formatHTML:
	default:
		return usageErr(fmt.Errorf("debate: --format %q: want text, json, markdown or html", f.format))
	}
	if err := checkReceiptOut(f.receiptOut); err != nil {
		return err
	}
	if f.resume != "" {
		return resumeDebate(ctx, cmd, args, f, getenv)
	}
	if len(args) != 1 {
		return usageErr(errors.New(`debate: missing question: aragora debate "<question>" (or --resume ID)`))
	}
	question := args[0]
	if strings.TrimSpace(question) == "" {
		return usageErr(errors.New("debate: the question is blank"))
	}
	if n := utf8.RuneCountInString(question); n > 10000 {
		return usageErr(fmt.Errorf("debate: the question has %d characters: want at most 10000", n))
	}
	if f.server != "" {
		return runRemoteDebate(cmd, question, f, getenv, format)
	}

	specs, fromDefault, err := debateAgentSpecs(cmd, f, getenv)
	if err != nil {
		return err
	}
	method, err := debateMethod(cmd, f, getenv)
	if err != nil {
		return err
	}
	if f.rounds < 1 || f.rounds > 20 {
		return usageErr(fmt.Errorf("debate: --rounds %d: want 1 to 20", f.rounds))
	}
	if f.topology == "all" {
		f.topology = debate.TopologyAllToAll.String()
	}
	if f.maxTokens < 0 {
		return usageErr(fmt.Errorf("debate: --max-tokens %d: want 0 (unlimited) or more", f.maxTokens))
	}
	sp := lifecycle.Spec{Topic: question, Agents: specs, Rounds: f.rounds, MinRounds: 1,
		Consensus: method.Name(), Threshold: consensus.ThresholdOf(method), Topology: debate.Topology(f.topology), SparseK: 2, Seed: f.seed,
		MaxTokens: f.maxTokens, Trickster: f.trickster, Convergence: true, ConvergenceStop: f.convergenceStop,
		StreamTokens: f.stream, Metadata: map[string]string{}}
	if sp.Consensus == consensus.NameJudge || sp.Consensus == consensus.NameNone {
		// The demo judge judges (or synthesises) when it debates.
		for _, spec := range specs {
			if name, err := registry.DeriveName(spec); err == nil && name == "demo-judge" {
				sp.Judge = name
			}
		}
	}
	dc, err := newDebateCtx(ctx, cmd.OutOrStdout(), getenv, f)
	if err != nil {
		return err
	}
	defer dc.close()
	if err := dc.m.Validate(&sp); err != nil {
		return debateConfigErr(err)
	}
	demoMode := !slices.ContainsFunc(specs, func(s string) bool { return !isDemoSpec(s) })
	// The handler is installed before anything is printed, so that a
	// SIGINT arriving once the header is visible always cancels the debate.
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	// After the first SIGINT the default action returns: a second one ends
	// the process at once, should an agent ignore its cancellation.
	context.AfterFunc(sigCtx, stop)
	// A context cancelled already still records the debate, as cancelled.
	d, err := dc.m.CreateHeld(context.WithoutCancel(ctx), &sp, "local")
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	job, err := dc.m.Prepare(ctx, d.ID)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if dc.printer != nil {
		dc.printer.header(debateHeader{
			ID: d.ID, Question: question, Agents: job.Orchestrator().Participants(), Rounds: f.rounds, Method: method.Name().String(),
			Topology: f.topology, Seed: f.seed, DemoMode: demoMode, DefaultAgents: fromDefault, Persisted: dc.persisted,
		})
	}
	res, runErr := job.Run(sigCtx)
	return dc.finish(ctx, sigCtx, res, runErr, format, f)
}

// finish prints the outcome of a run or resume; its result was recorded
// with the debate's final state.
func (dc *debateCtx) finish(ctx, sigCtx context.Context, res *debate.Result, runErr error, format string, f *debateFlags) error {
	interrupted := sigCtx.Err() != nil && ctx.Err() == nil
	if dc.printer != nil {
		dc.printer.finish()
	}
	if errors.Is(runErr, store.ErrLeaseLost) {
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: another process took the debate over; this one stopped: %w", runErr)}
	}
	if res == nil {
		if errors.Is(runErr, debate.ErrInvalidConfig) {
			return usageErr(runErr)
		}
		if interrupted {
			return &exitError{code: exitInterrupt, err: fmt.Errorf("debate: interrupted: %w", runErr)}
		}
		return &exitError{code: exitFailure, err: runErr}
	}
	rec, err := dc.m.Store().GetDebate(context.WithoutCancel(ctx), res.DebateID)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: read back %s: %w", res.DebateID, err)}
	}
	return finishDebate(dc.out, res, runErr, dc.ropts, format, f, rec, interrupted)
}

// debateCtx is what building and running a CLI debate needs besides its
// settings: the lifecycle over its store, receipt options and output.
type debateCtx struct {
	m          *lifecycle.Manager
	persisted  bool
	closeStore func() error
	hooks      debateHooks
	ropts      *debate.ReceiptOptions
	out        io.Writer
	printer    *transcriptPrinter
}

func newDebateCtx(ctx context.Context, out io.Writer, getenv env, f *debateFlags) (*debateCtx, error) {
	regCfg, err := registry.FromEnv(getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	delay, err := service.DemoDelayFromEnv(getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	agents, err := service.NewAgents(service.Config{Agents: regCfg, DemoDelay: delay})
	if err != nil {
		return nil, usageErr(err)
	}
	signer, err := service.ParseReceiptKeys(getenv("ARAGORA_RECEIPT_SIGNING_KEY"), getenv("ARAGORA_RECEIPT_ED25519_KEY"))
	if err != nil {
		return nil, usageErr(err)
	}
	agentTimeout, err := service.AgentTimeoutFromEnv(getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	st, persisted, spoolDir, closeStore, err := openDebateStore(ctx, getenv, f.noStore)
	if err != nil {
		return nil, err
	}
	hooks := debateHooksFrom(ctx)
	dc := &debateCtx{persisted: persisted, closeStore: closeStore, hooks: hooks,
		ropts: &debate.ReceiptOptions{Signer: signer, Rand: hooks.rand}, out: out}
	var observers []debate.Observer
	if strings.ToLower(strings.TrimSpace(f.format)) == formatText {
		dc.printer = newTranscriptPrinter(out, writerIsTerminal(out), f.stream)
		observers = append(observers, dc.printer)
	}
	lc := lifecycle.Config{Holder: cliHolder(), AgentTimeout: agentTimeout,
		Observers: observers, ReceiptSigner: signer, Rand: hooks.rand, Now: hooks.now,
		SpoolDir: spoolDir} // docs/operations.md#the-result-spool
	if persisted { // the server sharing the store delivers its webhooks (docs/webhooks.md)
		lc.Outbox = service.DebateOutbox()
		mem, err := debateMemory(ctx, getenv, st, f.noMemory)
		if err != nil {
			_ = closeStore()
			return nil, err
		}
		lc.NewDebate = service.WithMemory(mem, nil) // docs/memory.md
	}
	dc.m, err = lifecycle.New(st, agents, lc)
	if err != nil {
		_ = closeStore()
		return nil, &exitError{code: exitFailure, err: err}
	}
	return dc, nil
}

func (dc *debateCtx) close() { _ = dc.closeStore() }

// debateMemory is the continuum memory of `aragora debate` over its
// persisted store: nil with --no-memory or ARAGORA_MEMORY_ENABLED=false.
func debateMemory(ctx context.Context, getenv env, st store.DebateStore, noMemory bool) (*memory.Continuum, error) {
	c, err := serviceConfig(ctx, getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	ms, ok := st.(memory.Store)
	if noMemory || !c.Memory.Enabled || !ok {
		return nil, nil
	}
	mem, err := memory.New(memory.Config{Store: ms, Limit: c.Memory.TopK, TokenBudget: c.Memory.TokenBudget})
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	return mem, nil
}

// debateAgentSpecs returns the agent specs of a new debate and whether they
// are the built-in default.
func debateAgentSpecs(cmd *cobra.Command, f *debateFlags, getenv env) (specs []string, builtin bool, err error) {
	switch {
	case cmd.Flags().Changed("agents"):
		specs = splitAgentSpecs(f.agents)
		if len(specs) == 0 {
			return nil, false, usageErr(errors.New("debate: --agents is empty"))
		}
	case strings.TrimSpace(getenv("ARAGORA_DEFAULT_AGENTS")) != "":
		specs = splitAgentSpecs(getenv("ARAGORA_DEFAULT_AGENTS"))
		if len(specs) == 0 {
			return nil, false, usageErr(fmt.Errorf("config: ARAGORA_DEFAULT_AGENTS=%q: want a comma-separated list of agents", getenv("ARAGORA_DEFAULT_AGENTS")))
		}
	default:
		specs, builtin = splitAgentSpecs(defaultDemoAgents), true
	}
	return specs, builtin, nil
}

// debateMethod builds the consensus method from --consensus and
// --threshold (or ARAGORA_CONSENSUS_THRESHOLD for weighted).
func debateMethod(cmd *cobra.Command, f *debateFlags, getenv env) (consensus.Method, error) {
	name := consensus.MethodName(strings.ToLower(strings.TrimSpace(f.consensus)))
	thresholdApplies := name == consensus.NameWeighted || name == consensus.NameSupermajority
	threshold := 0.0
	switch {
	case cmd.Flags().Changed("threshold"):
		if !thresholdApplies {
			return nil, usageErr(fmt.Errorf("debate: --threshold applies only to --consensus weighted or supermajority, not %q", f.consensus))
		}
		if !(f.threshold > 0 && f.threshold <= 1) {
			return nil, usageErr(fmt.Errorf("debate: --threshold %v: want a number in (0, 1]", f.threshold))
		}
		threshold = f.threshold
	case name == consensus.NameWeighted:
		raw := strings.TrimSpace(getenv("ARAGORA_CONSENSUS_THRESHOLD"))
		if raw != "" {
			v, err := strconv.ParseFloat(raw, 64)
			if err != nil || !(v > 0 && v <= 1) {
				return nil, usageErr(fmt.Errorf("config: ARAGORA_CONSENSUS_THRESHOLD=%q: want a number in (0, 1]", raw))
			}
			threshold = v
		}
	}
	m, err := consensus.ByName(name.String(), threshold)
	if err != nil {
		return nil, usageErr(fmt.Errorf("debate: --consensus: %w", err))
	}
	return m, nil
}

// resumeDebate handles --resume ID: it claims the debate (refusing one
// another live process holds, before any agent call) and continues it from
// its last checkpoint with its stored settings.
func resumeDebate(ctx context.Context, cmd *cobra.Command, args []string, f *debateFlags, getenv env) error {
	if len(args) > 0 {
		return usageErr(errors.New("debate: --resume takes no question"))
	}
	for _, name := range []string{"agents", "rounds", "consensus", "threshold", "topology", "seed", "trickster",
		"convergence-stop", "max-tokens", "no-store", "server", "token"} {
		if cmd.Flags().Changed(name) {
			return usageErr(fmt.Errorf("debate: --%s cannot be combined with --resume (the debate keeps its stored settings)", name))
		}
	}
	dc, err := newDebateCtx(ctx, cmd.OutOrStdout(), getenv, f)
	if err != nil {
		return err
	}
	defer dc.close()
	if !dc.persisted {
		return usageErr(fmt.Errorf("debate: --resume %s requires a store, and this build runs debates in memory only", f.resume))
	}
	job, err := dc.m.Prepare(ctx, f.resume)
	var held *lifecycle.HeldError
	var setup *lifecycle.SetupError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return usageErr(fmt.Errorf("debate: --resume %s: no such debate", f.resume))
	case errors.As(err, &held):
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: %w: wait for it, or cancel it", held)}
	case errors.As(err, &setup):
		_ = job.Release(ctx)
		return debateConfigErr(fmt.Errorf("debate: --resume %s: %w", f.resume, err))
	case err != nil:
		return &exitError{code: exitFailure, err: err}
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	context.AfterFunc(sigCtx, stop)
	if dc.printer != nil {
		fmt.Fprintf(dc.out, "Resuming debate %s: %s\n", f.resume, job.Spec().Topic)
	}
	res, runErr := job.Run(sigCtx)
	if res == nil && !errors.Is(runErr, store.ErrLeaseLost) {
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: --resume %s: %w", f.resume, runErr)}
	}
	return dc.finish(ctx, sigCtx, res, runErr, strings.ToLower(strings.TrimSpace(f.format)), f)
}

// finishDebate prints the outcome of a debate that started and returns the
// command's error (nil for exit 0).
func finishDebate(out io.Writer, res *debate.Result, runErr error, ropts *debate.ReceiptOptions, format string,
	f *debateFlags, rec *store.Debate, interrupted bool) error {
	rc := res.Receipt
	if rc == nil {
		var err error
		if rc, err = res.BuildReceipt(*ropts); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	switch format {
	case formatJSON:
		b, err := debateJSON(rec, rc, res.EndedAt)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if _, err := out.Write(b); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	case formatMarkdown:
		if _, err := io.WriteString(out, rc.Markdown()); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	case formatHTML:
		b, err := rc.HTML()
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if _, err := out.Write(b); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	default:
		printSummary(out, rc, res.StopReason, res.Error, f.receiptOut)
	}
	if f.receiptOut != "" {
		if err := writeReceiptFile(f.receiptOut, rc); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	switch {
	case interrupted:
		return &exitError{code: exitInterrupt, err: fmt.Errorf("debate: interrupted: debate %s recorded as %s", res.DebateID, res.Status)}
	case res.Status == store.StatusConsensusReached || res.Status == store.StatusNoConsensus:
		return nil
	}
	msg := fmt.Sprintf("debate %s ended with status %s", res.DebateID, res.Status)
	if res.StopReason != "" {
		msg += " (" + res.StopReason.String() + ")"
	}
	if runErr != nil {
		msg += ": " + runErr.Error()
	}
	return &exitError{code: exitFailure, err: errors.New(msg)}
}

// debateConfigErr maps an error of building a debate: invalid settings, an
// unknown or unavailable agent are usage errors.
func debateConfigErr(err error) error {
	var ae *lifecycle.AgentError
	var ve *lifecycle.ValidationError
	var se *lifecycle.SetupError
	switch {
	case errors.As(err, &ae), errors.As(err, &ve):
		return usageErr(fmt.Errorf("debate: --agents: %w", err))
	case errors.Is(err, debate.ErrInvalidConfig), errors.As(err, &se):
		return usageErr(err)
	}
	return &exitError{code: exitFailure, err: err}
}

// checkReceiptOut refuses (exit 2) a --receipt-out file that could not be
// written, before the debate runs and its agents are paid: it opens the
// file for writing, and removes it again when it did not exist.
func checkReceiptOut(path string) error {
	if path == "" {
		return nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return usageErr(fmt.Errorf("debate: --receipt-out %s: %w", path, err))
	}
	_ = f.Close()
	if os.IsNotExist(statErr) {
		_ = os.Remove(path)
	}
	return nil
}
