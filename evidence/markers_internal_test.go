package evidence

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
			assert.Equal(t, tt.citation, countMarkers(citationPatterns, tt.text), "citation")
			assert.Equal(t, tt.data, countMarkers(dataPatterns, tt.text), "data")
			assert.Equal(t, tt.example, countMarkers(examplePatterns, tt.text), "example")
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
			assert.Equal(t, tt.hedges, countDistinct(hedgePatterns, tt.text), "hedges")
			assert.Equal(t, tt.precision, countOccurrences(precisionPatterns, tt.text), "precision")
			assert.Equal(t, tt.connectives, countOccurrences(reasoningPatterns, tt.text), "connectives")
		})
	}
}

func TestBoundedUnicode(t *testing.T) {
	t.Parallel()
	// ASCII \b would accept "often" inside "éoften"; Unicode boundaries do not.
	assert.Equal(t, 0, countDistinct(hedgePatterns, "éoften"))
	assert.Equal(t, 1, countDistinct(hedgePatterns, "é often"))
	// A rejected match does not hide a later overlapping one.
	assert.Equal(t, 1, countOccurrences(reasoningPatterns, "xthus thus"))
}
