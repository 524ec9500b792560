// Package enum implements the text form of the project's closed sets of
// names (debate status and stop reason, topology, verdict, consensus
// method, webhook delivery state, roles, agent phases and error kinds,
// …): each is a named string type declared once, in the package that owns
// it, whose Parse function, UnmarshalText and (for a set the backends
// store) Scan call [Parse], so an unknown name is rejected alike
// everywhere. A set whose names are read back from data a newer version
// may have written (stored events and results, memory entries) has no
// UnmarshalText: only its Parse function, used where a name comes in, is
// strict, so old readers keep reading new data.
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

// Scan sets *dst from a database value (string or []byte) naming a T, for
// a Scan method (sql.Scanner): an unknown name, NULL or another type is an
// error and leaves *dst unchanged, so a backend never returns a record
// with a value outside the set.
func Scan[T ~string](dst *T, src any, what string, valid []T) error {
	var name string
	switch v := src.(type) {
	case string:
		name = v
	case []byte:
		name = string(v)
	default:
		return fmt.Errorf("%s: cannot scan %T", what, src)
	}
	v, err := Parse(what, name, valid)
	if err == nil {
		*dst = v
	}
	return err
}
