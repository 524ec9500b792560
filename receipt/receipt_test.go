package receipt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/receipt"
)

// tenth is a variable, so that tenth + 2*tenth is computed in float64
// (0.30000000000000004), not as an exact constant.
var tenth = 0.1

func ptr[T any](v T) *T { return &v }

// sample returns a fully populated receipt; every call returns a fresh copy.
func sample() *receipt.Receipt {
	start := time.Date(2024, 1, 15, 10, 30, 0, 20_123_456, time.UTC)
	end := time.Date(2024, 1, 15, 10, 31, 2, 500_999_999, time.UTC)
	return &receipt.Receipt{
		Schema:        receipt.Schema,
		ReceiptID:     "DR-20240115-a3f8c2",
		DebateID:      "deb_01hq3z8k2m4n6p8r0t2v4x6z8b",
		CreatedAt:     end,
		Question:      "Should we migrate the billing service to Postgres?",
		ContextSHA256: receipt.HashContext("billing runs on MySQL 5.7"),
		Status:        "consensus_reached",
		Verdict:       receipt.VerdictApprovedWithConditions,
		Confidence:    0.82,
		FinalAnswer:   "Migrate in two phases …",
		Winner:        "claude",
		Consensus: receipt.Consensus{
			Method:           "weighted",
			Reached:          true,
			LeaderShare:      0.82,
			Threshold:        ptr(0.6),
			SupportingAgents: []string{"claude", "gpt-4"},
			DissentingAgents: []string{"gemini"},
			Dissents: []receipt.Dissent{
				{Agent: "gemini", Choice: "gemini", Confidence: 0.7, Reasons: []string{"cost estimate ignores egress"}},
			},
		},
		Agents: []receipt.Agent{
			{Name: "claude", Model: "claude-sonnet-4-5", Stance: "neutral", Weight: 1},
			{Name: "gpt-4", Model: "gpt-4o", Stance: "affirmative", Role: "critic", Weight: 1.25},
			{Name: "gemini", Model: "gemini-2.5-pro", Stance: "negative", Weight: tenth + 2*tenth},
		},
		RoundsPlanned:          3,
		RoundsUsed:             2,
		TricksterInterventions: 1,
		Convergence:            receipt.Convergence{Detected: false, FinalSimilarity: 0.41},
		Usage:                  receipt.Usage{InputTokens: 48211, OutputTokens: 9310, TotalTokens: 57521, CostUSD: 0.284113},
		StartedAt:              start,
		EndedAt:                end,
		DurationMS:             62480,
		Metadata:               map[string]string{"ticket": "OPS-123", "team": "billing"},
	}
}

func sealed(t *testing.T) *receipt.Receipt {
	t.Helper()
	r := sample()
	require.NoError(t, r.Seal())
	return r
}

func TestNewID(t *testing.T) {
	t.Parallel()
	local := time.FixedZone("UTC+10", 10*3600)
	// 2026-02-12 05:00 at UTC+10 is still 2026-02-11 in UTC.
	id, err := receipt.NewID(time.Date(2026, 2, 12, 5, 0, 0, 0, local), bytes.NewReader([]byte{0xa3, 0xf8, 0xc2}))
	require.NoError(t, err)
	assert.Equal(t, "DR-20260211-a3f8c2", id)

	id, err = receipt.NewID(time.Now(), nil) // crypto/rand
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^DR-\d{8}-[0-9a-f]{6}$`), id)

	_, err = receipt.NewID(time.Now(), bytes.NewReader([]byte{1, 2}))
	assert.Error(t, err, "short random reader")
}

func TestHashContext(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "", receipt.HashContext(""))
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", receipt.HashContext("abc"))
}

func TestVerdictLabel(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"approved":                 "Approved",
		"approved_with_conditions": "Approved with conditions",
		"needs_review":             "Needs review",
		"rejected":                 "Rejected",
		"something_else":           "something_else",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, want, receipt.VerdictLabel(receipt.Verdict(in)))
			v, err := receipt.ParseVerdict(in)
			if in == "something_else" {
				assert.Error(t, err, "unknown verdicts are rejected")
				return
			}
			require.NoError(t, err)
			text, _ := v.MarshalText()
			assert.Equal(t, in, string(text))
		})
	}
}

func TestSeal(t *testing.T) {
	t.Parallel()
	r := sample()
	assert.False(t, r.VerifyHash(), "unsealed")
	require.NoError(t, r.Seal())
	assert.Regexp(t, regexp.MustCompile(`^sha256:[0-9a-f]{64}$`), r.ContentHash)
	assert.True(t, r.VerifyHash())
	assert.Nil(t, r.Signature, "sealing does not sign")

	again := sample()
	require.NoError(t, again.Seal())
	assert.Equal(t, r.ContentHash, again.ContentHash, "deterministic")

	// The hash covers the millisecond form of timestamps only.
	again.StartedAt = again.StartedAt.Add(100 * time.Microsecond)
	assert.True(t, again.VerifyHash())

	var zero receipt.Receipt
	require.NoError(t, zero.Seal())
	assert.Equal(t, receipt.Schema, zero.Schema)
	assert.True(t, zero.VerifyHash())
	var nilReceipt *receipt.Receipt
	assert.False(t, nilReceipt.VerifyHash())
}

func TestSealRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]func(r *receipt.Receipt){
		"NaN confidence":        func(r *receipt.Receipt) { r.Confidence = nan() },
		"infinite cost":         func(r *receipt.Receipt) { r.Usage.CostUSD = inf() },
		"NaN dissent":           func(r *receipt.Receipt) { r.Consensus.Dissents[0].Confidence = nan() },
		"year 10000":            func(r *receipt.Receipt) { r.EndedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"negative year created": func(r *receipt.Receipt) { r.CreatedAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := sample()
			mutate(r)
			assert.Error(t, r.Seal())
			_, err := r.JSON()
			assert.Error(t, err)
		})
	}
}

func nan() float64 { z := 0.0; return z / z }
func inf() float64 { z := 0.0; return 1 / z }

// mutations changes every field of a sealed receipt, one at a time.
func mutations() map[string]func(r *receipt.Receipt) {
	return map[string]func(r *receipt.Receipt){
		"schema":                     func(r *receipt.Receipt) { r.Schema += "x" },
		"receipt_id":                 func(r *receipt.Receipt) { r.ReceiptID = "DR-20240115-000000" },
		"debate_id":                  func(r *receipt.Receipt) { r.DebateID += "x" },
		"created_at":                 func(r *receipt.Receipt) { r.CreatedAt = r.CreatedAt.Add(time.Millisecond) },
		"question":                   func(r *receipt.Receipt) { r.Question += "?" },
		"context_sha256":             func(r *receipt.Receipt) { r.ContextSHA256 = "" },
		"status":                     func(r *receipt.Receipt) { r.Status = "no_consensus" },
		"verdict":                    func(r *receipt.Receipt) { r.Verdict = receipt.VerdictApproved },
		"confidence":                 func(r *receipt.Receipt) { r.Confidence = 0.8200000000000001 },
		"final_answer":               func(r *receipt.Receipt) { r.FinalAnswer = "Stay on MySQL" },
		"winner":                     func(r *receipt.Receipt) { r.Winner = "gpt-4" },
		"consensus.method":           func(r *receipt.Receipt) { r.Consensus.Method = "majority" },
		"consensus.reached":          func(r *receipt.Receipt) { r.Consensus.Reached = false },
		"consensus.leader_share":     func(r *receipt.Receipt) { r.Consensus.LeaderShare = 0.5 },
		"consensus.threshold":        func(r *receipt.Receipt) { r.Consensus.Threshold = ptr(0.66) },
		"consensus.threshold null":   func(r *receipt.Receipt) { r.Consensus.Threshold = nil },
		"consensus.supporting":       func(r *receipt.Receipt) { r.Consensus.SupportingAgents = []string{"claude"} },
		"consensus.supporting order": func(r *receipt.Receipt) { r.Consensus.SupportingAgents = []string{"gpt-4", "claude"} },
		"consensus.dissenting":       func(r *receipt.Receipt) { r.Consensus.DissentingAgents = nil },
		"consensus.abstaining":       func(r *receipt.Receipt) { r.Consensus.AbstainingAgents = []string{"x"} },
		"dissent.agent":              func(r *receipt.Receipt) { r.Consensus.Dissents[0].Agent = "x" },
		"dissent.choice":             func(r *receipt.Receipt) { r.Consensus.Dissents[0].Choice = "claude" },
		"dissent.confidence":         func(r *receipt.Receipt) { r.Consensus.Dissents[0].Confidence = 0.71 },
		"dissent.reasons": func(r *receipt.Receipt) {
			r.Consensus.Dissents[0].Reasons = append(r.Consensus.Dissents[0].Reasons, "x")
		},
		"dissents removed":        func(r *receipt.Receipt) { r.Consensus.Dissents = nil },
		"agent.name":              func(r *receipt.Receipt) { r.Agents[0].Name = "claude2" },
		"agent.model":             func(r *receipt.Receipt) { r.Agents[0].Model = "claude-opus" },
		"agent.stance":            func(r *receipt.Receipt) { r.Agents[1].Stance = "negative" },
		"agent.role":              func(r *receipt.Receipt) { r.Agents[1].Role = "" },
		"agent.weight":            func(r *receipt.Receipt) { r.Agents[2].Weight = 0.3 },
		"agents order":            func(r *receipt.Receipt) { r.Agents[0], r.Agents[1] = r.Agents[1], r.Agents[0] },
		"rounds_planned":          func(r *receipt.Receipt) { r.RoundsPlanned++ },
		"rounds_used":             func(r *receipt.Receipt) { r.RoundsUsed++ },
		"trickster_interventions": func(r *receipt.Receipt) { r.TricksterInterventions = 0 },
		"convergence.detected":    func(r *receipt.Receipt) { r.Convergence.Detected = true },
		"convergence.similarity":  func(r *receipt.Receipt) { r.Convergence.FinalSimilarity = 0.42 },
		"usage.input_tokens":      func(r *receipt.Receipt) { r.Usage.InputTokens++ },
		"usage.output_tokens":     func(r *receipt.Receipt) { r.Usage.OutputTokens++ },
		"usage.total_tokens":      func(r *receipt.Receipt) { r.Usage.TotalTokens++ },
		"usage.cost_usd":          func(r *receipt.Receipt) { r.Usage.CostUSD = 0.284114 },
		"started_at":              func(r *receipt.Receipt) { r.StartedAt = r.StartedAt.Add(-time.Second) },
		"ended_at":                func(r *receipt.Receipt) { r.EndedAt = r.EndedAt.Add(time.Millisecond) },
		"duration_ms":             func(r *receipt.Receipt) { r.DurationMS++ },
		"metadata value":          func(r *receipt.Receipt) { r.Metadata["ticket"] = "OPS-124" },
		"metadata key added":      func(r *receipt.Receipt) { r.Metadata["extra"] = "" },
		"metadata key removed":    func(r *receipt.Receipt) { delete(r.Metadata, "team") },
	}
}

func TestHashChangesOnEveryField(t *testing.T) {
	t.Parallel()
	for name, mutate := range mutations() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := sealed(t)
			before := r.ContentHash
			mutate(r)
			assert.False(t, r.VerifyHash(), "stale hash must not verify")
			require.NoError(t, r.Seal())
			assert.NotEqual(t, before, r.ContentHash)
		})
	}
}

func TestJSONExport(t *testing.T) {
	t.Parallel()
	r := sealed(t)
	out, err := r.JSON()
	require.NoError(t, err)
	s := string(out)

	assert.True(t, strings.HasSuffix(s, "}\n"), "trailing newline")
	assert.True(t, strings.HasPrefix(s, "{\n  \"schema\": \"aragora.decision_receipt.v1\",\n  \"receipt_id\": "), "2-space indent, schema first")
	assert.True(t, json.Valid(out))

	// Field order of docs/receipts.md.
	order := []string{"schema", "receipt_id", "debate_id", "created_at", "question", "context_sha256", "status", "verdict",
		"confidence", "final_answer", "winner", "consensus", "method", "reached", "leader_share", "threshold",
		"supporting_agents", "dissenting_agents", "abstaining_agents", "dissents", "agents", "name", "model", "stance",
		"role", "weight", "rounds_planned", "rounds_used", "trickster_interventions", "convergence", "detected",
		"final_similarity", "usage", "input_tokens", "output_tokens", "total_tokens", "cost_usd", "started_at",
		"ended_at", "duration_ms", "metadata", "content_hash", "signature"}
	pos := 0
	for _, k := range order {
		i := strings.Index(s[pos:], `"`+k+`":`)
		require.GreaterOrEqual(t, i, 0, "field %q out of order", k)
		pos += i
	}

	for _, want := range []string{
		`"created_at": "2024-01-15T10:31:02.500Z"`,
		`"started_at": "2024-01-15T10:30:00.020Z"`,
		`"confidence": 0.82`,
		`"threshold": 0.6`,
		`"abstaining_agents": []`,
		"\"weight\": 1\n",
		`"weight": 0.30000000000000004`,
		`"cost_usd": 0.284113`,
		`"duration_ms": 62480`,
		`"final_answer": "Migrate in two phases …"`,
		"\"metadata\": {\n    \"team\": \"billing\",\n    \"ticket\": \"OPS-123\"\n  }",
		`"signature": null`,
		`"content_hash": "` + r.ContentHash + `"`,
	} {
		assert.Contains(t, s, want)
	}
}

func TestJSONExportEmptyValues(t *testing.T) {
	t.Parallel()
	var r receipt.Receipt
	require.NoError(t, r.Seal())
	out, err := r.JSON()
	require.NoError(t, err)
	s := string(out)
	for _, want := range []string{
		`"supporting_agents": []`, `"dissents": []`, `"agents": []`, `"metadata": {}`,
		`"threshold": null`, `"signature": null`, `"created_at": "0001-01-01T00:00:00.000Z"`,
	} {
		assert.Contains(t, s, want)
	}
	back, err := receipt.Parse(out)
	require.NoError(t, err)
	assert.True(t, back.VerifyHash())
}

func TestJSONDoesNotEscapeHTML(t *testing.T) {
	t.Parallel()
	r := sample()
	r.Question = "a < b && c > d"
	out, err := r.JSON()
	require.NoError(t, err)
	assert.Contains(t, string(out), `"question": "a < b && c > d"`)
}

func TestExportParseRoundTrip(t *testing.T) {
	t.Parallel()
	r := sample()
	// Floats whose shortest form needs 17 digits, and awkward strings.
	r.Confidence = tenth + 2*tenth
	r.Usage.CostUSD = 1e-7
	r.Convergence.FinalSimilarity = 5e-324
	r.Question = "\u2028 \U0001F600 \x00 \"q\" <img> bad\xff utf8"
	r.Metadata["k\U0001F600"] = "v\n"
	require.NoError(t, r.Seal())
	out, err := r.JSON()
	require.NoError(t, err)

	back, err := receipt.Parse(out)
	require.NoError(t, err)
	assert.True(t, back.VerifyHash())
	assert.Equal(t, r.ContentHash, back.ContentHash)
	assert.Equal(t, r.Confidence, back.Confidence)
	assert.Equal(t, r.Usage.CostUSD, back.Usage.CostUSD)
	assert.Equal(t, r.Convergence.FinalSimilarity, back.Convergence.FinalSimilarity)
	assert.Equal(t, r.Consensus.Threshold, back.Consensus.Threshold)
	assert.Equal(t, r.Agents, back.Agents)
	assert.Equal(t, r.CreatedAt.Truncate(time.Millisecond), back.CreatedAt)
	assert.Equal(t, time.UTC, back.CreatedAt.Location())

	again, err := back.JSON()
	require.NoError(t, err)
	assert.Equal(t, string(out), string(again), "export is stable through a round trip")
}

func TestMarshalJSONEmbedded(t *testing.T) {
	t.Parallel()
	r := sealed(t)
	type wrapper struct {
		Receipt  *receipt.Receipt `json:"receipt"`
		ByValue  receipt.Receipt  `json:"by_value"`
		Optional *receipt.Receipt `json:"optional"`
	}
	out, err := json.Marshal(wrapper{Receipt: r, ByValue: *r})
	require.NoError(t, err)
	assert.Contains(t, string(out), `"receipt":{"schema":"aragora.decision_receipt.v1","receipt_id":"DR-20240115-a3f8c2"`)
	assert.Contains(t, string(out), `"by_value":{"schema":`)
	assert.Contains(t, string(out), `"optional":null`)

	var back wrapper
	require.NoError(t, json.Unmarshal(out, &back))
	require.NotNil(t, back.Receipt)
	assert.True(t, back.Receipt.VerifyHash())
	assert.True(t, back.ByValue.VerifyHash())
	assert.Nil(t, back.Optional)

	// Canonical of a receipt value is the canonical form of its full JSON.
	c1, err := receipt.Canonical(r)
	require.NoError(t, err)
	c2, err := receipt.Canonical(json.RawMessage(out[bytes.Index(out, []byte(`{"schema"`)):bytes.Index(out, []byte(`,"by_value"`))]))
	require.NoError(t, err)
	assert.Equal(t, string(c2), string(c1))
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	good, err := sealed(t).JSON()
	require.NoError(t, err)
	edit := func(old, replacement string) []byte {
		require.Contains(t, string(good), old)
		return []byte(strings.Replace(string(good), old, replacement, 1))
	}
	tests := map[string][]byte{
		"empty":          nil,
		"null":           []byte("null"),
		"array":          []byte("[]"),
		"not JSON":       []byte("{"),
		"trailing data":  append(append([]byte{}, good...), []byte("{}")...),
		"wrong schema":   edit(`"aragora.decision_receipt.v1"`, `"aragora.decision_receipt.v2"`),
		"missing field":  edit(`"winner": "claude",`, ``),
		"unknown field":  edit(`"winner": "claude",`, `"winner": "claude", "extra": 1,`),
		"unknown nested": edit(`"detected": false,`, `"detected": false, "x": 1,`),
		"bad time":       edit(`"2024-01-15T10:30:00.020Z"`, `"yesterday"`),
		"wrong type":     edit(`"rounds_used": 2`, `"rounds_used": "2"`),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := receipt.Parse(data)
			require.Error(t, err)
			assert.True(t, errors.Is(err, receipt.ErrMalformed), "error %v should wrap ErrMalformed", err)
		})
	}
}

func BenchmarkSealSign(b *testing.B) {
	hs, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(b, err)
	ed := receipt.NewEd25519Signer(edKey(1))
	for _, s := range []receipt.Signer{hs, ed} {
		b.Run(s.Algorithm(), func(b *testing.B) {
			r := sample()
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Seal(); err != nil {
					b.Fatal(err)
				}
				if err := r.Sign(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	hs, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(b, err)
	r := sample()
	require.NoError(b, r.Sign(hs))
	b.ReportAllocs()
	for b.Loop() {
		if !receipt.Verify(r, hmacKey) {
			b.Fatal("not verified")
		}
	}
}
