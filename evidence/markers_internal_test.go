package evidence

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMarkers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		text                    string
		citation, data, example int
	}{
		{name: "none", text: "Postgres is a fine choice overall."},
		{name: "bracket ref", text: "Shown in [1] and [2, 3] and [4-6].", citation: 3},
		{name: "bracket needs digits", text: "See [a] and [].", citation: 0},
		{name: "author year", text: "As (Smith 2024) and (Lee et al., 2021) and (smith and jones, 2020a) show.", citation: 3},
		{name: "author year needs year", text: "See (Smith) and (2024).", citation: 0},
		{name: "according to", text: "According to Gartner it works; according to   the docs too.", citation: 2},
		{name: "according to needs a word", text: "That is according to ...", citation: 0},
		{name: "urls", text: "See https://example.com/a?b=1 and http://x.org.", citation: 2},
		{name: "doi", text: "Published as doi:10.1000/182 and DOI: 10.5555/x.", citation: 2},
		{name: "source", text: "Source: AWS pricing page. source:internal", citation: 2},
		{name: "source needs a token", text: "source: ...", citation: 0},
		{name: "citation counts once per offset", text: "[1]", citation: 1},
		{name: "percentages", text: "Up 40% and 3.5 % and 12 percent.", data: 3},
		{name: "currency", text: "It costs $400 or €3 or £ 20 a month.", data: 3},
		{name: "time units", text: "p99 is 120ms, 5 s, 3 sec, 10 seconds, 2 minutes, 1 hour, 4 days, 6 weeks.", data: 8},
		{name: "time unit needs a boundary", text: "We had 5 sheep and 3 secretaries.", data: 0},
		{name: "size units", text: "Uses 512MB, 2 GB, 10 tb and 64 KB.", data: 4},
		{name: "multipliers", text: "It is 3x faster and 2.5 × cheaper.", data: 2},
		{name: "multiplier needs a boundary", text: "Buy 3xl shirts.", data: 0},
		// "reduced $5" is two data markers at two offsets: the verb and the amount.
		{name: "change verbs", text: "Latency decreased by 30 and cost reduced $5; throughput improved 2 and load increased by 7.", data: 5},
		{name: "data kind counts once per offset", text: "40%", data: 1},
		{name: "examples", text: "For example this, for instance that, such as these, e.g. those, specifically X, in practice Y, a case in point.", example: 7},
		{name: "example whole words", text: "Nonspecifically, suchas.", example: 0},
		{name: "case-insensitive", text: "FOR EXAMPLE, ACCORDING TO Bob, 5 MINUTES.", citation: 1, data: 1, example: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.citation, countAll(tt.text).citations, "citation")
			assert.Equal(t, tt.data, countAll(tt.text).data, "data")
			assert.Equal(t, tt.example, countAll(tt.text).examples, "example")
		})
	}
}

func TestHedgesAndPrecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		text              string
		hedges, precision int
		connectives       int
	}{
		{name: "distinct hedges", text: "Generally, generally, usually it depends; often sometimes.", hedges: 5},
		{name: "multi-word hedges", text: "It could potentially matter. It may or may not. In some cases, various factors, many considerations, a significant impact, important aspects, key elements, best practices, the industry standard, a common approach.", hedges: 11},
		{name: "hedges are whole words", text: "Mighty oftentimes, typicallyish.", hedges: 0},
		{name: "precision terms", text: "Specifically, precisely and exactly: measured at 5, observed in prod, documented in RFC, tested with k6, verified by QA.", precision: 8},
		{name: "connectives", text: "Therefore thus consequently because since, given that, it follows that, this implies, as a result, hence.", connectives: 10},
		{name: "connectives repeat", text: "Because because because.", connectives: 3},
		{name: "connectives whole words", text: "Thusly, sincerely.", connectives: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.hedges, countAll(tt.text).hedges, "hedges")
			assert.Equal(t, tt.precision, countAll(tt.text).precision, "precision")
			assert.Equal(t, tt.connectives, countAll(tt.text).connectives, "connectives")
		})
	}
}

func TestBoundedUnicode(t *testing.T) {
	t.Parallel()
	// ASCII \b would accept "often" inside "éoften"; Unicode boundaries do not.
	assert.Equal(t, 0, countAll("éoften").hedges)
	assert.Equal(t, 1, countAll("é often").hedges)
	// A rejected match does not hide a later overlapping one.
	assert.Equal(t, 1, countAll("xthus thus").connectives)
}

// folding counts with the folding set only, the path every text took
// before the lower-case fast path.
func folding(text string) counts { return foldingCounts(text) }

// TestLowerCasePathMatchesFolding checks the fast path against the folding
// path on hand-written edge cases and on seeded random texts mixing marker
// words, case changes, digits, punctuation and non-ASCII runes.
func TestLowerCasePathMatchesFolding(t *testing.T) {
	t.Parallel()
	texts := []string{
		"According To Smith, costs INCREASED BY 40% in 2024 [1]. For Example, see https://X.org.",
		"THEREFORE the Migration took 5 Seconds — Specifically 5s, e.g. 3x faster (Lee et al., 2021).",
		"Ünïcode Therefore ÉTÉ: it depends, GENERALLY; K-sign \u212a and ſ fold to ASCII.",
		"Source: internal wiki. DOI:10.1000/xyz. Reduced by $300, €5 and £7 per 10 GB.",
		"", "…", "’quoted’ “text” — no markers at all.",
	}
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"According", "to", "SOURCE:", "doi:10.", "for", "Example", "E.G.", "Thus", "because",
		"Generally", "MIGHT", "percent", "%", "5", "2,000", "3x", "×", "ms", "Seconds", "GB", "[1]", "(Smith",
		"2024)", "increased", "BY", "$", "€", "é", "É", "—", "’", "Kelvin", "\u212a", "ſ", "specifically", "in", "practice"}
	for range 2000 {
		var b strings.Builder
		for range 1 + r.IntN(30) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString([]string{" ", "  ", ", ", ". ", "\n", ""}[r.IntN(6)])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		require.Equal(t, folding(text), countAll(text), "%q", text)
	}
}

// TestScannerMatchesRegexp checks the scanner against the (?i) regular
// expressions on seeded random texts built from pieces of every marker
// (complete, broken and glued), separators of every kind (\v is not \s)
// and caseless non-ASCII runes (letters, digits, numbers, punctuation).
func TestScannerMatchesRegexp(t *testing.T) {
	t.Parallel()
	pieces := []string{
		"[", "]", "[1]", "[2, 3]", "[4-6]", "[7–8]", "[ 9 ;10 ]", "[1,", "(", ")", "(smith 2024)", "(lee et al., 2021)",
		"(smith and jones, 2020a)", "(o’neil & x 1999)", "(j. smith 2020)", "et", "al", "al.", "and", "&", "2024", "2020a",
		"20201", "according", "to", "according to", "https://", "http://x.org/a?b=1", "https://e.com/(x)", "doi:", "10.",
		"doi: 10.5555", "source:", "source: aws", "%", "percent", "40", "3.5", "1,000", "2.", ",5", "$", "€", "£", "£ 20",
		"ms", "s", "sec", "secs", "second", "seconds", "minute", "minutes", "hour", "days", "week", "weeksx", "kb", "mb",
		"gb", "tb", "x", "×", "3x", "2.5 ×", "increased", "decreased", "improved", "reduced", "by", "byte",
		"increased by 30", "reduced $5", "for", "example", "for example", "instance", "such", "as", "e.g.", "e. g.", "e.",
		"g.", "specifically", "in practice", "case in point", "generally", "often", "oftentimes", "might", "could",
		"potentially", "may or may not", "it depends", "various factors", "best practices", "precisely", "exactly",
		"measured at", "verified by", "therefore", "thus", "thusly", "because", "since", "given that",
		"it follows that", "this implies", "as a result", "hence", "中文", "²", "٣", "—", "’", "ª", "_", "-", "'",
		"FOR EXAMPLE", "According To", "Since", "MS",
	}
	seps := []string{" ", "  ", "", "\t", "\n", "\v", ", ", ". ", "; ", "! ", "? ", "\u00a0", "’"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var b strings.Builder
		for range 1 + r.IntN(25) {
			b.WriteString(pieces[r.IntN(len(pieces))])
			b.WriteString(seps[r.IntN(len(seps))])
		}
		text := b.String()
		require.Equal(t, foldingCounts(text), countAll(text), "%q", text)
	}
}
