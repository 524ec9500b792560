package reply

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// braceMatch is what balanced must return: each '{' in text order matched
// with its '}' (skipping JSON strings and escapes), and the first match
// that decodes as an object. It is quadratic: the reference, not the code.
func braceMatch(text string) (map[string]any, bool) {
	for start := 0; start < len(text); start++ {
		if text[start] != '{' {
			continue
		}
		depth, inString, escaped := 0, false, false
		for i := start; i < len(text); i++ {
			c := text[i]
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				if m, ok := object(text[start : i+1]); ok {
					return m, true
				}
				break
			}
		}
	}
	return nil, false
}

func TestBalancedMatchesBraceMatching(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 9))
	parts := []string{"{", "}", "[", "]", `"`, ":", ",", "a", "1", " ", `\`, "x", "-", "e", ".", "0", "true", "nul",
		"\xff", "\n", `\u00e9`, `\u12`, "1e999", `"a"`, `{"a":`, `"b":[`, "é"}
	found := 0
	for range 40000 {
		var b strings.Builder
		for range r.IntN(60) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		text := b.String()
		want, wantOK := braceMatch(text)
		got, ok := balanced(text)
		require.Equal(t, wantOK, ok, "%q", text)
		require.True(t, reflect.DeepEqual(want, got), "%q: want %v, got %v", text, want, got)
		if ok {
			found++
		}
	}
	assert.Greater(t, found, 400, "the inputs hold objects often enough")
}

// adversarial are replies of n bytes or so that made balanced quadratic:
// every '{' opened an object that failed only near the end.
func adversarial(n int) map[string]string {
	return map[string]string{
		"open braces":        strings.Repeat("{", n),
		"open keys":          strings.Repeat(`{"a":`, n/5),
		"open arrays":        strings.Repeat(`{"a":[`, n/6),
		"nested, bad at end": strings.Repeat(`{"a":`, n/10) + "x" + strings.Repeat("}", n/10),
		"braces in strings":  strings.Repeat(`"{`, n/2),
		"keys in strings":    strings.Repeat(`{"{\"{":"`, n/9),
		"two readings":       strings.Repeat(`{"a":"{",":",`, n/13) + "x",
		"escapes":            strings.Repeat(`{"\\{":"\\`, n/9),
		"deep then invalid":  strings.Repeat(`{"a":`, n/5) + "1" + strings.Repeat("}", n/5) + "x",
		"long array":         `{"a":` + strings.Repeat(`[{"b":1},`, n/9),
	}
}

// TestBalancedWorkIsLinear counts the bytes balanced reads: at most three
// times the reply's length, and the same per byte for four times the
// reply.
func TestBalancedWorkIsLinear(t *testing.T) {
	t.Parallel()
	small, large := adversarial(2500), adversarial(10000)
	for name, text := range small {
		t.Run(name, func(t *testing.T) {
			_, w, _ := balancedWork(text)
			_, wl, _ := balancedWork(large[name])
			assert.LessOrEqual(t, w, 3*len(text), "bytes read for %d bytes", len(text))
			assert.LessOrEqual(t, wl, 3*len(large[name]), "bytes read for %d bytes", len(large[name]))
			perByte, perByteLarge := float64(w)/float64(len(text)), float64(wl)/float64(len(large[name]))
			assert.InDelta(t, perByte, perByteLarge, 0.01, "bytes read per byte of the reply, for 4x the reply")
		})
	}
}

func BenchmarkExtractJSONAdversarial(b *testing.B) {
	for _, n := range []int{1 << 10, 10 << 10, 100 << 10} {
		text := adversarial(n)["open keys"]
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				ExtractJSON(text)
			}
		})
	}
}
