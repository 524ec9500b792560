package receipt_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/receipt"
)

const xss = "<img src=x onerror=alert(1)>"

// hostile returns a signed receipt with markup in every user-derived field.
func hostile(t *testing.T) *receipt.Receipt {
	t.Helper()
	r := sample()
	r.Question = xss
	r.FinalAnswer = "Answer " + xss + "\n<script>alert(2)</script> & more"
	r.Winner = "winner " + xss
	r.Status = xss
	r.Consensus.Method = xss
	r.Consensus.Dissents[0] = receipt.Dissent{Agent: xss, Choice: xss, Confidence: 0.7, Reasons: []string{xss, "</td><img src=y>"}}
	r.Agents[0].Name = xss
	r.Agents[0].Model = xss
	r.Agents[1].Role = xss
	r.Metadata[xss] = xss
	r.ReceiptID = xss
	hs, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(t, err)
	require.NoError(t, r.Sign(hs))
	return r
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	r := sample()
	hs, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(t, err)
	require.NoError(t, r.Sign(hs))
	md := r.Markdown()

	assert.True(t, strings.HasPrefix(md, "# Decision Receipt DR-20240115-a3f8c2\n"))
	for _, want := range []string{
		"**Question:** Should we migrate the billing service to Postgres?\n",
		"**Verdict:** Approved with conditions (on the panel's answer below, not on the question's proposal)\n",
		"**Confidence:** 82%\n",
		"**Status:** consensus_reached\n",
		"**Consensus:** Reached (weighted, 2 of 3 supporting)\n",
		"**Agents:** claude (claude-sonnet-4-5), gpt-4 (gpt-4o), gemini (gemini-2.5-pro)\n",
		"**Rounds:** 2/3\n",
		"**Winner:** claude\n",
		"## Final answer\n\nMigrate in two phases …\n",
		"## Dissenting views\n\n- **gemini** (voted gemini, 70%): cost estimate ignores egress\n",
		"## Integrity\n",
		"- Content hash: " + r.ContentHash + "\n",
		"- Algorithm: HMAC-SHA256\n",
		"- Key ID: " + hs.KeyID() + "\n",
		"- Signature: " + r.Signature.Value[:16] + "…\n",
	} {
		assert.Contains(t, md, want)
	}
	// Sections in order.
	order := []string{"**Question:**", "**Verdict:**", "**Confidence:**", "**Status:**", "**Consensus:**", "**Agents:**",
		"**Rounds:**", "**Winner:**", "## Final answer", "## Dissenting views", "## Integrity"}
	pos := 0
	for _, s := range order {
		i := strings.Index(md[pos:], s)
		require.GreaterOrEqual(t, i, 0, "%q out of order", s)
		pos += i
	}
}

func TestMarkdownVariants(t *testing.T) {
	t.Parallel()
	r := sample()
	r.Consensus = receipt.Consensus{Method: "none"}
	r.Winner = ""
	r.Verdict = receipt.VerdictRejected
	r.Confidence = 0.255
	md := r.Markdown()
	assert.NotContains(t, md, "## Dissenting views", "no dissents, no section")
	assert.Contains(t, md, "**Consensus:** Not reached\n")
	assert.Contains(t, md, "**Winner:** (none)\n")
	assert.Contains(t, md, "**Verdict:** Rejected (on the panel's answer below, not on the question's proposal)\n")
	assert.Contains(t, md, "**Confidence:** 26%\n")
	assert.Contains(t, md, "- Signature: none (unsigned)\n")

	var zero receipt.Receipt
	assert.NotPanics(t, func() { _ = zero.Markdown() })
}

func TestMarkdownEscapes(t *testing.T) {
	t.Parallel()
	md := hostile(t).Markdown()
	assert.NotContains(t, md, "<img")
	assert.NotContains(t, md, "<script")
	assert.NotContains(t, md, "</td>")
	assert.Contains(t, md, "**Question:** &lt;img src=x onerror=alert(1)&gt;\n")
	assert.Contains(t, md, "&lt;script&gt;alert(2)&lt;/script&gt; &amp; more")
	assert.Contains(t, md, "- **&lt;img src=x onerror=alert(1)&gt;** (voted &lt;img")

	r := sample()
	r.Question = "line one\n# Injected heading\nline three"
	assert.Contains(t, r.Markdown(), "**Question:** line one # Injected heading line three\n", "label values stay on one line")
}

func TestHTML(t *testing.T) {
	t.Parallel()
	r := sample()
	ed := receipt.NewEd25519Signer(edKey(5))
	require.NoError(t, r.Sign(ed))
	out, err := r.HTML()
	require.NoError(t, err)
	page := string(out)

	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Contains(t, page, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`)
	assert.NotContains(t, strings.ToLower(page), "<script")
	assert.NotContains(t, page, "src=", "no external resource")
	assert.NotContains(t, page, "href=", "no external resource")
	assert.NotContains(t, page, "@import")
	assert.Contains(t, page, `class="verdict verdict-conditions"`)
	assert.Contains(t, page, "Approved with conditions")
	assert.Contains(t, page, `<table class="dissents">`)
	assert.Contains(t, page, "cost estimate ignores egress")
	assert.Contains(t, page, r.ContentHash)
	assert.Contains(t, page, ed.KeyID())
	assert.Contains(t, page, "OPS-123")
}

func TestHTMLVerdictClasses(t *testing.T) {
	t.Parallel()
	tests := map[receipt.Verdict]string{
		receipt.VerdictApproved:               "verdict-approved",
		receipt.VerdictApprovedWithConditions: "verdict-conditions",
		receipt.VerdictNeedsReview:            "verdict-review",
		receipt.VerdictRejected:               "verdict-rejected",
		"unknown":                             "verdict-review",
	}
	for verdict, class := range tests {
		t.Run(verdict.String(), func(t *testing.T) {
			t.Parallel()
			r := sample()
			r.Verdict = verdict
			out, err := r.HTML()
			require.NoError(t, err)
			assert.Contains(t, string(out), `class="verdict `+class+`"`)
		})
	}
}

func TestHTMLDissentTableOnlyWithDissents(t *testing.T) {
	t.Parallel()
	r := sample()
	r.Consensus.Dissents = nil
	out, err := r.HTML()
	require.NoError(t, err)
	assert.NotContains(t, string(out), "dissents")
	assert.NotContains(t, string(out), "Dissenting views")
	assert.Contains(t, string(out), "none (unsigned)")

	var zero receipt.Receipt
	_, err = zero.HTML()
	assert.NoError(t, err)
}

func TestHTMLEscapes(t *testing.T) {
	t.Parallel()
	out, err := hostile(t).HTML()
	require.NoError(t, err)
	page := string(out)
	assert.NotContains(t, page, "<img")
	assert.NotContains(t, strings.ToLower(page), "<script")
	assert.Contains(t, page, "&lt;img src=x onerror=alert(1)&gt;")
	assert.NotContains(t, page, "</td><img")
}

// TestWinnerNeverRenderedAsDissenting: a receipt listing its winner among
// the dissents (as the engine did for a winner that voted for another
// proposal) renders without it, in Markdown and HTML; the verdict says
// what it judges, so "Approved" above an answer that recommends rejecting
// the proposal reads as it is meant.
func TestWinnerNeverRenderedAsDissenting(t *testing.T) {
	t.Parallel()
	r := sample()
	r.FinalAnswer = "I would not proceed: reject the migration."
	r.Consensus.Dissents = append([]receipt.Dissent{{Agent: r.Winner, Choice: "gpt-4", Confidence: 0.6, Reasons: []string{"gpt-4's is best"}}},
		r.Consensus.Dissents...)
	want := []receipt.Dissent{r.Consensus.Dissents[1]}
	assert.Equal(t, want, r.DissentingViews())
	md := r.Markdown()
	assert.NotContains(t, md, "- **claude**", "the winner is not a dissenting view")
	assert.Contains(t, md, "## Dissenting views\n\n- **gemini** (voted gemini, 70%): cost estimate ignores egress\n\n")
	assert.Contains(t, md, "**Verdict:** Approved with conditions (on the panel's answer below, not on the question's proposal)\n")
	page, err := r.HTML()
	require.NoError(t, err)
	assert.NotContains(t, string(page), "<td>claude</td><td>gpt-4</td>")
	assert.Contains(t, string(page), "<td>gemini</td>")
	assert.Contains(t, string(page), "on the panel&#39;s answer below, not on the question&#39;s proposal")

	r.Consensus.Dissents = r.Consensus.Dissents[:1] // the winner only
	assert.Empty(t, r.DissentingViews())
	assert.NotContains(t, r.Markdown(), "## Dissenting views")
}
