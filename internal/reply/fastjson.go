package reply

import (
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeObject decodes s, a JSON object, as json.Unmarshal into a
// map[string]any does (numbers as float64), for the plain subset that
// replies use: valid UTF-8, string escapes among \" \\ \/ \b \f \n \r \t,
// no duplicate keys, nesting up to maxDepth, nothing but whitespace after
// the object. Anything else, valid JSON or not, reports false and is left
// to encoding/json, so the result never differs from json.Unmarshal's.
func decodeObject(s string) (map[string]any, bool) {
	d := decoder{s: s}
	d.space()
	v, ok := d.value(0)
	if !ok {
		return nil, false
	}
	m, isObj := v.(map[string]any)
	if d.space(); !isObj || d.i != len(s) {
		return nil, false
	}
	return m, true
}

const maxDepth = 64

type decoder struct {
	s string
	i int
}

// at reports whether the next byte is c.
func (d *decoder) at(c byte) bool { return d.i < len(d.s) && d.s[d.i] == c }

// eat consumes the next byte when it is c.
func (d *decoder) eat(c byte) bool {
	if !d.at(c) {
		return false
	}
	d.i++
	return true
}

func (d *decoder) space() {
	if d.i < len(d.s) && d.s[d.i] > ' ' {
		return // the usual case: no space (every space byte is at most ' ')
	}
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, bool) {
	if d.i >= len(d.s) || depth > maxDepth {
		return nil, false
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	for _, lit := range []struct {
		text string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(d.s)-d.i >= len(lit.text) && d.s[d.i:d.i+len(lit.text)] == lit.text {
			d.i += len(lit.text)
			return lit.v, true
		}
	}
	return nil, false
}

func (d *decoder) object(depth int) (any, bool) {
	m := map[string]any{}
	ok := true
	for more := d.open('}'); more; more, ok = d.next('}') {
		if !d.at('"') {
			return nil, false
		}
		k, kok := d.str()
		if _, dup := m[k]; !kok || dup || !d.colon() {
			return nil, false
		}
		v, vok := d.value(depth + 1)
		if !vok {
			return nil, false
		}
		m[k] = v
	}
	if !ok {
		return nil, false
	}
	return m, true
}

func (d *decoder) array(depth int) (any, bool) {
	a := []any{}
	ok := true
	for more := d.open(']'); more; more, ok = d.next(']') {
		v, vok := d.value(depth + 1)
		if !vok {
			return nil, false
		}
		a = append(a, v)
	}
	if !ok {
		return nil, false
	}
	return a, true
}

// open reads the opening bracket, at d.i, of an object or array closed by
// close, and reports whether an element follows (else it has read close).
func (d *decoder) open(close byte) bool {
	d.i++
	d.space()
	return !d.eat(close)
}

// next reads what follows an element of an object or array closed by
// close: more after a comma, and ok unless neither a comma nor close.
func (d *decoder) next(close byte) (more, ok bool) {
	// The usual cases: close, or a comma and no space (space).
	if d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == close:
			d.i++
			return false, true
		case c == ',' && d.i+1 < len(d.s) && d.s[d.i+1] > ' ':
			d.i++
			return true, true
		}
	}
	return d.nextSpaced(close)
}

// nextSpaced is next's general case.
func (d *decoder) nextSpaced(close byte) (more, ok bool) {
	d.space()
	if d.eat(',') {
		d.space()
		return true, true
	}
	return false, d.eat(close)
}

// colon reads the colon after a key, and the white space around it.
func (d *decoder) colon() bool {
	if d.i+1 < len(d.s) && d.s[d.i] == ':' && d.s[d.i+1] > ' ' {
		d.i++ // the usual case: a colon and no space (space)
		return true
	}
	return d.colonSpaced()
}

// colonSpaced is colon's general case.
func (d *decoder) colonSpaced() bool {
	d.space()
	ok := d.eat(':')
	d.space()
	return ok
}

// end reports whether only white space follows.
func (d *decoder) end() bool {
	d.space()
	return d.i == len(d.s)
}

// strValue reads a value that must be a string (str).
func (d *decoder) strValue() (string, bool) {
	if !d.at('"') {
		return "", false
	}
	return d.str()
}

// str reads a string; its text is a substring of s when it has no escape.
func (d *decoder) str() (string, bool) {
	start := d.i + 1 // after the quote
	// The usual string: plain bytes up to the closing quote.
	end := plainEnd(d.s, start)
	if end < len(d.s) && d.s[end] == '"' {
		d.i = end + 1
		return d.s[start:end], true
	}
	return d.strRest(start, end)
}

// strRest reads, for str, the rest of the string whose text starts at
// start, from end, its first byte that is not plain.
func (d *decoder) strRest(start, end int) (string, bool) {
	d.i = end
	var buf []byte
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			var out string
			if buf == nil {
				out = d.s[start:d.i]
			} else {
				out = string(append(buf, d.s[start:d.i]...))
			}
			d.i++
			return out, true
		case c < 0x20:
			return "", false
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", false
			}
			var r byte
			switch d.s[d.i+1] {
			case '"', '\\', '/':
				r = d.s[d.i+1]
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			default:
				return "", false // \u and invalid escapes: encoding/json decides
			}
			buf = append(append(buf, d.s[start:d.i]...), r)
			d.i += 2
			start = d.i
		case c < utf8.RuneSelf:
			d.i = plainEnd(d.s, d.i+1)
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			d.i += size
		}
	}
	return "", false
}

// number reads a JSON number as float64.
func (d *decoder) number() (any, bool) {
	f, ok := d.float()
	if !ok {
		return nil, false
	}
	return f, true
}

// float reads a number as number does, unboxed.
func (d *decoder) float() (float64, bool) {
	end := numberEnd(d.s, d.i)
	if end < 0 {
		return 0, false
	}
	if f, ok := shortDecimal(d.s[d.i:end]); ok {
		d.i = end
		return f, true
	}
	f, err := strconv.ParseFloat(d.s[d.i:end], 64)
	if err != nil {
		return 0, false
	}
	d.i = end
	return f, true
}

// pow10 holds the powers of ten that shortDecimal divides by, all exact.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// shortDecimal reads num, a JSON number (numberEnd), when it has no
// exponent and at most 15 digits, and returns what strconv.ParseFloat
// returns for it; false for another number. Its digits d (below 10^15,
// so exact as a float64) and fractional digits k (10^k exact too) give
// ±d/10^k, which the division rounds correctly as ParseFloat does (its
// own exact case).
func shortDecimal(num string) (float64, bool) {
	digits := num
	if digits != "" && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > 16 {
		return 0, false
	}
	n, frac := uint64(0), -1
	for i := range len(digits) {
		c := digits[i]
		switch {
		case '0' <= c && c <= '9':
			n = n*10 + uint64(c-'0')
		case c == '.' && frac < 0:
			frac = len(digits) - i - 1
		default:
			return 0, false // an exponent, or not a number
		}
	}
	if digits == "" || len(digits) == 16 && frac < 0 || frac == 0 {
		return 0, false
	}
	f := float64(n)
	if frac > 0 {
		f /= pow10[frac]
	}
	if len(digits) < len(num) {
		f = -f
	}
	return f, true
}

// numberEnd returns the end of -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// at s[i], or -1.
func numberEnd(s string, i int) int {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digitsEnd(s, i)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		j := digitsEnd(s, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digitsEnd(s, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digitsEnd(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// critiqueObject parses s, the trimmed reply, as ParseCritique would
// through ExtractJSON when s is a whole JSON object in the subset of
// decodeObject whose keys are all lower-case and distinct, whose issues
// and suggestions are strings or arrays of strings, whose severity is a
// number and whose reasoning is a string (other keys: any value). It
// reports false for anything else, which ParseCritique then reads the
// general way, so the result is the same.
//
// The issues and suggestions are appended to *out when out is not nil
// (the critique's slices then share its array), else allocated.
func critiqueObject(s string, out *[]string) (Critique, bool) {
	var c Critique
	ok := critiqueInto(&c, s, out)
	return c, ok
}

// critiqueInto is critiqueObject, reading into *c (on false, *c is for the
// caller to drop). It tries critiqueCompact first.
func critiqueInto(c *Critique, s string, out *[]string) bool {
	if out == nil {
		return critiqueAlloc(c, s)
	}
	all, mid, ok := critiqueCompact(s, c, *out)
	if !ok {
		dropItems(*out, all)
		return critiqueFieldsInto(c, s, out)
	}
	c.Issues, c.Suggestions = part(all, [2]int{len(*out), mid}), part(all, [2]int{mid, len(all)})
	*out = all
	return true
}

// critiqueFieldsInto is critiqueInto through critiqueFields.
func critiqueFieldsInto(c *Critique, s string, out *[]string) bool {
	var lists [2][2]int
	var all []string
	var ok bool
	if *c, all, lists, ok = critiqueFields(s, *out); !ok {
		dropItems(*out, all)
		return false
	}
	c.Issues, c.Suggestions = part(all, lists[0]), part(all, lists[1])
	*out = all
	return true
}

// dropItems clears the items that all, read by appending to buf, holds in
// buf's array beyond buf's length (an append beyond buf's capacity wrote
// only those up to it there).
func dropItems(buf, all []string) {
	if len(all) > len(buf) {
		clear(buf[len(buf):min(len(all), cap(buf))])
	}
}

// critiqueAlloc is critiqueInto without a buffer: the items are read
// into buf, then the issues and the suggestions share one allocation.
func critiqueAlloc(c *Critique, s string) bool {
	var buf [2 * MaxItems]string
	all, mid, ok := critiqueCompact(s, c, buf[:0])
	lists := [2][2]int{{0, mid}, {mid, len(all)}}
	if !ok {
		if *c, all, lists, ok = critiqueFields(s, buf[:0]); !ok {
			return false
		}
	}
	issues, sugg := all[lists[0][0]:lists[0][1]], all[lists[1][0]:lists[1][1]]
	both := make([]string, len(issues)+len(sugg)) // not nil: ParseCritique's lists never are
	n := copy(both, issues)
	copy(both[n:], sugg)
	c.Issues, c.Suggestions = both[:n:n], both[n:]
	return true
}

// critiqueFields reads the critique object s for critiqueObject, appending
// its issues and suggestions to all, and returns their places in all.
func critiqueFields(s string, all []string) (c Critique, _ []string, lists [2][2]int, ok bool) {
	d := decoder{s: s}
	d.space()
	if !d.at('{') {
		return Critique{}, all, lists, false
	}
	c = Critique{Severity: DefaultSeverity, Parse: ParseJSON}
	var seen uint64
	ok = true
	for more := d.open('}'); more; more, ok = d.next('}') {
		slot, vok := d.member(keyIssues, keyReasoning, &seen)
		switch {
		case !vok:
		case slot == keyIssues || slot == keySuggestions:
			start := len(all)
			all, vok = d.items(all)
			lists[slot-keyIssues] = [2]int{start, len(all)}
		case slot == keySeverity:
			var v float64
			if v, vok = d.float(); vok {
				c.Severity = min(10, max(0, v)) // as math.Min and math.Max, on zeros and NaN too
			}
		case slot == keyReasoning:
			c.Reasoning, vok = d.strValue()
		}
		if !vok {
			return Critique{}, all, lists, false
		}
	}
	if !ok || !d.end() {
		return Critique{}, all, lists, false
	}
	return c, all, lists, true
}

// part returns all[r[0]:r[1]] without room beyond, and an empty list not
// nil.
func part(all []string, r [2]int) []string {
	if r[0] == r[1] {
		return []string{}
	}
	return all[r[0]:r[1]:r[1]]
}

// voteObject reads a vote reply that is a JSON object as ParseVote's JSON
// path does (ExtractJSON, then voteOf), without a map, for the plain
// subset: an object for decodeObject whose keys are all lower-case and
// distinct, whose choice is a string that is not blank, whose confidence
// is a number and whose reasoning is a string (other keys: any value). It
// reports false for anything else, which ParseVote then reads the general
// way, so the result is the same.
func voteObject(s string) (Vote, bool) {
	d := decoder{s: s}
	if !d.at('{') {
		return Vote{}, false
	}
	v := Vote{Confidence: DefaultConfidence, Parse: ParseJSON, OK: true}
	var choice string
	var seen uint64
	ok := true
	for more := d.open('}'); more; more, ok = d.next('}') {
		slot, vok := d.member(keyReasoning, keyConfidence, &seen)
		if !vok {
			return Vote{}, false
		}
		switch slot {
		case keyChoice:
			choice, vok = d.strValue()
		case keyConfidence:
			var f float64
			if f, vok = d.float(); vok {
				v.Confidence = scaleConfidence(f)
			}
		case keyReasoning:
			v.Reasoning, vok = d.strValue()
		}
		if !vok {
			return Vote{}, false
		}
	}
	if !ok || !d.end() {
		return Vote{}, false
	}
	if v.Choice = trimSpace(choice); v.Choice == "" {
		return Vote{}, false
	}
	return v, true
}

// The slots of the keys critiqueObject and voteObject read (literalKey):
// the critique's from keyIssues to keyReasoning, the vote's from
// keyReasoning to keyConfidence.
const (
	keyIssues = iota
	keySuggestions
	keySeverity
	keyReasoning
	keyChoice
	keyConfidence
)

// keySlot returns the slot of key k, or -1 for another key.
func keySlot(k string) int {
	for slot, key := range literalKeys {
		if k == key {
			return slot
		}
	}
	return -1
}

// keyWords holds, by slot, the key and its closing quote as the first two
// words (word) of a text that starts with them, and the masks of the bytes
// of each word that they fill.
var keyWords = func() (t [keyConfidence + 1]struct{ w0, w1, m0, m1 uint64 }) {
	for slot := range t {
		var b [16]byte
		n := copy(b[:], literalKeys[slot]+`"`)
		t[slot].w0, t[slot].w1 = Word(string(b[:8])), Word(string(b[8:]))
		t[slot].m0 = ^uint64(0) >> (64 - 8*min(n, 8))
		if n > 8 {
			t[slot].m1 = ^uint64(0) >> (64 - 8*(n-8))
		}
	}
	return t
}()

// literalKeys are the keys of the slots.
var literalKeys = [...]string{"issues", "suggestions", "severity", "reasoning", "choice", "confidence"}

// keyHash hashes the first two bytes of a key, differently for each key
// of a slot (keyByHash checks it).
func keyHash(a, b byte) uint { return (uint(a)*6 + uint(b)) >> 2 & 7 }

// keyByHash holds the slot of each key of a slot by its keyHash, and -1
// for a hash that none has.
var keyByHash = func() (t [8]int8) {
	for h := range t {
		t[h] = -1
	}
	for slot, k := range literalKeys {
		h := keyHash(k[0], k[1])
		if t[h] >= 0 {
			panic("reply: keyHash is the same for " + k + " and " + literalKeys[t[h]])
		}
		t[h] = int8(slot)
	}
	return t
}()

// literalKey returns the slot from lo to hi of the key whose text and
// closing quote start rest, told from its first 16 bytes, and the key's
// length; -1 when none does, or rest is shorter.
func literalKey(rest string, lo, hi int) (slot, n int) {
	if len(rest) < 16 {
		return -1, 0
	}
	slot = int(keyByHash[keyHash(rest[0], rest[1])])
	if slot < lo || slot > hi {
		return -1, 0
	}
	if t := &keyWords[slot]; Word(rest)&t.m0 != t.w0 || Word(rest[8:])&t.m1 != t.w1 {
		return -1, 0
	}
	return slot, len(literalKeys[slot])
}

// member reads a member's key, at d.i, and the colon after it, for
// critiqueObject and voteObject, and returns its slot when from lo to hi,
// each slot at most once (seen; a duplicate is left to encoding/json, so
// false), else -1 after reading and dropping the value, when lowerKeys
// keeps the key as it is (lowerASCIIKey; else false). A key is told at
// once when written as a slot's key (literalKey), else read as a string:
// the keys of the slots are all letters, which no escape writes.
func (d *decoder) member(lo, hi int, seen *uint64) (int, bool) {
	if !d.at('"') {
		return -1, false
	}
	slot, n := literalKey(d.s[d.i+1:], lo, hi)
	if slot >= 0 {
		d.i += n + 2 // the key and its quotes
	} else {
		k, ok := d.str()
		if !ok || !lowerASCIIKey(k) {
			return -1, false
		}
		slot = keySlot(k)
	}
	if !d.colon() {
		return -1, false
	}
	if slot < lo || slot > hi {
		_, ok := d.value(1)
		return -1, ok
	}
	if *seen&(1<<slot) != 0 {
		return -1, false
	}
	*seen |= 1 << slot
	return slot, true
}

// lowerASCIIKey reports whether k has no upper-case letter and is ASCII,
// so that lowerKeys keeps it as it is.
func lowerASCIIKey(k string) bool {
	for i := range len(k) {
		if c := k[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// items reads a string or an array of strings as reply.items coerces it,
// appending at most MaxItems items to out (also when it reports false).
func (d *decoder) items(out []string) ([]string, bool) {
	kept := 0
	add := func(v string) {
		if kept < MaxItems {
			if spaced(v) {
				v = strings.TrimSpace(v)
			}
			if v != "" {
				out = append(out, Truncate(v, MaxItemRunes))
				kept++
			}
		}
	}
	if d.i >= len(d.s) {
		return out, false
	}
	switch d.s[d.i] {
	case '"':
		v, ok := d.str()
		if ok {
			add(v)
		}
		return out, ok
	case '[':
	default:
		return out, false
	}
	ok := true
	for more := d.open(']'); more; more, ok = d.next(']') {
		if !d.at('"') {
			return out, false
		}
		v, vok := d.str()
		if !vok {
			return out, false
		}
		add(v)
	}
	return out, ok
}

// trimSpace is strings.TrimSpace, at once when s is not spaced.
func trimSpace(s string) string {
	if spaced(s) {
		return strings.TrimSpace(s)
	}
	return s
}

// spaced reports whether strings.TrimSpace might change s: whether s is
// empty or starts or ends with a byte that is not ASCII or is at most ' '
// (as every ASCII space is). A byte c is neither when c-'!' < 0x80-'!'.
func spaced(s string) bool {
	n := len(s)
	return n == 0 || s[0]-'!' >= 0x80-'!' || s[n-1]-'!' >= 0x80-'!'
}

// PlainEnd is plainEnd, for JSON encoders that copy plain runs whole.
func PlainEnd(s string, i int) int { return plainEnd(s, i) }

// plainEnd returns the offset of the first byte at or after i that is not
// plain inside a JSON string (a quote, a backslash, a control byte or a
// non-ASCII byte), or len(s), testing eight bytes at a time.
func plainEnd(s string, i int) int {
	for ; len(s)-i >= 16; i += 16 {
		w := s[i:]
		x, y := Word(w), Word(w[8:])
		if m := notPlain(x); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		if m := notPlain(y); m != 0 {
			return i + 8 + bits.TrailingZeros64(m)/8
		}
	}
	if i+8 <= len(s) {
		if m := notPlain(Word(s[i : i+8])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	if i < len(s) && len(s) >= 8 {
		// The last 8 bytes, those before i replaced by plain ones.
		j := len(s) - 8
		before := uint64(1)<<(8*(i-j)) - 1
		if m := notPlain(Word(s[j:])&^before | 'a'*0x0101010101010101&before); m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
		return len(s)
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// Word reads the first 8 bytes of w (len(w) >= 8) as a little-endian
// word, for the scanners that test 8 bytes at a time (here and in the demo
// agents' rune count).
func Word(w string) uint64 {
	w = w[:8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// notPlain returns, for 8 bytes read as a little-endian word x, a mask with
// the high bit set in the first byte that is not plain (below 0x20, a
// quote, a backslash or non-ASCII), and none in the bytes before it (later
// ones may have it too). Below that byte no subtraction borrows, and for
// an ASCII byte c, c-0x20 has its high bit set just when c < 0x20,
// (c^'"')-1 just when c is a quote and (c^'\\')-1 just when c is a
// backslash; x's own high bit marks a non-ASCII byte.
func notPlain(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return ((x - 0x20*ones) | ((x ^ '"'*ones) - ones) | ((x ^ '\\'*ones) - ones) | x) & highs
}

// The compact readers below read the replies that agents write most: a
// critique or a vote object written without white space, with the keys
// of its schema (CritiqueSchema, VoteSchema) in the schema's order, each
// once, item lists as arrays of plain strings (plainStrEnd) without
// spaces around them, and small plain decimals (smallNumber). They give
// what critiqueFields and voteObject give, which read the same subset
// with more care (any key, any order, any layout), and report false on
// anything else: the callers then read the reply those ways.

// plainStrEnd returns the offset of the closing quote of the string whose
// text starts at s[i], when all its bytes are plain (notPlain: no escape,
// control or non-ASCII byte); -1 for another string, or when s ends first.
// Of a long s, the last 8 bytes of s are read as one word, shifted so that the bytes
// before i fall out and zeros, which are not plain, come after the end.
func plainStrEnd(s string, i int) int {
	for len(s)-i >= 8 {
		if m := notPlain(Word(s[i:])); m != 0 {
			if i += bits.TrailingZeros64(m) / 8; s[i] == '"' {
				return i
			}
			return -1
		}
		i += 8
	}
	k := len(s) - 8 // i-k is from 1 to 7 when i < len(s)
	if k < 0 {
		for ; i < len(s) && s[i] != '"'; i++ {
			if c := s[i]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				return -1
			}
		}
		if i >= len(s) {
			return -1
		}
		return i
	}
	if i >= len(s) {
		return -1
	}
	m := notPlain(Word(s[k:]) >> ((8 * uint(i-k)) & 63))
	if i += bits.TrailingZeros64(m) / 8; i < len(s) && s[i] == '"' {
		return i
	}
	return -1
}

// smallNumber reads at s[i] a number 0|[1-9][0-9]* with an optional
// fraction .[0-9]+, of at most 15 digits in all, and returns its value as
// strconv.ParseFloat (and shortDecimal) does, and its end; -1 for another
// number, or none. What follows (an exponent too) is for the caller.
func smallNumber(s string, i int) (float64, int) {
	start := i
	n := uint64(0)
	for ; i < len(s) && s[i]-'0' < 10; i++ {
		n = n*10 + uint64(s[i]-'0')
	}
	digits := i - start
	if digits == 0 || digits > 1 && s[start] == '0' {
		return 0, -1
	}
	if i < len(s) && s[i] == '.' {
		i++
		frac := i
		for ; i < len(s) && s[i]-'0' < 10; i++ {
			n = n*10 + uint64(s[i]-'0')
		}
		if frac == i || digits+i-frac > 15 {
			return 0, -1
		}
		return float64(n) / pow10[i-frac], i
	}
	if digits > 15 {
		return 0, -1
	}
	return float64(n), i
}

// critiqueCompact reads the compact critique s (see above),
// {"issues":[…],"suggestions":[…],"severity":…,"reasoning":"…"}, into c
// as critiqueFields does, appending its items to all, and returns all and
// where in all the suggestions start, after the issues, for the caller to
// set c's lists (an array result would not be in registers, and setting
// them here would move the array of all to the heap). On false, c is as
// it was, and the items it appended are for the caller to drop.
func critiqueCompact(s string, c *Critique, all []string) (_ []string, mid int, ok bool) {
	const issues, suggestions = `{"issues":[`, `],"suggestions":[`
	if len(s) < len(issues) || s[:len(issues)] != issues {
		return all, 0, false
	}
	i := len(issues)
	for list := range 2 {
		if list == 1 {
			if len(s)-i < len(suggestions) || s[i:i+len(suggestions)] != suggestions {
				return all, 0, false
			}
			i += len(suggestions)
			mid = len(all)
		}
		// The list's items from start; none when it is empty.
		start := len(all)
		for i < len(s) && s[i] == '"' {
			var e int
			if j := i + 1; len(s)-j < 8 {
				e = plainStrEnd(s, j)
			} else if m := notPlain(Word(s[j:])); m == 0 {
				e = plainStrEnd(s, j+8)
			} else if e = j + bits.TrailingZeros64(m)/8; s[e] != '"' {
				e = -1 // plainStrEnd's first word, for the usual short item
			}
			if e < 0 || e+2 >= len(s) {
				return all, 0, false
			}
			if v := s[i+1 : e]; v != "" {
				// Spaces to trim, a long item or items beyond MaxItems:
				// critiqueFields.
				if spaced(v) || len(v) > MaxItemRunes || len(all)-start == MaxItems {
					return all, 0, false
				}
				all = append(all, v)
			}
			if i = e + 1; s[i] != ',' {
				break // the closing bracket, which the next text starts with
			}
			if i++; s[i] != '"' {
				return all, 0, false
			}
		}
	}
	const severity, reasoning = `],"severity":`, `,"reasoning":"`
	if len(s)-i < len(severity) || s[i:i+len(severity)] != severity {
		return all, 0, false
	}
	i += len(severity)
	var f float64
	var e int
	if d := uint64(0); len(s)-i >= 2 && s[i+1] == ',' {
		if d = uint64(s[i] - '0'); d >= 10 {
			return all, 0, false
		}
		f, e = float64(d), i+1 // the usual severity: one digit
	} else {
		f, e = smallNumber(s, i)
	}
	if e < 0 || len(s)-e < len(reasoning) || s[e:e+len(reasoning)] != reasoning {
		return all, 0, false
	}
	i = e + len(reasoning)
	if e = plainStrEnd(s, i); e < 0 || e != len(s)-2 || s[e+1] != '}' {
		return all, 0, false
	}
	c.Severity, c.Reasoning, c.Parse = min(10, f), s[i:e], ParseJSON // f is not negative
	return all, mid, true
}

// voteCompact reads the compact vote s (see above),
// {"choice":"…","confidence":…,"reasoning":"…"}, into v as voteObject
// does. On false, v is as it was.
func voteCompact(s string, v *Vote) bool {
	const choice, confidence, reasoning = `{"choice":"`, `","confidence":`, `,"reasoning":"`
	if len(s) < len(choice) || s[:len(choice)] != choice {
		return false
	}
	i := len(choice)
	e := plainStrEnd(s, i)
	if e < 0 || len(s)-e < len(confidence) || s[e:e+len(confidence)] != confidence {
		return false
	}
	ch := s[i:e]
	if spaced(ch) {
		return false // a choice to trim, or none: voteObject
	}
	f, e := smallNumber(s, e+len(confidence))
	if e < 0 || len(s)-e < len(reasoning) || s[e:e+len(reasoning)] != reasoning {
		return false
	}
	i = e + len(reasoning)
	if e = plainStrEnd(s, i); e < 0 || e != len(s)-2 || s[e+1] != '}' {
		return false
	}
	*v = Vote{Choice: ch, Confidence: scaleConfidence(f), Reasoning: s[i:e], Parse: ParseJSON, OK: true}
	return true
}
