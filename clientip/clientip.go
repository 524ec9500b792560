// Package clientip decides which client an HTTP request comes from. The
// server's request log, audit trail, WebSocket per-IP cap and login
// throttle, and the rate limiter all name the client with [Of], so one
// request is one client everywhere (docs/http-api.md#rate-limits).
//
// The edge decides once per request and stores the address with
// [NewContext]; handlers and middleware further in read it with
// [FromContext] (see [Resolve]).
package clientip

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// Of returns the client address of r: the TCP peer, unless the peer is in
// trusted; then the right-most X-Forwarded-For address that is not in
// trusted (header lines in order, each comma-separated). When a hop left
// of the trusted ones is not an address, the last good hop is the client.
// IPv4-mapped IPv6 addresses are unmapped and zones dropped. Of returns the
// zero Addr when r.RemoteAddr is not an address (a Unix socket peer).
func Of(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := Parse(r.RemoteAddr)
	if !peer.IsValid() || !Contains(trusted, peer) {
		return peer
	}
	client := peer
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		parts := strings.Split(vals[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a := Parse(strings.TrimSpace(parts[j]))
			if !a.IsValid() {
				return client // garbage left of the trusted hops: keep the last good address
			}
			client = a
			if !Contains(trusted, a) {
				return client
			}
		}
	}
	return client
}

// Parse parses "ip", "ip:port" or "[ipv6]:port", unmapped and without a
// zone; the zero Addr when s is none of them.
func Parse(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// Contains reports whether a is in one of ps.
func Contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String returns a's text form, or "" for the zero Addr.
func String(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

type ctxKey struct{}

// NewContext returns a copy of ctx that carries a as the request's client
// address.
func NewContext(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// FromContext returns the client address [NewContext] stored in ctx; ok
// is false when there is none.
func FromContext(ctx context.Context) (a netip.Addr, ok bool) {
	a, ok = ctx.Value(ctxKey{}).(netip.Addr)
	return a, ok
}

// Resolve returns the address stored in r's context, else Of(r, trusted):
// middleware inside the edge finds the client the edge decided on.
func Resolve(r *http.Request, trusted []netip.Prefix) netip.Addr {
	if a, ok := FromContext(r.Context()); ok {
		return a
	}
	return Of(r, trusted)
}
