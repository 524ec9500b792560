package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/plainjson"
)

// TestEncodersMatchEncodingJSON compares the reply encoders with mustJSON
// (encoding/json) on random strings (quotes, escapes, control bytes, HTML
// characters, non-ASCII, U+2028, invalid UTF-8) and numbers (tiny, huge,
// negative, non-finite).
func TestEncodersMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "Zé", `"`, `\`, "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "<", ">", "&",
		"\u2028", "\u2029", "\xff", "\xe2\x82", "中", "’", " ", "demo-a", "{}", "[1]"}
	nums := []float64{0, math.Copysign(0, -1), 0.85, 5.5, 10, -3, 1e-7, 2.5e-9, 1e21, 1.5e300, 123456789.125,
		math.NaN(), math.Inf(1), math.Inf(-1)}
	r := rand.New(rand.NewPCG(9, 10))
	str := func() string {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	strs := func() []string {
		if r.IntN(5) == 0 {
			return nil
		}
		out := []string{}
		for range r.IntN(4) {
			out = append(out, str())
		}
		return out
	}
	num := func() float64 {
		if r.IntN(2) == 0 {
			return nums[r.IntN(len(nums))]
		}
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
	}
	for range 5000 {
		c := critiqueReply{Issues: strs(), Suggestions: strs(), Severity: num(), Reasoning: str()}
		require.Equal(t, mustJSON(c), c.json())
		// The same reasoning given in parts (split anywhere, even inside a
		// rune) encodes the same.
		parts := []string{}
		for rest := c.Reasoning; rest != ""; {
			k := 1 + r.IntN(len(rest))
			parts, rest = append(parts, rest[:k]), rest[k:]
		}
		split := c
		split.Reasoning, split.reasoning = "", parts
		require.Equal(t, mustJSON(c), split.json())
		v := voteReply{Choice: str(), Confidence: num(), Reasoning: str()}
		require.Equal(t, mustJSON(v), v.json())
		k := r.IntN(len(v.Reasoning) + 1)
		splitVote := v
		splitVote.Reasoning, splitVote.reasoning = "", []string{v.Reasoning[:k], v.Reasoning[k:]}
		require.Equal(t, mustJSON(v), splitVote.json())
		j := judgeReply{Decided: r.IntN(2) == 0, Choice: str(), Confidence: num(), Reasoning: str(), Answer: str()}
		require.Equal(t, mustJSON(j), j.json())
		s := synthesisReply{Answer: str(), Confidence: num()}
		require.Equal(t, mustJSON(s), s.json())
	}
}

// mustJSON is what the replies were encoded with: encoding/json without
// HTML escaping.
var mustJSON = plainjson.Marshal

// TestHundredthsMatchStrconv compares appendFloat's path for multiples of
// 0.01 with strconv on every k/100 it takes (0 < k < 1e6), and on the
// floats next to them, which it must leave to strconv.
func TestHundredthsMatchStrconv(t *testing.T) {
	t.Parallel()
	for k := 1; k < 1e6; k++ {
		f := float64(k) / 100
		for _, g := range []float64{f, math.Nextafter(f, 0), math.Nextafter(f, 1e7)} {
			got, ok := appendFloat(nil, g)
			if want := strconv.FormatFloat(g, 'f', -1, 64); !ok || string(got) != want {
				t.Fatalf("appendFloat(%v) = %q, want %q", g, got, want)
			}
		}
	}
}

// TestCritiqueMatchesReply compares critique, which writes from quoted
// phrases, with the critiqueReply it stands for, encoded by encoding/json,
// for every style, with names and targets that need escaping or are not
// valid UTF-8, and the rune count it gives with the reply's.
func TestCritiqueMatchesReply(t *testing.T) {
	t.Parallel()
	names := []string{"demo-a", "", "b\"q", "c\\d", "Zé", "x\xff", "\u2028", "tab\there"}
	for _, s := range append(Styles(), Style("unknown")) {
		require.Equal(t, critiqueTextOf(s).verdict, critiqueTextFor(s).verdict)
		for seed := range uint64(40) {
			for _, name := range names {
				for _, target := range names {
					got, runes := critique(s, name, target, rand.New(rand.NewPCG(seed, 1)))
					if runes >= 0 {
						require.Equal(t, utf8.RuneCountInString(got), runes, "%q", got)
					}
					r := rand.New(rand.NewPCG(seed, 1))
					p, text := profileOf(s), critiqueTextOf(s)
					severity := clamp(round1(p.sevLo+r.Float64()*(p.sevHi-p.sevLo)), 0.1, 10)
					perm := func(list []string) []string {
						order := r.Perm(len(list))
						out := []string{}
						for _, i := range order[:min(p.issues, len(list))] {
							out = append(out, list[i])
						}
						return out
					}
					issues := perm(text.issues)
					suggestions := perm(text.suggestions)
					if target == "" {
						target = "the target"
					}
					want := mustJSON(critiqueReply{Issues: issues, Suggestions: suggestions, Severity: severity,
						Reasoning: name + " reviewed " + target + "'s proposal: " + text.verdict})
					require.Equal(t, want, got)
				}
			}
		}
	}
}

// TestCritiqueTextsFit checks that every style's critique phrases fit
// critique's arrays of picks, and that they are ASCII, so that critique
// gives the rune count of its replies.
func TestCritiqueTextsFit(t *testing.T) {
	t.Parallel()
	for _, s := range Styles() {
		text := critiqueTextFor(s)
		require.LessOrEqual(t, len(text.issues), maxPhrases, s)
		require.LessOrEqual(t, len(text.suggestions), maxPhrases, s)
		require.True(t, text.quoted.ascii, s)
	}
}

// TestVoteMatchesReply compares vote, which writes plain choices itself,
// with the voteReply it stands for, encoded by encoding/json, for every
// style, with choices that need escaping or are not valid UTF-8, and the
// rune count it gives with the reply's.
func TestVoteMatchesReply(t *testing.T) {
	t.Parallel()
	names := []string{"demo-a", "b\"q", "c\\d", "Zé", "x\xff", "\u2028", "tab\there"}
	for _, s := range append(Styles(), Style("unknown")) {
		for seed := range uint64(20) {
			for _, name := range names {
				for _, other := range names {
					req := &agent.Request{Round: 2, PreviousLeader: other, AgreementIntensity: 7,
						Proposals: []agent.Proposal{{Agent: "self"}, {Agent: name}, {Agent: other}}}
					got, runes := vote(s, "self", req, rand.New(rand.NewPCG(seed, 2)))
					if runes >= 0 {
						require.Equal(t, utf8.RuneCountInString(got), runes, "%q", got)
					}
					r := rand.New(rand.NewPCG(seed, 2))
					opts := options(nil, "self", req)
					choice, leader := choose(s, req, opts, r)
					want := mustJSON(voteReply{Choice: choice, Confidence: confidence(s, r), Reasoning: voteReason(s, choice, leader)})
					require.Equal(t, want, got)
				}
			}
		}
	}
}
