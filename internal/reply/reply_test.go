package reply_test

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/reply"
)

func TestExtractJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want map[string]any // nil: not found
	}{
		{name: "whole reply", text: ` {"choice":"ada"} `, want: map[string]any{"choice": "ada"}},
		{name: "keys lower-cased", text: `{"Choice":"ada","CONFIDENCE":0.7}`, want: map[string]any{"choice": "ada", "confidence": 0.7}},
		{name: "lower-case key wins a case clash", text: `{"Choice":"x","choice":"y","CHOICE":"z"}`, want: map[string]any{"choice": "y"}},
		{name: "case clash without exact key: byte order", text: `{"cHoice":"x","Choice":"y"}`, want: map[string]any{"choice": "y"}},
		{name: "fenced json", text: "Here:\n```json\n{\"choice\": \"bob\"}\n```\nthanks", want: map[string]any{"choice": "bob"}},
		{name: "fenced untagged", text: "```\n{\"a\": 1}\n```", want: map[string]any{"a": 1.0}},
		{name: "fenced JSON tag ignores case", text: "```JSON\r\n{\"a\": 1}\r\n```", want: map[string]any{"a": 1.0}},
		{
			name: "first fenced block that is an object",
			text: "```\nnot json\n```\n```json\n[1,2]\n```\n```json\n{\"a\": 2}\n```\n```json\n{\"a\": 3}\n```",
			want: map[string]any{"a": 2.0},
		},
		{name: "fence beats earlier inline object", text: "x {\"a\":1} y\n```json\n{\"a\":2}\n```", want: map[string]any{"a": 2.0}},
		{name: "other language fence is skipped", text: "```go\n{\"a\":1}\n```", want: map[string]any{"a": 1.0}}, // found by the balanced scan
		{name: "embedded object", text: `I vote: {"choice": "ada", "confidence": "80%"} done.`, want: map[string]any{"choice": "ada", "confidence": "80%"}},
		{
			name: "outermost object wins",
			text: `Result {"choice": "ada", "detail": {"choice": "bob"}} end`,
			want: map[string]any{"choice": "ada", "detail": map[string]any{"choice": "bob"}},
		},
		{name: "braces inside strings", text: `x {"reasoning": "use } and { freely \" ok", "choice": "c"} y`, want: map[string]any{"reasoning": "use } and { freely \" ok", "choice": "c"}},
		{name: "invalid outer falls back to inner", text: `{ not json {"choice": "ada"} }`, want: map[string]any{"choice": "ada"}},
		{name: "unclosed outer", text: `{ oops {"choice": "ada"}`, want: map[string]any{"choice": "ada"}},
		{name: "quotes in prose", text: `He said "hi {" then {"a": 1}`, want: map[string]any{"a": 1.0}},
		{name: "array only", text: `[{"a":1}]`, want: map[string]any{"a": 1.0}},
		{name: "no json", text: "I pick ada.", want: nil},
		{name: "empty", text: "", want: nil},
		{name: "null", text: "null", want: nil},
		{name: "broken", text: `{"a": }`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := reply.ExtractJSON(tt.text)
			if tt.want == nil {
				assert.False(t, ok)
				assert.Nil(t, got)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{name: "short", s: "abc", n: 5, want: "abc"},
		{name: "exact", s: "abc", n: 3, want: "abc"},
		{name: "cut", s: "abcdef", n: 3, want: "abc…[truncated]"},
		{name: "runes not bytes", s: "héllo wörld", n: 4, want: "héll…[truncated]"},
		{name: "multibyte exact", s: "東京都", n: 3, want: "東京都"},
		{name: "multibyte cut", s: "東京都", n: 2, want: "東京…[truncated]"},
		{name: "zero", s: "abc", n: 0, want: "…[truncated]"},
		{name: "negative", s: "abc", n: -1, want: "…[truncated]"},
		{name: "empty", s: "", n: 0, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := reply.Truncate(tt.s, tt.n)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

func TestConfidence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want float64
	}{
		{name: "missing", v: nil, want: 0.5},
		{name: "fraction", v: 0.8, want: 0.8},
		{name: "one", v: 1.0, want: 1},
		{name: "zero", v: 0.0, want: 0},
		{name: "percent number", v: 80.0, want: 0.8},
		{name: "hundred", v: 100.0, want: 1},
		{name: "above hundred clamps", v: 150.0, want: 1},
		{name: "negative clamps", v: -0.3, want: 0},
		{name: "just above one", v: 1.5, want: 0.015},
		{name: "numeric string", v: " 0.7 ", want: 0.7},
		{name: "string percent", v: "80%", want: 0.8},
		{name: "string percent small", v: "0.5%", want: 0.005},
		{name: "string hundred-scale", v: "90", want: 0.9},
		{name: "int", v: 75, want: 0.75},
		{name: "words", v: "high", want: 0.5},
		{name: "bad percent", v: "x%", want: 0.5},
		{name: "bool", v: true, want: 0.5},
		{name: "NaN", v: math.NaN(), want: 0.5},
		{name: "Inf", v: math.Inf(1), want: 0.5},
		{name: "NaN string", v: "NaN", want: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.InDelta(t, tt.want, reply.Confidence(tt.v), 1e-12)
		})
	}
}

func TestParseCritique(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 600)
	many := `["1","2","3","4","5","6","7","8","9","10","11"]`
	tests := []struct {
		name string
		text string
		want reply.Critique
	}{
		{
			name: "json arrays",
			text: `{"issues":["no data"," "],"suggestions":["add numbers"],"severity":7.5,"reasoning":"thin"}`,
			want: reply.Critique{Issues: []string{"no data"}, Suggestions: []string{"add numbers"}, Severity: 7.5, Reasoning: "thin", Parse: "json"},
		},
		{
			name: "json strings and string severity",
			text: "```json\n{\"Issues\":\"one issue\",\"suggestions\":\"one fix\",\"severity\":\"3\"}\n```",
			want: reply.Critique{Issues: []string{"one issue"}, Suggestions: []string{"one fix"}, Severity: 3, Parse: "json"},
		},
		{
			name: "severity clamps and defaults",
			text: `{"issues":[],"severity":42}`,
			want: reply.Critique{Issues: []string{}, Suggestions: []string{}, Severity: 10, Parse: "json"},
		},
		{
			name: "negative severity",
			text: `{"severity":-1}`,
			want: reply.Critique{Issues: []string{}, Suggestions: []string{}, Severity: 0, Parse: "json"},
		},
		{
			name: "missing severity",
			text: `{"issues":"x","severity":"severe"}`,
			want: reply.Critique{Issues: []string{"x"}, Suggestions: []string{}, Severity: 5, Parse: "json"},
		},
		{
			name: "item limits",
			text: `{"issues":` + many + `,"suggestions":["` + long + `", 3, true]}`,
			want: reply.Critique{
				Issues:      []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"},
				Suggestions: []string{strings.Repeat("x", 500) + "…[truncated]", "3", "true"},
				Severity:    5, Parse: "json",
			},
		},
		{
			name: "fallback",
			text: "  The proposal ignores cost.  ",
			want: reply.Critique{Issues: []string{"The proposal ignores cost."}, Suggestions: []string{}, Severity: 5, Parse: "fallback"},
		},
		{
			name: "fallback empty",
			text: "",
			want: reply.Critique{Issues: []string{}, Suggestions: []string{}, Severity: 5, Parse: "fallback"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, reply.ParseCritique(tt.text))
		})
	}

	c := reply.ParseCritique(strings.Repeat("é", 1500))
	require.Len(t, c.Issues, 1)
	assert.Equal(t, strings.Repeat("é", 1000)+"…[truncated]", c.Issues[0])
}

func TestParseVote(t *testing.T) {
	t.Parallel()
	names := []string{"ada", "bob", "bobby", "cy"}
	tests := []struct {
		name       string
		text       string
		self       string
		forbidSelf bool
		want       reply.Vote
	}{
		{
			name: "json",
			text: `{"choice":"bob","confidence":0.9,"reasoning":"solid"}`,
			want: reply.Vote{Choice: "bob", Confidence: 0.9, Reasoning: "solid", Parse: "json", OK: true},
		},
		{
			name: "json choice kept raw",
			text: `Vote: {"Choice":"The ada proposal","confidence":"70%"}`,
			want: reply.Vote{Choice: "The ada proposal", Confidence: 0.7, Parse: "json", OK: true},
		},
		{
			name: "json self vote is not filtered here",
			text: `{"choice":"ada"}`, self: "ada", forbidSelf: true,
			want: reply.Vote{Choice: "ada", Confidence: 0.5, Parse: "json", OK: true},
		},
		{
			name: "fallback first name",
			text: "I think Bob beats ada here.",
			want: reply.Vote{Choice: "bob", Confidence: 0.5, Reasoning: "I think Bob beats ada here.", Parse: "fallback", OK: true},
		},
		{
			name: "fallback whole words only",
			text: "Adaptive plans: cyan is nice, so bobby.",
			want: reply.Vote{Choice: "bobby", Confidence: 0.5, Reasoning: "Adaptive plans: cyan is nice, so bobby.", Parse: "fallback", OK: true},
		},
		{
			name: "fallback excludes self",
			text: "ada, or else cy", self: "ada", forbidSelf: true,
			want: reply.Vote{Choice: "cy", Confidence: 0.5, Reasoning: "ada, or else cy", Parse: "fallback", OK: true},
		},
		{
			name: "fallback keeps self when allowed",
			text: "ada, or else cy", self: "ada",
			want: reply.Vote{Choice: "ada", Confidence: 0.5, Reasoning: "ada, or else cy", Parse: "fallback", OK: true},
		},
		{
			name: "json without choice falls back",
			text: `{"confidence": 0.9, "reasoning": "cy is best"}`,
			want: reply.Vote{Choice: "cy", Confidence: 0.5, Reasoning: `{"confidence": 0.9, "reasoning": "cy is best"}`, Parse: "fallback", OK: true},
		},
		{
			name: "nothing readable",
			text: "No idea.",
			want: reply.Vote{Confidence: 0.5, Reasoning: "No idea.", Parse: "fallback"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, reply.ParseVote(tt.text, names, tt.self, tt.forbidSelf))
		})
	}

	v := reply.ParseVote(strings.Repeat("z", 800)+" ada", names, "", false)
	assert.Equal(t, strings.Repeat("z", 500)+"…[truncated]", v.Reasoning)
	assert.Equal(t, "ada", v.Choice)
}

func TestFirstName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string
		names []string
		want  string
	}{
		{name: "earliest", text: "bob then ada", names: []string{"ada", "bob"}, want: "bob"},
		{name: "equal position longer wins", text: "gpt-4o is best", names: []string{"gpt", "gpt-4o"}, want: "gpt-4o"},
		{name: "hyphenated name needs boundary", text: "gpt-4oo", names: []string{"gpt-4o"}, want: ""},
		{name: "later whole word after embedded miss", text: "adam and ada", names: []string{"ada"}, want: "ada"},
		{name: "unicode boundary", text: "éada ada", names: []string{"ada"}, want: "ada"},
		{name: "empty names skipped", text: "anything", names: []string{"", " "}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := reply.FirstName(tt.text, tt.names)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseJudge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want reply.Judge
	}{
		{
			name: "decided",
			text: `{"decided":true,"choice":"ada","confidence":0.85,"reasoning":"best data","answer":" Use Postgres. "}`,
			want: reply.Judge{Decided: true, Choice: "ada", Confidence: 0.85, Reasoning: "best data", Answer: "Use Postgres.", OK: true},
		},
		{
			name: "decided as string",
			text: `{"decided":"yes","choice":"bob"}`,
			want: reply.Judge{Decided: true, Choice: "bob", Confidence: 0.5, OK: true},
		},
		{
			name: "undecided by default",
			text: `{"choice":"bob","confidence":90}`,
			want: reply.Judge{Choice: "bob", Confidence: 0.9, OK: true},
		},
		{
			name: "no choice",
			text: `{"decided":true,"choice":""}`,
			want: reply.Judge{Decided: true, Confidence: 0.5},
		},
		{
			name: "no json",
			text: "I choose ada.",
			want: reply.Judge{Confidence: 0.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, reply.ParseJudge(tt.text))
		})
	}
}

func TestParseSynthesis(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want reply.Synthesis
	}{
		{name: "json", text: `{"answer":"Use Postgres.","confidence":0.75}`, want: reply.Synthesis{Answer: "Use Postgres.", Confidence: 0.75, Parse: "json"}},
		{name: "json missing confidence", text: "```json\n{\"Answer\":\"Do X.\"}\n```", want: reply.Synthesis{Answer: "Do X.", Confidence: 0.5, Parse: "json"}},
		{name: "json without answer", text: `{"confidence":0.9}`, want: reply.Synthesis{Answer: `{"confidence":0.9}`, Confidence: 0.5, Parse: "fallback"}},
		{name: "fallback", text: "  Use Postgres, in two phases.\n", want: reply.Synthesis{Answer: "Use Postgres, in two phases.", Confidence: 0.5, Parse: "fallback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, reply.ParseSynthesis(tt.text))
		})
	}
}

func TestAdversarialInputIsBounded(t *testing.T) {
	t.Parallel()
	// Deeply nested, never valid: must finish quickly and not panic.
	text := strings.Repeat(`{"a":`, 20000) + strings.Repeat("}", 20000)
	_, ok := reply.ExtractJSON(text)
	assert.False(t, ok)
	_, ok = reply.ExtractJSON(strings.Repeat("{", 100000))
	assert.False(t, ok)
}

var fuzzSeeds = []string{
	"", "{", "}", "{}", `{"choice":"ada"}`, "```json\n{\"a\":1}\n```", "```\n", "```json\n{",
	`{"a":"\"}"}`, `x {"a": {"b": 1}} y`, "{\"a\":\"\\", "\xff{\"choice\":\"bob\"}\xfe", "ada bob",
	`{"choice": 1, "confidence": "1e309%"}`, "```json\n```", `{"issues": [null, {}, []], "severity": "NaN"}`,
}

func FuzzExtractJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		m, ok := reply.ExtractJSON(text)
		if ok != (m != nil) {
			t.Fatalf("ok=%v but map=%v", ok, m)
		}
		c := reply.ParseCritique(text)
		if c.Severity < 0 || c.Severity > 10 || len(c.Issues) > reply.MaxItems || len(c.Suggestions) > reply.MaxItems {
			t.Fatalf("critique out of bounds: %+v", c)
		}
		j := reply.ParseJudge(text)
		s := reply.ParseSynthesis(text)
		for _, conf := range []float64{j.Confidence, s.Confidence} {
			if conf < 0 || conf > 1 {
				t.Fatalf("confidence %v out of [0,1]", conf)
			}
		}
		_ = reply.Truncate(text, 7)
	})
}

func FuzzParseVote(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "ada")
	}
	f.Fuzz(func(t *testing.T, text, self string) {
		names := []string{"ada", "bob", self, "", "é"}
		v := reply.ParseVote(text, names, self, true)
		if v.Confidence < 0 || v.Confidence > 1 {
			t.Fatalf("confidence %v", v.Confidence)
		}
		if v.OK == (v.Choice == "") {
			t.Fatalf("OK %v with choice %q", v.OK, v.Choice)
		}
		if v.Parse == reply.ParseFallback && v.OK && v.Choice == self && self != "ada" && self != "bob" && self != "é" {
			t.Fatalf("fallback chose self %q", self)
		}
	})
}
