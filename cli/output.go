package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

// transcriptRunes caps one transcript line's quoted text.
const transcriptRunes = 160

// writerIsTerminal reports whether w is a terminal.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// debateHeader is what the text output says before the debate starts.
type debateHeader struct {
	ID            string
	Question      string
	Agents        []string
	Rounds        int
	Method        string
	Topology      string
	Seed          int64
	DemoMode      bool
	DefaultAgents bool
	Persisted     bool
	Server        string // set for --server debates
}

// transcriptPrinter prints a debate's live transcript (the text format).
// On a terminal it keeps a progress line under the transcript, naming the
// phase in flight; when piped it prints plain lines only. It is safe for
// concurrent use.
type transcriptPrinter struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	stream   bool
	rounds   int
	progress string // the progress line shown (tty only)
	tokenKey string // agent and phase of the open token line, "" when none
}

func newTranscriptPrinter(w io.Writer, tty, stream bool) *transcriptPrinter {
	return &transcriptPrinter{w: w, tty: tty, stream: stream}
}

var _ debate.Observer = (*transcriptPrinter)(nil)

func (p *transcriptPrinter) header(h debateHeader) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rounds = h.Rounds
	switch {
	case h.DemoMode && h.DefaultAgents:
		fmt.Fprintln(p.w, "Aragora debate (demo mode: offline demo agents, no API key or network needed)")
	case h.DemoMode:
		fmt.Fprintln(p.w, "Aragora debate (demo mode: offline demo agents)")
	default:
		fmt.Fprintln(p.w, "Aragora debate")
	}
	fmt.Fprintf(p.w, "Question: %s\n", squashLine(h.Question, 400))
	storage := "in memory, not persisted"
	if h.Persisted {
		storage = "persisted"
	}
	if h.Server != "" {
		storage = "on " + h.Server
	}
	fmt.Fprintf(p.w, "Debate:   %s (%s)\n", h.ID, storage)
	fmt.Fprintf(p.w, "Agents:   %s\n", strings.Join(h.Agents, ", "))
	if h.Server != "" {
		fmt.Fprintf(p.w, "Settings: %s · %s · %s\n", pluralize(h.Rounds, "round"), h.Method, h.Topology)
	} else {
		fmt.Fprintf(p.w, "Settings: %s · %s · %s · seed %d\n", pluralize(h.Rounds, "round"), h.Method, h.Topology, h.Seed)
	}
	p.setProgress("starting…")
}

// OnEvent prints one event.
func (p *transcriptPrinter) OnEvent(e debate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Type == debate.EventAgentToken {
		p.token(e)
		return
	}
	var lines []string
	next := p.progress
	prefix := fmt.Sprintf("[round %d] ", e.Round)
	switch d := e.Data.(type) {
	case debate.DebateStartData:
		p.rounds = d.Rounds
	case debate.MemoryRecalledData:
		lines = append(lines, fmt.Sprintf("memory: recalled %d from earlier debates (%s)", len(d.IDs), strings.Join(d.IDs, ", ")))
	case debate.RoundStartData:
		lines = append(lines, "")
		next = fmt.Sprintf("round %d of %d · proposing…", d.Round, p.rounds)
		if d.Round > 1 {
			next = fmt.Sprintf("round %d of %d · revising…", d.Round, p.rounds)
		}
	case debate.ProposalData:
		kind := "proposal"
		if d.Revised {
			kind = "revision"
		}
		lines = append(lines, fmt.Sprintf("%s%s · %s: %s", prefix, e.Agent, kind, squashLine(d.Content, transcriptRunes)))
		next = fmt.Sprintf("round %d of %d · critiquing…", e.Round, p.rounds)
	case debate.ConvergenceData:
		line := fmt.Sprintf("%sconvergence: cross-agent similarity %.2f", prefix, d.Cross)
		if d.Stability != nil {
			line += fmt.Sprintf(", stability %.2f", *d.Stability)
		}
		if d.Stop {
			line += " (stopping after this round's vote)"
			next = fmt.Sprintf("round %d of %d · voting…", e.Round, p.rounds)
		}
		lines = append(lines, line)
	case debate.TricksterData:
		lines = append(lines, fmt.Sprintf("%strickster: possible hollow consensus (severity %.2f, similarity %.2f); challenging %s",
			prefix, d.Severity, d.Similarity, strings.Join(d.Targets, ", ")))
	case debate.CritiqueData:
		issues := joinSentences(d.Issues)
		lines = append(lines, fmt.Sprintf("%s%s · critique of %s (severity %.1f): %s",
			prefix, e.Agent, d.Target, d.Severity, squashLine(issues, transcriptRunes)))
		next = fmt.Sprintf("round %d of %d · voting…", e.Round, p.rounds)
	case debate.VoteData:
		if d.Valid && d.Resolved != nil {
			lines = append(lines, fmt.Sprintf("%s%s · vote: %s (confidence %.2f)", prefix, e.Agent, *d.Resolved, d.Confidence))
		} else {
			reason := "unresolvable choice"
			if d.InvalidReason != nil {
				reason = *d.InvalidReason
			}
			lines = append(lines, fmt.Sprintf("%s%s · vote: invalid (%s)", prefix, e.Agent, squashLine(reason, 80)))
		}
		next = fmt.Sprintf("round %d of %d · deciding…", e.Round, p.rounds)
	case debate.ConsensusCheckData:
		lines = append(lines, prefix+consensusLine(d, e.Agent))
	case debate.AgentErrorData:
		what := string(d.Phase)
		if d.Target != nil {
			what += " of " + *d.Target
		}
		lines = append(lines, fmt.Sprintf("%s%s · error in %s (%s): %s", prefix, e.Agent, what, d.Kind, squashLine(d.Message, transcriptRunes)))
	case debate.AgentFallbackData:
		lines = append(lines, fmt.Sprintf("%s%s · fallback to %s %s (%s)", prefix, e.Agent, d.To.Provider, d.To.Model, d.Reason))
	case debate.RoundEndData:
		if d.Interrupted {
			lines = append(lines, prefix+"interrupted")
		}
		next = ""
	case debate.DebateEndData:
		next = ""
	}
	p.closeTokens()
	p.clearProgress()
	for _, l := range lines {
		fmt.Fprintln(p.w, l)
	}
	p.setProgress(next)
}

// consensusLine describes a consensus check; by names the judge or
// synthesiser, if any.
func consensusLine(d debate.ConsensusCheckData, by string) string {
	var b strings.Builder
	if by != "" {
		fmt.Fprintf(&b, "consensus (%s, by %s): ", d.Method, by)
	} else {
		fmt.Fprintf(&b, "consensus (%s): ", d.Method)
	}
	if d.Reached {
		b.WriteString("reached")
	} else {
		b.WriteString("not reached")
	}
	if d.Leader != nil && *d.Leader != "" {
		fmt.Fprintf(&b, ", leader %s", *d.Leader)
	}
	fmt.Fprintf(&b, ", confidence %.0f%%", d.Confidence*100)
	if len(d.Dissenting) > 0 {
		fmt.Fprintf(&b, ", dissenting %s", strings.Join(d.Dissenting, ", "))
	}
	if len(d.Abstaining) > 0 {
		fmt.Fprintf(&b, ", abstaining %s", strings.Join(d.Abstaining, ", "))
	}
	if d.Fallback != nil {
		fmt.Fprintf(&b, " (judge failed: %s fallback)", *d.Fallback)
	}
	if d.EarlyStop {
		b.WriteString(" → stopping early")
	}
	return b.String()
}

// token prints a streamed chunk: one line per agent and phase, continued
// while the same agent keeps writing.
func (p *transcriptPrinter) token(e debate.Event) {
	if !p.stream {
		return
	}
	d, ok := e.Data.(debate.AgentTokenData)
	if !ok {
		return
	}
	key := e.Agent + "\x00" + string(d.Phase)
	if key != p.tokenKey {
		p.closeTokens()
		p.clearProgress()
		fmt.Fprintf(p.w, "  … %s (%s): ", e.Agent, d.Phase)
		p.tokenKey = key
	}
	fmt.Fprint(p.w, strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, d.Text))
}

func (p *transcriptPrinter) closeTokens() {
	if p.tokenKey != "" {
		fmt.Fprintln(p.w)
		p.tokenKey = ""
	}
}

// setProgress shows s as the progress line (terminal only).
func (p *transcriptPrinter) setProgress(s string) {
	p.progress = s
	if p.tty && s != "" && p.tokenKey == "" {
		fmt.Fprintf(p.w, "\r\x1b[K⏳ %s", s)
	}
}

// clearProgress erases the progress line (terminal only).
func (p *transcriptPrinter) clearProgress() {
	if p.tty && p.progress != "" {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// finish ends the live transcript: it closes a token line and erases the
// progress line.
func (p *transcriptPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeTokens()
	p.clearProgress()
	p.progress = ""
}

// pluralize returns "1 round", "2 rounds".
func pluralize(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// joinSentences joins items with a space when an item ends a sentence,
// else with "; ".
func joinSentences(items []string) string {
	var b strings.Builder
	for i, it := range items {
		it = strings.TrimSpace(it)
		if i > 0 {
			if prev := strings.TrimSpace(items[i-1]); strings.HasSuffix(prev, ".") || strings.HasSuffix(prev, "!") || strings.HasSuffix(prev, "?") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(it)
	}
	return b.String()
}

// squashLine collapses whitespace and cuts s to max runes at a word boundary
// when one is near, appending "…".
func squashLine(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max-1]
	cut := len(r)
	for i := len(r) - 1; i >= len(r)*2/3; i-- {
		if r[i] == ' ' {
			cut = i
			break
		}
	}
	return strings.TrimRight(string(r[:cut]), " ,;:") + "…"
}

// printSummary prints the outcome of the text format from the debate's
// receipt: verdict, confidence, status, winner, dissent, abstentions, the
// error, the receipt id and the Markdown receipt. A local debate and one
// run on a server (--server, its receipt read from the API) print the
// same summary.
func printSummary(w io.Writer, rc *receipt.Receipt, stopReason debate.StopReason, errMsg, receiptOut string) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Verdict:    %s (%s) %s\n", receipt.VerdictLabel(rc.Verdict), rc.Verdict, receipt.VerdictScope)
	fmt.Fprintf(w, "Confidence: %.0f%%\n", rc.Confidence*100)
	status := rc.Status
	if stopReason != "" {
		status += ", stop reason " + stopReason.String()
	}
	fmt.Fprintf(w, "Status:     %s · %d of %s · %d tokens\n", status, rc.RoundsUsed, pluralize(rc.RoundsPlanned, "round"), rc.Usage.TotalTokens)
	if rc.Winner != "" {
		fmt.Fprintf(w, "Winner:     %s\n", rc.Winner)
	}
	if dissents := rc.DissentingViews(); len(dissents) == 0 {
		fmt.Fprintln(w, "Dissent:    none")
	} else {
		fmt.Fprintln(w, "Dissent:")
		for _, d := range dissents {
			fmt.Fprintf(w, "  - %s (voted %s, %.0f%%): %s\n", d.Agent, d.Choice, d.Confidence*100,
				squashLine(strings.Join(d.Reasons, "; "), transcriptRunes))
		}
	}
	if ab := rc.Consensus.AbstainingAgents; len(ab) > 0 {
		fmt.Fprintf(w, "Abstained:  %s\n", strings.Join(ab, ", "))
	}
	if errMsg != "" {
		fmt.Fprintf(w, "Error:      %s\n", squashLine(errMsg, 400))
	}
	signed := "unsigned"
	if rc.Signature != nil {
		signed = "signed " + rc.Signature.Algorithm + ", key " + rc.Signature.KeyID
	}
	fmt.Fprintf(w, "Receipt:    %s (%s)\n", rc.ReceiptID, signed)
	if receiptOut != "" {
		fmt.Fprintf(w, "Written to: %s\n", receiptOut)
	}
	fmt.Fprintln(w)
	io.WriteString(w, rc.Markdown())
}

// writeReceiptFile writes rc to path: Markdown for .md, HTML for .html,
// else JSON.
func writeReceiptFile(path string, rc *receipt.Receipt) error {
	var b []byte
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md":
		b = []byte(rc.Markdown())
	case ".html":
		b, err = rc.HTML()
	default:
		b, err = rc.JSON()
	}
	if err != nil {
		return fmt.Errorf("debate: receipt: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("debate: --receipt-out: %w", err)
	}
	return nil
}

// debateJSON is the --format json output: {"debate": …, "receipt": …},
// indented, with a trailing newline.
func debateJSON(rec *store.Debate, rc *receipt.Receipt, now time.Time) ([]byte, error) {
	v := struct {
		Debate  *lifecycle.DebateObject `json:"debate"`
		Receipt *receipt.Receipt        `json:"receipt"`
	}{lifecycle.RecordObject(rec, now), rc}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("debate: encode json: %w", err)
	}
	return append(b, '\n'), nil
}
