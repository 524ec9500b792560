package cli

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/service"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

// The nomic loop's variables (docs/nomic.md, docs/configuration.md).
const (
	envConstitutionKey    = "ARAGORA_CONSTITUTION_KEY"
	envConstitutionPubKey = "ARAGORA_CONSTITUTION_PUBLIC_KEY"
	envNomicAutoCommit    = "NOMIC_AUTO_COMMIT"
)

func newNomicCmd(getenv env) *cobra.Command {
	c := &cobra.Command{Use: "nomic", Short: "Run and operate the nomic loop (docs/nomic.md)"}
	c.AddCommand(newNomicRunCmd(getenv), newNomicPreflightCmd(getenv), newNomicListBackupsCmd(), newNomicRollbackCmd(), newNomicStatusCmd(getenv))
	return c
}

type nomicRunFlags struct {
	cycles int
	path   string
	auto   bool
	agents string
	rounds int
}

func newNomicRunCmd(getenv env) *cobra.Command {
	f := &nomicRunFlags{}
	c := &cobra.Command{
		Use:   "run --cycles N [--path P] [--auto] [--agents a,b,c]",
		Short: "Run N cycles: debate, design, implement, verify, commit",
		Long: `Runs nomic cycles over the git repository at --path (default: the current
directory). --agents defaults to ARAGORA_DEFAULT_AGENTS, else the demo agents
(offline). Without --auto every commit asks for approval on the terminal; with
--auto a verified change is committed only when NOMIC_AUTO_COMMIT=1.
Exit status: 0 every cycle succeeded; 1 a cycle failed or a runtime error;
2 a usage or configuration error (ARAGORA_CONSTITUTION_KEY set, no public key);
130 interrupted (the next run resumes the cycle).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runNomic(cmd, f, getenv) },
	}
	c.Flags().IntVar(&f.cycles, "cycles", 1, "cycles to run")
	c.Flags().StringVar(&f.path, "path", ".", "the target git repository")
	c.Flags().BoolVar(&f.auto, "auto", false, "skip the interactive approval (commits also need NOMIC_AUTO_COMMIT=1)")
	c.Flags().StringVar(&f.agents, "agents", "", "comma-separated agents (default ARAGORA_DEFAULT_AGENTS, else the demo agents)")
	c.Flags().IntVar(&f.rounds, "rounds", 2, "rounds of the debate phase")
	return c
}

// publicKey reads ARAGORA_CONSTITUTION_PUBLIC_KEY (nil when unset).
func publicKey(getenv env) (ed25519.PublicKey, error) {
	pub, err := nomic.ParsePublicKey(getenv(envConstitutionPubKey))
	if err != nil {
		return nil, usageErr(fmt.Errorf("config: %s: %w", envConstitutionPubKey, err))
	}
	return pub, nil
}

func runNomic(cmd *cobra.Command, f *nomicRunFlags, getenv env) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	if strings.TrimSpace(getenv(envConstitutionKey)) != "" {
		return usageErr(fmt.Errorf("%s is set: the private key must never be in the loop's environment (sign with aragora constitution sign --key FILE)", envConstitutionKey))
	}
	if f.cycles < 1 {
		return usageErr(errors.New("nomic run: --cycles must be at least 1"))
	}
	pub, err := publicKey(getenv)
	if err != nil {
		return err
	}
	if pub == nil {
		return usageErr(fmt.Errorf("%w (aragora constitution init --keygen DIR writes one)", nomic.ErrNoPublicKey))
	}
	path, err := filepath.Abs(f.path)
	if err != nil {
		return usageErr(err)
	}
	parts, demo, err := nomicParticipants(cmd, f, getenv)
	if err != nil {
		return err
	}
	ns, closeStore, err := openNomicStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := os.MkdirAll(filepath.Join(path, ".nomic"), 0o755); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	odb, err := sqlitestore.OpenOutcomesDB(ctx, filepath.Join(path, nomic.OutcomesDBPath))
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer odb.Close()

	tty := writerIsTerminal(out)
	if demo {
		fmt.Fprintln(out, "demo mode: the demo agents run offline (no key, no network); they record the chosen improvement in CHANGES.md")
	}
	cfg := nomic.Config{Path: path, Participants: parts, Store: ns, PublicKey: pub, Auto: f.auto,
		AutoCommit: getenv(envNomicAutoCommit) == "1", Outcomes: outcomesRecorder{odb}, DebateRounds: f.rounds,
		Progress: func(p nomic.Progress) { printNomicProgress(out, p, tty) }}
	if !f.auto && readerIsTerminal(cmd.InOrStdin()) {
		cfg.Approver = ttyApprover{in: bufio.NewReader(cmd.InOrStdin()), out: out}
	}
	if d, err := service.AgentTimeoutFromEnv(getenv); err != nil {
		return usageErr(err)
	} else if d > 0 {
		cfg.AgentTimeout = d
	}
	l, err := nomic.New(cfg)
	if err != nil {
		return usageErr(err)
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	outs, err := l.Run(sigCtx, f.cycles)
	switch {
	case err != nil && sigCtx.Err() != nil && ctx.Err() == nil:
		fmt.Fprintln(out, "interrupted: the next aragora nomic run resumes the cycle")
		return &exitError{code: exitInterrupt}
	case errors.Is(err, nomic.ErrNoPublicKey):
		return usageErr(err)
	case err != nil:
		return &exitError{code: exitFailure, err: err}
	}
	failed := 0
	for _, o := range outs {
		if o.Outcome != nomic.OutcomeSuccess {
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("nomic: %d of %d cycles did not succeed (see .nomic/sessions/*/transcript.md)", failed, len(outs))}
	}
	return nil
}

// openNomicStore opens the store of serve (ARAGORA_DATABASE_URL, else
// SQLite under ARAGORA_DATA_DIR), where the loop keeps its state.
func openNomicStore(ctx context.Context, getenv env) (store.NomicStore, func() error, error) {
	_, be, err := openBackends(ctx, getenv)
	if err != nil {
		return nil, nil, err
	}
	ns, ok := be.Store.(store.NomicStore)
	if !ok {
		_ = be.Close()
		return nil, nil, &exitError{code: exitFailure, err: fmt.Errorf("nomic: the %s store keeps no nomic state", be.Kind)}
	}
	return ns, be.Close, nil
}

// nomicParticipants resolves the agents; demo agents also answer the
// loop's design and implement calls (nomic.Demo).
func nomicParticipants(cmd *cobra.Command, f *nomicRunFlags, getenv env) ([]debate.Participant, bool, error) {
	var specs []string
	switch {
	case cmd.Flags().Changed("agents"):
		specs = splitAgentSpecs(f.agents)
	case strings.TrimSpace(getenv("ARAGORA_DEFAULT_AGENTS")) != "":
		specs = splitAgentSpecs(getenv("ARAGORA_DEFAULT_AGENTS"))
	default:
		specs = splitAgentSpecs(defaultDemoAgents)
	}
	if len(specs) < 2 {
		return nil, false, usageErr(errors.New("nomic run: at least two agents are needed"))
	}
	regCfg, err := registry.FromEnv(getenv)
	if err != nil {
		return nil, false, usageErr(err)
	}
	reg, err := registry.New(regCfg)
	if err != nil {
		return nil, false, usageErr(err)
	}
	allDemo := true
	var parts []debate.Participant
	for _, spec := range specs {
		name, a, info, err := reg.Resolve(spec, 0)
		if err != nil {
			return nil, false, usageErr(err)
		}
		if info.Provider == registry.ProviderDemo {
			a = nomic.Demo(a)
		} else {
			allDemo = false
		}
		parts = append(parts, debate.Participant{Name: name, Agent: a, Model: info.Model, Provider: info.Provider})
	}
	return parts, allDemo, nil
}

// outcomesRecorder writes outcomes to .nomic/outcomes.db.
type outcomesRecorder struct{ db *sqlitestore.OutcomesDB }

func (r outcomesRecorder) RecordOutcome(ctx context.Context, o nomic.Outcome) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return r.db.Record(ctx, store.NomicOutcome{CycleID: o.CycleID, Number: o.Number, Outcome: o.Outcome, Committed: o.Committed,
		Reason: o.Reason, StartedAt: o.StartedAt, FinishedAt: o.FinishedAt, Doc: doc})
}

func printNomicProgress(w io.Writer, p nomic.Progress, tty bool) {
	prefix := "[nomic]"
	if p.CycleID != "" {
		prefix = fmt.Sprintf("[cycle %d %s]", p.Number, p.CycleID)
	}
	switch {
	case p.Message != "":
		fmt.Fprintf(w, "%s %s\n", prefix, p.Message)
	case tty:
		fmt.Fprintf(w, "%s ▶ %s\n", prefix, p.Phase)
	default:
		fmt.Fprintf(w, "%s phase %s\n", prefix, p.Phase)
	}
}

// readerIsTerminal reports whether r is a terminal.
func readerIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ttyApprover asks y/N on the terminal, showing the diff and the verify
// summary.
type ttyApprover struct {
	in  *bufio.Reader
	out io.Writer
}

func (a ttyApprover) Approve(_ context.Context, ap nomic.Approval) (bool, error) {
	fmt.Fprintf(a.out, "\n=== cycle %d (%s): verified change ===\n%s\n\n%s\n%s\nCommit this change? [y/N] ",
		ap.Number, ap.CycleID, ap.Improvement, ap.Diff, ap.Summary)
	line, err := a.in.ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", nil
}

// ---- preflight

func newNomicPreflightCmd(getenv env) *cobra.Command {
	var path string
	c := noArgsCmd("preflight [--path P]", "Check the environment before a run: one [PASS], [FAIL] or [WARN] line per check", func(cmd *cobra.Command) error {
		if failed := preflight(cmd.Context(), cmd.OutOrStdout(), path, getenv); failed > 0 {
			return &exitError{code: exitFailure, err: fmt.Errorf("preflight: %d check(s) failed", failed)}
		}
		return nil
	})
	c.Flags().StringVar(&path, "path", ".", "the target git repository")
	return c
}

// providerKeys are the variables of the hosted providers' keys.
var providerKeys = []string{"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "XAI_API_KEY", "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY"}

func preflight(ctx context.Context, w io.Writer, path string, getenv env) (failed int) {
	line := func(status, check, detail string) {
		if status == "FAIL" {
			failed++
		}
		if detail != "" {
			detail = ": " + detail
		}
		fmt.Fprintf(w, "[%s] %s%s\n", status, check, detail)
	}
	key := ""
	for _, k := range providerKeys {
		if strings.TrimSpace(getenv(k)) != "" {
			key = k
			break
		}
	}
	if key != "" {
		line("PASS", "Primary API Key", key)
	} else {
		line("WARN", "Primary API Key", "no provider key set: only the demo agents can run (offline)")
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(path, &fs); err != nil {
		line("FAIL", "Disk Space", err.Error())
	} else if free := fs.Bavail * uint64(fs.Bsize); free < 1<<30 {
		line("FAIL", "Disk Space", fmt.Sprintf("%.2f GB free, need 1 GB", float64(free)/(1<<30)))
	} else {
		line("PASS", "Disk Space", fmt.Sprintf("%.1f GB free", float64(free)/(1<<30)))
	}
	con, _, cerr := nomic.LoadConstitution(filepath.Join(path, nomic.ConstitutionPath))
	switch {
	case cerr != nil:
		line("FAIL", "Protected Files", cerr.Error())
	default:
		if bad := con.CheckChecksums(path); len(bad) > 0 {
			line("FAIL", "Protected Files", "changed since the constitution was signed: "+strings.Join(bad, ", "))
		} else {
			line("PASS", "Protected Files", fmt.Sprintf("%d files match their checksums", len(con.Checksums)))
		}
	}
	// Preconditions checks the repository first; its other refusals are the constitution's lines.
	if _, err := nomic.Preconditions(ctx, path, nil); err != nil && (strings.Contains(err.Error(), "git repository") || strings.Contains(err.Error(), "no commit")) {
		line("FAIL", "Git Repository", err.Error())
	} else {
		line("PASS", "Git Repository", path)
	}
	bdir := filepath.Join(path, nomic.BackupsDir)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		line("FAIL", "Backup Directory", err.Error())
	} else if tmp, err := os.CreateTemp(bdir, ".probe-*"); err != nil {
		line("FAIL", "Backup Directory", "not writable: "+err.Error())
	} else {
		tmp.Close()
		os.Remove(tmp.Name())
		line("PASS", "Backup Directory", bdir)
	}
	pub, err := nomic.ParsePublicKey(getenv(envConstitutionPubKey))
	switch {
	case err != nil:
		line("FAIL", "Constitution Signature", envConstitutionPubKey+": "+err.Error())
	case strings.TrimSpace(getenv(envConstitutionKey)) != "":
		line("FAIL", "Constitution Signature", envConstitutionKey+" is set: the loop refuses to start")
	default:
		if _, err := nomic.VerifyFile(filepath.Join(path, nomic.ConstitutionPath), pub); err != nil {
			line("FAIL", "Constitution Signature", err.Error())
		} else {
			line("PASS", "Constitution Signature", "verified with key "+keyID(pub))
		}
	}
	held, info, stale, err := nomic.LockStatus(path)
	switch {
	case err != nil:
		line("FAIL", "Lock", err.Error())
	case held:
		line("FAIL", "Lock", fmt.Sprintf("a loop holds %s: pid %d on %s", nomic.LockPath, info.PID, info.Host))
	case stale:
		line("WARN", "Lock", fmt.Sprintf("stale %s of dead pid %d: the next run replaces it", nomic.LockPath, info.PID))
	default:
		line("PASS", "Lock", "no loop running")
	}
	return failed
}

func keyID(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)[:12] + "…"
}

// ---- backups and status

func newNomicListBackupsCmd() *cobra.Command {
	var path string
	c := noArgsCmd("list-backups [--path P]", "List .nomic/backups/* with cycle, date and file count", func(cmd *cobra.Command) error {
		bs, err := nomic.ListBackups(path)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		out := cmd.OutOrStdout()
		if len(bs) == 0 {
			fmt.Fprintln(out, "no backups in", filepath.Join(path, nomic.BackupsDir))
		}
		for _, b := range bs {
			date := b.Date
			if t, err := time.Parse("20060102", b.Date); err == nil {
				date = t.Format("2006-01-02")
			}
			rel, _ := filepath.Rel(path, b.Dir)
			fmt.Fprintf(out, "cycle %-4d %s  %3d files  %s/\n", b.Cycle, date, b.Files, rel)
		}
		return nil
	})
	c.Flags().StringVar(&path, "path", ".", "the target git repository")
	return c
}

func newNomicRollbackCmd() *cobra.Command {
	var path, backup string
	c := noArgsCmd("rollback --backup DIR [--path P]", "Restore the files of a backup (a cycle prefix selects its newest backup)", func(cmd *cobra.Command) error {
		if backup == "" {
			return usageErr(errors.New("nomic rollback: --backup DIR is required"))
		}
		dir, err := nomic.ResolveBackup(path, backup)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		restored, err := nomic.Rollback(path, dir)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		for _, p := range restored {
			fmt.Fprintln(cmd.OutOrStdout(), "restored", p)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "rolled back %d files from %s\n", len(restored), dir)
		return nil
	})
	c.Flags().StringVar(&path, "path", ".", "the target git repository")
	c.Flags().StringVar(&backup, "backup", "", "the backup directory, or a cycle prefix such as .nomic/backups/cycle_5/")
	return c
}

func newNomicStatusCmd(getenv env) *cobra.Command {
	var path string
	c := noArgsCmd("status [--path P]", "Print the loop's status from the store, and the repository's lock", func(cmd *cobra.Command) error {
		ctx := cmd.Context()
		ns, closeStore, err := openNomicStore(ctx, getenv)
		if err != nil {
			return err
		}
		defer closeStore()
		st, err := (&nomic.Control{Store: ns}).Status(ctx)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Fprintln(cmd.OutOrStdout(), string(b))
		held, info, stale, _ := nomic.LockStatus(path)
		switch {
		case held:
			fmt.Fprintf(cmd.OutOrStdout(), "lock: held by pid %d on %s\n", info.PID, info.Host)
		case stale:
			fmt.Fprintf(cmd.OutOrStdout(), "lock: stale (pid %d is gone)\n", info.PID)
		default:
			fmt.Fprintln(cmd.OutOrStdout(), "lock: none")
		}
		return nil
	})
	c.Flags().StringVar(&path, "path", ".", "the target git repository")
	return c
}

// ---- constitution

func newConstitutionCmd(getenv env) *cobra.Command {
	c := &cobra.Command{Use: "constitution", Short: "Create, sign and verify a nomic constitution (docs/nomic.md)"}
	var initPath, keygen string
	var force bool
	initCmd := noArgsCmd("init [--path P] [--keygen DIR] [--force]", "Write a starter .nomic/constitution.json (signed with a new key pair with --keygen)", func(cmd *cobra.Command) error {
		file := filepath.Join(initPath, nomic.ConstitutionPath)
		if _, err := os.Stat(file); err == nil && !force {
			return &exitError{code: exitFailure, err: fmt.Errorf("%s exists (use --force to replace it)", file)}
		}
		con, err := nomic.NewConstitution(initPath)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		out := cmd.OutOrStdout()
		if keygen != "" {
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if err := os.MkdirAll(keygen, 0o700); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			kp, pp := filepath.Join(keygen, "constitution.key"), filepath.Join(keygen, "constitution.pub")
			if err := os.WriteFile(kp, []byte(base64.StdEncoding.EncodeToString(priv)+"\n"), 0o600); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if err := os.WriteFile(pp, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if err := con.Sign(priv); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			fmt.Fprintf(out, "wrote %s (private key, mode 0600: keep it off this machine's environment)\nwrote %s\n", kp, pp)
			fmt.Fprintf(out, "export %s=%s\n", envConstitutionPubKey, base64.StdEncoding.EncodeToString(pub))
		}
		if err := con.Write(file); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		state := "unsigned: sign it with aragora constitution sign --key FILE"
		if con.Signature != nil {
			state = "signed"
		}
		fmt.Fprintf(out, "wrote %s (%d verify commands, %d protected files, %s)\n", file, len(con.Verify), len(con.Checksums), state)
		return nil
	})
	initCmd.Flags().StringVar(&initPath, "path", ".", "the target git repository")
	initCmd.Flags().StringVar(&keygen, "keygen", "", "also write a key pair: DIR/constitution.key (0600) and DIR/constitution.pub")
	initCmd.Flags().BoolVar(&force, "force", false, "replace an existing constitution")

	var signFile, signKey string
	var update bool
	signCmd := noArgsCmd("sign [--file .nomic/constitution.json] --key FILE [--update-checksums]", "Sign the constitution with the base64 Ed25519 private key in FILE", func(cmd *cobra.Command) error {
		if signKey == "" {
			return usageErr(errors.New("constitution sign: --key FILE is required (the private key is never read from the environment)"))
		}
		raw, err := os.ReadFile(signKey)
		if err != nil {
			return usageErr(err)
		}
		priv, err := nomic.ParsePrivateKey(string(raw))
		if err != nil {
			return usageErr(err)
		}
		con, _, err := nomic.LoadConstitution(signFile)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if update {
			root := filepath.Dir(filepath.Dir(signFile))
			if err := con.UpdateChecksums(root); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
		}
		if err := con.Sign(priv); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if err := con.Write(signFile); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "signed %s (key %s)\n", signFile, con.Signature.KeyID)
		return nil
	})
	signCmd.Flags().StringVar(&signFile, "file", nomic.ConstitutionPath, "the constitution")
	signCmd.Flags().StringVar(&signKey, "key", "", "file holding the base64 private key")
	signCmd.Flags().BoolVar(&update, "update-checksums", false, "recompute the protected files' checksums before signing")

	var verifyFile, verifyKey string
	verifyCmd := noArgsCmd("verify [--file .nomic/constitution.json] [--key FILE]", "Verify the signature with --key FILE (public key) or ARAGORA_CONSTITUTION_PUBLIC_KEY", func(cmd *cobra.Command) error {
		src := getenv(envConstitutionPubKey)
		if verifyKey != "" {
			raw, err := os.ReadFile(verifyKey)
			if err != nil {
				return usageErr(err)
			}
			src = string(raw)
		}
		pub, err := nomic.ParsePublicKey(src)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if _, err := nomic.VerifyFile(verifyFile, pub); err != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "INVALID: %v\n", err)
			return &exitError{code: exitFailure}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "OK: %s is signed by key %s\n", verifyFile, keyID(pub))
		return nil
	})
	verifyCmd.Flags().StringVar(&verifyFile, "file", nomic.ConstitutionPath, "the constitution")
	verifyCmd.Flags().StringVar(&verifyKey, "key", "", "file holding the base64 public key")
	c.AddCommand(initCmd, signCmd, verifyCmd)
	return c
}
