package reply

import (
	"strconv"
	"strings"
)

// maxNesting is encoding/json's limit of nested objects and arrays.
const maxNesting = 10000

// scanObject checks the JSON syntax of the object opening at text[start],
// accepting what json.Unmarshal into a map accepts (strings may hold
// invalid UTF-8; a number must fit a float64). It returns the end
// (exclusive) of the object, or -1 and the starts of the objects still
// open where the check failed, the object at start among them, and the
// number of bytes read. An object opened inside another one reads the
// same bytes the same way, so it fails at the same byte too; when the
// failure is the nesting limit, the inner objects would fail only deeper
// and are reported as well: real replies never nest so deep.
func scanObject(text string, start int) (end int, open []int, read int) {
	type frame struct {
		obj   bool
		start int
	}
	const (
		value        = iota // a value
		keyOrClose          // after '{'
		key                 // after ',' in an object
		colon               // after a key
		valueOrClose        // after '['
		afterValue          // ',' or the closing bracket
	)
	var stack []frame
	fail := func(i int) (int, []int, int) {
		for _, f := range stack {
			if f.obj {
				open = append(open, f.start)
			}
		}
		return -1, open, min(i+1, len(text)) - start
	}
	i, state := start, value
	for {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
			i++
		}
		if i >= len(text) {
			return fail(i)
		}
		c := text[i]
		closer := byte(']')
		if len(stack) > 0 && stack[len(stack)-1].obj {
			closer = '}'
		}
		closing := (state == keyOrClose || state == valueOrClose || state == afterValue) && c == closer
		switch {
		case closing:
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				return i, nil, i - start
			}
			state = afterValue
		case state == afterValue:
			if c != ',' {
				return fail(i)
			}
			i++
			if stack[len(stack)-1].obj {
				state = key
			} else {
				state = value
			}
		case state == colon:
			if c != ':' {
				return fail(i)
			}
			i++
			state = value
		case state == keyOrClose || state == key:
			j := scanString(text, i)
			if j < 0 {
				return fail(i)
			}
			i, state = j, colon
		case c == '{' || c == '[':
			stack = append(stack, frame{obj: c == '{', start: i})
			if len(stack) > maxNesting {
				return fail(i)
			}
			i++
			state = valueOrClose
			if c == '{' {
				state = keyOrClose
			}
		default: // state value or valueOrClose
			j := scanScalar(text, i)
			if j < 0 {
				return fail(i)
			}
			i, state = j, afterValue
		}
	}
}

// scanString returns the end of the JSON string opening at text[i], or -1.
func scanString(text string, i int) int {
	if text[i] != '"' {
		return -1
	}
	for i++; i < len(text); {
		switch c := text[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i+1 >= len(text) {
				return -1
			}
			switch text[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(text) {
					return -1
				}
				for _, h := range []byte(text[i+2 : i+6]) {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 6
			default:
				return -1
			}
		default:
			i++
		}
	}
	return -1
}

// scanScalar returns the end of the string, number or literal at text[i],
// or -1.
func scanScalar(text string, i int) int {
	switch c := text[i]; {
	case c == '"':
		return scanString(text, i)
	case c == '-' || '0' <= c && c <= '9':
		j := numberEnd(text, i)
		if j < 0 {
			return -1
		}
		if _, err := strconv.ParseFloat(text[i:j], 64); err != nil {
			return -1 // out of range: json.Unmarshal fails too
		}
		return j
	}
	for _, lit := range []string{"true", "false", "null"} {
		if strings.HasPrefix(text[i:], lit) {
			return i + len(lit)
		}
	}
	return -1
}
