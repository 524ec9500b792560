package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting of values given to [Canonical], so that a
// self-referencing []any or map[string]any is an error, not a stack overflow.
const maxDepth = 512

// member is one key/value pair of an ordered object.
type member struct {
	key string
	val any
}

// object is a JSON object whose members keep their insertion order. The
// JSON export writes them in that order; the canonical encoder sorts them.
type object []member

// Canonical returns the RFC 8785 (JCS) canonical form of the JSON value v.
//
// v may be a generic JSON tree (nil, bool, string, float64, json.Number,
// json.RawMessage, any integer type, map[string]any, map[string]string,
// []any, []string), or any other value, which is first marshalled with
// encoding/json and decoded with UseNumber. Numbers are IEEE-754 doubles
// written in ECMAScript form (1.0 → 1, 1e21 → 1e+21, -0 → 0); integers
// beyond ±2^53 therefore lose precision, as in every JCS implementation.
// NaN and infinities are errors. Object keys are sorted by UTF-16 code
// units. Strings escape only '"', '\\' and control characters; invalid
// UTF-8 bytes become U+FFFD, as encoding/json does when decoding, so a
// value and its JSON round trip share one canonical form.
func Canonical(v any) ([]byte, error) {
	e := canonEncoder{buf: make([]byte, 0, 512)}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// canonEncoder writes the canonical form into buf.
type canonEncoder struct {
	buf []byte
}

func (e *canonEncoder) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("receipt: canonical: nesting deeper than %d", maxDepth)
	}
	var err error
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case string:
		e.buf = appendString(e.buf, x)
	case float64:
		e.buf, err = appendNumber(e.buf, x)
	case float32:
		e.buf, err = appendNumber(e.buf, float64(x))
	case int, int8, int16, int32, int64:
		e.buf, err = appendNumber(e.buf, float64(reflect.ValueOf(x).Int()))
	case uint, uint8, uint16, uint32, uint64:
		e.buf, err = appendNumber(e.buf, float64(reflect.ValueOf(x).Uint()))
	case json.Number:
		f, perr := strconv.ParseFloat(string(x), 64)
		if perr != nil {
			return fmt.Errorf("receipt: canonical: number %q: %w", string(x), perr)
		}
		e.buf, err = appendNumber(e.buf, f)
	case []string:
		e.buf = appendStrings(e.buf, x)
	case []any:
		e.buf = append(e.buf, '[')
		for i, item := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(item, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case object:
		m := make([]member, len(x))
		for i, mb := range x {
			m[i] = member{key: validUTF8(mb.key), val: mb.val}
		}
		return e.members(m, depth)
	case map[string]any:
		m := make([]member, 0, len(x))
		for k, val := range x {
			m = append(m, member{key: validUTF8(k), val: val})
		}
		return e.members(m, depth)
	case map[string]string:
		m := make([]member, 0, len(x))
		for k, val := range x {
			m = append(m, member{key: validUTF8(k), val: val})
		}
		return e.members(m, depth)
	case json.RawMessage:
		g, derr := decodeGeneric(x)
		if derr != nil {
			return derr
		}
		return e.value(g, depth+1)
	default:
		raw, merr := json.Marshal(x)
		if merr != nil {
			return fmt.Errorf("receipt: canonical: marshal %T: %w", x, merr)
		}
		g, derr := decodeGeneric(raw)
		if derr != nil {
			return derr
		}
		return e.value(g, depth+1)
	}
	return err
}

// members writes an object whose keys are already valid UTF-8, sorted by
// UTF-16 code units. Keys that collide (possible only after invalid UTF-8
// was replaced) are an error.
func (e *canonEncoder) members(m []member, depth int) error {
	slices.SortFunc(m, func(a, b member) int { return compareUTF16(a.key, b.key) })
	e.buf = append(e.buf, '{')
	for i, mb := range m {
		if i > 0 {
			if m[i-1].key == mb.key {
				return fmt.Errorf("receipt: canonical: duplicate key %q", mb.key)
			}
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, mb.key)
		e.buf = append(e.buf, ':')
		if err := e.value(mb.val, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// decodeGeneric decodes exactly one JSON value into a generic tree, keeping
// numbers as json.Number.
func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("receipt: canonical: decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("receipt: canonical: decode: trailing data after JSON value")
	}
	return v, nil
}

// compareUTF16 orders valid UTF-8 strings by their UTF-16 code units, as
// RFC 8785 §3.2.3 requires. It differs from byte order only for characters
// above U+FFFF, whose surrogates (D800–DFFF) sort below U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	// Below the first byte that differs, the strings agree; where both
	// bytes are ASCII (the usual keys), they order as their UTF-16 units.
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i < len(a) && i < len(b) && a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
		if i == 0 || a[i-1] < utf8.RuneSelf {
			return cmpInt(int(a[i]), int(b[i]))
		}
	}
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Units(ra), utf16Units(rb)
			if ua[0] != ub[0] {
				return cmpInt(int(ua[0]), int(ub[0]))
			}
			return cmpInt(int(ua[1]), int(ub[1]))
		}
		a, b = a[na:], b[nb:]
	}
	return cmpInt(len(a), len(b))
}

// utf16Units returns the UTF-16 encoding of r; the second unit is 0 for a
// character of the Basic Multilingual Plane.
func utf16Units(r rune) [2]uint16 {
	if r < 0x10000 {
		return [2]uint16{uint16(r), 0}
	}
	r -= 0x10000
	return [2]uint16{uint16(0xD800 + (r>>10)&0x3FF), uint16(0xDC00 + r&0x3FF)}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// validUTF8 replaces each invalid byte of s with U+FFFD, byte by byte, as
// encoding/json does when it decodes a string.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for _, r := range s { // range yields U+FFFD for each invalid byte
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// appendStrings appends s as a JSON array of strings (appendString).
func appendStrings(b []byte, s []string) []byte {
	b = append(b, '[')
	for i, x := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, x)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string with the minimal escaping of
// RFC 8785 §3.2.2.2 (ECMAScript JSON.stringify): '"', '\\', the short
// escapes \b \t \n \f \r, other control characters as \u00xx in lowercase,
// everything else literal. Invalid UTF-8 bytes are written as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\t':
				b = append(b, '\\', 't')
			case '\n':
				b = append(b, '\\', 'n')
			case '\f':
				b = append(b, '\\', 'f')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// errNonFinite reports a NaN or infinite number, which JSON cannot carry.
var errNonFinite = errors.New("receipt: canonical: NaN or infinite number")

// appendNumber appends f in the ECMAScript Number-to-String form required by
// RFC 8785 §3.2.2.3: the shortest digits that round-trip, plain notation for
// decimal exponents in [-6, 21), exponent notation (1e+21, 1e-7) otherwise,
// and 0 for negative zero.
func appendNumber(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, errNonFinite
	}
	if f == 0 {
		return append(b, '0'), nil
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d[.ddd]e±xx
	ePos := bytes.IndexByte(s, 'e')
	var digits [24]byte
	nd := copy(digits[:], s[:1])
	if ePos > 1 {
		nd += copy(digits[nd:], s[2:ePos])
	}
	exp := 0
	for _, c := range s[ePos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[ePos+1] == '-' {
		exp = -exp
	}
	d := digits[:nd]
	n := exp + 1 // the decimal point sits after n digits
	switch {
	case nd <= n && n <= 21:
		b = append(b, d...)
		for range n - nd {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, d[:n]...)
		b = append(b, '.')
		b = append(b, d[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for range -n {
			b = append(b, '0')
		}
		b = append(b, d...)
	default:
		b = append(b, d[0])
		if nd > 1 {
			b = append(b, '.')
			b = append(b, d[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b, nil
}
