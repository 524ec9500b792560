package receipt

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
)

// mdText escapes user-derived text for the Markdown export: &, < and >
// become HTML entities, so rendering cannot inject markup.
func mdText(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, c := range []byte(s) {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// mdLine escapes user-derived text and folds it onto one line, so that it
// cannot break the line structure of a label line or a list item.
func mdLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return mdText(s)
}

// percent formats a confidence as a whole percentage ("82%").
func percent(c float64) string { return fmt.Sprintf("%.0f%%", c*100) }

// consensusSummary returns "Reached (majority, 2 of 3 supporting)" or
// "Not reached". The total is the number of agents, or, without agents, the
// supporting, dissenting and abstaining agents together.
func (r *Receipt) consensusSummary() string {
	c := r.Consensus
	if !c.Reached {
		return "Not reached"
	}
	total := len(r.Agents)
	if total == 0 {
		total = len(c.SupportingAgents) + len(c.DissentingAgents) + len(c.AbstainingAgents)
	}
	return fmt.Sprintf("Reached (%s, %d of %d supporting)", c.Method, len(c.SupportingAgents), total)
}

// agentLabel returns "name (model)", or the name alone without a model.
func agentLabel(a Agent) string {
	if a.Model == "" {
		return a.Name
	}
	return a.Name + " (" + a.Model + ")"
}

// signaturePrefix returns the first 16 characters of the signature value.
func signaturePrefix(v string) string {
	if len(v) > 16 {
		return v[:16] + "…"
	}
	return v
}

// Markdown returns the Markdown export (docs/receipts.md): the H1 "Decision
// Receipt <id>", one bold-label line per summary field (Question, Verdict,
// Confidence, Status, Consensus, Agents, Rounds, Winner), then "## Final
// answer", "## Dissenting views" (only when there are dissents) and
// "## Integrity". In every user-derived value <, > and & are escaped as
// HTML entities, so rendering the Markdown cannot inject markup; label
// values and list items are folded onto one line.
func (r *Receipt) Markdown() string {
	var b strings.Builder
	b.WriteString("# Decision Receipt " + mdLine(r.ReceiptID) + "\n\n")
	winner := r.Winner
	if winner == "" {
		winner = "(none)"
	}
	names := make([]string, len(r.Agents))
	for i, a := range r.Agents {
		names[i] = agentLabel(a)
	}
	for _, l := range [...]struct{ label, value string }{
		{"Question", r.Question},
		{"Verdict", VerdictLabel(r.Verdict) + " " + VerdictScope},
		{"Confidence", percent(r.Confidence)},
		{"Status", r.Status},
		{"Consensus", r.consensusSummary()},
		{"Agents", strings.Join(names, ", ")},
		{"Rounds", strconv.Itoa(r.RoundsUsed) + "/" + strconv.Itoa(r.RoundsPlanned)},
		{"Winner", winner},
	} {
		b.WriteString("**" + l.label + ":** " + mdLine(l.value) + "\n\n")
	}
	b.WriteString("## Final answer\n\n")
	if answer := strings.TrimSpace(r.FinalAnswer); answer != "" {
		b.WriteString(mdText(answer) + "\n\n")
	} else {
		b.WriteString("(none)\n\n")
	}
	if dissents := r.DissentingViews(); len(dissents) > 0 {
		b.WriteString("## Dissenting views\n\n")
		for _, d := range dissents {
			fmt.Fprintf(&b, "- **%s** (voted %s, %s): %s\n", mdLine(d.Agent), mdLine(d.Choice),
				percent(d.Confidence), mdLine(strings.Join(d.Reasons, "; ")))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Integrity\n\n")
	hash := r.ContentHash
	if hash == "" {
		hash = "(none: not sealed)"
	}
	b.WriteString("- Content hash: " + mdLine(hash) + "\n")
	if s := r.Signature; s != nil {
		b.WriteString("- Algorithm: " + mdLine(s.Algorithm) + "\n")
		b.WriteString("- Key ID: " + mdLine(s.KeyID) + "\n")
		b.WriteString("- Signature: " + mdLine(signaturePrefix(s.Value)) + "\n")
	} else {
		b.WriteString("- Signature: none (unsigned)\n")
	}
	return b.String()
}

// VerdictScope follows the verdict wherever a receipt is rendered: the
// verdict judges the panel's answer, which may well recommend against the
// question's proposal (docs/receipts.md#format).
const VerdictScope = "(on the panel's answer below, not on the question's proposal)"

// DissentingViews returns the dissents to show: Consensus.Dissents without
// the winner. When agents may not vote for their own proposal, the winner
// votes for another one and the engine lists that vote as a dissent
// (docs/debate.md#consensus); its position is the consensus, so the
// exports and the CLI do not show it under "Dissenting views".
func (r *Receipt) DissentingViews() []Dissent {
	out := make([]Dissent, 0, len(r.Consensus.Dissents))
	for _, d := range r.Consensus.Dissents {
		if r.Winner != "" && d.Agent == r.Winner {
			continue
		}
		out = append(out, d)
	}
	return out
}

// verdictClass returns the CSS class of a verdict; an unknown verdict is
// shown as needing review.
func verdictClass(v Verdict) string {
	switch v {
	case VerdictApproved:
		return "verdict-approved"
	case VerdictApprovedWithConditions:
		return "verdict-conditions"
	case VerdictRejected:
		return "verdict-rejected"
	}
	return "verdict-review"
}

// htmlView is the data of the HTML template.
type htmlView struct {
	R            *Receipt
	VerdictLabel string
	VerdictScope string
	VerdictClass string
	Confidence   string
	Consensus    string
	Rounds       string
	Winner       string
	Created      string
	Started      string
	Ended        string
	Dissents     []htmlDissent
	Agents       []htmlAgent
	Metadata     [][2]string
	SigPrefix    string
	Usage        string
}

type htmlDissent struct {
	Agent, Choice, Confidence, Reasons string
}

type htmlAgent struct {
	Name, Model, Stance, Role, Weight string
}

// HTML returns the HTML export: one self-contained HTML5 page rendered with
// html/template, so every value is escaped for its context. It loads no
// external resource, contains no script, and carries a
// Content-Security-Policy meta tag of "default-src 'none'; style-src
// 'unsafe-inline'". The verdict badge has the class verdict-approved,
// verdict-conditions, verdict-review or verdict-rejected, and the dissent
// table appears only when there are dissents.
func (r *Receipt) HTML() ([]byte, error) {
	tmpl, err := template.New("receipt").Parse(htmlTemplate)
	if err != nil {
		return nil, fmt.Errorf("receipt: html: %w", err)
	}
	v := htmlView{
		R:            r,
		VerdictLabel: VerdictLabel(r.Verdict),
		VerdictScope: VerdictScope,
		VerdictClass: verdictClass(r.Verdict),
		Confidence:   percent(r.Confidence),
		Consensus:    r.consensusSummary(),
		Rounds:       strconv.Itoa(r.RoundsUsed) + "/" + strconv.Itoa(r.RoundsPlanned),
		Winner:       r.Winner,
		Created:      r.CreatedAt.UTC().Format(TimeLayout),
		Started:      r.StartedAt.UTC().Format(TimeLayout),
		Ended:        r.EndedAt.UTC().Format(TimeLayout),
		Usage: fmt.Sprintf("%d input + %d output = %d tokens, $%.6f", r.Usage.InputTokens,
			r.Usage.OutputTokens, r.Usage.TotalTokens, r.Usage.CostUSD),
	}
	if v.Winner == "" {
		v.Winner = "(none)"
	}
	for _, d := range r.DissentingViews() {
		v.Dissents = append(v.Dissents, htmlDissent{d.Agent, d.Choice, percent(d.Confidence), strings.Join(d.Reasons, "; ")})
	}
	for _, a := range r.Agents {
		v.Agents = append(v.Agents, htmlAgent{a.Name, a.Model, a.Stance, a.Role, strconv.FormatFloat(a.Weight, 'g', -1, 64)})
	}
	keys := make([]string, 0, len(r.Metadata))
	for k := range r.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.Metadata = append(v.Metadata, [2]string{k, r.Metadata[k]})
	}
	if r.Signature != nil {
		v.SigPrefix = signaturePrefix(r.Signature.Value)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("receipt: html: %w", err)
	}
	return buf.Bytes(), nil
}

const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Decision Receipt {{.R.ReceiptID}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:860px;margin:2rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;margin-top:0}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e3e6eb;padding-bottom:.3rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.4rem .6rem;border-bottom:1px solid #eef0f3}
th{width:11rem;color:#4a5263;font-weight:600}
.verdict{display:inline-block;padding:.3rem .8rem;border-radius:999px;font-weight:700}
.verdict-approved{background:#dcf5e3;color:#11642d}
.verdict-conditions{background:#fff2cc;color:#7a5400}
.verdict-review{background:#e3ecff;color:#1f4aa8}
.verdict-rejected{background:#fde2e1;color:#a11b16}
.answer{white-space:pre-wrap;background:#f8f9fb;border:1px solid #e3e6eb;border-radius:6px;padding:1rem}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
</style>
</head>
<body>
<main>
<h1>Decision Receipt <code>{{.R.ReceiptID}}</code></h1>
<p><span class="verdict {{.VerdictClass}}">{{.VerdictLabel}}</span></p>
<table class="summary">
<tr><th>Question</th><td>{{.R.Question}}</td></tr>
<tr><th>Verdict</th><td>{{.VerdictLabel}} {{.VerdictScope}}</td></tr>
<tr><th>Confidence</th><td>{{.Confidence}}</td></tr>
<tr><th>Status</th><td>{{.R.Status}}</td></tr>
<tr><th>Consensus</th><td>{{.Consensus}}</td></tr>
<tr><th>Rounds</th><td>{{.Rounds}}</td></tr>
<tr><th>Winner</th><td>{{.Winner}}</td></tr>
<tr><th>Debate</th><td><code>{{.R.DebateID}}</code></td></tr>
<tr><th>Created</th><td>{{.Created}}</td></tr>
<tr><th>Started / ended</th><td>{{.Started}} / {{.Ended}} ({{.R.DurationMS}} ms)</td></tr>
<tr><th>Usage</th><td>{{.Usage}}</td></tr>
</table>
<h2>Final answer</h2>
<div class="answer">{{.R.FinalAnswer}}</div>
{{- if .Dissents}}
<h2>Dissenting views</h2>
<table class="dissents">
<tr><th>Agent</th><th>Choice</th><th>Confidence</th><th>Reasons</th></tr>
{{- range .Dissents}}
<tr><td>{{.Agent}}</td><td>{{.Choice}}</td><td>{{.Confidence}}</td><td>{{.Reasons}}</td></tr>
{{- end}}
</table>
{{- end}}
<h2>Agents</h2>
<table class="agents">
<tr><th>Name</th><th>Model</th><th>Stance</th><th>Role</th><th>Weight</th></tr>
{{- range .Agents}}
<tr><td>{{.Name}}</td><td>{{.Model}}</td><td>{{.Stance}}</td><td>{{.Role}}</td><td>{{.Weight}}</td></tr>
{{- end}}
</table>
{{- if .Metadata}}
<h2>Metadata</h2>
<table class="metadata">
{{- range .Metadata}}
<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{- end}}
</table>
{{- end}}
<h2>Integrity</h2>
<table class="integrity">
<tr><th>Content hash</th><td><code>{{.R.ContentHash}}</code></td></tr>
{{- if .R.Signature}}
<tr><th>Algorithm</th><td>{{.R.Signature.Algorithm}}</td></tr>
<tr><th>Key ID</th><td><code>{{.R.Signature.KeyID}}</code></td></tr>
<tr><th>Signature</th><td><code>{{.SigPrefix}}</code></td></tr>
{{- else}}
<tr><th>Signature</th><td>none (unsigned)</td></tr>
{{- end}}
</table>
</main>
</body>
</html>
`
