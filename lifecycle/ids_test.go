package lifecycle_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/lifecycle"
)

func TestNewDebateID(t *testing.T) {
	t.Parallel()
	id, err := lifecycle.NewDebateID(time.UnixMilli(0), bytes.NewReader(make([]byte, 10)))
	require.NoError(t, err)
	assert.Equal(t, "deb_00000000000000000000000000", id)

	// 2^48-1 ms and all-ones randomness: the largest ULID, "7zzz…".
	id, err = lifecycle.NewDebateID(time.UnixMilli(1<<48-1), bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)))
	require.NoError(t, err)
	assert.Equal(t, "deb_7"+strings.Repeat("z", 25), id)

	a, err := lifecycle.NewDebateID(time.UnixMilli(1_700_000_000_000), rand.NewChaCha8([32]byte{}))
	require.NoError(t, err)
	b, err := lifecycle.NewDebateID(time.UnixMilli(1_700_000_000_001), rand.NewChaCha8([32]byte{}))
	require.NoError(t, err)
	assert.Regexp(t, `^deb_[0-9a-hjkmnp-tv-z]{26}$`, a)
	assert.Less(t, a, b, "ids sort by time")

	_, err = lifecycle.NewDebateID(time.Now(), bytes.NewReader(nil))
	assert.ErrorIs(t, err, io.EOF)
}

func TestStreamEpochIsStable(t *testing.T) {
	t.Parallel()
	a, b := lifecycle.StreamEpoch("deb_1"), lifecycle.StreamEpoch("deb_2")
	assert.Regexp(t, `^[0-9a-f]{6}$`, a)
	assert.Equal(t, a, lifecycle.StreamEpoch("deb_1"))
	assert.NotEqual(t, a, b)
}
