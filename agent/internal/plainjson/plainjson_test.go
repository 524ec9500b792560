package plainjson

import (
	"math"
	"testing"
)

// TestMarshal checks what sets Marshal apart from json.Marshal: no HTML
// escaping, no trailing newline, and "{}" for what cannot be encoded.
func TestMarshal(t *testing.T) {
	t.Parallel()
	if got, want := Marshal(map[string]string{"a": "<b>&"}), `{"a":"<b>&"}`; got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
	if got := Marshal(math.Inf(1)); got != "{}" {
		t.Errorf("Marshal(+Inf) = %q, want {}", got)
	}
}
