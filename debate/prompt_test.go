package debate

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestAppendSeverityMatchesAppendFloat compares appendSeverity with
// strconv.AppendFloat(b, sev, 'f', 1, 64) on tenths, their neighbours and
// random numbers.
func TestAppendSeverityMatchesAppendFloat(t *testing.T) {
	t.Parallel()
	check := func(sev float64) {
		got := string(appendSeverity(nil, sev))
		if want := strconv.FormatFloat(sev, 'f', 1, 64); got != want {
			t.Fatalf("appendSeverity(%v) = %q, want %q", sev, got, want)
		}
	}
	for m := -20; m <= 1100; m++ {
		x := float64(m) / 10
		check(x)
		check(math.Nextafter(x, math.Inf(1)))
		check(math.Nextafter(x, math.Inf(-1)))
		check(x + 0.05)
		check(x - 0.05)
	}
	for _, x := range []float64{math.Copysign(0, -1), 0.1 + 0.2, 0.25, 0.35, 9.95, 1e300, -1e300, math.Inf(1), math.NaN(), 5e-324} {
		check(x)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for range 20000 {
		check(rng.Float64() * 12)
	}
}

// TestCritiqueQuoteMatchesQuoted checks that a critique quoted from its
// parts (critiqueQuote) has the size, rune count and text of
// quoted(label, critiqueText(c)), with fences and long texts among the
// critiques.
func TestCritiqueQuoteMatchesQuoted(t *testing.T) {
	t.Parallel()
	cfg := Config{MaxQuoteRunes: 120}
	b := promptBuilder{cfg: &cfg}
	rng := rand.New(rand.NewPCG(3, 9))
	pieces := []string{"", "cost", "ä", "😀", "`", "``", "```", "''", " risk ", "; ", strings.Repeat("x", 30)}
	text := func() string {
		s := ""
		for range rng.IntN(4) {
			s += pieces[rng.IntN(len(pieces))]
		}
		return s
	}
	list := func() []string {
		l := make([]string, rng.IntN(4))
		for i := range l {
			l[i] = text()
		}
		return l
	}
	direct := 0
	for i := range 5000 {
		c := &CritiqueRecord{Issues: list(), Suggestions: list(), Severity: float64(rng.IntN(101)) / 10, Reasoning: text()}
		if rng.IntN(5) == 0 {
			c.Severity = rng.Float64() * 10
		}
		got := b.critiqueQuote(quoteHead("Critique from x"), c)
		want := b.quoted(quoteHead("Critique from x"), critiqueText(c))
		if got.crit != nil {
			direct++
		}
		var gs, ws promptBuf
		got.write(&gs)
		want.write(&ws)
		if gs.String() != ws.String() || got.size() != want.size() || got.runes() != want.runes() {
			t.Fatalf("critique %d %+v: got %q (size %d, runes %d), want %q (size %d, runes %d)", i, c,
				gs.String(), got.size(), got.runes(), ws.String(), want.size(), want.runes())
		}
		if got.size() != len(gs.String()) {
			t.Fatalf("critique %d: size %d of %q", i, got.size(), gs.String())
		}
	}
	if direct < 1000 {
		t.Fatalf("only %d of 5000 critiques quoted from their parts", direct)
	}
}
