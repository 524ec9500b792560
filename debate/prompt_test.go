package debate

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/internal/reply"
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
		if n := severityLen(sev); n != len(got) {
			t.Fatalf("severityLen(%v) = %d, want %d", sev, n, len(got))
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
		gs, ws := itemText(&got), itemText(&want)
		if seps := string(got.appendTo([]byte("x"))); seps != "x"+gs+itemSep {
			t.Fatalf("critique %d: appendTo appended %q, want %q", i, seps, "x"+gs+itemSep)
		}
		if gs != ws || got.size() != want.size() || got.runes() != want.runes() {
			t.Fatalf("critique %d %+v: got %q (size %d, runes %d), want %q (size %d, runes %d)", i, c,
				gs, got.size(), got.runes(), ws, want.size(), want.runes())
		}
		if got.size() != len(gs) {
			t.Fatalf("critique %d: size %d of %q", i, got.size(), gs)
		}
	}
	if direct < 1000 {
		t.Fatalf("only %d of 5000 critiques quoted from their parts", direct)
	}
}

// itemText is the text of it in a prompt: head, text (its critique's for
// a critique) quoteClose and after, or without a head text and after.
func itemText(it *promptItem) string {
	text := it.text
	if it.crit != nil {
		text = strings.ReplaceAll(critiqueText(it.crit), "```", "'''")
	}
	if it.head != "" {
		return it.head + text + quoteClose + it.after
	}
	return text + it.after
}

// TestAppendToMatchesItemText checks that appendTo appends itemText then
// itemSep, and that size is the length of itemText, for items with and
// without a head and with empty and set pieces.
func TestAppendToMatchesItemText(t *testing.T) {
	t.Parallel()
	for _, head := range []string{"", quoteHead("Proposal of a")} {
		for _, text := range []string{"", "text ä"} {
			for _, after := range []string{"", "\nCritiques received: 1, maximum severity 3.0."} {
				it := promptItem{head: head, text: text, after: after}
				ws := string(it.appendTo(nil))
				if w := itemText(&it); ws != w+itemSep || it.size() != len(w) {
					t.Fatalf("%+v: appendTo %q, item %q, size %d", it, ws, w, it.size())
				}
			}
		}
	}
}

// TestComposeLead checks the memoised round header of compose against
// the header written out, across rounds, phases and a context.
func TestComposeLead(t *testing.T) {
	t.Parallel()
	for _, ctx := range []string{"", "Some context ü"} {
		cfg := Config{Rounds: 12, MaxContextRunes: 5, MaxPromptRunes: 24000, MaxQuoteRunes: 100}
		b := newPromptBuilder(&cfg, "Why? ä", ctx, 3)
		head := "## Question\nWhy? ä\n\n"
		if ctx != "" {
			head += "## Context\nSome " + reply.TruncSuffix + "\n\n"
		}
		for _, round := range []int{1, 1, 2, 12, 3} {
			// A phase of the same bytes at another address is the same phase.
			for _, phase := range []agent.Phase{agent.PhasePropose, agent.PhaseSynthesize, agent.PhaseCritique, agent.PhaseCritique,
				agent.Phase(strings.Clone(string(agent.PhaseCritique))), agent.PhaseVote} {
				got := b.userTail(round, 12, phase, []promptItem{{text: "x"}}, tailVote)
				want := head + "## Round " + strconv.Itoa(round) + " of 12: " + string(phase) + "\n\nx\n\n" + tailVote
				if got != want {
					t.Fatalf("round %d %s: got %q, want %q", round, phase, got, want)
				}
			}
		}
		if q := string(b.question()); q != "Why? ä" {
			t.Fatalf("question %q", q)
		}
	}
}

// TestCritiqueTargets checks critiqueTargets and nameIndex against
// o.index, for the run's own name strings, copies of them and other names,
// and that a phase's second look gets the same targets.
func TestCritiqueTargets(t *testing.T) {
	t.Parallel()
	names := []string{"a", "bb", "c", "dd"}
	r := &run{o: &Orchestrator{names: names}}
	var prev []CritiqueRecord
	for _, n := range []string{names[1], strings.Clone(names[1]), "zz", names[3], strings.Clone("c"), "", names[0]} {
		prev = append(prev, CritiqueRecord{Target: n})
	}
	for range 2 {
		got := r.critiqueTargets(prev)
		if len(got) != len(prev) {
			t.Fatalf("%d targets of %d critiques", len(got), len(prev))
		}
		for k := range prev {
			if want := r.o.index(prev[k].Target); int(got[k]) != want || r.nameIndex(prev[k].Target) != want {
				t.Fatalf("critique %d of %q: target %d, want %d", k, prev[k].Target, got[k], want)
			}
		}
	}
	if r.critiqueTargets(nil) != nil {
		t.Fatalf("targets of no critiques")
	}
}

// TestUnfence checks unfence and unfenceBytes against strings.ReplaceAll
// on every string of up to 8 bytes over backquote, quote, "a" and "ä".
func TestUnfence(t *testing.T) {
	t.Parallel()
	alphabet := []string{"`", "'", "a", "ä"}
	var walk func(s string, depth int)
	walk = func(s string, depth int) {
		want := strings.ReplaceAll(s, "```", "'''")
		if got := unfence(s); got != want {
			t.Fatalf("unfence(%q) = %q, want %q", s, got, want)
		}
		b := []byte("x" + s)
		if unfenceBytes(b[1:]); string(b) != "x"+want {
			t.Fatalf("unfenceBytes(%q) = %q, want %q", s, b[1:], want)
		}
		if depth == 0 {
			return
		}
		for _, a := range alphabet {
			walk(s+a, depth-1)
		}
	}
	walk("", 8)
}

// FuzzUnfenceBytes checks unfenceBytes against strings.ReplaceAll.
func FuzzUnfenceBytes(f *testing.F) {
	for _, s := range []string{"", "```", "````", "a```b``", "``` ```"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		if unfenceBytes(b); string(b) != strings.ReplaceAll(s, "```", "'''") {
			t.Fatalf("unfenceBytes(%q) = %q", s, b)
		}
	})
}

// TestFlatPromptMatchesUserTail checks that flat items (flatten) make the
// prompts that the items they were made from make, through userTail and
// flatPrompt, with and without a second item and when items are dropped.
func TestFlatPromptMatchesUserTail(t *testing.T) {
	t.Parallel()
	for _, maxPrompt := range []int{24000, 1000} {
		cfg := Config{Rounds: 3, MaxPromptRunes: maxPrompt, MaxQuoteRunes: 800}
		b := newPromptBuilder(&cfg, "Why?", "", 3)
		var arena []byte
		x := b.quoted(quoteHead("Proposal of a (the target)"), strings.Repeat("ä```b ", 100))
		x.required = true
		y := b.quoted(ownHead, "mine")
		z := promptItem{head: quoteHead("Critique from c"), text: "t", after: "\nafter"}
		fx, fy, fz := flatten(&arena, &x), flatten(&arena, &y), flatten(&arena, &z)
		for _, c := range []struct{ items, flat []promptItem }{
			{[]promptItem{x, y}, []promptItem{fx, fy}},
			{[]promptItem{x}, []promptItem{fx}},
			{[]promptItem{z, y, x}, []promptItem{fz, fy, fx}},
		} {
			want := b.userTail(2, 3, agent.PhaseCritique, c.items, tailCritique)
			if got := b.userTail(2, 3, agent.PhaseCritique, c.flat, tailCritique); got != want {
				t.Fatalf("flat items: got %q, want %q", got, want)
			}
			if len(c.flat) > 2 {
				continue
			}
			var second *promptItem
			if len(c.flat) == 2 {
				second = &c.flat[1]
			}
			got, ok := b.flatPrompt(2, 3, agent.PhaseCritique, &c.flat[0], second, tailCritique)
			if ok != (len(want) <= maxPrompt) || ok && got != want {
				t.Fatalf("flatPrompt (max %d): %v %q, want %q", maxPrompt, ok, got, want)
			}
		}
		if _, ok := b.flatPrompt(2, 3, agent.PhaseCritique, &x, nil, tailCritique); ok {
			t.Fatalf("flatPrompt of an item not flat")
		}
	}
}

// TestSpecsForZero checks that specsFor returns zero specs, from a buffer
// the run holds or one it takes back from the Orchestrator after putSpecs,
// whatever lengths the phases before had.
func TestSpecsForZero(t *testing.T) {
	t.Parallel()
	r := &run{o: &Orchestrator{}}
	for _, n := range []int{3, 1, 5, 2, 5, 0, 4} {
		specs := r.specsFor(n)
		for k := range specs {
			if specs[k].idx != 0 || specs[k].req.Participant != "" || specs[k].items != nil {
				t.Fatalf("spec %d of %d not zero: %+v", k, n, specs[k])
			}
			specs[k] = callSpec{idx: k + 1, req: agent.Request{Participant: "x"}, items: make([]promptItem, 1)}
		}
		if n == 2 {
			specs = r.specsFor(4) // held: cleared
			for k := range specs {
				if specs[k].idx != 0 {
					t.Fatalf("held spec %d not zero", k)
				}
			}
		}
		r.putSpecs()
	}
}

// TestCritiqueLengths checks critiqueLen and critiqueMeasure against the
// critique text they measure, in bytes and in runes.
func TestCritiqueLengths(t *testing.T) {
	t.Parallel()
	lists := [][]string{nil, {}, {"cost"}, {"coût élevé", "", "risk ✓"}}
	for _, sev := range []float64{0, 3, 7.25, 10, 123.45, -1} {
		for _, issues := range lists {
			for _, sugg := range lists {
				c := &CritiqueRecord{Issues: issues, Suggestions: sugg, Severity: sev, Reasoning: "naïve ok"}
				text := string(appendCritique(nil, c))
				if n := critiqueLen(c); n != len(text) {
					t.Fatalf("critiqueLen(%+v) = %d, want %d", c, n, len(text))
				}
				if n := critiqueMeasure(c, strLen); n != len(text) {
					t.Fatalf("critiqueMeasure(%+v, strLen) = %d, want %d", c, n, len(text))
				}
				if n, want := critiqueMeasure(c, runes), utf8.RuneCountInString(text); n != want {
					t.Fatalf("critiqueMeasure(%+v, runes) = %d, want %d", c, n, want)
				}
			}
		}
	}
}
