package lifecycle

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		holder string
		host   string
		pid    int
		ok     bool
	}{
		{"web-1-4242-0a1b2c3d", "web-1", 4242, true},
		{"cli:web-1:77", "web-1", 77, true},
		{"cli:host.example.com:9", "host.example.com", 9, true},
		{"server-a", "", 0, false},
		{"cli:nopid", "", 0, false},
		{"cli:h:-3", "h", -3, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.holder, func(t *testing.T) {
			t.Parallel()
			host, pid, ok := parseHolder(tt.holder)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.host, host)
				assert.Equal(t, tt.pid, pid)
			}
		})
	}
}

func TestHolderDead(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	require.NoError(t, err)
	assert.False(t, holderDead(NewHolder()), "this process is alive")
	assert.False(t, holderDead("cli:"+host+":1"), "pid 1 is alive")
	assert.False(t, holderDead("cli:some-other-host:123456789"), "another host's process is taken as alive")
	assert.False(t, holderDead("server-a"), "an unparsable holder is taken as alive")
}
