package enumtest_test

import (
	"testing"

	"github.com/aragora/aragora/internal/enum"
	"github.com/aragora/aragora/internal/enum/enumtest"
)

type color string

var colors = []color{"red", "green"}

func (c *color) UnmarshalText(b []byte) error { return enum.Unmarshal(c, b, "test: color", colors) }

func (c *color) Scan(src any) error { return enum.Scan(c, src, "test: color", colors) }

func TestCheck(t *testing.T) {
	enumtest.Check(t, colors, func(s string) (color, error) { return enum.Parse("test: color", s, colors) }, "pink")
}

type shade string

var shades = []shade{"light", "dark"}

func TestCheckOpen(t *testing.T) {
	enumtest.CheckOpen(t, shades, func(s string) (shade, error) { return enum.Parse("test: shade", s, shades) }, "dim")
}
