package plainjson

import (
	"math"
	"testing"
)

func TestMarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    any
		want string
	}{
		{map[string]any{"a": "<b>&"}, `{"a":"<b>&"}`},
		{struct {
			X float64 `json:"x"`
		}{0.5}, `{"x":0.5}`},
		{math.Inf(1), "{}"},
	}
	for _, tt := range tests {
		if got := Marshal(tt.v); got != tt.want {
			t.Errorf("Marshal(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
