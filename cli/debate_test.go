package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/syncbuf"
	"github.com/aragora/aragora/receipt"
)

type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the binary in process with vars as its whole environment.
func runCLI(t *testing.T, ctx context.Context, vars map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	dataDir := t.TempDir()
	getenv := func(k string) string {
		if v, ok := vars[k]; ok || k != "ARAGORA_DATA_DIR" {
			return v
		}
		return dataDir // never the working directory's ./data
	}
	code := run(ctx, args, strings.NewReader(""), &out, &errb, getenv)
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// fixedCtx fixes the clock and the randomness of `aragora debate`.
func fixedCtx() context.Context {
	return withDebateHooks(context.Background(), debateHooks{
		now:  func() time.Time { return time.Date(2026, 2, 11, 9, 30, 0, 0, time.UTC) },
		rand: rand.NewChaCha8([32]byte{7}),
	})
}

// demoDebate is the argument list of a short demo debate.
func demoDebate(extra ...string) []string {
	return append([]string{"debate", "Should we adopt Postgres?", "--no-store"}, extra...)
}

type jsonOutput struct {
	Debate  map[string]any `json:"debate"`
	Receipt map[string]any `json:"receipt"`
}

func parseJSONOutput(t *testing.T, s string) jsonOutput {
	t.Helper()
	var out jsonOutput
	require.NoError(t, json.Unmarshal([]byte(s), &out), s)
	require.NotNil(t, out.Debate)
	require.NotNil(t, out.Receipt)
	return out
}

func TestDebateTextTranscript(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, demoDebate()...)
	require.Equal(t, exitOK, res.code, res.stderr)
	out := res.stdout
	for _, want := range []string{
		"demo mode",
		"Question: Should we adopt Postgres?",
		"[round 1] demo-analyst · proposal: ",
		"[round 1] demo-critic · proposal: ",
		"[round 1] demo-judge · proposal: ",
		"[round 1] demo-critic · critique of demo-analyst (severity ",
		"[round 1] demo-analyst · vote: ",
		"[round 1] consensus (majority): ",
		"Verdict:    ",
		"Confidence: ",
		"Dissent:",
		"Receipt:    DR-",
		"# Decision Receipt DR-",
		"## Integrity",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "\x1b[", "no progress line when the output is not a terminal")
	assert.Empty(t, res.stderr)
}

func TestDebateJSONFormat(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, demoDebate("--format", "json")...)
	require.Equal(t, exitOK, res.code, res.stderr)
	out := parseJSONOutput(t, res.stdout)
	d, r := out.Debate, out.Receipt
	assert.Contains(t, []any{"consensus_reached", "no_consensus"}, d["status"])
	assert.Regexp(t, `^deb_[0-9a-hjkmnp-tv-z]{26}$`, d["id"])
	assert.Equal(t, "Should we adopt Postgres?", d["topic"])
	assert.Equal(t, []any{"demo-analyst", "demo-critic", "demo-judge"}, d["agents"])
	assert.Equal(t, "local", d["owner"])
	assert.Equal(t, "all-to-all", d["topology"])
	assert.Equal(t, map[string]any{"max_tokens": nil, "budget_usd": nil}, d["budget"])
	assert.Nil(t, d["error"])
	assert.Greater(t, d["last_seq"], 5.0)
	for _, k := range []string{"stop_reason", "rounds", "rounds_used", "min_rounds", "consensus", "verdict", "final_answer",
		"created_at", "updated_at", "started_at", "finished_at", "duration_seconds", "tokens", "cost_usd", "correlation_id",
		"metadata", "receipt_id", "stream_epoch"} {
		assert.Contains(t, d, k)
	}
	assert.Equal(t, "majority", d["consensus"].(map[string]any)["method"])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, r["content_hash"])
	assert.Equal(t, d["receipt_id"], r["receipt_id"])
	assert.Equal(t, d["id"], r["debate_id"])
	assert.Nil(t, r["signature"], "no key configured: unsigned")

	// The receipt part parses back and its hash verifies.
	var raw struct {
		Receipt json.RawMessage `json:"receipt"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &raw))
	rc, err := receipt.Parse(raw.Receipt)
	require.NoError(t, err)
	assert.True(t, rc.VerifyHash())
}

func TestDebateMarkdownAndHTMLFormats(t *testing.T) {
	t.Parallel()
	md := runCLI(t, context.Background(), nil, demoDebate("--format", "markdown")...)
	require.Equal(t, exitOK, md.code, md.stderr)
	assert.True(t, strings.HasPrefix(md.stdout, "# Decision Receipt DR-"), md.stdout)
	assert.NotContains(t, md.stdout, "[round 1]")

	html := runCLI(t, context.Background(), nil, demoDebate("--format", "html")...)
	require.Equal(t, exitOK, html.code, html.stderr)
	assert.Contains(t, html.stdout, "Content-Security-Policy")
	assert.NotContains(t, html.stdout, "[round 1]")
}

func TestDebateSameSeedIsByteIdenticalWithFixedClock(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json", "markdown", "html"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			args := demoDebate("--format", format, "--seed", "42", "--rounds", "2")
			a := runCLI(t, fixedCtx(), nil, args...)
			b := runCLI(t, fixedCtx(), nil, args...)
			require.Equal(t, exitOK, a.code, a.stderr)
			require.Equal(t, exitOK, b.code, b.stderr)
			assert.Equal(t, a.stdout, b.stdout)
		})
	}
}

func TestDebateSameSeedSameDebateWithRealClock(t *testing.T) {
	t.Parallel()
	args := demoDebate("--format", "json", "--seed", "9")
	a := parseJSONOutput(t, runCLI(t, context.Background(), nil, args...).stdout)
	b := parseJSONOutput(t, runCLI(t, context.Background(), nil, args...).stdout)
	for _, o := range []jsonOutput{a, b} {
		for _, k := range []string{"id", "created_at", "updated_at", "started_at", "finished_at", "duration_seconds", "receipt_id", "stream_epoch"} {
			delete(o.Debate, k)
		}
		for _, k := range []string{"receipt_id", "debate_id", "created_at", "started_at", "ended_at", "duration_ms", "content_hash"} {
			delete(o.Receipt, k)
		}
	}
	assert.Equal(t, a, b)

	c := parseJSONOutput(t, runCLI(t, context.Background(), nil, demoDebate("--format", "json", "--seed", "10")...).stdout)
	assert.NotEqual(t, a.Debate["final_answer"], c.Debate["final_answer"], "another seed gives another debate")
}

func TestDebateUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	hmacKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	edKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in stderr
	}{
		{name: "unknown flag", args: demoDebate("--bogus"), want: "unknown flag"},
		{name: "bad flag value", args: demoDebate("--rounds", "many"), want: "invalid argument"},
		{name: "unknown agent", args: demoDebate("--agents", "demo-a,gpt-17"), want: "unknown agent"},
		{name: "bad demo style", args: demoDebate("--agents", "demo-a:shouty,demo-b"), want: "unknown agent"},
		{name: "one agent", args: demoDebate("--agents", "demo-a"), want: "at least 2"},
		{name: "duplicate agents", args: demoDebate("--agents", "demo-a,demo-a"), want: "duplicate"},
		{name: "empty agents", args: demoDebate("--agents", " , "), want: "--agents is empty"},
		{name: "unknown default agent", args: demoDebate(), env: map[string]string{"ARAGORA_DEFAULT_AGENTS": "claude,gpt-4"}, want: "set ANTHROPIC_API_KEY"},
		{name: "rounds zero", args: demoDebate("--rounds", "0"), want: "rounds"},
		{name: "rounds 21", args: demoDebate("--rounds", "21"), want: "rounds"},
		{name: "unknown method", args: demoDebate("--consensus", "plurality"), want: "unknown method"},
		{name: "threshold above 1", args: demoDebate("--consensus", "weighted", "--threshold", "1.5"), want: "--threshold"},
		{name: "threshold zero", args: demoDebate("--consensus", "supermajority", "--threshold", "0"), want: "--threshold"},
		{name: "threshold with majority", args: demoDebate("--threshold", "0.7"), want: "--threshold applies only"},
		{name: "bad threshold env", args: demoDebate("--consensus", "weighted"), env: map[string]string{"ARAGORA_CONSENSUS_THRESHOLD": "high"}, want: "ARAGORA_CONSENSUS_THRESHOLD"},
		{name: "unknown topology", args: demoDebate("--topology", "mesh"), want: "topology"},
		{name: "unknown format", args: demoDebate("--format", "yaml"), want: "--format"},
		{name: "negative max tokens", args: demoDebate("--max-tokens", "-5"), want: "--max-tokens"},
		{name: "no question", args: []string{"debate", "--no-store"}, want: "missing question"},
		{name: "blank question", args: []string{"debate", "   ", "--no-store"}, want: "blank"},
		{name: "two questions", args: []string{"debate", "a", "b"}, want: "one quoted question"},
		{name: "server not a URL", args: demoDebate("--server", "localhost:8080"), want: "want an http:// or https:// URL"},
		{name: "token without server", args: demoDebate("--token", "x"), want: "--token goes with --server"},
		{name: "server with convergence stop", args: demoDebate("--server", "http://127.0.0.1:9", "--convergence-stop"), want: "do not apply"},
		{name: "resume unknown debate", args: []string{"debate", "--resume", "deb_x"}, want: "no such debate"},
		{name: "resume with question", args: []string{"debate", "q", "--resume", "deb_x"}, want: "takes no question"},
		{name: "resume with rounds", args: []string{"debate", "--resume", "deb_x", "--rounds", "2"}, want: "--rounds cannot be combined"},
		{name: "both receipt keys", args: demoDebate(), env: map[string]string{"ARAGORA_RECEIPT_SIGNING_KEY": hmacKey, "ARAGORA_RECEIPT_ED25519_KEY": edKey}, want: "both set"},
		{name: "short hmac key", args: demoDebate(), env: map[string]string{"ARAGORA_RECEIPT_SIGNING_KEY": base64.StdEncoding.EncodeToString([]byte("short"))}, want: "ARAGORA_RECEIPT_SIGNING_KEY"},
		{name: "hmac key not base64", args: demoDebate(), env: map[string]string{"ARAGORA_RECEIPT_SIGNING_KEY": "!!!"}, want: "ARAGORA_RECEIPT_SIGNING_KEY"},
		{name: "ed25519 seed size", args: demoDebate(), env: map[string]string{"ARAGORA_RECEIPT_ED25519_KEY": hmacKey[:20]}, want: "ARAGORA_RECEIPT_ED25519_KEY"},
		{name: "bad agent timeout", args: demoDebate(), env: map[string]string{"ARAGORA_AGENT_TIMEOUT_SECONDS": "0"}, want: "ARAGORA_AGENT_TIMEOUT_SECONDS"},
		{name: "bad demo delay", args: demoDebate(), env: map[string]string{demoDelayEnv: "soon"}, want: demoDelayEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, context.Background(), tt.env, tt.args...)
			assert.Equal(t, exitUsage, res.code, "stdout: %s\nstderr: %s", res.stdout, res.stderr)
			assert.Contains(t, res.stderr, tt.want)
			assert.Empty(t, res.stdout, "a usage error prints nothing on stdout")
		})
	}
}

func TestDebateBudgetExceededExits1(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, demoDebate("--max-tokens", "10", "--format", "json")...)
	require.Equal(t, exitFailure, res.code, res.stderr)
	assert.Contains(t, res.stderr, "budget_exceeded")
	out := parseJSONOutput(t, res.stdout)
	assert.Equal(t, "budget_exceeded", out.Debate["status"])
	assert.Equal(t, "budget", out.Debate["stop_reason"])
	assert.Equal(t, "needs_review", out.Debate["verdict"])
	assert.Equal(t, map[string]any{"max_tokens": 10.0, "budget_usd": nil}, out.Debate["budget"])
	assert.Equal(t, "budget_exceeded", out.Receipt["status"], "a receipt is built whatever the status")
}

func TestDebateCancelledContextExits1(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // not a SIGINT: the debate is cancelled and the exit code is 1
	res := runCLI(t, ctx, map[string]string{demoDelayEnv: "600000"}, demoDebate()...)
	assert.Equal(t, exitFailure, res.code, res.stderr)
	assert.Contains(t, res.stderr, "cancelled")
	assert.Contains(t, res.stdout, "Verdict:    Needs review")
}

func TestDebateReceiptOut(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0x5a}, 32)
	env := map[string]string{"ARAGORA_RECEIPT_SIGNING_KEY": base64.StdEncoding.EncodeToString(key)}
	tests := []struct {
		file  string
		check func(t *testing.T, b []byte)
	}{
		{file: "receipt.md", check: func(t *testing.T, b []byte) {
			assert.True(t, bytes.HasPrefix(b, []byte("# Decision Receipt DR-")), string(b))
			assert.Contains(t, string(b), "HMAC-SHA256")
		}},
		{file: "receipt.html", check: func(t *testing.T, b []byte) {
			assert.Contains(t, string(b), "<html")
			assert.Contains(t, string(b), "Content-Security-Policy")
		}},
		{file: "receipt.json", check: func(t *testing.T, b []byte) {
			rc, err := receipt.Parse(b)
			require.NoError(t, err)
			assert.True(t, receipt.Verify(rc, key), "signed with the HMAC key from the environment")
		}},
		{file: "receipt", check: func(t *testing.T, b []byte) {
			_, err := receipt.Parse(b)
			assert.NoError(t, err, "no known extension: JSON")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), tt.file)
			res := runCLI(t, context.Background(), env, demoDebate("--receipt-out", path, "--rounds", "1")...)
			require.Equal(t, exitOK, res.code, res.stderr)
			assert.Contains(t, res.stdout, "signed HMAC-SHA256")
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			tt.check(t, b)
		})
	}
	t.Run("unwritable path exits 2 before the debate", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "missing-dir", "r.json")
		res := runCLI(t, context.Background(), nil, demoDebate("--receipt-out", path, "--format", "json")...)
		assert.Equal(t, exitUsage, res.code)
		assert.Contains(t, res.stderr, "--receipt-out "+path)
		assert.Empty(t, res.stdout, "no debate ran")
	})
}

func TestDebateEd25519SignedReceipt(t *testing.T) {
	t.Parallel()
	seed := bytes.Repeat([]byte{3}, ed25519.SeedSize)
	env := map[string]string{"ARAGORA_RECEIPT_ED25519_KEY": base64.StdEncoding.EncodeToString(seed)}
	res := runCLI(t, context.Background(), env, demoDebate("--format", "json", "--rounds", "1")...)
	require.Equal(t, exitOK, res.code, res.stderr)
	var raw struct {
		Receipt json.RawMessage `json:"receipt"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &raw))
	rc, err := receipt.Parse(raw.Receipt)
	require.NoError(t, err)
	require.NotNil(t, rc.Signature)
	assert.Equal(t, receipt.AlgEd25519, rc.Signature.Algorithm)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	assert.True(t, receipt.Verify(rc, pub))
}

func TestDebateAgentsAndMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantAgents []any
		wantMethod string
	}{
		{name: "default agents from env", args: demoDebate(), env: map[string]string{"ARAGORA_DEFAULT_AGENTS": "demo-x, demo-y:contrarian"},
			wantAgents: []any{"demo-x", "demo-y"}, wantMethod: "majority"},
		{name: "flag beats env", args: demoDebate("--agents", "demo-a,demo-b"), env: map[string]string{"ARAGORA_DEFAULT_AGENTS": "demo-x,demo-y"},
			wantAgents: []any{"demo-a", "demo-b"}, wantMethod: "majority"},
		{name: "judge", args: demoDebate("--consensus", "judge", "--agents", "demo-judge,demo-analyst,demo-critic"),
			wantAgents: []any{"demo-judge", "demo-analyst", "demo-critic"}, wantMethod: "judge"},
		{name: "none", args: demoDebate("--consensus", "none", "--rounds", "1"),
			wantAgents: []any{"demo-analyst", "demo-critic", "demo-judge"}, wantMethod: "none"},
		{name: "weighted threshold from env", args: demoDebate("--consensus", "weighted"), env: map[string]string{"ARAGORA_CONSENSUS_THRESHOLD": "0.75"},
			wantAgents: []any{"demo-analyst", "demo-critic", "demo-judge"}, wantMethod: "weighted"},
		{name: "ring trickster convergence stop", args: demoDebate("--topology", "ring", "--trickster", "--convergence-stop", "--consensus", "supermajority", "--threshold", "0.9"),
			wantAgents: []any{"demo-analyst", "demo-critic", "demo-judge"}, wantMethod: "supermajority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, context.Background(), tt.env, append(tt.args, "--format", "json")...)
			require.Equal(t, exitOK, res.code, res.stderr)
			out := parseJSONOutput(t, res.stdout)
			assert.Equal(t, tt.wantAgents, out.Debate["agents"])
			c := out.Debate["consensus"].(map[string]any)
			assert.Equal(t, tt.wantMethod, c["method"])
			switch tt.wantMethod {
			case "judge", "none":
				assert.Nil(t, c["threshold"])
			case "weighted":
				assert.Equal(t, 0.75, c["threshold"])
			case "supermajority":
				assert.Equal(t, 0.9, c["threshold"])
			}
		})
	}
}

func TestDebateJudgeIsDemoJudge(t *testing.T) {
	t.Parallel()
	// demo-judge is first, so it is the judge only because of its name (the
	// default judge is the last agent).
	res := runCLI(t, context.Background(), nil,
		demoDebate("--consensus", "judge", "--agents", "demo-judge,demo-analyst,demo-critic", "--rounds", "1")...)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "consensus (judge, by demo-judge): ")
	assert.NotContains(t, res.stdout, "judge failed")
}

func TestDebateStreamPrintsTokens(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, demoDebate("--stream", "--rounds", "1")...)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "  … demo-analyst (propose): ")
	assert.Contains(t, res.stdout, "  … demo-critic (vote): ")
}

func TestTranscriptPrinterProgressOnTerminal(t *testing.T) {
	t.Parallel()
	leader := "a"
	events := []debate.Event{
		{Type: debate.EventDebateStart, Data: debate.DebateStartData{Rounds: 2}},
		{Type: debate.EventRoundStart, Round: 1, Data: debate.RoundStartData{Round: 1}},
		{Type: debate.EventProposal, Round: 1, Agent: "a", Data: debate.ProposalData{Content: "Use   Postgres.\nIt is fine."}},
		{Type: debate.EventCritique, Round: 1, Agent: "b", Data: debate.CritiqueData{Target: "a", Issues: []string{"No numbers.", "No plan"}, Severity: 6}},
		{Type: debate.EventVote, Round: 1, Agent: "b", Data: debate.VoteData{Resolved: &leader, Valid: true, Confidence: 0.8}},
		{Type: debate.EventConsensusCheck, Round: 1, Data: debate.ConsensusCheckData{Method: "majority", Reached: true, Leader: &leader, Confidence: 1, EarlyStop: true}},
		{Type: debate.EventRoundEnd, Round: 1, Data: debate.RoundEndData{Round: 1}},
		{Type: debate.EventDebateEnd, Data: debate.DebateEndData{}},
	}
	render := func(tty bool) string {
		var buf bytes.Buffer
		p := newTranscriptPrinter(&buf, tty, false)
		p.header(debateHeader{ID: "deb_x", Question: "Q?", Agents: []string{"a", "b"}, Rounds: 2, Method: "majority", Topology: "all-to-all", Seed: 1, DemoMode: true})
		for _, e := range events {
			p.OnEvent(e)
		}
		p.finish()
		return buf.String()
	}
	tty := render(true)
	assert.Contains(t, tty, "\r\x1b[K⏳ round 1 of 2 · proposing…")
	assert.Contains(t, tty, "\r\x1b[K⏳ round 1 of 2 · critiquing…")
	assert.Contains(t, tty, "\r\x1b[K⏳ round 1 of 2 · voting…")
	assert.True(t, strings.HasSuffix(tty, "\r\x1b[K"), "the progress line is erased at the end")

	plain := render(false)
	assert.NotContains(t, plain, "\x1b[")
	assert.NotContains(t, plain, "⏳")
	assert.Contains(t, plain, "[round 1] a · proposal: Use Postgres. It is fine.\n")
	assert.Contains(t, plain, "[round 1] b · critique of a (severity 6.0): No numbers. No plan\n")
	assert.Contains(t, plain, "[round 1] b · vote: a (confidence 0.80)\n")
	assert.Contains(t, plain, "[round 1] consensus (majority): reached, leader a, confidence 100% → stopping early\n")
	// Stripping the terminal controls leaves the plain transcript.
	ctl := regexp.MustCompile("\r\x1b\\[K(⏳ [^\r\n]*)?")
	assert.Equal(t, plain, ctl.ReplaceAllString(tty, ""))
}

func TestSquashLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{name: "short", in: "a  b\n c", max: 10, want: "a b c"},
		{name: "exact", in: "abcde", max: 5, want: "abcde"},
		{name: "word boundary", in: "alpha beta gamma delta", max: 15, want: "alpha beta…"},
		{name: "no boundary", in: "abcdefghijklmnop", max: 8, want: "abcdefg…"},
		{name: "runes", in: "ééééééééé", max: 4, want: "ééé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, squashLine(tt.in, tt.max))
		})
	}
}

// helperEnv marks the re-executed test binary as the aragora binary.
const helperEnv = "ARAGORA_CLI_HELPER_PROCESS"

// TestDebateHelperProcess is not a test: run as a subprocess by
// TestDebateSIGINTExits130, it acts as the aragora binary (as main does).
func TestDebateHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	signal.Ignore(syscall.SIGUSR1, syscall.SIGHUP)
	os.Exit(run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// TestDebateSIGINTExits130 interrupts a running debate with a real SIGINT:
// the debate is recorded as cancelled, the outcome is printed and the
// process exits with 130. It re-executes this test binary as the aragora
// binary (the stdlib's helper-process pattern), which runs the same run
// function as main without a second build.
func TestDebateSIGINTExits130(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDebateHelperProcess$", "--",
		"debate", "Should we adopt Postgres?", "--no-store", "--agents", defaultDemoAgents)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARAGORA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Every demo call waits ten minutes unless cancelled: the debate is
	// certainly in its first phase when the signal arrives.
	cmd.Env = append(cmd.Env, helperEnv+"=1", demoDelayEnv+"=600000")
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The signal handler is installed before the header is printed.
	sc := bufio.NewScanner(stdout)
	var seen strings.Builder
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Settings:") {
			break
		}
	}
	require.Contains(t, seen.String(), "Settings:", "stderr: %s", stderr.String())
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	rest, err := io.ReadAll(stdout)
	require.NoError(t, err)
	err = cmd.Wait()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "want a non-zero exit, got %v; stderr: %s", err, stderr.String())
	assert.Equal(t, exitInterrupt, ee.ExitCode(), "stderr: %s", stderr.String())
	assert.Contains(t, stderr.String(), "interrupted")
	assert.Contains(t, stderr.String(), "cancelled")
	out := string(rest)
	assert.Contains(t, out, "Verdict:    Needs review")
	assert.Contains(t, out, "Status:     cancelled")
	assert.Contains(t, out, "# Decision Receipt DR-")
}
