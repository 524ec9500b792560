package demo

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aragora/aragora/internal/reply"
)

// The reply encoders write exactly what mustJSON (encoding/json without
// HTML escaping) writes for the reply types, without reflection:
// TestEncodersMatchEncodingJSON compares them.

func (c critiqueReply) json() string {
	buf := getBuf()
	defer putBuf(buf)
	b := (*buf)[:0]
	b = append(b, `{"issues":`...)
	b = appendStrings(b, c.Issues)
	b = append(b, `,"suggestions":`...)
	b = appendStrings(b, c.Suggestions)
	b = append(b, `,"severity":`...)
	b, ok := appendFloat(b, c.Severity)
	b = append(b, `,"reasoning":`...)
	if c.reasoning != nil {
		b = appendJoined(b, c.reasoning)
	} else {
		b = appendString(b, c.Reasoning)
	}
	return finish(b, ok)
}

// appendJoined quotes the concatenation of parts: each part in turn when
// every part is valid UTF-8 (quoting is then rune by rune), else the
// concatenation itself.
func appendJoined(b []byte, parts []string) []byte {
	for _, p := range parts {
		if !utf8.ValidString(p) {
			return appendString(b, strings.Join(parts, ""))
		}
	}
	b = append(b, '"')
	for _, p := range parts {
		b = appendEscaped(b, p)
	}
	return append(b, '"')
}

func (v voteReply) json() string {
	buf := getBuf()
	defer putBuf(buf)
	b := (*buf)[:0]
	b = append(b, `{"choice":`...)
	b = appendString(b, v.Choice)
	b = append(b, `,"confidence":`...)
	b, ok := appendFloat(b, v.Confidence)
	b = append(b, `,"reasoning":`...)
	if v.reasoning != nil {
		b = appendJoined(b, v.reasoning)
	} else {
		b = appendString(b, v.Reasoning)
	}
	return finish(b, ok)
}

func (j judgeReply) json() string {
	buf := getBuf()
	defer putBuf(buf)
	b := (*buf)[:0]
	b = append(b, `{"decided":`...)
	b = strconv.AppendBool(b, j.Decided)
	b = append(b, `,"choice":`...)
	b = appendString(b, j.Choice)
	b = append(b, `,"confidence":`...)
	b, ok := appendFloat(b, j.Confidence)
	b = append(b, `,"reasoning":`...)
	b = appendString(b, j.Reasoning)
	b = append(b, `,"answer":`...)
	b = appendString(b, j.Answer)
	return finish(b, ok)
}

func (s synthesisReply) json() string {
	b := make([]byte, 0, 64+len(s.Answer))
	b = append(b, `{"answer":`...)
	b = appendString(b, s.Answer)
	b = append(b, `,"confidence":`...)
	b, ok := appendFloat(b, s.Confidence)
	return finish(b, ok)
}

// bufPool holds the encoders' scratch buffers: on the heap, so that an
// agent's call runs on a small stack.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufPool.Put(b)
	}
}

// finish closes the object; a non-finite number fails encoding/json, and
// mustJSON then returns "{}".
func finish(b []byte, ok bool) string {
	if !ok {
		return "{}"
	}
	return string(append(b, '}'))
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// picksLen is the length of what writePicks writes.
func picksLen(quoted []string, indices []int) int {
	n := 0
	for _, i := range indices {
		n += len(quoted[i])
	}
	return max(n-1, 0) // the first without its comma
}

// writePicks writes the items of a JSON array: the strings of quoted at
// indices, each a comma and a JSON string, the first without its comma.
func writePicks(b *strings.Builder, quoted []string, indices []int) {
	for k, i := range indices {
		q := quoted[i]
		if k == 0 {
			q = q[1:]
		}
		b.WriteString(q)
	}
}

// appendFloat formats f as encoding/json does; false for NaN and ±Inf.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if k := math.Round(f * 100); k >= 1 && k < 1e6 && k/100 == f {
		return appendHundredths(b, int(k)), true
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// appendHundredths writes k/100 (0 < k < 1e6) as appendFloat writes the
// float64 k/100: strconv's shortest form of that float is the decimal k/100
// without trailing zeros (no shorter decimal is as close, and k/100 is the
// float's nearest decimal with two places), which is what the confidences
// and severities of the replies are; TestHundredthsMatchStrconv checks every k.
func appendHundredths(b []byte, k int) []byte {
	if q := k / 100; q < 10 { // confidences and most severities
		b = append(b, byte('0'+q))
	} else {
		b = strconv.AppendInt(b, int64(q), 10)
	}
	if c := k % 100; c != 0 {
		b = append(b, '.', byte('0'+c/10))
		if c%10 != 0 {
			b = append(b, byte('0'+c%10))
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does without HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends s escaped as inside a JSON string.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i = reply.PlainEnd(s, i+1) // the plain bytes that follow, at once
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}
