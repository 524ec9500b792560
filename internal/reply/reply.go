// Package reply parses the free-text replies of agents into critiques,
// votes, judgements and syntheses (docs/agents.md#phases-and-reply-formats).
//
// Parsing never panics and never fails hard: every function returns a
// usable value, marking with Parse "fallback" (or OK false) what it could
// not read as JSON. All functions are pure and safe for concurrent use.
//
// This package imports only the standard library.
package reply

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aragora/aragora/similarity"
)

// Parse modes recorded in events.
const (
	ParseJSON     = "json"
	ParseFallback = "fallback"
)

// TruncSuffix is appended by Truncate when it cuts a string.
const TruncSuffix = "…[truncated]"

// Limits of docs/agents.md#phases-and-reply-formats.
const (
	MaxItems          = 10   // issues or suggestions kept
	MaxItemRunes      = 500  // runes per issue or suggestion
	FallbackIssue     = 1000 // runes of a critique reply kept as its single issue
	FallbackReasoning = 500  // runes of a vote reply kept as its reasoning
	DefaultSeverity   = 5.0
	DefaultConfidence = 0.5
)

// ExtractJSON finds the JSON object of a reply, in this order: the whole
// reply (trimmed) as an object; else the first fenced code block (```,
// optionally tagged json) whose content is an object; else the first
// balanced {...} that is a JSON object, trying each '{' in text order, so
// the outermost object wins over a nested one. The work is linear in the
// length of text (balanced). Top-level keys are lower-cased;
// when two keys differ only in case, the one already lower-case wins, else
// the first in byte order.
func ExtractJSON(text string) (map[string]any, bool) {
	if m, ok := object(strings.TrimSpace(text)); ok {
		return m, true
	}
	if m, ok := fenced(text); ok {
		return m, true
	}
	return balanced(text)
}

// object parses s as a JSON object.
func object(s string) (map[string]any, bool) {
	if len(s) < 2 || s[0] != '{' {
		return nil, false
	}
	m, ok := decodeObject(s)
	if !ok {
		if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
			return nil, false
		}
	}
	return lowerKeys(m), true
}

func lowerKeys(m map[string]any) map[string]any {
	lower := true
	for k := range m {
		if strings.ToLower(k) != k {
			lower = false
			break
		}
	}
	if lower {
		return m // every key wins over itself
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]any, len(m))
	exact := make(map[string]bool, len(m))
	for _, k := range keys {
		lk := strings.ToLower(k)
		if _, seen := out[lk]; seen && (exact[lk] || k != lk) {
			continue
		}
		out[lk] = m[k]
		exact[lk] = k == lk
	}
	return out
}

// fenced returns the first ``` or ```json block whose content is an object.
func fenced(text string) (map[string]any, bool) {
	rest := text
	for {
		open := strings.Index(rest, "```")
		if open < 0 {
			return nil, false
		}
		rest = rest[open+3:]
		nl := strings.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, false
		}
		tag := strings.TrimSpace(rest[:nl])
		body := rest[nl+1:]
		end := strings.Index(body, "```")
		if end < 0 {
			return nil, false
		}
		if tag == "" || strings.EqualFold(tag, "json") {
			if m, ok := object(strings.TrimSpace(body[:end])); ok {
				return m, true
			}
		}
		rest = body[end+3:]
	}
}

// balanced returns the object at the first '{' of text that starts a JSON
// object, the same one as matching each '{' with its '}' and decoding the
// text between would give. Each try reads the object with a JSON syntax
// check (scanObject) instead, and a try that fails marks the objects it
// had opened and not closed yet: read on their own they fail at the same
// byte, so they are not tried again. That keeps the work linear (a reply
// of nested unclosed objects was quadratic: seconds for 10 KB).
func balanced(text string) (map[string]any, bool) {
	m, _, ok := balancedWork(text)
	return m, ok
}

// balancedWork is balanced, also returning the bytes its tries read.
func balancedWork(text string) (map[string]any, int, bool) {
	var dead []bool // dead[i]: the object opening at i fails
	work := 0
	for from := 0; from < len(text); {
		k := strings.IndexByte(text[from:], '{')
		if k < 0 {
			break
		}
		start := from + k
		from = start + 1
		if dead != nil && dead[start] {
			continue
		}
		end, open, n := scanObject(text, start)
		work += n
		if end < 0 {
			for _, i := range open {
				if dead == nil {
					dead = make([]bool, len(text))
				}
				dead[i] = true
			}
			continue
		}
		if m, ok := object(text[start:end]); ok {
			return m, work, true
		}
	}
	return nil, work, false
}

// Truncate returns s if it has at most n runes. Otherwise it keeps the first
// n runes (never splitting one) and appends TruncSuffix, so the result has
// n + 12 runes. n ≤ 0 keeps nothing but the suffix (or "" for an empty s).
func Truncate(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s // at most len(s) runes
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + TruncSuffix
		}
		i++
	}
	return s
}

// Critique is a parsed critique reply.
type Critique struct {
	Issues      []string `json:"issues"`
	Suggestions []string `json:"suggestions"`
	Severity    float64  `json:"severity"` // 0..10
	Reasoning   string   `json:"reasoning"`
	Parse       string   `json:"parse"` // "json" or "fallback"
}

// ParseCritique reads {"issues", "suggestions", "severity", "reasoning"}.
// issues and suggestions may each be a string (one item) or an array; at
// most 10 non-empty items are kept, each truncated to 500 runes. severity
// is coerced like a confidence number, clamped to [0, 10], default 5.
// Without JSON: Issues = [the trimmed reply truncated to 1000 runes] (none
// for an empty reply), no suggestions, severity 5, Parse "fallback".
func ParseCritique(text string) Critique {
	return ParseCritiqueTo(text, nil)
}

// ParseCritiqueTo is ParseCritique, but the issues and suggestions of a
// reply that is a plain JSON object are appended to *out, when out is not
// nil, instead of having an allocation of their own: the critique's slices
// share the array of *out (whose capacity they do not reach beyond), so
// that a caller can read many critiques into one buffer.
func ParseCritiqueTo(text string, out *[]string) (c Critique) {
	ParseCritiqueInto(&c, text, out)
	return c
}

// ParseCritiqueInto is ParseCritiqueTo, setting *c, for a caller that
// keeps the critique where it is rather than copy it through returns.
func ParseCritiqueInto(c *Critique, text string, out *[]string) {
	s := text
	if spaced(s) { // trimSpace, inline
		s = strings.TrimSpace(s)
	}
	if !critiqueInto(c, s, out) {
		*c = parseCritique(text)
	}
}

// parseCritique is ParseCritique through ExtractJSON.
func parseCritique(text string) Critique {
	m, ok := ExtractJSON(text)
	if !ok {
		c := Critique{Issues: []string{}, Suggestions: []string{}, Severity: DefaultSeverity, Parse: ParseFallback}
		if t := strings.TrimSpace(text); t != "" {
			c.Issues = []string{Truncate(t, FallbackIssue)}
		}
		return c
	}
	return critiqueOf(m)
}

// critiqueOf reads a critique from its JSON object.
func critiqueOf(m map[string]any) Critique {
	sev, ok := number(m["severity"])
	if !ok {
		sev = DefaultSeverity
	}
	return Critique{
		Issues:      items(m["issues"]),
		Suggestions: items(m["suggestions"]),
		Severity:    math.Min(10, math.Max(0, sev)),
		Reasoning:   str(m["reasoning"]),
		Parse:       ParseJSON,
	}
}

// items coerces a string or an array into at most MaxItems trimmed,
// non-empty items of at most MaxItemRunes runes.
func items(v any) []string {
	var raw []any
	switch x := v.(type) {
	case []any:
		raw = x
	case nil:
	default:
		raw = []any{x}
	}
	out := []string{}
	for _, r := range raw {
		if len(out) == MaxItems {
			break
		}
		if s := strings.TrimSpace(str(r)); s != "" {
			out = append(out, Truncate(s, MaxItemRunes))
		}
	}
	return out
}

// str renders a JSON value as text: strings as-is, nil as "", numbers and
// booleans in their JSON form, objects and arrays as compact JSON.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// number reads a finite number from a JSON number or a numeric string.
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Confidence coerces a confidence value (docs/agents.md#phases-and-reply-formats): a number, a
// numeric string or a percentage string ("80%" is 0.8). Values in (1, 100]
// are divided by 100, then the result is clamped to [0, 1]. A missing or
// unparseable value (nil, NaN, ±Inf, a bool, "high") gives 0.5.
func Confidence(v any) float64 {
	if s, isStr := v.(string); isStr && strings.HasSuffix(strings.TrimSpace(s), "%") {
		p, ok := number(strings.TrimSuffix(strings.TrimSpace(s), "%"))
		if !ok {
			return DefaultConfidence
		}
		return min(1, max(0, p/100))
	}
	f, ok := number(v)
	if !ok {
		return DefaultConfidence
	}
	return scaleConfidence(f)
}

// scaleConfidence is Confidence of the number f: divided by 100 when in
// (1, 100], then clamped to [0, 1].
func scaleConfidence(f float64) float64 {
	if f > 1 && f <= 100 {
		f /= 100
	}
	return min(1, max(0, f))
}

// Vote is a parsed vote reply. Choice is the raw choice: resolving it to a
// proposal owner is consensus.ResolveChoice's job.
type Vote struct {
	Choice     string  `json:"choice"`
	Confidence float64 `json:"confidence"`
	Reasoning  string  `json:"reasoning"`
	Parse      string  `json:"parse"` // "json" or "fallback"
	OK         bool    `json:"ok"`    // false: no choice could be read
}

// ParseVote reads {"choice", "confidence", "reasoning"}. When the reply has
// no JSON object with a non-empty string choice, it falls back to the name
// among names that occurs first in the whole reply as a whole word
// (ignoring case; on an equal position the longer name), excluding self
// when forbidSelf; then Confidence is 0.5, Reasoning is the trimmed reply
// truncated to 500 runes, and Parse "fallback". OK is false when no choice
// was found either way.
func ParseVote(text string, names []string, self string, forbidSelf bool) (v Vote) {
	ParseVoteInto(&v, text, names, self, forbidSelf)
	return v
}

// ParseVoteInto is ParseVote, setting *v, for a caller that keeps the vote
// where it is rather than copy it through returns.
func ParseVoteInto(v *Vote, text string, names []string, self string, forbidSelf bool) {
	s := text
	if spaced(s) { // trimSpace, inline
		s = strings.TrimSpace(s)
	}
	if voteCompact(s, v) {
		return
	}
	ok := false
	if *v, ok = voteObject(s); !ok {
		*v = parseVote(text, names, self, forbidSelf)
	}
}

// parseVote is ParseVote through ExtractJSON.
func parseVote(text string, names []string, self string, forbidSelf bool) Vote {
	if m, ok := ExtractJSON(text); ok {
		if v, ok := voteOf(m); ok {
			return v
		}
	}
	v := Vote{Confidence: DefaultConfidence, Reasoning: Truncate(strings.TrimSpace(text), FallbackReasoning), Parse: ParseFallback}
	candidates := make([]string, 0, len(names))
	for _, n := range names {
		if forbidSelf && n == self {
			continue
		}
		candidates = append(candidates, n)
	}
	if name, ok := FirstName(text, candidates); ok {
		v.Choice, v.OK = name, true
	}
	return v
}

// voteOf reads a vote from its JSON object; ok is false without a
// non-empty string choice.
func voteOf(m map[string]any) (Vote, bool) {
	choice, _ := m["choice"].(string)
	if strings.TrimSpace(choice) == "" {
		return Vote{}, false
	}
	return Vote{
		Choice:     strings.TrimSpace(choice),
		Confidence: Confidence(m["confidence"]),
		Reasoning:  str(m["reasoning"]),
		Parse:      ParseJSON,
		OK:         true,
	}, true
}

// FirstName returns the name that occurs first in text as a whole word,
// ignoring case; on an equal position the longer name wins, then the
// earlier in names. A whole word is not preceded or followed by a Unicode
// letter or digit. Empty names never match.
func FirstName(text string, names []string) (string, bool) {
	lt := strings.ToLower(text)
	best, bestPos := -1, -1
	for i, n := range names {
		ln := strings.ToLower(strings.TrimSpace(n))
		if ln == "" {
			continue
		}
		pos := similarity.WordIndex(lt, ln)
		if pos < 0 {
			continue
		}
		if best < 0 || pos < bestPos || (pos == bestPos && len(ln) > len(strings.ToLower(strings.TrimSpace(names[best])))) {
			best, bestPos = i, pos
		}
	}
	if best < 0 {
		return "", false
	}
	return names[best], true
}

// Judge is a parsed judge reply.
type Judge struct {
	Decided    bool    `json:"decided"`
	Choice     string  `json:"choice"`
	Confidence float64 `json:"confidence"`
	Reasoning  string  `json:"reasoning"`
	Answer     string  `json:"answer"`
	OK         bool    `json:"ok"` // false: no usable choice (the judge failed)
}

// ParseJudge reads {"decided", "choice", "confidence", "reasoning",
// "answer"}. decided may be a boolean or a string ("true", "yes"); it is
// false when missing. There is no text fallback (docs/agents.md#phases-and-reply-formats): without a
// JSON object holding a non-empty string choice, OK is false.
func ParseJudge(text string) Judge {
	m, ok := ExtractJSON(text)
	if !ok {
		return Judge{Confidence: DefaultConfidence}
	}
	return judgeOf(m)
}

// judgeOf reads a judge decision from its JSON object.
func judgeOf(m map[string]any) Judge {
	choice, _ := m["choice"].(string)
	j := Judge{
		Decided:    truthy(m["decided"]),
		Choice:     strings.TrimSpace(choice),
		Confidence: Confidence(m["confidence"]),
		Reasoning:  str(m["reasoning"]),
		Answer:     strings.TrimSpace(str(m["answer"])),
	}
	j.OK = j.Choice != ""
	return j
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "y", "1":
			return true
		}
	case float64:
		return x == 1
	}
	return false
}

// Synthesis is a parsed synthesis reply.
type Synthesis struct {
	Answer     string  `json:"answer"`
	Confidence float64 `json:"confidence"`
	Parse      string  `json:"parse"` // "json" or "fallback"
}

// ParseSynthesis reads {"answer", "confidence"}. Without a JSON object
// holding a non-empty answer, the whole trimmed reply is the answer, with
// confidence 0.5 and Parse "fallback".
func ParseSynthesis(text string) Synthesis {
	if m, ok := ExtractJSON(text); ok {
		if a := strings.TrimSpace(str(m["answer"])); a != "" {
			return Synthesis{Answer: a, Confidence: Confidence(m["confidence"]), Parse: ParseJSON}
		}
	}
	return Synthesis{Answer: strings.TrimSpace(text), Confidence: DefaultConfidence, Parse: ParseFallback}
}
