package demo

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aragora/aragora/internal/enum"
)

// Style decides how a demo agent proposes, critiques and votes (docs/debate.md#demo-agents).
// The zero value is not a valid style; New treats it as balanced. Its text
// and JSON form is its name; decoding and [ParseStyle] reject an unknown name.
type Style string

// Styles of demo agents.
const (
	StyleSupportive Style = "supportive"
	StyleCritical   Style = "critical"
	StyleBalanced   Style = "balanced"
	StyleContrarian Style = "contrarian"
	StyleHollow     Style = "hollow"
)

// Styles returns every style, in the order of the table of docs/debate.md#demo-agents.
func Styles() []Style {
	return []Style{StyleSupportive, StyleCritical, StyleBalanced, StyleContrarian, StyleHollow}
}

// ParseStyle returns the Style named s; an unknown name is an error.
func ParseStyle(s string) (Style, error) { return enum.Parse("demo: style", s, Styles()) }

func (s Style) String() string { return string(s) }

// MarshalText returns s's name.
func (s Style) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText sets s from its name, rejecting an unknown one.
func (s *Style) UnmarshalText(b []byte) error { return enum.Unmarshal(s, b, "demo: style", Styles()) }

// Valid reports whether s is one of the defined styles.
func (s Style) Valid() bool {
	switch s {
	case StyleSupportive, StyleCritical, StyleBalanced, StyleContrarian, StyleHollow:
		return true
	}
	return false
}

// Prefix starts every demo agent spec and name.
const Prefix = "demo-"

// maxNameRunes is the longest participant name (docs/debate.md#configuration).
const maxNameRunes = 64

// ErrInvalidSpec reports an agent spec that does not describe a demo agent.
var ErrInvalidSpec = errors.New("demo: invalid agent spec")

// DefaultStyle returns the style of a demo agent named name when its spec
// gives none. The "demo-" prefix is optional and case is ignored: analyst
// and supporter are supportive; critic and skeptic critical; contrarian
// contrarian; hollow hollow; any other name, judge included, balanced.
func DefaultStyle(name string) Style {
	n := strings.ToLower(name)
	n = strings.TrimPrefix(n, Prefix)
	switch n {
	case "analyst", "supporter":
		return StyleSupportive
	case "critic", "skeptic":
		return StyleCritical
	case "contrarian":
		return StyleContrarian
	case "hollow":
		return StyleHollow
	}
	return StyleBalanced
}

// ParseSpec parses a demo agent spec "demo-<name>[:<style>]" (docs/debate.md#demo-agents).
// It returns the participant name "demo-<name>" and the style, which
// is DefaultStyle(name) when the spec gives none. The name must be 1–64
// characters from [A-Za-z0-9._-], prefix included. Errors wrap
// ErrInvalidSpec: a spec without the "demo-" prefix, an empty name, a bad
// character, a name too long, or an unknown style.
func ParseSpec(spec string) (name string, style Style, err error) {
	rest, ok := strings.CutPrefix(spec, Prefix)
	if !ok {
		return "", "", fmt.Errorf("%w: %q does not start with %q", ErrInvalidSpec, spec, Prefix)
	}
	base, styleText, hasStyle := strings.Cut(rest, ":")
	if base == "" {
		return "", "", fmt.Errorf("%w: %q has an empty name", ErrInvalidSpec, spec)
	}
	name = Prefix + base
	if len(name) > maxNameRunes {
		return "", "", fmt.Errorf("%w: name %q is longer than %d characters", ErrInvalidSpec, name, maxNameRunes)
	}
	for _, r := range base {
		if !nameRune(r) {
			return "", "", fmt.Errorf("%w: name %q has character %q outside [A-Za-z0-9._-]", ErrInvalidSpec, name, r)
		}
	}
	if !hasStyle {
		return name, DefaultStyle(name), nil
	}
	if style, err = ParseStyle(styleText); err != nil {
		return "", "", fmt.Errorf("%w: %q: %w", ErrInvalidSpec, spec, err)
	}
	return name, style, nil
}

func nameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// profile holds the numbers of one style's row in docs/debate.md#demo-agents.
type profile struct {
	issues       int     // critique issue count
	sevLo, sevHi float64 // critique severity, uniform
	confidence   float64 // vote confidence centre; ± confidenceSpread
}

// confidenceSpread is the half-width of the uniform vote-confidence band.
const confidenceSpread = 0.05

func profileOf(s Style) profile {
	switch s {
	case StyleSupportive:
		return profile{issues: 2, sevLo: 2, sevHi: 4, confidence: 0.85}
	case StyleCritical:
		return profile{issues: 4, sevLo: 6, sevHi: 9, confidence: 0.60}
	case StyleContrarian:
		return profile{issues: 3, sevLo: 5, sevHi: 8, confidence: 0.50}
	case StyleHollow:
		return profile{issues: 1, sevLo: 1, sevHi: 3, confidence: 0.90}
	}
	return profile{issues: 2, sevLo: 4, sevHi: 6, confidence: 0.70}
}
