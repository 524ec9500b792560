package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
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

	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
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

Exit codes: 0 consensus_reached or no_consensus; 1 failed, timeout,
cancelled, budget_exceeded or a runtime error; 2 usage or configuration
error; 130 interrupted by SIGINT (the debate is recorded as cancelled).`,
		Example: `  aragora debate "Should we adopt Postgres?"
  aragora debate "Rewrite the billing service in Go?" --rounds 2 --consensus supermajority --format json
  aragora debate "Ship on Friday?" --agents demo-optimist:supportive,demo-skeptic,demo-judge --consensus judge --receipt-out receipt.html`,
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
	fl.StringVar(&f.consensus, "consensus", consensus.NameMajority, "consensus method: majority, supermajority, unanimous, weighted, judge or none")
	fl.Float64Var(&f.threshold, "threshold", 0, "consensus threshold in (0, 1] for weighted (default ARAGORA_CONSENSUS_THRESHOLD, else 0.6) and supermajority (default 2/3)")
	fl.StringVar(&f.topology, "topology", debate.TopologyAllToAll, "who critiques whom: all-to-all, ring, star or sparse")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the demo agents (same seed, same debate)")
	fl.BoolVar(&f.trickster, "trickster", false, "challenge hollow consensus: similar proposals with weak evidence")
	fl.BoolVar(&f.convergenceStop, "convergence-stop", false, "stop once proposals converge")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "token budget over all agents (0: unlimited); the debate stops with budget_exceeded")
	fl.StringVar(&f.format, "format", formatText, "output: text (live transcript), json, markdown or html")
	fl.StringVar(&f.receiptOut, "receipt-out", "", "also write the receipt to FILE: Markdown for .md, HTML for .html, else JSON")
	fl.BoolVar(&f.stream, "stream", false, "print agents' tokens as they are written (text format)")
	fl.BoolVar(&f.noStore, "no-store", false, "keep the debate in memory only")
	fl.StringVar(&f.resume, "resume", "", "continue the interrupted debate ID from its last checkpoint (not supported yet)")
	fl.StringVar(&f.server, "server", "", "create the debate on the aragora server at URL and follow it (credential: --token or ARAGORA_TOKEN)")
	fl.StringVar(&f.token, "token", "", "credential for --server (prefer ARAGORA_TOKEN)")
	return cmd
}

// openDebateStore returns the store `aragora debate` persists to (the one
// `aragora serve` uses, docs/cli.md) and its close function, or a nil store
// when the debate stays in memory: with --no-store, or while the configured
// backend is not durable (openBackends falls back to memory until the SQL
// stores are linked into the binary).
func openDebateStore(ctx context.Context, getenv env, noStore bool) (store.DebateStore, func() error, error) {
	noop := func() error { return nil }
	if noStore {
		return nil, noop, nil
	}
	c, err := loadServeConfig(getenv)
	if err != nil {
		return nil, noop, usageErr(err)
	}
	b, err := openBackends(ctx, c)
	if err != nil {
		return nil, noop, &exitError{code: exitFailure, err: err}
	}
	if b.Kind == "memory" {
		_ = b.Close()
		return nil, noop, nil
	}
	return b.Store, b.Close, nil
}

// storedDebateSpec is the settings document stored with a CLI debate: the
// server's normalised request (docs/http-api.md#create-a-debate), so that the API lists it and
// any process (another `aragora debate --resume`, or a server's sweeper)
// resumes it with the same settings.
type storedDebateSpec = server.Spec

// recordDebate creates the store record of a CLI debate before it runs.
func recordDebate(ctx context.Context, st store.DebateStore, id string, now time.Time, sp storedDebateSpec) error {
	raw, err := json.Marshal(sp)
	if err != nil {
		return fmt.Errorf("debate: encode settings: %w", err)
	}
	d := &store.Debate{ID: id, Topic: sp.Topic, Status: store.StatusRunning, Owner: "local", Config: raw,
		CreatedAt: now, UpdatedAt: now, StartedAt: now}
	if err := st.CreateDebate(ctx, d); err != nil {
		return fmt.Errorf("debate: record debate %s: %w", id, err)
	}
	return nil
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
		f.topology = debate.TopologyAllToAll
	}
	if f.maxTokens < 0 {
		return usageErr(fmt.Errorf("debate: --max-tokens %d: want 0 (unlimited) or more", f.maxTokens))
	}
	sp := storedDebateSpec{Topic: question, Agents: specs, Rounds: f.rounds, MinRounds: 1,
		Consensus: method.Name(), Threshold: consensus.ThresholdOf(method), Topology: f.topology, SparseK: 2, Seed: f.seed,
		MaxTokens: f.maxTokens, Trickster: f.trickster, Convergence: true, ConvergenceStop: f.convergenceStop,
		StreamTokens: f.stream, Metadata: map[string]string{}}
	dc, err := newDebateCtx(ctx, cmd.OutOrStdout(), getenv, f)
	if err != nil {
		return err
	}
	defer dc.close()
	hooks := dc.hooks
	id, err := newDebateID(hooks.now(), hooks.rand)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	o, demoMode, err := dc.orchestrator(&sp)
	if err != nil {
		return err
	}
	// The handler is installed before anything is printed, so that a
	// SIGINT arriving once the header is visible always cancels the debate.
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	// After the first SIGINT the default action returns: a second one ends
	// the process at once, should an agent ignore its cancellation.
	context.AfterFunc(sigCtx, stop)
	if dc.st != nil {
		if err := recordDebate(ctx, dc.st, id, hooks.now(), sp); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	if dc.printer != nil {
		dc.printer.header(debateHeader{
			ID: id, Question: question, Agents: o.Participants(), Rounds: f.rounds, Method: method.Name(),
			Topology: f.topology, Seed: f.seed, DemoMode: demoMode, DefaultAgents: fromDefault, Persisted: dc.st != nil,
		})
	}
	stopLease := func() {}
	if dc.st != nil {
		stopLease = holdLease(ctx, dc.st, id, hooks.now, cmd.ErrOrStderr())
	}
	res, runErr := o.RunTask(sigCtx, debate.Task{ID: id, Question: question})
	stopLease()
	return dc.finish(ctx, sigCtx, res, runErr, format, f, &sp)
}

// finish prints the outcome of a run or resume and records the result.
func (dc *debateCtx) finish(ctx, sigCtx context.Context, res *debate.Result, runErr error, format string, f *debateFlags, sp *storedDebateSpec) error {
	interrupted := sigCtx.Err() != nil && ctx.Err() == nil
	if dc.printer != nil {
		dc.printer.finish()
	}
	if dc.st != nil && res != nil {
		if err := recordResult(context.WithoutCancel(ctx), dc.st, res, runErr, dc.hooks.now()); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
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
	return finishDebate(dc.out, res, runErr, dc.ropts, format, f, dc.record(ctx, res, runErr, sp), interrupted)
}

// record returns the debate's record as the API sees it: the stored one,
// or for a debate kept in memory the same document built here.
func (dc *debateCtx) record(ctx context.Context, res *debate.Result, runErr error, sp *storedDebateSpec) *store.Debate {
	if dc.st != nil {
		if d, err := dc.st.GetDebate(context.WithoutCancel(ctx), res.DebateID); err == nil {
			return d
		}
	}
	cfg, _ := json.Marshal(sp)
	d := &store.Debate{ID: res.DebateID, Topic: sp.Topic, Status: res.Status, Owner: "local", Config: cfg,
		Result: server.ResultDocument(res, runErr), LastSeq: dc.seq.last(), CreatedAt: res.StartedAt,
		UpdatedAt: res.EndedAt, StartedAt: res.StartedAt}
	if store.Terminal(res.Status) {
		d.FinishedAt = res.EndedAt
	}
	return d
}

// debateCtx is what building and running a CLI debate needs besides its
// settings: agents, store, receipt options, observers and clock.
type debateCtx struct {
	resolver     *agentResolver
	st           store.DebateStore
	closeStore   func() error
	hooks        debateHooks
	ropts        *debate.ReceiptOptions
	agentTimeout time.Duration
	out          io.Writer
	seq          *seqTracker
	printer      *transcriptPrinter
}

func newDebateCtx(ctx context.Context, out io.Writer, getenv env, f *debateFlags) (*debateCtx, error) {
	resolver, err := newAgentResolver(getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	signer, err := receiptSignerFromEnv(getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	agentTimeout, err := envPositiveSeconds(getenv, "ARAGORA_AGENT_TIMEOUT_SECONDS")
	if err != nil {
		return nil, usageErr(err)
	}
	st, closeStore, err := openDebateStore(ctx, getenv, f.noStore)
	if err != nil {
		return nil, err
	}
	hooks := debateHooksFrom(ctx)
	dc := &debateCtx{resolver: resolver, st: st, closeStore: closeStore, hooks: hooks,
		ropts: &debate.ReceiptOptions{Signer: signer, Rand: hooks.rand}, agentTimeout: agentTimeout, out: out, seq: &seqTracker{}}
	if strings.ToLower(strings.TrimSpace(f.format)) == formatText {
		dc.printer = newTranscriptPrinter(out, writerIsTerminal(out), f.stream)
	}
	return dc, nil
}

func (dc *debateCtx) close() { _ = dc.closeStore() }

// orchestrator builds the orchestrator of a debate from its stored
// settings. New debates and --resume both use it, so a resumed debate has
// the fingerprint of the run it continues. It fills sp.Names.
func (dc *debateCtx) orchestrator(sp *storedDebateSpec) (*debate.Orchestrator, bool, error) {
	cfg, err := sp.DebateConfig()
	if err != nil {
		return nil, false, usageErr(fmt.Errorf("debate: consensus: %w", err))
	}
	participants := make([]debate.Participant, 0, len(sp.Agents))
	demoMode := true
	for _, spec := range sp.Agents {
		name, a, info, err := dc.resolver.resolve(spec, sp.Seed)
		if err != nil {
			return nil, false, usageErr(fmt.Errorf("debate: --agents: %w", err))
		}
		if !isDemoSpec(spec) {
			demoMode = false
		}
		participants = append(participants, debate.Participant{Name: name, Agent: a, Model: info.Model, Provider: info.Provider})
	}
	cfg.AgentTimeout, cfg.Store, cfg.Receipt = dc.agentTimeout, dc.st, dc.ropts
	cfg.Observers = []debate.Observer{dc.seq}
	cfg.Now, cfg.Rand = dc.hooks.now, dc.hooks.rand
	if rs, ok := dc.st.(store.RatingStore); ok {
		cfg.Ratings = rs // ELO, updated once per finished debate (docs/debate.md#elo-ratings)
	}
	if sp.Judge == "" && (sp.Consensus == consensus.NameJudge || sp.Consensus == consensus.NameNone) {
		for _, p := range participants {
			if p.Name == "demo-judge" {
				cfg.Judge = p.Name
				sp.Judge = p.Name
			}
		}
	}
	if sp.Judge != "" && !slices.ContainsFunc(participants, func(p debate.Participant) bool { return p.Name == sp.Judge }) {
		// A judge that does not debate (a server debate resumed here).
		name, a, _, err := dc.resolver.resolve(sp.Judge, sp.Seed)
		if err != nil {
			return nil, false, usageErr(fmt.Errorf("debate: judge: %w", err))
		}
		cfg.Judge, cfg.JudgeAgent = name, a
	}
	if dc.printer != nil {
		cfg.Observers = append(cfg.Observers, dc.printer)
	}
	o, err := debate.New(cfg, participants...)
	if err != nil {
		return nil, false, debateConfigErr(err)
	}
	sp.Names = o.Participants()
	return o, demoMode, nil
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
	name := strings.ToLower(strings.TrimSpace(f.consensus))
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
	m, err := consensus.ByName(name, threshold)
	if err != nil {
		return nil, usageErr(fmt.Errorf("debate: --consensus: %w", err))
	}
	return m, nil
}

// resumeDebate handles --resume ID.
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
	if dc.st == nil {
		return usageErr(fmt.Errorf("debate: --resume %s requires a store, and this build runs debates in memory only", f.resume))
	}
	d, err := dc.st.GetDebate(ctx, f.resume)
	if errors.Is(err, store.ErrNotFound) {
		return usageErr(fmt.Errorf("debate: --resume %s: no such debate", f.resume))
	} else if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	var sp storedDebateSpec
	if err := json.Unmarshal(d.Config, &sp); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: --resume %s: stored settings unreadable: %w", f.resume, err)}
	}
	o, _, err := dc.orchestrator(&sp)
	if err != nil {
		return err
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	context.AfterFunc(sigCtx, stop)
	if dc.printer != nil {
		fmt.Fprintf(dc.out, "Resuming debate %s: %s\n", d.ID, sp.Topic)
	}
	stopLease := holdLease(ctx, dc.st, d.ID, dc.hooks.now, cmd.ErrOrStderr())
	res, runErr := o.Resume(sigCtx, d.ID, debate.ResumeOptions{})
	stopLease()
	if errors.Is(runErr, debate.ErrFinished) {
		runErr = nil
	}
	if res == nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: --resume %s: %w", f.resume, runErr)}
	}
	return dc.finish(ctx, sigCtx, res, runErr, strings.ToLower(strings.TrimSpace(f.format)), f, &sp)
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
		printSummary(out, res, rc, f.receiptOut)
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
		msg += " (" + res.StopReason + ")"
	}
	if runErr != nil {
		msg += ": " + runErr.Error()
	}
	return &exitError{code: exitFailure, err: errors.New(msg)}
}

// debateConfigErr maps a debate.New error: invalid settings are usage errors.
func debateConfigErr(err error) error {
	if errors.Is(err, debate.ErrInvalidConfig) {
		return usageErr(err)
	}
	return &exitError{code: exitFailure, err: err}
}

// receiptSignerFromEnv builds the receipt signer from
// ARAGORA_RECEIPT_SIGNING_KEY (HMAC) or ARAGORA_RECEIPT_ED25519_KEY
// (docs/configuration.md); nil when neither is set.
func receiptSignerFromEnv(getenv env) (receipt.Signer, error) {
	hmacRaw := strings.TrimSpace(getenv("ARAGORA_RECEIPT_SIGNING_KEY"))
	edRaw := strings.TrimSpace(getenv("ARAGORA_RECEIPT_ED25519_KEY"))
	switch {
	case hmacRaw != "" && edRaw != "":
		return nil, errors.New("config: ARAGORA_RECEIPT_SIGNING_KEY and ARAGORA_RECEIPT_ED25519_KEY are both set: set only one")
	case hmacRaw != "":
		key, err := decodeKeyBase64(hmacRaw)
		if err != nil {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_SIGNING_KEY: want base64: %w", err)
		}
		s, err := receipt.NewHMACSigner(key)
		if err != nil {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_SIGNING_KEY: want at least %d bytes once decoded: %w", receipt.MinHMACKeySize, err)
		}
		return s, nil
	case edRaw != "":
		seed, err := decodeKeyBase64(edRaw)
		if err != nil {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_ED25519_KEY: want base64: %w", err)
		}
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_ED25519_KEY: want a %d-byte seed, got %d bytes", ed25519.SeedSize, len(seed))
		}
		return receipt.NewEd25519Signer(ed25519.NewKeyFromSeed(seed)), nil
	}
	return nil, nil
}

// decodeKeyBase64 accepts standard and URL-safe base64, padded or not.
func decodeKeyBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// envPositiveSeconds reads an integer number of seconds >= 1; unset or
// empty gives 0 (the library default).
func envPositiveSeconds(getenv env, name string) (time.Duration, error) {
	raw := strings.TrimSpace(getenv(name))
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("config: %s=%q: want an integer >= 1", name, raw)
	}
	return time.Duration(n) * time.Second, nil
}

// ulidAlphabet is the lowercase Crockford base32 alphabet of ULIDs.
const ulidAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newDebateID returns "deb_" + a 26-character lowercase ULID (docs/http-api.md#identifiers-and-time):
// 48 bits of Unix milliseconds from t, then 80 random bits from r.
func newDebateID(t time.Time, r io.Reader) (string, error) {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", fmt.Errorf("debate: new id: %w", err)
	}
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = ulidAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return "deb_" + string(out[:]), nil
}
