package receipt

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendHashedMatchesCanonical compares the direct canonical writer
// with Canonical of the hashed tree on random receipts: the same bytes, or
// a fallback (false) exactly when the general path fails or a metadata key
// is not valid UTF-8.
func TestAppendHashedMatchesCanonical(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(13, 5))
	pieces := []string{"", "a", "agent-1", "Ω", "😀", "\x00", "\n", "\t", "\"", "\\", "\x7f", "\xff", "\xe2\x82", "<&>", "\u2028", "```", " "}
	str := func() string {
		s := ""
		for range rng.IntN(4) {
			s += pieces[rng.IntN(len(pieces))]
		}
		return s
	}
	strs := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		s := make([]string, 1+rng.IntN(3))
		for i := range s {
			s[i] = str()
		}
		return s
	}
	nums := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e21, 1e-7, 123456789.125, 5e-324, math.MaxFloat64, 0.1, 2.5e-6}
	num := func() float64 {
		switch rng.IntN(300) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1 - 2*rng.IntN(2))
		}
		if rng.IntN(2) == 0 {
			return nums[rng.IntN(len(nums))]
		}
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(30)-15))
	}
	tm := func() time.Time {
		if rng.IntN(30) == 0 {
			return time.Date(10000+rng.IntN(3), 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if rng.IntN(30) == 0 {
			return time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return time.Unix(rng.Int64N(1<<35), rng.Int64N(1e9)).In(time.FixedZone("x", 3600*(rng.IntN(25)-12)))
	}
	direct := 0
	for i := range 3000 {
		r := &Receipt{Schema: str(), ReceiptID: str(), DebateID: str(), CreatedAt: tm(), Question: str(),
			ContextSHA256: str(), Status: str(), Verdict: Verdict(str()), Confidence: num(), FinalAnswer: str(),
			Winner: str(), RoundsPlanned: rng.IntN(1 << 20), RoundsUsed: rng.IntN(5) - 1, TricksterInterventions: rng.IntN(9),
			Convergence: Convergence{Detected: rng.IntN(2) == 0, FinalSimilarity: num()},
			Usage:       Usage{InputTokens: rng.IntN(1 << 30), OutputTokens: rng.IntN(1 << 30), TotalTokens: rng.IntN(1 << 30), CostUSD: num()},
			StartedAt:   tm(), EndedAt: tm(), DurationMS: rng.Int64N(1<<62) - 1<<61, ContentHash: str(),
			Consensus: Consensus{Method: str(), Reached: rng.IntN(2) == 0, LeaderShare: num(), SupportingAgents: strs(),
				DissentingAgents: strs(), AbstainingAgents: strs()},
		}
		if rng.IntN(2) == 0 {
			th := num()
			r.Consensus.Threshold = &th
		}
		for range rng.IntN(3) {
			r.Consensus.Dissents = append(r.Consensus.Dissents, Dissent{Agent: str(), Choice: str(), Confidence: num(), Reasons: strs()})
		}
		for range rng.IntN(6) {
			r.Agents = append(r.Agents, Agent{Name: str(), Model: str(), Stance: str(), Role: str(), Weight: num()})
		}
		switch rng.IntN(3) {
		case 0:
		case 1:
			r.Metadata = map[string]string{}
		default:
			r.Metadata = map[string]string{}
			for range rng.IntN(12) {
				r.Metadata[str()] = str()
			}
		}
		want, werr := func() ([]byte, error) {
			tr, err := r.tree(false, nil, false)
			if err != nil {
				return nil, err
			}
			return Canonical(tr)
		}()
		got, ok := r.appendHashed(nil)
		if ok {
			direct++
		}
		switch {
		case ok && werr != nil:
			t.Fatalf("receipt %d: direct writer succeeded, general path failed: %v", i, werr)
		case ok && string(got) != string(want):
			t.Fatalf("receipt %d:\n got %s\nwant %s", i, got, want)
		case !ok && werr == nil && validKeys(r.Metadata):
			t.Fatalf("receipt %d: direct writer fell back, general path gave %s", i, want)
		}
	}
	if direct < 500 {
		t.Fatalf("the direct writer wrote only %d receipts of 3000", direct)
	}
	t.Logf("%d of 3000 receipts written directly", direct)
}

func validKeys(m map[string]string) bool {
	for k := range m {
		if validUTF8(k) != k {
			return false
		}
	}
	return true
}
