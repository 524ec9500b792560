package reply

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomJSON builds a random value's JSON with the shapes replies have
// (and some they do not: escapes, \u, non-ASCII, big and odd numbers).
func randomJSON(r *rand.Rand, depth int) string {
	strs := []string{`"issues"`, `"Severity"`, `"choice"`, `"a\"b"`, `"tab\tx"`, `"\u00e9t\u00e9"`, `"é—’"`, `"x\/y"`,
		`"line\nbreak"`, `""`, `"ISSUES"`, `"\ud83d\ude00"`, `"bad\q"`, `"ctl` + "\x01" + `"`, `"inv` + "\xff" + `"`}
	nums := []string{"0", "-0", "1", "0.85", "-3.5e2", "1E400", "01", "1.", ".5", "7", "2e-3", "10"}
	switch k := r.IntN(8); {
	case depth > 3 || k < 2:
		return strs[r.IntN(len(strs))]
	case k < 4:
		return nums[r.IntN(len(nums))]
	case k == 4:
		return []string{"true", "false", "null", "nul", "True"}[r.IntN(5)]
	case k == 5:
		parts := make([]string, r.IntN(4))
		for i := range parts {
			parts[i] = randomJSON(r, depth+1)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	parts := make([]string, r.IntN(5))
	for i := range parts {
		parts[i] = strs[r.IntN(len(strs))] + ":" + []string{"", " ", "\n\t"}[r.IntN(3)] + randomJSON(r, depth+1)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestDecodeObjectMatchesEncodingJSON checks that object gives what
// encoding/json gives, on random objects and random damage to them.
func TestDecodeObjectMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	ref := func(s string) (map[string]any, bool) {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
			return nil, false
		}
		return lowerKeys(m), true
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 5000 {
		s := "{" + strings.TrimPrefix(randomJSON(r, 0), "{")
		if !strings.HasSuffix(s, "}") {
			s += "}"
		}
		switch r.IntN(4) {
		case 0: // damage one byte
			i := r.IntN(len(s))
			const junk = "{}[]\",: x\\"
			s = s[:i] + string(junk[r.IntN(len(junk))]) + s[i+1:]
		case 1:
			s += []string{" ", " x", "}", "\n"}[r.IntN(4)]
		}
		wm, wok := ref(s)
		gm, gok := object(s)
		require.Equal(t, wok, gok, "%q", s)
		require.Equal(t, wm, gm, "%q", s)
	}
}

// TestCritiqueObjectMatchesParseCritique checks the direct critique reader
// against ParseCritique's general path (ExtractJSON, items, number, str)
// on random critiques: item lists and single strings, blank and long
// items, numbers, odd types, upper-case and duplicate keys, extra keys,
// damage. It must agree whenever it accepts, and accept the plain ones.
func TestCritiqueObjectMatchesParseCritique(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	str := func() string {
		return []string{`"cost"`, `"  padded  "`, `""`, `"   "`, `"a\nb"`, `"é—’"`, `"` + strings.Repeat("x", 600) + `"`,
			`"\u0041"`, `"q\"uote"`}[r.IntN(9)]
	}
	val := func() string {
		switch r.IntN(6) {
		case 0:
			return str()
		case 1:
			parts := make([]string, r.IntN(13))
			for i := range parts {
				parts[i] = str()
				if r.IntN(15) == 0 {
					parts[i] = "3"
				}
			}
			return "[" + strings.Join(parts, ",") + "]"
		case 2:
			return []string{"7", "-2", "12.5", "1e3", "0", "1E400"}[r.IntN(6)]
		case 3:
			return []string{"null", "true", "{}", `{"a":[1,{"b":null}]}`}[r.IntN(4)]
		}
		return randomJSON(r, 1)
	}
	keys := []string{"issues", "suggestions", "severity", "reasoning", "extra", "Issues", "SEVERITY", "notes"}
	accepted := 0
	var shared []string // ParseCritiqueTo's buffer, for every critique
	var read []Critique
	var texts []string
	for range 5000 {
		parts := make([]string, r.IntN(6))
		for i := range parts {
			parts[i] = `"` + keys[r.IntN(len(keys))] + `": ` + val()
		}
		s := " {" + strings.Join(parts, ", ") + "} "
		if r.IntN(10) == 0 {
			i := r.IntN(len(s))
			s = s[:i] + s[i+1:]
		}
		if c, ok := critiqueObject(strings.TrimSpace(s), nil); ok {
			accepted++
			require.Equal(t, parseCritique(s), c, "%q", s)
		}
		require.Equal(t, parseCritique(s), ParseCritique(s), "%q", s)
		c := ParseCritiqueTo(s, &shared)
		require.Equal(t, parseCritique(s), c, "%q", s)
		read, texts = append(read, c), append(texts, s)
	}
	require.Greater(t, accepted, 500)
	// The critiques read into the shared buffer kept their items: none
	// was overwritten by a later one.
	for i, c := range read {
		require.Equal(t, parseCritique(texts[i]), c, "%q", texts[i])
		if _, direct := critiqueObject(strings.TrimSpace(texts[i]), nil); direct {
			require.Equal(t, len(c.Issues), cap(c.Issues), "%q", texts[i])
			require.Equal(t, len(c.Suggestions), cap(c.Suggestions), "%q", texts[i])
		}
	}
}

// TestVoteObjectMatchesParseVote checks the direct vote reader against
// ParseVote's general path (ExtractJSON, voteOf, the name fallback) on
// random votes: choices blank, padded, escaped or of other types,
// confidences as numbers, percentages, strings and odd types, upper-case
// and duplicate keys, extra keys, damage. It must agree whenever it
// accepts, and accept the plain ones.
func TestVoteObjectMatchesParseVote(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 14))
	names := []string{"alice", "bob", "carol"}
	val := func(key string) string {
		switch r.IntN(8) { // 4-7: a plain value
		case 0:
			return []string{`"alice"`, `"  bob "`, `""`, `"   "`, `"car\nol"`, `"é—’"`, `"\u0041"`, `"q\"uote"`}[r.IntN(8)]
		case 1:
			return []string{"0.7", "-2", "85", "100", "101", "1e3", "0", "1E400", "1", "0.999"}[r.IntN(10)]
		case 2:
			return []string{"null", "true", "{}", `["alice"]`, `"75%"`, `" 0.4 "`}[r.IntN(6)]
		case 3:
			return randomJSON(r, 1)
		}
		if key == "choice" {
			return `"` + names[r.IntN(len(names))] + `"`
		}
		return `"clear reasoning"`
	}
	keys := []string{"choice", "confidence", "reasoning", "extra", "Choice", "CONFIDENCE", "notes"}
	accepted := 0
	for range 5000 {
		var parts []string
		if r.IntN(4) > 0 {
			parts = append(parts, `"choice": `+val("choice"))
		}
		for range r.IntN(4) {
			k := keys[r.IntN(len(keys))]
			parts = append(parts, `"`+k+`": `+val(k))
		}
		r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		s := " {" + strings.Join(parts, ", ") + "} "
		if r.IntN(10) == 0 {
			i := r.IntN(len(s))
			s = s[:i] + s[i+1:]
		}
		self := names[r.IntN(len(names))]
		forbid := r.IntN(2) == 0
		if v, ok := voteObject(strings.TrimSpace(s)); ok {
			accepted++
			require.Equal(t, parseVote(s, names, self, forbid), v, "%q", s)
		}
		require.Equal(t, parseVote(s, names, self, forbid), ParseVote(s, names, self, forbid), "%q", s)
	}
	require.Greater(t, accepted, 300)
}

// TestPlainEnd compares plainEnd (and plainStrEnd: checkPlainStrEnd) with
// a byte-by-byte scan on random strings of plain runs and every kind of
// byte that ends one, at every offset.
func TestPlainEnd(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "plain text ", "0123456789abcdef", `"`, `\`, "\x00", "\x1f", " ", "\x7f", "é", "\xff", "!#[]{}"}
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		var b strings.Builder
		for range r.IntN(10) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		for i := 0; i <= len(s); i++ {
			want := i
			for want < len(s) && s[want] != '"' && s[want] != '\\' && s[want] >= 0x20 && s[want] < 0x80 {
				want++
			}
			require.Equal(t, want, plainEnd(s, i), "%q at %d", s, i)
			checkPlainStrEnd(t, s, i)
		}
	}
}

// TestShortDecimalMatchesParseFloat compares shortDecimal (and
// smallNumber: checkSmallNumber) with strconv.ParseFloat, bit for bit, on
// every string of up to 5 bytes of digits, dots, signs and exponents and
// on random long decimals, and
// checks it takes the plain forms and leaves exponents and long numbers
// to ParseFloat.
func TestShortDecimalMatchesParseFloat(t *testing.T) {
	t.Parallel()
	check := func(num string) bool {
		checkSmallNumber(t, num)
		checkSmallNumber(t, num+",")
		f, ok := shortDecimal(num)
		if ok {
			want, err := strconv.ParseFloat(num, 64)
			require.NoError(t, err, num)
			require.Equal(t, math.Float64bits(want), math.Float64bits(f), num)
		}
		return ok
	}
	const alphabet = "0123456789.-e"
	var b [5]byte
	var all func(n int)
	all = func(n int) {
		check(string(b[:n]))
		if n == len(b) {
			return
		}
		for i := range len(alphabet) {
			b[n] = alphabet[i]
			all(n + 1)
		}
	}
	all(0)
	r := rand.New(rand.NewPCG(15, 16))
	for range 300000 {
		n := 1 + r.IntN(17)
		digits := make([]byte, n)
		for i := range digits {
			digits[i] = byte('0' + r.IntN(10))
		}
		num := string(digits)
		if dot := r.IntN(n + 1); dot < n {
			num = num[:dot] + "." + num[dot:]
		}
		if r.IntN(2) == 0 {
			num = "-" + num
		}
		check(num)
	}
	for _, num := range []string{"0", "7", "-2", "10", "0.85", "4.1", "-0", "-0.0", "0.5", "999999999999999",
		"-999999999999999", "99999999999999.9", "0.00000000000001", "123456789012345"} {
		assert.True(t, check(num), num)
	}
	for _, num := range []string{"1e3", "1E400", "1234567890123456", "1.234567890123456", "", "-", ".", "1.", "1.2.3"} {
		assert.False(t, check(num), num)
	}
}

// FuzzShortDecimal compares shortDecimal with strconv.ParseFloat on any
// string it takes.
func FuzzShortDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "4.1", "0.85", "99999999999999.9", "1e3", "0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, num string) {
		got, ok := shortDecimal(num)
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(num, 64)
		if err != nil || math.Float64bits(want) != math.Float64bits(got) {
			t.Fatalf("shortDecimal(%q) = %v, ParseFloat: %v, %v", num, got, want, err)
		}
	})
}

// BenchmarkParseCritique reads a short critique object, the reply of
// BenchmarkDebate's agents (debate package).
func BenchmarkParseCritique(b *testing.B) {
	const text = `{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`
	b.ReportAllocs()
	for b.Loop() {
		ParseCritique(text)
	}
}

// TestTrimSpaceMatchesStrings compares trimSpace with strings.TrimSpace on
// strings of every first and last byte, and on Unicode spaces.
func TestTrimSpaceMatchesStrings(t *testing.T) {
	t.Parallel()
	for a := range 256 {
		for b := range 256 {
			for _, mid := range []string{"", "x", " y z "} {
				s := string([]byte{byte(a)}) + mid + string([]byte{byte(b)})
				require.Equal(t, strings.TrimSpace(s), trimSpace(s), "%q", s)
			}
		}
		s := string([]byte{byte(a)})
		require.Equal(t, strings.TrimSpace(s), trimSpace(s), "%q", s)
	}
	for _, s := range []string{"", "\u00a0x", "x\u0085", "\u2003x\u3000", "\u00e9", "a\u00a0", "\u00a0"} {
		require.Equal(t, strings.TrimSpace(s), trimSpace(s), "%q", s)
	}
}

// FuzzCritiqueObject checks the direct critique reader against
// ParseCritique's general path on any reply, with and without a shared
// buffer.
func FuzzCritiqueObject(f *testing.F) {
	for _, s := range []string{"", "{}", "x {\"issues\": \"y\"} z", `{"issues":["a "," b"],"suggestions":"c","severity":4.1,"reasoning":"r"}`,
		`{"suggestions":[],"issues":"x","extra":{"a":[1]}}`, `{"severity":-0.0}`, `{"issues":["a\u0041"]}`, `{"issues":["a"],"Issues":["b"]}`,
		`{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`, `{"issues":[],"suggestions":["a",""],"severity":10.5,"reasoning":""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		want := parseCritique(text)
		if c, ok := critiqueObject(trimSpace(text), nil); ok {
			require.Equal(t, want, c)
		}
		var c Critique
		if all, mid, ok := critiqueCompact(trimSpace(text), &c, nil); ok {
			c.Issues, c.Suggestions = part(all, [2]int{0, mid}), part(all, [2]int{mid, len(all)})
			require.Equal(t, want, c)
		}
		shared := make([]string, 1, 4)
		require.Equal(t, want, ParseCritiqueTo(text, &shared))
		for _, s := range shared[len(shared):cap(shared)] {
			require.Empty(t, s, "an item left beyond the buffer's length")
		}
	})
}

// FuzzVoteObject checks the direct vote reader against ParseVote's
// general path on any reply.
func FuzzVoteObject(f *testing.F) {
	for _, s := range []string{"", "{}", "bob", `{"choice":" bob ","confidence":85,"reasoning":"r"}`, `{"reasoning":1,"choice":"ada"}`,
		`{"choice":"bob","choice":"ada"}`, `{"choice":"bob","confidence":"75%"}`, `{"choice":"agent0","confidence":0.8,"reasoning":"clear"}`,
		`{"choice":"bob","confidence":85,"reasoning":""}`} {
		f.Add(s)
	}
	names := []string{"ada", "bob"}
	f.Fuzz(func(t *testing.T, text string) {
		want := parseVote(text, names, "ada", true)
		if v, ok := voteObject(trimSpace(text)); ok {
			require.Equal(t, want, v)
		}
		var v Vote
		if voteCompact(trimSpace(text), &v) {
			require.Equal(t, want, v)
		}
		require.Equal(t, want, ParseVote(text, names, "ada", true))
	})
}

// FuzzPlainEnd compares plainEnd with a byte-by-byte scan.
func FuzzPlainEnd(f *testing.F) {
	f.Add("plain text \"quoted\" and \\ more plain text é", 3)
	f.Fuzz(func(t *testing.T, s string, i int) {
		if i < 0 || i > len(s) {
			return
		}
		want := i
		for want < len(s) && s[want] != '"' && s[want] != '\\' && s[want] >= 0x20 && s[want] < 0x80 {
			want++
		}
		require.Equal(t, want, plainEnd(s, i))
	})
}

// TestParseCritiqueToFailureLeavesNoItems checks that a reply the direct
// reader gives up on after reading items leaves none of them in the
// buffer beyond its length.
func TestParseCritiqueToFailureLeavesNoItems(t *testing.T) {
	t.Parallel()
	shared := make([]string, 1, 8)
	text := `{"issues":["a","b"],"suggestions":["c"],"Severity":3}`
	require.Equal(t, parseCritique(text), ParseCritiqueTo(text, &shared))
	assert.Len(t, shared, 1)
	for _, s := range shared[:cap(shared)] {
		assert.Empty(t, s)
	}
}

// TestLiteralKey checks literalKey against reading the key as a string
// (keySlot), over all slots and over a critique's and a vote's, on each
// key followed by a quote and more, with every byte of it changed in
// turn, and cut short.
func TestLiteralKey(t *testing.T) {
	t.Parallel()
	check := func(rest string) {
		slot, n := literalKey(rest, 0, len(literalKeys)-1)
		want := -1
		if end := strings.IndexByte(rest, '"'); end >= 0 {
			want = keySlot(rest[:end])
		}
		for _, r := range [][2]int{{keyIssues, keyReasoning}, {keyReasoning, keyConfidence}} {
			in, _ := literalKey(rest, r[0], r[1])
			wantIn := -1
			if slot >= r[0] && slot <= r[1] {
				wantIn = slot
			}
			require.Equal(t, wantIn, in, "%q in %v", rest, r)
		}
		if len(rest) < 16 {
			require.Equal(t, -1, slot, "%q", rest)
			return
		}
		require.Equal(t, want, slot, "%q", rest)
		if slot >= 0 {
			require.Equal(t, len(literalKeys[slot]), n, "%q", rest)
		}
	}
	for _, k := range append(literalKeys[:], "issue", "issuess", "sugg", "severit", "choices", "conf") {
		for _, tail := range []string{`":[1,2,3,4,5,6,7,8,9]`, `":1}`, `"`, `x":1,"a":"bbbbbbbbbbbbbbbbb"}`} {
			rest := k + tail
			check(rest)
			for i := range len(k) + 1 {
				for _, c := range []byte{'"', 'a', 'e', 'o', 'x', 0, 0xff} {
					b := []byte(rest)
					b[i] = c
					check(string(b))
				}
			}
			for i := range len(rest) {
				check(rest[:i])
			}
		}
	}
}

// TestCompactCritiqueMatchesParseCritique checks the compact critique
// reader against ParseCritique's general path on compact critiques with
// random items (empty, spaced, long, escaped, non-ASCII, too many),
// severities, reasonings, keys out of order or missing, and damage. It
// must agree whenever it accepts, accept the plain ones, and leave no item
// behind in a shared buffer when it gives up.
func TestCompactCritiqueMatchesParseCritique(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 22))
	item := func() string {
		if r.IntN(3) > 0 {
			return `"` + []string{"cost", "pilot", "a", "risk of delay", "0123456789abcdefg"}[r.IntN(5)] + `"`
		}
		return []string{`""`, `" x"`, `"x "`, `"` + strings.Repeat("y", 500) + `"`, `"` + strings.Repeat("y", 501) + `"`,
			`"a\nb"`, `"é"`, `"q\"t"`, `3`, `"\u0041"`, `"tab` + "\t" + `"`}[r.IntN(11)]
	}
	list := func() string {
		if r.IntN(10) == 0 {
			return item()
		}
		parts := make([]string, r.IntN(4))
		if r.IntN(15) == 0 {
			parts = make([]string, 9+r.IntN(4))
		}
		for i := range parts {
			parts[i] = item()
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	plain := []string{"3", "0", "10", "7.5", "0.25", "12", "99999999999999.9", "1234567890123456"}
	odd := []string{"-1", "05", "1e2", "1.", ".5", "1E400", `"4"`, "null", "3.14159265358979"}
	number := func() string {
		if r.IntN(3) > 0 {
			return plain[r.IntN(len(plain))]
		}
		return odd[r.IntN(len(odd))]
	}
	text := func() string {
		if r.IntN(3) > 0 {
			return `"` + []string{"ok", "", "clear and short", "a longer reasoning than eight bytes"}[r.IntN(4)] + `"`
		}
		return item()
	}
	accepted := 0
	var shared []string
	for range 6000 {
		members := []string{`"issues":` + list(), `"suggestions":` + list(), `"severity":` + number(), `"reasoning":` + text()}
		s := compactVariant(r, members, `"Issues":["x"]`)
		want := parseCritique(s)
		var c Critique
		if all, mid, ok := critiqueCompact(s, &c, nil); ok {
			accepted++
			c.Issues, c.Suggestions = part(all, [2]int{0, mid}), part(all, [2]int{mid, len(all)})
			require.Equal(t, want, c, "%q", s)
		}
		require.Equal(t, want, ParseCritiqueTo(s, &shared), "%q", s)
		require.Equal(t, want, ParseCritique(s), "%q", s)
		for _, v := range shared[len(shared):cap(shared)] {
			require.Empty(t, v, "an item left beyond the buffer's length: %q", s)
		}
		if len(shared) > 1000 {
			clear(shared)
			shared = shared[:0]
		}
	}
	require.Greater(t, accepted, 600)
	for _, s := range []string{`{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`,
		`{"issues":[],"suggestions":[],"severity":0.5,"reasoning":""}`} {
		var c Critique
		_, _, ok := critiqueCompact(s, &c, nil)
		assert.True(t, ok, s)
	}
}

// compactVariant joins members into a compact object, sometimes
// shuffled, with one left out or extra added, or with a byte dropped,
// added or changed.
func compactVariant(r *rand.Rand, members []string, extra string) string {
	switch r.IntN(8) {
	case 0:
		r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	case 1:
		i := r.IntN(len(members))
		members = append(members[:i], members[i+1:]...)
	case 2:
		members = append(members, extra)
	}
	s := "{" + strings.Join(members, ",") + "}"
	if r.IntN(6) == 0 {
		i := r.IntN(len(s))
		const junk = "{}[]\",: x\\e"
		switch r.IntN(3) {
		case 0:
			s = s[:i] + s[i+1:]
		case 1:
			s = s[:i] + string(junk[r.IntN(len(junk))]) + s[i:]
		default:
			s = s[:i] + string(junk[r.IntN(len(junk))]) + s[i+1:]
		}
	}
	return s
}

// TestCompactVoteMatchesParseVote checks the compact vote reader against
// ParseVote's general path on compact votes with random choices,
// confidences and reasonings, keys out of order or missing, and damage.
func TestCompactVoteMatchesParseVote(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(23, 24))
	names := []string{"agent0", "agent1", "bob"}
	str := func() string {
		if r.IntN(3) > 0 {
			return `"` + []string{"agent0", "agent1", "bob", "clear", "a reasoning longer than eight"}[r.IntN(5)] + `"`
		}
		return []string{`""`, `" bob"`, `"bob "`, `"a\nb"`, `"é"`, `"q\"t"`, `3`, `"\u0041"`, "null"}[r.IntN(9)]
	}
	number := func() string {
		return []string{"0.8", "1", "0", "85", "100", "101", "0.999", "-1", "05", "1e2", "1.", `"75%"`, "null"}[r.IntN(13)]
	}
	accepted := 0
	for range 20000 {
		members := []string{`"choice":` + str(), `"confidence":` + number(), `"reasoning":` + str()}
		s := compactVariant(r, members, `"Choice":"bob"`)
		self := names[r.IntN(len(names))]
		forbid := r.IntN(2) == 0
		want := parseVote(s, names, self, forbid)
		var v Vote
		if voteCompact(s, &v) {
			accepted++
			require.Equal(t, want, v, "%q", s)
		}
		require.Equal(t, want, ParseVote(s, names, self, forbid), "%q", s)
	}
	require.Greater(t, accepted, 2000)
	var v Vote
	assert.True(t, voteCompact(`{"choice":"agent0","confidence":0.8,"reasoning":"clear"}`, &v))
}

// checkSmallNumber checks smallNumber at the start of s against numberEnd
// and strconv.ParseFloat.
func checkSmallNumber(t testing.TB, s string) {
	f, end := smallNumber(s, 0)
	if end < 0 {
		return
	}
	require.Equal(t, end, numberEnd(s[:end], 0), "%q", s)
	if end == len(s) || !strings.Contains("0123456789.eE", s[end:end+1]) {
		require.Equal(t, end, numberEnd(s, 0), "%q", s)
	}
	want, err := strconv.ParseFloat(s[:end], 64)
	require.NoError(t, err, "%q", s)
	require.Equal(t, math.Float64bits(want), math.Float64bits(f), "%q", s)
	g, ok := shortDecimal(s[:end])
	require.True(t, ok, "%q", s)
	require.Equal(t, math.Float64bits(g), math.Float64bits(f), "%q", s)
}

// FuzzSmallNumber compares smallNumber with numberEnd and
// strconv.ParseFloat on any text.
func FuzzSmallNumber(f *testing.F) {
	for _, s := range []string{"0", "3,", "0.8}", "99999999999999.9", "05", "1e3", "1.", "12.5e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSmallNumber(t, s) })
}

// checkPlainStrEnd checks plainStrEnd(s, i) against a byte-by-byte scan.
func checkPlainStrEnd(t testing.TB, s string, i int) {
	want := i
	for want < len(s) && s[want] != '"' && s[want] != '\\' && s[want] >= 0x20 && s[want] < 0x80 {
		want++
	}
	if want == len(s) || s[want] != '"' {
		want = -1
	}
	require.Equal(t, want, plainStrEnd(s, i), "%q at %d", s, i)
}

// FuzzPlainStrEnd compares plainStrEnd with a byte-by-byte scan.
func FuzzPlainStrEnd(f *testing.F) {
	f.Add(`ok"}`, 0)
	f.Add(`{"issues":["cost"],"suggestions":["pilot"]`, 12)
	f.Fuzz(func(t *testing.T, s string, i int) {
		if i < 0 || i > len(s) {
			return
		}
		checkPlainStrEnd(t, s, i)
	})
}

// BenchmarkParseVote reads a short vote object, the reply of
// BenchmarkDebate's agents (debate package).
func BenchmarkParseVote(b *testing.B) {
	const text = `{"choice":"agent0","confidence":0.8,"reasoning":"clear"}`
	names := []string{"agent0", "agent1"}
	b.ReportAllocs()
	for b.Loop() {
		ParseVote(text, names, "agent1", true)
	}
}

// BenchmarkParseCritiqueTo reads the critique of BenchmarkParseCritique
// into a shared buffer, as the debate does.
func BenchmarkParseCritiqueTo(b *testing.B) {
	const text = `{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`
	var buf []string
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		ParseCritiqueTo(text, &buf)
	}
}

// TestCompactCritiqueAllocations checks that a compact critique costs
// ParseCritique one allocation (the items') and ParseCritiqueTo, into a
// buffer with room, none: the reader's buffer stays on the stack.
func TestCompactCritiqueAllocations(t *testing.T) {
	const text = `{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { ParseCritique(text) }))
	buf := make([]string, 0, 4)
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { buf = buf[:0]; ParseCritiqueTo(text, &buf) }))
}
