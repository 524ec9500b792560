package enum_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/enum"
)

type color string

var colors = []color{"red", "green", "blue"}

func TestParse(t *testing.T) {
	t.Parallel()
	c, err := enum.Parse("test: color", "green", colors)
	require.NoError(t, err)
	assert.Equal(t, color("green"), c)
	_, err = enum.Parse("test: color", "Green", colors)
	assert.EqualError(t, err, `test: color "Green" is unknown (want red, green or blue)`)
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	c := color("red")
	require.NoError(t, enum.Unmarshal(&c, []byte("blue"), "test: color", colors))
	assert.Equal(t, color("blue"), c)
	assert.Error(t, enum.Unmarshal(&c, []byte("pink"), "test: color", colors))
	assert.Equal(t, color("blue"), c, "unchanged on error")
	require.NoError(t, enum.Unmarshal(&c, nil, "test: color", colors))
	assert.Equal(t, color(""), c, "empty is unset")
}

func TestScan(t *testing.T) {
	t.Parallel()
	c := color("red")
	require.NoError(t, enum.Scan(&c, "green", "test: color", colors))
	assert.Equal(t, color("green"), c)
	require.NoError(t, enum.Scan(&c, []byte("blue"), "test: color", colors))
	assert.Equal(t, color("blue"), c)
	assert.EqualError(t, enum.Scan(&c, "pink", "test: color", colors), `test: color "pink" is unknown (want red, green or blue)`)
	assert.EqualError(t, enum.Scan(&c, nil, "test: color", colors), "test: color: cannot scan <nil>")
	assert.Error(t, enum.Scan(&c, 7, "test: color", colors))
	assert.Equal(t, color("blue"), c, "unchanged on error")
}
