package debate

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	"github.com/aragora/aragora/receipt"
)

// BuildReceipt builds the decision receipt of a finished debate (docs/receipts.md),
// created at res.EndedAt, signed when opts.Signer is set, else
// sealed with its content hash only.
func (res *Result) BuildReceipt(opts ReceiptOptions) (*receipt.Receipt, error) {
	created := res.EndedAt
	rd := opts.Rand
	if rd == nil {
		rd = rand.Reader
	}
	id, err := receipt.NewID(created, rd)
	if err != nil {
		return nil, fmt.Errorf("debate: receipt id: %w", err)
	}
	ctxHash := ""
	if res.Context != "" {
		sum := sha256.Sum256([]byte(res.Context))
		ctxHash = hex.EncodeToString(sum[:])
	}
	dissents := make([]receipt.Dissent, 0, len(res.Consensus.Dissents))
	for _, d := range res.Consensus.Dissents {
		dissents = append(dissents, receipt.Dissent{Agent: d.Agent, Choice: d.Choice, Confidence: d.Confidence, Reasons: d.Reasons})
	}
	var threshold *float64
	if res.Method != "judge" && res.Method != "none" {
		threshold = res.Consensus.Threshold
	}
	md := map[string]string{}
	maps.Copy(md, res.Metadata)
	if len(res.MemoryIDs) > 0 {
		md["memory_ids"] = strings.Join(res.MemoryIDs, ",")
	}
	rc := &receipt.Receipt{
		Schema: receipt.Schema, ReceiptID: id, DebateID: res.DebateID, CreatedAt: created.UTC(),
		Question: res.Question, ContextSHA256: ctxHash, Status: res.Status.String(), Verdict: res.Verdict,
		Confidence: res.Confidence, FinalAnswer: res.FinalAnswer, Winner: res.Winner,
		Consensus: receipt.Consensus{Method: res.Method.String(), Reached: res.Consensus.Reached, LeaderShare: res.Consensus.LeaderShare,
			Threshold: threshold, SupportingAgents: nonNil(res.Consensus.Supporting), DissentingAgents: nonNil(res.Consensus.Dissenting),
			AbstainingAgents: nonNil(res.Consensus.Abstaining), Dissents: dissents},
		Agents:        append([]receipt.Agent{}, res.Agents...),
		RoundsPlanned: res.RoundsPlanned, RoundsUsed: res.RoundsUsed, TricksterInterventions: res.TricksterInterventions,
		Convergence: receipt.Convergence{Detected: res.ConvergenceDetected, FinalSimilarity: res.FinalSimilarity},
		Usage: receipt.Usage{InputTokens: res.Usage.InputTokens, OutputTokens: res.Usage.OutputTokens,
			TotalTokens: res.Usage.TotalTokens, CostUSD: res.CostUSD},
		StartedAt: res.StartedAt.UTC(), EndedAt: res.EndedAt.UTC(), DurationMS: res.Duration.Milliseconds(), Metadata: md,
	}
	if opts.Signer != nil {
		if err := rc.Sign(opts.Signer); err != nil {
			return nil, fmt.Errorf("debate: sign receipt: %w", err)
		}
	} else if err := rc.Seal(); err != nil {
		return nil, fmt.Errorf("debate: seal receipt: %w", err)
	}
	return rc, nil
}
