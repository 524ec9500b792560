package diag

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Step timeouts of a connectivity check (docs/http-api.md#diagnostics).
const (
	DefaultDNSTimeout  = 3 * time.Second
	DefaultTCPTimeout  = 3 * time.Second
	DefaultHTTPTimeout = 5 * time.Second
	DefaultTimeout     = 15 * time.Second
)

// Target is one provider endpoint to check.
type Target struct {
	Provider string
	URL      string
}

// Resolver looks host names up; *net.Resolver implements it.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Dialer opens connections; *net.Dialer implements it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Config configures a [Checker]. The zero value checks the real network
// with the timeouts of docs/http-api.md#diagnostics.
type Config struct {
	// Resolver defaults to net.DefaultResolver.
	Resolver Resolver
	// Dialer defaults to a *net.Dialer.
	Dialer Dialer
	// Proxy picks the proxy of a request; default http.ProxyFromEnvironment
	// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
	Proxy func(*http.Request) (*url.URL, error)
	// TLSConfig is the client TLS configuration; default system roots.
	TLSConfig *tls.Config
	// DNSTimeout, TCPTimeout and HTTPTimeout bound each step (3 s, 3 s,
	// 5 s); Timeout bounds the whole check (15 s).
	DNSTimeout, TCPTimeout, HTTPTimeout, Timeout time.Duration
	// Now defaults to time.Now; it stamps checked_at and times the steps.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.Dialer == nil {
		c.Dialer = &net.Dialer{}
	}
	if c.Proxy == nil {
		c.Proxy = http.ProxyFromEnvironment
	}
	if c.DNSTimeout <= 0 {
		c.DNSTimeout = DefaultDNSTimeout
	}
	if c.TCPTimeout <= 0 {
		c.TCPTimeout = DefaultTCPTimeout
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Report is the body of POST /api/debug/connectivity-check (docs/http-api.md#diagnostics).
type Report struct {
	CheckedAt  time.Time `json:"checked_at"`
	DurationMS int64     `json:"duration_ms"`
	// OK is true when every target is reachable.
	OK      bool           `json:"ok"`
	Results []TargetResult `json:"results"`
}

// TargetResult is the check of one target. A step after a failed one is
// nil (JSON null).
type TargetResult struct {
	Provider string    `json:"provider"`
	URL      string    `json:"url"`
	OK       bool      `json:"ok"`
	ViaProxy bool      `json:"via_proxy"`
	DNS      *DNSStep  `json:"dns"`
	TCP      *TCPStep  `json:"tcp"`
	HTTP     *HTTPStep `json:"http"`
}

// DNSStep is the name lookup of the host the TCP step connects to.
type DNSStep struct {
	OK        bool     `json:"ok"`
	MS        float64  `json:"ms"`
	Addresses []string `json:"addresses"`
	Error     *string  `json:"error"`
}

// TCPStep is the connection to the URL's host and port (the scheme's
// default port when it names none), or to the proxy.
type TCPStep struct {
	OK      bool    `json:"ok"`
	MS      float64 `json:"ms"`
	Address string  `json:"address"`
	Error   *string `json:"error"`
}

// HTTPStep is an unauthenticated GET of the URL over its own scheme; any
// HTTP status counts as reachable. TLSVersion is nil over plain HTTP.
type HTTPStep struct {
	OK         bool    `json:"ok"`
	MS         float64 `json:"ms"`
	StatusCode *int    `json:"status_code"`
	TLSVersion *string `json:"tls_version"`
	Error      *string `json:"error"`
}

// Checker runs connectivity checks. It is safe for concurrent use; create
// it with [NewChecker]. The zero value is not usable.
type Checker struct {
	cfg Config
}

// NewChecker returns a Checker for cfg.
func NewChecker(cfg Config) *Checker {
	return &Checker{cfg: cfg.withDefaults()}
}

// Connectivity checks targets against the real network with the defaults
// of [Config].
func Connectivity(ctx context.Context, targets []Target) Report {
	return NewChecker(Config{}).Check(ctx, targets)
}

// Check checks every target in parallel: DNS, then TCP, then HTTP, each
// bounded by its timeout and skipped after a failure. It returns within
// Config.Timeout (15 s) or when ctx is done, whichever comes first.
func (c *Checker) Check(ctx context.Context, targets []Target) Report {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := c.cfg.Now()
	rep := Report{CheckedAt: start.UTC(), OK: true, Results: make([]TargetResult, len(targets))}
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { rep.Results[i] = c.check(ctx, t) })
	}
	wg.Wait()
	for _, r := range rep.Results {
		rep.OK = rep.OK && r.OK
	}
	rep.DurationMS = c.cfg.Now().Sub(start).Milliseconds()
	return rep
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}

func errText(err error) *string {
	s := err.Error()
	return &s
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func (c *Checker) check(ctx context.Context, t Target) TargetResult {
	res := TargetResult{Provider: t.Provider, URL: t.URL}
	u, err := url.Parse(t.URL)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "") {
		err = errors.New("want an absolute http or https URL")
	}
	if err != nil {
		res.DNS = &DNSStep{Addresses: []string{}, Error: errText(fmt.Errorf("diag: url %q: %w", t.URL, err))}
		return res
	}
	// The TCP step targets the proxy when one applies.
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	proxy, err := c.cfg.Proxy(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}})
	if err != nil {
		res.DNS = &DNSStep{Addresses: []string{}, Error: errText(fmt.Errorf("diag: proxy: %w", err))}
		return res
	}
	if proxy != nil {
		res.ViaProxy = true
		host, port = proxy.Hostname(), proxy.Port()
		if port == "" {
			port = defaultPort(proxy.Scheme)
		}
	}

	var addrs []string
	res.DNS, addrs = c.dns(ctx, host)
	if !res.DNS.OK {
		return res
	}
	var conn string
	res.TCP, conn = c.tcp(ctx, addrs, port)
	if !res.TCP.OK {
		return res
	}
	res.HTTP = c.http(ctx, u, conn)
	res.OK = res.HTTP.OK
	return res
}

func (c *Checker) dns(ctx context.Context, host string) (*DNSStep, []string) {
	start := c.cfg.Now()
	if ip := net.ParseIP(host); ip != nil {
		return &DNSStep{OK: true, Addresses: []string{ip.String()}}, []string{ip.String()}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DNSTimeout)
	defer cancel()
	addrs, err := lookup(ctx, c.cfg.Resolver, host)
	step := &DNSStep{MS: ms(c.cfg.Now().Sub(start)), Addresses: []string{}}
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("lookup %s: no addresses", host)
	}
	if err != nil {
		step.Error = errText(err)
		return step, nil
	}
	step.OK, step.Addresses = true, addrs
	return step, addrs
}

// lookup calls r.LookupHost, returning when ctx is done even if r ignores it.
func lookup(ctx context.Context, r Resolver, host string) ([]string, error) {
	type result struct {
		addrs []string
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		addrs, err := r.LookupHost(ctx, host)
		ch <- result{addrs, err}
	}()
	select {
	case res := <-ch:
		return res.addrs, res.err
	case <-ctx.Done():
		select {
		case res := <-ch: // answered as the deadline passed: keep the answer
			return res.addrs, res.err
		default:
			return nil, fmt.Errorf("lookup %s: %w", host, ctx.Err())
		}
	}
}

func (c *Checker) tcp(ctx context.Context, addrs []string, port string) (*TCPStep, string) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.TCPTimeout)
	defer cancel()
	start := c.cfg.Now()
	step := &TCPStep{}
	var err error
	for _, a := range addrs {
		addr := net.JoinHostPort(a, port)
		step.Address = addr
		var conn net.Conn
		conn, err = c.cfg.Dialer.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			step.OK, step.MS = true, ms(c.cfg.Now().Sub(start))
			return step, addr
		}
		if ctx.Err() != nil {
			break
		}
	}
	step.MS, step.Error = ms(c.cfg.Now().Sub(start)), errText(err)
	return step, ""
}

// http GETs u, connecting every dial to addr, the address the TCP step
// reached, so that the request follows the DNS and TCP steps.
func (c *Checker) http(ctx context.Context, u *url.URL, addr string) *HTTPStep {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HTTPTimeout)
	defer cancel()
	tr := &http.Transport{
		Proxy: c.cfg.Proxy,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return c.cfg.Dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     c.cfg.TLSConfig,
		TLSHandshakeTimeout: c.cfg.HTTPTimeout,
		DisableKeepAlives:   true,
		ForceAttemptHTTP2:   true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := c.cfg.Now()
	step := &HTTPStep{}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		step.Error = errText(err)
		return step
	}
	req.Header.Set("User-Agent", "aragora-connectivity-check")
	resp, err := client.Do(req)
	step.MS = ms(c.cfg.Now().Sub(start))
	if err != nil {
		step.Error = errText(err)
		return step
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	step.OK = true
	code := resp.StatusCode
	step.StatusCode = &code
	if resp.TLS != nil {
		v := tlsVersion(resp.TLS.Version)
		step.TLSVersion = &v
	}
	return step
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}
