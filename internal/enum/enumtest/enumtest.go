// Package enumtest checks a closed set of names built on internal/enum:
// every name parses to itself and crosses JSON as the bare name, and an
// unknown name is refused by the Parse function, by decoding and, for a
// set the backends store, by Scan ([CheckOpen]: by the Parse function only,
// for a set read back from data a newer version may have written). It is
// imported only from _test.go files.
package enumtest

import (
	"database/sql"
	"encoding"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Check checks the set valid of T, whose Parse function is parse, with
// bad, a name outside it.
func Check[T ~string, P interface {
	*T
	encoding.TextUnmarshaler
}](t *testing.T, valid []T, parse func(string) (T, error), bad string) {
	t.Helper()
	checkNames(t, valid, parse, bad)
	var v T
	assert.Error(t, json.Unmarshal([]byte(`"`+bad+`"`), &v))
	if sc, ok := any(P(&v)).(sql.Scanner); ok {
		require.NoError(t, sc.Scan(string(valid[0])))
		assert.Equal(t, valid[0], v)
		require.NoError(t, sc.Scan([]byte(valid[len(valid)-1])))
		assert.Equal(t, valid[len(valid)-1], v)
		for _, src := range []any{bad, "", nil, 7} {
			assert.Error(t, sc.Scan(src), "%v", src)
		}
		assert.Equal(t, valid[len(valid)-1], v, "unchanged on error")
	}
}

// CheckOpen checks the set valid of T, whose Parse function is parse, for
// a set that is strict only where a name comes in (Parse) and open when
// read back: bad, a name outside it, is refused by parse but decodes from
// JSON as itself, so data written by a newer version stays readable.
func CheckOpen[T ~string](t *testing.T, valid []T, parse func(string) (T, error), bad string) {
	t.Helper()
	checkNames(t, valid, parse, bad)
	var v T
	require.NoError(t, json.Unmarshal([]byte(`"`+bad+`"`), &v))
	assert.Equal(t, T(bad), v, "an unknown name read back is kept")
}

// checkNames checks that every name of valid parses to itself and crosses
// JSON as the bare name, and that parse refuses bad.
func checkNames[T ~string](t *testing.T, valid []T, parse func(string) (T, error), bad string) {
	t.Helper()
	for _, v := range valid {
		got, err := parse(string(v))
		require.NoError(t, err)
		assert.Equal(t, v, got)
		b, err := json.Marshal(v)
		require.NoError(t, err)
		assert.Equal(t, `"`+string(v)+`"`, string(b), "the wire form is the bare name")
		var back T
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, v, back)
	}
	_, err := parse(bad)
	assert.ErrorContains(t, err, `"`+bad+`" is unknown`)
}
