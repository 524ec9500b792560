// Package enum implements the text form of the project's closed sets of
// names (debate status, topology, verdict, consensus method): each is a
// named string type declared once, in the package that owns it, whose
// UnmarshalText and Parse function call [Parse], so an unknown name is
// rejected alike everywhere.
package enum

import (
	"fmt"
	"strings"
)

// Parse returns s as a T when it is one of valid; otherwise an error
// "<what> "<s>" is unknown (want a, b or c)".
func Parse[T ~string](what, s string, valid []T) (T, error) {
	for _, v := range valid {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	want := strings.Join(names, ", ")
	if i := strings.LastIndex(want, ", "); i >= 0 {
		want = want[:i] + " or " + want[i+2:]
	}
	return "", fmt.Errorf("%s %q is unknown (want %s)", what, s, want)
}

// Unmarshal sets *dst to the T named by text, leaving it unchanged and
// returning Parse's error for an unknown name. Empty text is the zero
// value (unset), so a document that omits the name still decodes.
func Unmarshal[T ~string](dst *T, text []byte, what string, valid []T) error {
	if len(text) == 0 {
		*dst = ""
		return nil
	}
	v, err := Parse(what, string(text), valid)
	if err == nil {
		*dst = v
	}
	return err
}
