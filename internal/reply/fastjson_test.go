package reply

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

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
	for range 20000 {
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
