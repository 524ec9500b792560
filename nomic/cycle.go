package nomic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

// transcript is .nomic/sessions/<cycle_id>/transcript.md, written as the
// cycle runs.
type transcript struct {
	mu  sync.Mutex
	f   *os.File
	now func() time.Time
}

// TranscriptPath returns the transcript of a cycle inside root.
func TranscriptPath(root, cycleID string) string {
	return filepath.Join(root, ".nomic", "sessions", cycleID, "transcript.md")
}

func openTranscript(root, cycleID string, now func() time.Time) (*transcript, error) {
	p := TranscriptPath(root, cycleID)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &transcript{f: f, now: now}, nil
}

func (t *transcript) write(s string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f != nil {
		_, _ = t.f.WriteString(s)
	}
}

func (t *transcript) line(s string) {
	t.write(fmt.Sprintf("- %s %s\n", t.now().UTC().Format("15:04:05"), s))
}

func (t *transcript) section(title, body string) {
	t.write(fmt.Sprintf("\n## %s\n\n%s\n", title, strings.TrimRight(body, "\n")))
}

func (t *transcript) close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f != nil {
		_ = t.f.Close()
		t.f = nil
	}
}

// phaseError is a phase failure with its error type.
type phaseError struct {
	typ string
	err error
}

func (e *phaseError) Error() string { return e.err.Error() }
func (e *phaseError) Unwrap() error { return e.err }

func fail(typ string, format string, args ...any) error {
	return &phaseError{typ: typ, err: fmt.Errorf(format, args...)}
}

// cycle is one cycle's working data.
type cycle struct {
	info   CycleInfo
	wtDir  string
	branch string
	before TestCount
	stats  ChangeStats
	report *Report
	out    Outcome
}

// runCycle runs one cycle: a new one, or the one interrupted in the state
// (a killed loop, a reset checkpoint). It returns nil for a cycle that
// produced no outcome (never happens today) or an error only when the
// loop itself cannot continue (its context ended, the store failed).
func (l *Loop) runCycle(ctx context.Context, target int) (*Outcome, error) {
	now := l.cfg.Now().UTC()
	l.mu.Lock()
	st := l.st
	start := PhaseContext
	resumed := st.Cycle != nil
	if resumed {
		start = st.Phase
		if !slices.Contains(CyclePhases, start) {
			start = PhaseContext
		}
	} else {
		st.LastCycle++
		st.Cycle = &CycleInfo{ID: newCycleID(), Number: st.LastCycle, TargetCycles: target, StartedAt: now}
		st.Checkpoint = &Checkpoint{At: now, Phase: PhaseContext}
		for _, b := range st.Breakers {
			if b.State == "open" {
				if b.CooldownCyclesRemaining--; b.CooldownCyclesRemaining <= 0 {
					*b = Brk{State: "closed"}
				}
			}
		}
	}
	if st.Checkpoint == nil {
		st.Checkpoint = &Checkpoint{At: now, Phase: start}
	}
	c := &cycle{info: *st.Cycle}
	l.resetTo = ""
	l.mu.Unlock()

	tr, err := openTranscript(l.cfg.Path, c.info.ID, l.cfg.Now)
	if err != nil {
		return nil, err
	}
	l.tr.Store(tr)
	defer func() { tr.close(); l.tr.Store(nil) }()
	_ = l.lock.SetCycle(c.info.ID)
	c.out = Outcome{CycleID: c.info.ID, Number: c.info.Number, StartedAt: c.info.StartedAt}
	if resumed {
		tr.section("Resumed", fmt.Sprintf("The cycle restarts at %s (the previous loop stopped in it).", start))
		l.countRecovery("restart")
		l.cleanupWorktree(ctx, c.info.ID)
		if err := l.transition(ctx, PhaseRecovery); err != nil {
			return nil, err
		}
	} else {
		tr.write(fmt.Sprintf("# Nomic cycle %d (%s)\n\nRepository: %s\nStarted: %s\n", c.info.Number, c.info.ID, l.cfg.Path, now.Format(time.RFC3339)))
	}

	phase := start
	for phase != "" {
		if err := l.checkpoint(ctx); err != nil && !errors.Is(err, errReset) {
			return nil, l.interrupted(ctx, c, err)
		}
		if next, ok := l.takeReset(ctx, c); ok {
			if next == PhaseIdle {
				return l.finish(ctx, c, OutcomeAborted, "reset to idle by an operator", "")
			}
			phase = next
			continue
		}
		if err := l.transition(ctx, phase); err != nil {
			return nil, err
		}
		pctx, cancel := context.WithCancelCause(ctx)
		l.mu.Lock()
		l.cancel = cancel
		l.mu.Unlock()
		next, err := l.runPhase(pctx, c, phase)
		cause := context.Cause(pctx)
		cancel(nil)
		l.mu.Lock()
		l.cancel = nil
		l.mu.Unlock()
		switch {
		case errors.Is(cause, errReset) || errors.Is(err, errReset):
			continue // takeReset picks the target
		case ctx.Err() != nil:
			return nil, l.interrupted(ctx, c, context.Cause(ctx))
		case err != nil:
			var pe *phaseError
			typ := "internal"
			if errors.As(err, &pe) {
				typ = pe.typ
			}
			l.recordError(phase, typ, err.Error())
			strategy := "fail"
			if phase == PhaseVerify || phase == PhaseImplement || phase == PhaseCommit {
				strategy = "rollback"
			}
			l.countRecovery(strategy)
			tr.section("Failed", fmt.Sprintf("%s failed (%s): %v\n\nRecovery: %s.", phase, typ, err, strategy))
			l.cleanupWorktree(ctx, c.info.ID)
			if terr := l.transition(ctx, PhaseFailed); terr != nil {
				return nil, terr
			}
			return l.finish(ctx, c, OutcomeFailure, fmt.Sprintf("%s: %v", phase, err), typ)
		}
		phase = next
	}
	return l.finish(ctx, c, OutcomeSuccess, c.out.Reason, "")
}

// takeReset consumes a pending reset: it cleans the worktree when the
// target is before the change existed and returns the phase to restart at.
func (l *Loop) takeReset(ctx context.Context, c *cycle) (string, bool) {
	l.mu.Lock()
	to := l.resetTo
	l.resetTo = ""
	l.mu.Unlock()
	if to == "" {
		return "", false
	}
	l.tr.Load().section("Reset", "An operator reset the cycle to "+to+".")
	l.countRecovery("restart")
	l.cleanupWorktree(ctx, c.info.ID)
	c.wtDir = ""
	return to, true
}

// interrupted handles the loop's context ending mid-cycle: the worktree
// is removed and the checkpoint kept, so the next start resumes.
func (l *Loop) interrupted(ctx context.Context, c *cycle, cause error) error {
	l.tr.Load().section("Interrupted", fmt.Sprintf("The loop stopped: %v. The next start resumes this cycle.", cause))
	l.cleanupWorktree(context.WithoutCancel(ctx), c.info.ID)
	return cause
}

// runPhase runs one phase and returns the next one ("" after commit).
func (l *Loop) runPhase(ctx context.Context, c *cycle, phase string) (string, error) {
	switch phase {
	case PhaseContext:
		return PhaseDebate, l.phaseContext(ctx, c)
	case PhaseDebate:
		return PhaseDesign, l.phaseDebate(ctx, c)
	case PhaseDesign:
		return PhaseImplement, l.phaseDesign(ctx, c)
	case PhaseImplement:
		return PhaseVerify, l.phaseImplement(ctx, c)
	case PhaseVerify:
		return PhaseCommit, l.phaseVerify(ctx, c)
	case PhaseCommit:
		return "", l.phaseCommit(ctx, c)
	}
	return "", fmt.Errorf("nomic: unknown phase %q", phase)
}

func (l *Loop) cp() *Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Checkpoint
}

func (l *Loop) updateCP(fn func(*Checkpoint)) {
	l.mu.Lock()
	fn(l.st.Checkpoint)
	l.mu.Unlock()
}

// ---- context

func (l *Loop) phaseContext(ctx context.Context, c *cycle) error {
	head, err := gitHead(ctx, l.cfg.Path)
	if err != nil {
		return fail("git", "%v", err)
	}
	l.mu.Lock()
	last := l.st.LastOutcome
	l.mu.Unlock()
	snap, err := Snapshot(ctx, l.cfg.Path, last, l.cfg.ContextTokens)
	if err != nil {
		return fail("context", "%v", err)
	}
	l.updateCP(func(cp *Checkpoint) { cp.Context, cp.BaseHead = snap, head })
	l.tr.Load().section("Context", fmt.Sprintf("HEAD %s, snapshot of %d characters.", head[:min(12, len(head))], len(snap)))
	return l.save(ctx, nil, nil)
}

// ---- debate

// debateQuestion is the question the debate answers.
const debateQuestion = "Which single, small, self-contained improvement should be made to this repository next? " +
	"Answer with one concrete change (what, where and why) that can be implemented in a few files, keeps every test passing " +
	"and respects the constitution's rules."

func (l *Loop) phaseDebate(ctx context.Context, c *cycle) error {
	cp := l.cp()
	if cp.Context == "" {
		return l.phaseContext(ctx, c)
	}
	var parts []debate.Participant
	for _, p := range l.cfg.Participants {
		if l.breakerOpen(p.Name) {
			continue
		}
		p.Agent = l.guard(p.Name, p.Agent)
		parts = append(parts, p)
	}
	if len(parts) < 2 {
		return fail("agent", "fewer than two agents available (open loop breakers: %s)", strings.Join(l.openBreakers(), ", "))
	}
	ctxText := "Constitution rules:\n- " + strings.Join(l.con.Rules, "\n- ") + "\n\n" + cp.Context
	var res *debate.Result
	err := l.retry(ctx, PhaseDebate, func(ctx context.Context) error {
		o, err := debate.New(debate.Config{Rounds: l.cfg.DebateRounds, AgentTimeout: l.cfg.AgentTimeout, Now: l.cfg.Now, Logger: l.cfg.Logger}, parts...)
		if err != nil {
			return fail("config", "%v", err)
		}
		r, err := o.RunTask(ctx, debate.Task{Question: debateQuestion, Context: ctxText, Metadata: map[string]string{"nomic_cycle": c.info.ID}})
		if err != nil {
			return fail("debate", "%v", err)
		}
		if r.Status != store.StatusConsensusReached && r.Status != store.StatusNoConsensus {
			return fail("debate", "the debate ended %s: %s", r.Status, r.Error)
		}
		res = r
		return nil
	})
	if err != nil {
		return err
	}
	improvement := strings.TrimSpace(res.FinalAnswer)
	if improvement == "" {
		improvement = strings.TrimSpace(res.Synthesis)
	}
	if improvement == "" {
		return fail("debate", "the debate chose no improvement")
	}
	rid := ""
	if res.Receipt != nil {
		rid = res.Receipt.ReceiptID
	}
	l.updateCP(func(cp *Checkpoint) { cp.Improvement, cp.ReceiptID, cp.DebateID = improvement, rid, res.DebateID })
	l.tr.Load().section("Debate", fmt.Sprintf("Debate %s ended %s (confidence %.2f, receipt %s).\n\nChosen improvement:\n\n%s",
		res.DebateID, res.Status, res.Confidence, or(rid, "none"), quote(improvement)))
	return l.save(ctx, nil, nil)
}

func quote(s string) string {
	return "> " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n> ")
}

// guard wraps an agent: the control check before each call, and the
// loop breaker's bookkeeping after it.
func (l *Loop) guard(name string, a agent.Agent) agent.Agent {
	return agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		if err := l.checkpoint(ctx); err != nil {
			return agent.Response{}, err
		}
		r, err := a.Respond(ctx, req)
		if ctx.Err() == nil {
			l.breakerResult(name, err == nil)
		}
		return r, err
	})
}

func (l *Loop) breakerOpen(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.st.Breakers[name]
	return b != nil && b.State == "open"
}

func (l *Loop) openBreakers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.OpenBreakers()
}

func (l *Loop) breakerResult(name string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.st.Breakers[name]
	if b == nil {
		b = &Brk{State: "closed"}
		l.st.Breakers[name] = b
	}
	if ok {
		b.ConsecutiveFailures = 0
		return
	}
	b.ConsecutiveFailures++
	if b.State != "open" && b.ConsecutiveFailures >= l.cfg.BreakerThreshold {
		b.State, b.CooldownCyclesRemaining = "open", l.cfg.BreakerCooldown
		l.note("loop breaker of %s opened after %d consecutive failures", name, b.ConsecutiveFailures)
	}
}

// retry runs fn up to MaxRetries+1 times with doubling backoff; a reset
// or the context ending stops it at once.
func (l *Loop) retry(ctx context.Context, phase string, fn func(context.Context) error) error {
	delay := l.cfg.Backoff
	var err error
	for attempt := 0; attempt <= l.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			l.mu.Lock()
			l.st.Counters.Retries[phase]++
			l.st.Counters.Recovery["retry"]++
			l.mu.Unlock()
			l.note("retrying %s (attempt %d) in %s", phase, attempt+1, delay)
			if serr := l.cfg.Sleep(ctx, delay); serr != nil {
				return serr
			}
			delay *= 2
		}
		if err = fn(ctx); err == nil || ctx.Err() != nil || errors.Is(err, errReset) {
			return err
		}
		var pe *phaseError
		typ := "agent"
		if errors.As(err, &pe) {
			typ = pe.typ
		}
		if attempt < l.cfg.MaxRetries {
			l.recordError(phase, typ, err.Error())
		}
	}
	return err
}

// ask sends one request to the first agent of l whose breaker is closed,
// moving to the next on failure, within the phase's retries, and returns
// the reply as parse reads it.
func ask[T any](ctx context.Context, l *Loop, phase string, req agent.Request, parse func(string) (T, error)) (T, error) {
	var v T
	err := l.retry(ctx, phase, func(ctx context.Context) error {
		var errs []string
		for _, p := range l.cfg.Participants {
			if l.breakerOpen(p.Name) {
				continue
			}
			actx, cancel := context.WithTimeout(ctx, l.cfg.AgentTimeout)
			req.Participant = p.Name
			r, err := l.guard(p.Name, p.Agent).Respond(actx, req)
			cancel()
			if ctx.Err() != nil || errors.Is(err, errReset) {
				return context.Cause(ctx)
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", p.Name, err))
				continue
			}
			l.tr.Load().section(fmt.Sprintf("%s reply (%s)", phase, p.Name), "```\n"+truncate(r.Text, 8000)+"\n```")
			if v, err = parse(r.Text); err != nil {
				l.breakerResult(p.Name, false)
				return fail("parse_error", "%s's reply: %v", p.Name, err)
			}
			return nil
		}
		if len(errs) == 0 {
			return fail("agent", "no agent available (open loop breakers: %s)", strings.Join(l.openBreakers(), ", "))
		}
		return fail("agent", "%s", strings.Join(errs, "; "))
	})
	return v, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n…"
}

// ---- design

func (l *Loop) phaseDesign(ctx context.Context, c *cycle) error {
	cp := l.cp()
	if cp.Improvement == "" {
		return fail("checkpoint", "no improvement chosen yet: reset to debate")
	}
	req := agent.Request{Phase: AgentPhaseDesign, System: l.systemPrompt(), MaxTokens: 2000,
		Prompt: fmt.Sprintf("%s\n\nImprovement to design:\n%s\n\nReply with only a JSON object {\"files\": [paths to create or edit, relative to the repository root], \"approach\": \"how\"}. At most %d files; never a protected path: %s.",
			cp.Context, cp.Improvement, l.limits().MaxFiles, strings.Join(l.con.Protected, ", "))}
	d, err := ask(ctx, l, PhaseDesign, req, ParseDesign)
	if err != nil {
		return err
	}
	if err := l.checkDesign(d); err != nil {
		return err
	}
	l.updateCP(func(cp *Checkpoint) { cp.Design = &d })
	l.tr.Load().section("Design", fmt.Sprintf("Files: %s\n\n%s", strings.Join(d.Files, ", "), d.Approach))
	return l.save(ctx, nil, nil)
}

// ParseDesign parses a design reply: one JSON object (possibly fenced).
func ParseDesign(text string) (Design, error) {
	var d Design
	i, j := strings.Index(text, "{"), strings.LastIndex(text, "}")
	if i < 0 || j < i {
		return d, errors.New("no JSON object in the design")
	}
	dec := json.NewDecoder(strings.NewReader(text[i : j+1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("design: %w", err)
	}
	if len(d.Files) == 0 {
		return d, errors.New("the design names no file")
	}
	return d, nil
}

// checkDesign checks a design against the constitution before any code
// is written.
func (l *Loop) checkDesign(d Design) error {
	if n := len(d.Files); n > l.limits().MaxFiles {
		return fail("constitution", "the design touches %d files (max %d)", n, l.limits().MaxFiles)
	}
	for _, f := range d.Files {
		if err := CheckPath(f); err != nil {
			return fail("constitution", "design: %v", err)
		}
		if l.con.IsProtected(f) {
			return fail("constitution", "the design edits the protected file %s", f)
		}
	}
	return nil
}

func (l *Loop) limits() Limits {
	lim := l.con.Limits
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultMaxFiles
	}
	if lim.MaxLines <= 0 {
		lim.MaxLines = DefaultMaxLines
	}
	return lim
}

func (l *Loop) systemPrompt() string {
	return "You are an engineer improving a git repository in small, verified steps. Constitution rules:\n- " + strings.Join(l.con.Rules, "\n- ")
}

// ReplyFormat documents the implement reply format for agents.
const ReplyFormat = "Reply with the complete change in exactly one of two forms. Either one unified diff (git style, paths relative to the repository root) in a single ```diff fenced block, or whole files:\n" +
	"=== FILE: path/to/file ===\n<the complete new content>\n=== END FILE ===\n" +
	"and, to delete a file, a line \"=== DELETE: path/to/file ===\". No absolute paths, no .., nothing under .git/ or .nomic/, no symlinks."

// ---- implement

func (l *Loop) phaseImplement(ctx context.Context, c *cycle) error {
	cp := l.cp()
	if cp.Design == nil {
		return fail("checkpoint", "no design yet: reset to design")
	}
	var files strings.Builder
	budget := 24000
	for _, f := range cp.Design.Files {
		b, err := os.ReadFile(filepath.Join(l.cfg.Path, filepath.FromSlash(f)))
		if err != nil || len(b) > budget {
			continue
		}
		budget -= len(b)
		fmt.Fprintf(&files, "=== FILE: %s ===\n%s\n=== END FILE ===\n", f, strings.TrimRight(string(b), "\n"))
	}
	req := agent.Request{Phase: AgentPhaseImplement, System: l.systemPrompt(), MaxTokens: 8000,
		Prompt: fmt.Sprintf("Cycle %d (%s), debate receipt %s.\n\nImprovement:\n%s\n\nDesign (files %s):\n%s\n\nCurrent content of those files:\n%s\n%s",
			c.info.Number, c.info.ID, or(cp.ReceiptID, "none"), cp.Improvement, strings.Join(cp.Design.Files, ", "), cp.Design.Approach, files.String(), ReplyFormat)}
	ch, err := ask(ctx, l, PhaseImplement, req, ParseChange)
	if err != nil {
		return err
	}
	l.updateCP(func(cp *Checkpoint) { cp.Change = ch })
	if err := l.save(ctx, nil, nil); err != nil {
		return err
	}
	return l.prepareWorktree(ctx, c)
}

// prepareWorktree creates the cycle's worktree at the base commit and
// applies the checkpoint's change in it.
func (l *Loop) prepareWorktree(ctx context.Context, c *cycle) error {
	cp := l.cp()
	if cp.Change == nil {
		return fail("checkpoint", "no change yet: reset to implement")
	}
	l.cleanupWorktree(ctx, c.info.ID)
	c.wtDir = filepath.Join(l.cfg.Path, ".nomic", "worktrees", c.info.ID)
	c.branch = "nomic/" + c.info.ID
	base := cp.BaseHead
	if base == "" {
		base = "HEAD"
	}
	if _, err := git(ctx, l.cfg.Path, "worktree", "add", "-q", "-B", c.branch, c.wtDir, base); err != nil {
		return fail("git", "%v", err)
	}
	var err error
	if c.before, err = CountTests(c.wtDir); err != nil {
		return fail("internal", "%v", err)
	}
	if err := cp.Change.Apply(ctx, c.wtDir); err != nil {
		return fail("invalid_change", "%v", err)
	}
	if c.stats, err = changeStats(ctx, c.wtDir); err != nil {
		if errors.Is(err, ErrBadChange) {
			return fail("invalid_change", "%v", err)
		}
		return fail("git", "%v", err)
	}
	c.out.Files = c.stats.Files
	l.tr.Load().section("Implement", fmt.Sprintf("Applied in %s on branch %s: %d files (+%d −%d): %s",
		rel(l.cfg.Path, c.wtDir), c.branch, len(c.stats.Files), c.stats.Added, c.stats.Del, strings.Join(c.stats.Files, ", ")))
	return nil
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

// cleanupWorktree removes a cycle's worktree and its branch when it was
// not committed.
func (l *Loop) cleanupWorktree(ctx context.Context, id string) {
	dir := filepath.Join(l.cfg.Path, ".nomic", "worktrees", id)
	if _, err := os.Stat(dir); err == nil {
		if _, err := git(ctx, l.cfg.Path, "worktree", "remove", "--force", dir); err != nil {
			_ = os.RemoveAll(dir)
		}
	}
	_, _ = git(ctx, l.cfg.Path, "worktree", "prune")
}

func (l *Loop) deleteBranch(ctx context.Context, branch string) {
	if branch != "" {
		_, _ = git(ctx, l.cfg.Path, "branch", "-D", branch)
	}
}

// ---- verify

func (l *Loop) phaseVerify(ctx context.Context, c *cycle) error {
	if c.wtDir == "" {
		if err := l.prepareWorktree(ctx, c); err != nil {
			return err
		}
	}
	in := VerifyInput{Dir: c.wtDir, Constitution: l.con, Before: c.before, Stats: c.stats}
	rep, err := l.cfg.Verifier.Verify(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fail("verify", "%v", err)
	}
	c.report, c.out.Verify = rep, rep
	l.tr.Load().section("Verify", "```\n"+rep.Summary()+"```")
	if !rep.Passed {
		l.deleteBranch(ctx, c.branch)
		return fail(or(rep.Type, "test_failure"), "%s", rep.Reason())
	}
	l.updateCP(func(cp *Checkpoint) { cp.Verified = true })
	return l.save(ctx, nil, nil)
}

// ---- commit

func (l *Loop) phaseCommit(ctx context.Context, c *cycle) error {
	cp := l.cp()
	if c.wtDir == "" || c.report == nil {
		// Resumed at commit: verify again before anything is committed.
		if err := l.phaseVerify(ctx, c); err != nil {
			return err
		}
	}
	c.out.Improvement, c.out.ReceiptID, c.out.DebateID = cp.Improvement, cp.ReceiptID, cp.DebateID
	title := strings.TrimSpace(strings.SplitN(cp.Improvement, "\n", 2)[0])
	if a := strings.TrimSpace(designApproach(cp)); a != "" {
		title = strings.TrimSpace(strings.SplitN(a, "\n", 2)[0])
	}
	if len(title) > 68 {
		title = title[:68] + "…"
	}
	msg := fmt.Sprintf("nomic: %s\n\n%s\n\nNomic-Cycle: %s (cycle %d)\nDebate-Receipt: %s\n", title,
		strings.TrimSpace(designApproach(cp)), c.info.ID, c.info.Number, or(cp.ReceiptID, "none"))
	args := []string{"-c", "commit.gpgsign=false"}
	if out, _ := git(ctx, c.wtDir, "config", "user.email"); strings.TrimSpace(out) == "" {
		args = append(args, "-c", "user.name=aragora nomic", "-c", "user.email=nomic@aragora.invalid")
	}
	if _, err := git(ctx, c.wtDir, append(args, "commit", "-q", "--no-verify", "-m", msg)...); err != nil {
		return fail("git", "%v", err)
	}
	commit, err := gitHead(ctx, c.wtDir)
	if err != nil {
		return fail("git", "%v", err)
	}
	diff, _ := git(ctx, c.wtDir, "show", "--stat", "--patch", "--format=%s", "HEAD")
	patchPath := filepath.Join(filepath.Dir(TranscriptPath(l.cfg.Path, c.info.ID)), "change.patch")
	if p, err := git(ctx, c.wtDir, "format-patch", "-1", "--stdout", "HEAD"); err == nil {
		if os.WriteFile(patchPath, []byte(p), 0o644) == nil {
			c.out.Patch = rel(l.cfg.Path, patchPath)
		}
	}
	approved, why := false, ""
	switch {
	case l.cfg.Auto && !l.cfg.AutoCommit:
		why = "auto mode without NOMIC_AUTO_COMMIT=1: the verified change is left on branch " + c.branch
	case l.cfg.Auto:
		approved = true
	case l.cfg.Approver == nil:
		why = "no approver (not a terminal and not --auto): the verified change is left on branch " + c.branch
	default:
		if err := l.checkpoint(ctx); err != nil {
			return err
		}
		ok, err := l.cfg.Approver.Approve(ctx, Approval{CycleID: c.info.ID, Number: c.info.Number, Improvement: cp.Improvement, Diff: diff, Summary: c.report.Summary()})
		if err != nil {
			return fail("approval", "%v", err)
		}
		approved, why = ok, "declined by the operator: the verified change is left on branch "+c.branch
	}
	c.out.Branch = c.branch
	if !approved {
		c.out.Reason = why
		l.tr.Load().section("Commit", "Not committed: "+why+".")
		l.cleanupWorktree(ctx, c.info.ID)
		c.wtDir = ""
		return nil
	}
	head, err := gitHead(ctx, l.cfg.Path)
	if err != nil {
		return fail("git", "%v", err)
	}
	if cp.BaseHead != "" && head != cp.BaseHead {
		return fail("conflict", "the operator's branch moved during the cycle (%s, was %s): the change is left on branch %s", head[:12], cp.BaseHead[:12], c.branch)
	}
	backup, err := WriteBackup(l.cfg.Path, c.info.ID, c.info.Number, c.stats.Files, l.cfg.Now())
	if err != nil {
		return fail("backup", "%v", err)
	}
	c.out.Backup = rel(l.cfg.Path, backup)
	if _, err := git(ctx, l.cfg.Path, "merge", "-q", "--ff-only", c.branch); err != nil {
		return fail("git", "the change could not reach the branch: %v", err)
	}
	c.out.Committed, c.out.Commit = true, commit
	c.out.Reason = "committed " + commit[:12]
	l.tr.Load().section("Commit", fmt.Sprintf("Committed %s (backup %s).", commit, c.out.Backup))
	l.cleanupWorktree(ctx, c.info.ID)
	c.wtDir = ""
	l.deleteBranch(ctx, c.branch)
	c.out.Branch = ""
	return nil
}

func designApproach(cp *Checkpoint) string {
	if cp.Design == nil {
		return ""
	}
	return cp.Design.Approach
}

// finish records the cycle's outcome: state, outcome row and webhook
// message in one store write, then outcomes.db and the transcript.
func (l *Loop) finish(ctx context.Context, c *cycle, outcome, reason, typ string) (*Outcome, error) {
	now := l.cfg.Now().UTC()
	o := c.out
	cp := l.cp()
	if cp != nil {
		o.Improvement, o.ReceiptID, o.DebateID = cp.Improvement, cp.ReceiptID, cp.DebateID
	}
	o.Outcome, o.Reason, o.ErrorType, o.FinishedAt = outcome, reason, typ, now
	if outcome != OutcomeSuccess {
		o.Committed = false
		l.deleteBranch(ctx, "nomic/"+c.info.ID)
		o.Branch = ""
	}
	doc, _ := json.Marshal(o)
	msg, err := cycleOutcomeMessage(&o)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	st := l.st
	st.Counters.Cycles[outcome]++
	st.LastOutcome = &o
	from := st.Phase
	st.Counters.Transitions[from+"->"+PhaseIdle]++
	if slices.Contains(CyclePhases, from) {
		st.Counters.observePhase(from, now.Sub(st.PhaseStartedAt))
	}
	st.Phase, st.PhaseStartedAt, st.LastTransitionAt = PhaseIdle, now, now
	st.Cycle, st.Checkpoint = nil, nil
	l.mu.Unlock()
	if err := l.save(ctx, &store.NomicOutcome{CycleID: o.CycleID, Number: o.Number, Outcome: o.Outcome, Committed: o.Committed,
		Reason: o.Reason, StartedAt: o.StartedAt, FinishedAt: o.FinishedAt, Doc: doc}, []store.OutboxMessage{msg}); err != nil {
		return nil, err
	}
	if l.cfg.Outcomes != nil {
		if err := l.cfg.Outcomes.RecordOutcome(ctx, o); err != nil {
			l.cfg.Logger.Warn("nomic_outcomes_db_failed", "error", err)
		}
	}
	l.tr.Load().section("Outcome", fmt.Sprintf("%s, committed: %t. %s", o.Outcome, o.Committed, o.Reason))
	l.progress(&c.info, PhaseIdle, fmt.Sprintf("cycle %d %s (committed: %t): %s", o.Number, o.Outcome, o.Committed, o.Reason))
	return &o, nil
}
