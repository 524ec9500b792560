package diag_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/diag"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hosts is a fake resolver; a missing host fails like NXDOMAIN, and a host
// mapped to "block" blocks until ctx is done.
type hosts map[string]string

func (h hosts) LookupHost(ctx context.Context, host string) ([]string, error) {
	switch a, ok := h[host]; {
	case !ok:
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	case a == "block":
		<-ctx.Done()
		return nil, ctx.Err()
	default:
		return []string{a}, nil
	}
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// port returns the port of a test server URL.
func port(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Port()
}

func TestConnectivityHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c := diag.NewChecker(diag.Config{Resolver: hosts{"api.provider.test": "127.0.0.1"}, Proxy: noProxy})
	rep := c.Check(t.Context(), []diag.Target{{Provider: "ollama", URL: "http://api.provider.test:" + port(t, srv.URL)}})
	require.Len(t, rep.Results, 1)
	r := rep.Results[0]
	assert.True(t, rep.OK)
	assert.True(t, r.OK)
	assert.False(t, r.ViaProxy)
	require.NotNil(t, r.DNS)
	assert.Equal(t, []string{"127.0.0.1"}, r.DNS.Addresses)
	require.NotNil(t, r.TCP)
	assert.Equal(t, "127.0.0.1:"+port(t, srv.URL), r.TCP.Address)
	require.NotNil(t, r.HTTP)
	require.NotNil(t, r.HTTP.StatusCode)
	assert.Equal(t, http.StatusNotFound, *r.HTTP.StatusCode, "any status is reachable")
	assert.Nil(t, r.HTTP.TLSVersion, "no TLS over plain HTTP")
}

func TestConnectivityTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	// httptest's certificate is valid for example.com, which the fake
	// resolver points at the local server.
	c := diag.NewChecker(diag.Config{Resolver: hosts{"example.com": "127.0.0.1"}, Proxy: noProxy,
		TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	rep := c.Check(t.Context(), []diag.Target{{Provider: "anthropic", URL: "https://example.com:" + port(t, srv.URL)}})
	r := rep.Results[0]
	require.True(t, r.OK, "%+v", r.HTTP)
	require.NotNil(t, r.HTTP.TLSVersion)
	assert.Equal(t, "TLS1.3", *r.HTTP.TLSVersion)
	assert.Equal(t, http.StatusUnauthorized, *r.HTTP.StatusCode)
}

func TestConnectivityFailures(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	c := diag.NewChecker(diag.Config{
		Resolver: hosts{"slow.test": "block", "closed.test": "127.0.0.1"},
		Proxy:    noProxy,
		// Long enough for the instant answers of the fake resolver on a
		// loaded machine; slow.test blocks until it passes.
		DNSTimeout: time.Second,
	})
	targets := []diag.Target{
		{Provider: "openai", URL: "https://nxdomain.test"},
		{Provider: "gemini", URL: "http://closed.test:" + port(t, closedURL)},
		{Provider: "mistral", URL: "https://slow.test"},
		{Provider: "xai", URL: "not a url"},
	}
	rep := c.Check(t.Context(), targets)
	assert.False(t, rep.OK)
	require.Len(t, rep.Results, len(targets))
	for i, r := range rep.Results {
		assert.Equal(t, targets[i].Provider, r.Provider, "results keep the targets' order")
		assert.Equal(t, targets[i].URL, r.URL)
		assert.False(t, r.OK)
		require.NotNil(t, r.DNS)
		assert.Nil(t, r.HTTP, "%s: no HTTP step after a failure", r.Provider)
	}
	nx, refused, slow := rep.Results[0], rep.Results[1], rep.Results[2]
	assert.False(t, nx.DNS.OK)
	require.NotNil(t, nx.DNS.Error)
	assert.Contains(t, *nx.DNS.Error, "no such host")
	assert.Nil(t, nx.TCP)
	assert.NotNil(t, nx.DNS.Addresses, "addresses is [] not null")

	assert.True(t, refused.DNS.OK)
	require.NotNil(t, refused.TCP)
	assert.False(t, refused.TCP.OK)
	assert.NotNil(t, refused.TCP.Error)

	assert.False(t, slow.DNS.OK, "a hung lookup fails at its timeout")
	assert.Nil(t, slow.TCP)
}

// recordingDialer records the addresses dialled and refuses them all.
type recordingDialer struct {
	mu    sync.Mutex
	addrs []string
}

func (d *recordingDialer) DialContext(_ context.Context, _, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs = append(d.addrs, addr)
	return nil, errors.New("refused by test dialer")
}

func TestConnectivityDefaultPorts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string
	}{
		{url: "https://api.test", want: "10.0.0.1:443"},
		{url: "http://api.test", want: "10.0.0.1:80"},
		{url: "http://api.test:11434", want: "10.0.0.1:11434"},
		{url: "https://[2001:db8::1]/v1", want: "[2001:db8::1]:443"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			d := &recordingDialer{}
			c := diag.NewChecker(diag.Config{Resolver: hosts{"api.test": "10.0.0.1"}, Dialer: d, Proxy: noProxy})
			r := c.Check(t.Context(), []diag.Target{{Provider: "p", URL: tt.url}}).Results[0]
			require.NotNil(t, r.TCP)
			assert.Equal(t, tt.want, r.TCP.Address)
			assert.Equal(t, []string{tt.want}, d.addrs)
		})
	}
}

func TestConnectivityViaProxy(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got string
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.URL.String() // a forward proxy sees the absolute URL
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(proxy.Close)
	proxyURL, err := url.Parse(proxy.URL)
	require.NoError(t, err)
	c := diag.NewChecker(diag.Config{Resolver: hosts{}, Proxy: http.ProxyURL(proxyURL)})
	r := c.Check(t.Context(), []diag.Target{{Provider: "deepseek", URL: "http://api.deepseek.test/v1"}}).Results[0]
	require.True(t, r.OK, "%+v %+v %+v", r.DNS, r.TCP, r.HTTP)
	assert.True(t, r.ViaProxy)
	assert.Equal(t, proxyURL.Host, r.TCP.Address, "the TCP step targets the proxy")
	assert.Equal(t, http.StatusNoContent, *r.HTTP.StatusCode)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "http://api.deepseek.test/v1", got)
}

func TestConnectivityBoundedByContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c := diag.NewChecker(diag.Config{Resolver: hosts{"slow.test": "block"}, Proxy: noProxy})
	rep := c.Check(ctx, []diag.Target{{Provider: "p", URL: "https://slow.test"}})
	assert.False(t, rep.OK)
	assert.False(t, rep.Results[0].DNS.OK)
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	c := diag.NewChecker(diag.Config{Resolver: hosts{}, Proxy: noProxy,
		Now: func() time.Time { return time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC) }})
	rep := c.Check(t.Context(), []diag.Target{{Provider: "openai", URL: "https://api.openai.test"}})
	data, err := json.Marshal(rep)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	assert.Equal(t, "2024-01-15T10:00:00Z", m["checked_at"])
	assert.EqualValues(t, 0, m["duration_ms"])
	assert.Equal(t, false, m["ok"])
	res := m["results"].([]any)[0].(map[string]any)
	for _, k := range []string{"provider", "url", "ok", "via_proxy", "dns", "tcp", "http"} {
		assert.Contains(t, res, k)
	}
	assert.Nil(t, res["tcp"])
	assert.Nil(t, res["http"])
	dns := res["dns"].(map[string]any)
	assert.Equal(t, []any{}, dns["addresses"])
	assert.Contains(t, dns, "ms")
	assert.NotNil(t, dns["error"])
}

func TestTestAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		agent      agent.Func
		timeout    time.Duration
		wantOK     bool
		wantKind   agent.Kind
		wantStatus *int
	}{
		{name: "reply", wantOK: true, agent: func(_ context.Context, req agent.Request) (agent.Response, error) {
			if req.Prompt != diag.DefaultPrompt || req.MaxTokens != 16 {
				return agent.Response{}, errors.New("unexpected request")
			}
			return agent.Response{Text: "pong", Usage: agent.Usage{InputTokens: 12, OutputTokens: 2}, CostUSD: 0.000066, Provider: "anthropic", Model: "m"}, nil
		}},
		{name: "provider error", wantKind: agent.KindRateLimited, wantStatus: ptr(429), agent: func(context.Context, agent.Request) (agent.Response, error) {
			return agent.Response{}, &agent.ProviderError{Provider: "openai", StatusCode: 429, Err: agent.ErrRateLimited}
		}},
		{name: "connection error has no status", wantKind: agent.KindServer, agent: func(context.Context, agent.Request) (agent.Response, error) {
			return agent.Response{}, &agent.ProviderError{Provider: "openai", Err: errors.New("connection refused")}
		}},
		{name: "timeout", wantKind: agent.KindTimeout, timeout: 10 * time.Millisecond, agent: func(ctx context.Context, _ agent.Request) (agent.Response, error) {
			<-ctx.Done()
			return agent.Response{}, ctx.Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := diag.TestAgent(t.Context(), tt.agent, "", 16, tt.timeout)
			assert.Equal(t, tt.wantOK, res.OK)
			if tt.wantOK {
				assert.Nil(t, res.Error)
				assert.Equal(t, "pong", res.Response)
				assert.Equal(t, diag.Tokens{Input: 12, Output: 2}, res.Tokens)
				assert.InDelta(t, 0.000066, res.CostUSD, 1e-12)
				assert.Equal(t, "anthropic", res.Provider)
				return
			}
			require.NotNil(t, res.Error)
			assert.Equal(t, tt.wantKind, res.Error.Kind)
			assert.Equal(t, tt.wantStatus, res.Error.StatusCode)
			assert.NotEmpty(t, res.Error.Message)
		})
	}
}

func ptr[T any](v T) *T { return &v }
