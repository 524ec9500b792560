package receipt_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/receipt"
)

func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := receipt.Canonical(v)
	require.NoError(t, err)
	return string(b)
}

// TestCanonicalNumbers uses the IEEE-754 vectors of RFC 8785 Appendix B plus
// the cases named in docs/receipts.md.
func TestCanonicalNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bits uint64
		want string
	}{
		{"zero", 0x0000000000000000, "0"},
		{"minus zero", 0x8000000000000000, "0"},
		{"min subnormal", 0x0000000000000001, "5e-324"},
		{"minus min subnormal", 0x8000000000000001, "-5e-324"},
		{"max double", 0x7fefffffffffffff, "1.7976931348623157e+308"},
		{"minus max double", 0xffefffffffffffff, "-1.7976931348623157e+308"},
		{"2^53", 0x4340000000000000, "9007199254740992"},
		{"minus 2^53", 0xc340000000000000, "-9007199254740992"},
		{"2^68", 0x4430000000000000, "295147905179352830000"},
		{"below 1e23", 0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{"1e23", 0x44b52d02c7e14af6, "1e+23"},
		{"above 1e23", 0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{"largest plain 1", 0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{"largest plain 2", 0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{"1e21", 0x444b1ae4d6e2ef50, "1e+21"},
		{"below 1e-6", 0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{"1e-6", 0x3eb0c6f7a0b5ed8d, "0.000001"},
		{"third 1", 0x41b3de4355555553, "333333333.3333332"},
		{"third 2", 0x41b3de4355555554, "333333333.33333325"},
		{"third 3", 0x41b3de4355555555, "333333333.3333333"},
		{"third 4", 0x41b3de4355555556, "333333333.3333334"},
		{"third 5", 0x41b3de4355555557, "333333333.33333343"},
		{"small negative", 0xbecbf647612f3696, "-0.0000033333333333333333"},
		{"fraction", 0x43143ff3c1cb0959, "1424953923781206.2"},
		{"1.0", math.Float64bits(1.0), "1"},
		{"0.1", math.Float64bits(0.1), "0.1"},
		{"1e-7", math.Float64bits(1e-7), "1e-7"},
		{"1e20", math.Float64bits(1e20), "100000000000000000000"},
		{"123.456e-10", math.Float64bits(123.456e-10), "1.23456e-8"},
		{"0.82", math.Float64bits(0.82), "0.82"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, canon(t, math.Float64frombits(tt.bits)))
		})
	}
}

func TestCanonicalOtherNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"int", 42, "42"},
		{"int64 2^53", int64(1) << 53, "9007199254740992"},
		{"large int64 rounds to double", int64(9007199254740993), "9007199254740992"},
		{"uint64 max", uint64(math.MaxUint64), "18446744073709552000"},
		{"int8 min", int8(math.MinInt8), "-128"},
		{"int16 min", int16(math.MinInt16), "-32768"},
		{"int32 min", int32(math.MinInt32), "-2147483648"},
		{"int64 min", int64(math.MinInt64), "-9223372036854776000"},
		{"uint", uint(7), "7"},
		{"uint8 max", uint8(math.MaxUint8), "255"},
		{"uint16 max", uint16(math.MaxUint16), "65535"},
		{"uint32 max", uint32(math.MaxUint32), "4294967295"},
		{"json.Number 1.0", json.Number("1.0"), "1"},
		{"json.Number 1E30", json.Number("1E30"), "1e+30"},
		{"json.Number -0.0", json.Number("-0.0"), "0"},
		{"json.Number 4.50", json.Number("4.50"), "4.5"},
		{"float32", float32(0.5), "0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, canon(t, tt.in))
		})
	}
}

func TestCanonicalRejects(t *testing.T) {
	t.Parallel()
	cyclic := []any{nil}
	cyclic[0] = cyclic
	tests := []struct {
		name string
		in   any
	}{
		{"NaN", math.NaN()},
		{"+Inf", math.Inf(1)},
		{"-Inf in array", []any{1, math.Inf(-1)}},
		{"number out of range", json.Number("1e400")},
		{"malformed number", json.Number("0x10")},
		{"self-referencing array", cyclic},
		{"unmarshalable", map[string]any{"f": func() {}}},
		{"raw message with trailing data", json.RawMessage(`{} {}`)},
		{"keys colliding after UTF-8 repair", map[string]any{"\xff": 1, "\xfe": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := receipt.Canonical(tt.in)
			assert.Error(t, err)
		})
	}
}

// TestCanonicalRFC8785Example is the example of RFC 8785 §3.2.2.
func TestCanonicalRFC8785Example(t *testing.T) {
	t.Parallel()
	in := json.RawMessage(`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`)
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	assert.Equal(t, want, canon(t, in))
}

// TestCanonicalKeyOrder is the sorting example of RFC 8785 §3.2.3: keys are
// ordered by UTF-16 code units, so the emoji (D83D DE00) sorts before
// U+FB33, unlike in code point or UTF-8 order.
func TestCanonicalKeyOrder(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"\u20ac":         "Euro Sign",
		"\r":             "Carriage Return",
		"\ufb33":         "Hebrew Letter Dalet With Dagesh",
		"1":              "One",
		"\U0001F600":     "Emoji: Grinning Face",
		"\u0080":         "Control",
		"\u00f6":         "Latin Small Letter O With Diaeresis",
		"\U0001F600\x61": "Emoji then a",
		"\U0001F601":     "Beaming Face", // same high surrogate as U+1F600
	}
	want := "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
		"\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\U0001F600a\":\"Emoji then a\"," +
		"\"\U0001F601\":\"Beaming Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"
	assert.Equal(t, want, canon(t, in))
}

func TestCanonicalStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"short escapes", "\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"other controls lowercase hex", "\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"no HTML escaping", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"DEL and U+2028 literal", "\x7f\u2028", "\"\x7f\u2028\""},
		{"slash literal", "a/b", `"a/b"`},
		{"non-BMP literal", "\U0001F600", "\"\U0001F600\""},
		{"invalid UTF-8 byte by byte", "a\xffb\xed\xa0\x80", "\"a\uFFFDb\uFFFD\uFFFD\uFFFD\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, canon(t, tt.in))
		})
	}
}

// TestCanonicalInvalidUTF8MatchesRoundTrip checks that a string with invalid
// UTF-8 has the same canonical form as its encoding/json round trip.
func TestCanonicalInvalidUTF8MatchesRoundTrip(t *testing.T) {
	t.Parallel()
	in := map[string]any{"k\xff": "v\xc3"}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, canon(t, in), canon(t, back))
}

func TestCanonicalStructsGoThroughJSON(t *testing.T) {
	t.Parallel()
	type inner struct {
		B float64 `json:"b"`
		A []int   `json:"a"`
	}
	in := map[string]any{"z": inner{B: 1.0, A: []int{3, 2}}, "a": []string{"x"}, "m": map[string]string{"y": "1", "x": "2"}}
	assert.Equal(t, `{"a":["x"],"m":{"x":"2","y":"1"},"z":{"a":[3,2],"b":1}}`, canon(t, in))
	assert.Equal(t, "null", canon(t, nil))
	assert.Equal(t, "[]", canon(t, []any{}))
	assert.Equal(t, "{}", canon(t, map[string]any{}))
}
