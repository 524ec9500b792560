package clientip_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/clientip"
)

var trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}

// request is a GET from the peer remote with one X-Forwarded-For line per
// xff value.
func request(remote string, xff ...string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func TestOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{name: "unix socket peer", remote: "@", want: "invalid IP"},
		{name: "untrusted peer", remote: "192.0.2.10:1", xff: []string{"198.51.100.1"}, want: "192.0.2.10"},
		{name: "trusted peer without header", remote: "127.0.0.2:1", want: "127.0.0.2"},
		{name: "right-most untrusted hop", remote: "127.0.0.1:1", xff: []string{"198.51.100.1, 192.0.2.99, 127.0.0.5"}, want: "192.0.2.99"},
		{name: "zone dropped", remote: "[fd00::1%eth0]:1", xff: []string{"[2001:db8::7]:80"}, want: "2001:db8::7"},
		{name: "garbage keeps the last good hop", remote: "127.0.0.1:1", xff: []string{"x", "127.0.0.9"}, want: "127.0.0.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, clientip.Of(request(tt.remote, tt.xff...), trusted).String())
		})
	}
}

func TestResolvePrefersTheEdgeDecision(t *testing.T) {
	t.Parallel()
	r := request("127.0.0.1:1", "198.51.100.1")
	_, ok := clientip.FromContext(r.Context())
	assert.False(t, ok)
	assert.Equal(t, "198.51.100.1", clientip.Resolve(r, trusted).String())
	assert.Equal(t, "127.0.0.1", clientip.Resolve(r, nil).String())

	edge := netip.MustParseAddr("203.0.113.5")
	r = r.WithContext(clientip.NewContext(r.Context(), edge))
	got, ok := clientip.FromContext(r.Context())
	assert.True(t, ok)
	assert.Equal(t, edge, got)
	assert.Equal(t, edge, clientip.Resolve(r, nil))
}

func TestStringAndParse(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "", clientip.String(netip.Addr{}))
	assert.Equal(t, "192.0.2.1", clientip.String(clientip.Parse("[::ffff:192.0.2.1]:443")))
	assert.False(t, clientip.Parse("example.com:80").IsValid())
	assert.True(t, clientip.Contains(trusted, clientip.Parse("127.1.2.3")))
}
