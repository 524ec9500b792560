// Package plainjson encodes the JSON replies of the scripted and demo
// agents the way they are written: encoding/json without HTML escaping.
package plainjson

import (
	"encoding/json"
	"strings"
)

// Marshal returns v encoded by encoding/json without HTML escaping and
// without the encoder's trailing newline, or "{}" when v cannot be encoded
// (a non-finite number).
func Marshal(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "{}"
	}
	return strings.TrimSuffix(b.String(), "\n")
}
