package webhook_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/webhook"
)

func TestCheckAddr(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.255.0.9", "::1", "0.0.0.0", "::", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"100.64.0.1", "100.127.255.254", "169.254.169.254", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1",
		"224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255", "240.0.0.1",
		// IPv4-mapped IPv6 forms of the above.
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:100.64.0.1", "::ffff:192.168.0.1", "::ffff:0.0.0.0",
	}
	for _, s := range refused {
		a := netip.MustParseAddr(s)
		assert.ErrorIs(t, webhook.CheckAddr(a), webhook.ErrForbiddenDestination, s)
	}
	allowed := []string{"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34"}
	for _, s := range allowed {
		assert.NoError(t, webhook.CheckAddr(netip.MustParseAddr(s)), s)
	}
	assert.ErrorIs(t, webhook.CheckAddr(netip.Addr{}), webhook.ErrForbiddenDestination)
}

func TestCheckURL(t *testing.T) {
	g := webhook.Guard{RequireHTTPS: true}
	ok := []string{"https://hooks.example.com/aragora", "https://hooks.example.com:8443/x?token=abc", "https://93.184.216.34/h", "https://[2606:2800:220:1::1]/h"}
	for _, u := range ok {
		_, err := g.CheckURL(u)
		assert.NoError(t, err, u)
	}
	bad := map[string]bool{ // URL → refused as a forbidden destination
		"http://hooks.example.com/aragora":   false, // https required
		"ftp://hooks.example.com":            false,
		"hooks.example.com/path":             false,
		"https://":                           false,
		"https://user:pw@hooks.example.com/": false,
		"https://hooks.example.com/#frag":    false,
		"https://hooks.example.com:99999/":   false,
		"::not a url":                        false,
		"https://127.0.0.1/hook":             true,
		"https://[::1]:8080/hook":            true,
		"https://10.0.0.7/hook":              true,
		"https://169.254.169.254/latest":     true,
		"https://[fe80::1]/hook":             true,
		"https://[::ffff:127.0.0.1]/hook":    true,
		"https://[::ffff:a9fe:a9fe]/hook":    true, // ::ffff:169.254.169.254 in hex
		"https://100.100.100.200/hook":       true,
	}
	for u, forbidden := range bad {
		_, err := g.CheckURL(u)
		var ue *webhook.URLError
		require.ErrorAs(t, err, &ue, u)
		assert.Equal(t, forbidden, errors.Is(err, webhook.ErrForbiddenDestination), u)
		assert.NotContains(t, err.Error(), "hooks.example.com", "errors never quote the URL")
	}
	open := webhook.Guard{AllowPrivate: true}
	for _, u := range []string{"http://127.0.0.1:9000/hook", "http://[::1]/h", "http://localhost/h"} {
		_, err := open.CheckURL(u)
		assert.NoError(t, err, u)
	}
}

// dnsStub answers every A query with 127.0.0.1 and every other query with
// no answer: a name that "rebinds" to loopback. It returns the address to
// dial and the number of queries it answered.
func dnsStub(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	var queries atomic.Int64
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			if len(q) < 12 {
				continue
			}
			// The question: labels up to a zero byte, then type and class.
			end := 12
			for end < len(q) && q[end] != 0 {
				end += int(q[end]) + 1
			}
			end += 5
			if end > len(q) {
				continue
			}
			queries.Add(1)
			qtype := binary.BigEndian.Uint16(q[end-4:])
			resp := append([]byte{}, q[:2]...)    // id
			resp = append(resp, 0x81, 0x80, 0, 1) // response, recursion; 1 question
			answers := byte(0)
			if qtype == 1 { // A
				answers = 1
			}
			resp = append(resp, 0, answers, 0, 0, 0, 0) // answers, no authority, no additional
			resp = append(resp, q[12:end]...)
			if answers == 1 {
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
			}
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String(), &queries
}

func stubResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestStubResolverResolvesToLoopback(t *testing.T) {
	addr, _ := dnsStub(t)
	ips, err := stubResolver(addr).LookupNetIP(context.Background(), "ip4", "rebind.aragora-test.example")
	require.NoError(t, err)
	require.Len(t, ips, 1)
	assert.Equal(t, "127.0.0.1", ips[0].String())
}

// receiverConns is a local receiver that counts the connections made to it.
func receiverConns(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestGuardRefusesAtDialTime(t *testing.T) {
	srv, conns := receiverConns(t)
	dns, queries := dnsStub(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	rebinding := "http://rebind.aragora-test.example:" + strconv.Itoa(port) + "/hook"

	client := func(g webhook.Guard) *http.Client {
		d := &net.Dialer{Resolver: stubResolver(dns), Control: g.Control}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil}}
	}
	// The URL passes registration (its host is a name), but every dial
	// lands on 127.0.0.1 and is refused before connecting.
	_, err := webhook.Guard{}.CheckURL(rebinding)
	require.NoError(t, err)
	resp, err := client(webhook.Guard{}).Post(rebinding, "application/json", strings.NewReader("{}"))
	if resp != nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, webhook.ErrForbiddenDestination)
	assert.Positive(t, queries.Load(), "the name was resolved through the test resolver")
	assert.Equal(t, int64(0), conns.Load(), "no connection reached the receiver")

	// Literal and mapped forms are refused at dial time too.
	for _, u := range []string{srv.URL, "http://[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/"} {
		_, err := client(webhook.Guard{}).Get(u)
		require.ErrorIs(t, err, webhook.ErrForbiddenDestination, u)
	}
	assert.Equal(t, int64(0), conns.Load())

	// ARAGORA_WEBHOOK_ALLOW_PRIVATE lifts the guard.
	resp, err = client(webhook.Guard{AllowPrivate: true}).Post(rebinding, "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, int64(1), conns.Load())
}
