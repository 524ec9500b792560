package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrForbiddenDestination reports a webhook URL or a resolved address the
// destination guard refuses: loopback, private, shared (CGNAT), link-local,
// unique-local, multicast, unspecified or reserved, also in IPv4-mapped
// IPv6 form.
var ErrForbiddenDestination = errors.New("webhook: forbidden destination")

// refused are the ranges the guard refuses (docs/webhooks.md). IPv4-mapped
// IPv6 addresses are unmapped before the check, so ::ffff:127.0.0.1 is
// refused as 127.0.0.1.
var refused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space (CGNAT)
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local (cloud metadata)
	netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// CheckAddr returns an error wrapping ErrForbiddenDestination when a is in
// a refused range (after unmapping an IPv4-mapped address).
func CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrForbiddenDestination)
	}
	u := a.Unmap().WithZone("")
	for _, p := range refused {
		if p.Contains(u) {
			return fmt.Errorf("%w: %s is in %s", ErrForbiddenDestination, a, p)
		}
	}
	return nil
}

// Guard checks webhook destinations. The zero value refuses every range of
// CheckAddr; AllowPrivate lifts that (ARAGORA_WEBHOOK_ALLOW_PRIVATE, for
// local receivers). A Guard is a value and safe for concurrent use.
type Guard struct {
	// AllowPrivate accepts every address.
	AllowPrivate bool
	// RequireHTTPS refuses http:// URLs in CheckURL (API-registered
	// endpoints in production).
	RequireHTTPS bool
}

// Control is a net.Dialer.Control function: it runs after the host name
// has been resolved and before the connection is made, with the address
// actually dialled, so a name that resolves (or rebinds) to a refused
// address is stopped without any connection being attempted.
func (g Guard) Control(_, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dial address %q: %v", ErrForbiddenDestination, address, err)
	}
	return CheckAddr(ap.Addr())
}

// CheckURL validates a webhook URL at registration or configuration: an
// absolute http or https URL (https only with RequireHTTPS) with a host,
// no user info and no fragment, whose host, when it is a literal IP
// address, is not refused. Host names are checked at dial time (Control).
// Errors are *URLError.
func (g Guard) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, &URLError{URL: raw, Reason: "not a valid URL"}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, &URLError{URL: raw, Reason: "want an http or https URL"}
	case g.RequireHTTPS && u.Scheme != "https":
		return nil, &URLError{URL: raw, Reason: "must be https in production"}
	case u.Host == "" || u.Hostname() == "":
		return nil, &URLError{URL: raw, Reason: "has no host"}
	case u.User != nil:
		return nil, &URLError{URL: raw, Reason: "must not carry user info"}
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, &URLError{URL: raw, Reason: "must not have a fragment"}
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return nil, &URLError{URL: raw, Reason: "has an invalid port"}
		}
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !g.AllowPrivate {
		if err := CheckAddr(a); err != nil {
			return nil, &URLError{URL: raw, Reason: "destination " + a.String() + " is a private, loopback, link-local or reserved address", Err: err}
		}
	}
	return u, nil
}

// URLError reports a webhook URL that cannot be used. It wraps
// ErrForbiddenDestination when the host is a refused address.
type URLError struct {
	URL    string
	Reason string
	Err    error
}

func (e *URLError) Error() string { return "webhook: url: " + e.Reason }

// Unwrap returns the cause.
func (e *URLError) Unwrap() error { return e.Err }
