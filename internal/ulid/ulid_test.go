package ulid

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNewIsPrefixedOrderedAndUnique(t *testing.T) {
	t0 := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	a := New("msg_", t0.UnixMilli())
	b := New("msg_", t0.Add(time.Millisecond).UnixMilli())
	c := New("msg_", t0.UnixMilli())
	assert.True(t, strings.HasPrefix(a, "msg_"))
	assert.Len(t, a, len("msg_")+26)
	assert.Less(t, a[:4+10], b[:4+10], "the time part orders ids")
	assert.Equal(t, a[:4+10], c[:4+10], "same millisecond, same time part")
	assert.NotEqual(t, a, c, "random part")
	for _, r := range a[4:] {
		assert.Contains(t, alphabet, string(r))
	}
}

func TestEncodeKnownValues(t *testing.T) {
	assert.Equal(t, strings.Repeat("0", 26), Encode([16]byte{}))
	var ff [16]byte
	for i := range ff {
		ff[i] = 0xff
	}
	assert.Equal(t, "7"+strings.Repeat("z", 25), Encode(ff))
}

func TestReadTakesItsRandomBitsFromR(t *testing.T) {
	id, err := Read("deb_", 0, strings.NewReader(strings.Repeat("\xff", 10)))
	assert.NoError(t, err)
	assert.Equal(t, "deb_"+strings.Repeat("0", 10)+strings.Repeat("z", 16), id, "48 zero time bits, 80 one bits")
	_, err = Read("deb_", 0, strings.NewReader("short"))
	assert.Error(t, err, "a reader that runs out fails the id")
}
