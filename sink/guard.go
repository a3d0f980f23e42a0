package sink

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Guard refuses connections to addresses a tenant must not reach through
// a destination it configures (server-side request forgery): loopback,
// link-local (with the cloud metadata endpoints 169.254.169.254 and
// fd00:ec2::254), unspecified, multicast, and the private and unique-local
// ranges, unless the installation allows them. It checks the address
// actually dialled, after DNS resolution (a net.Dialer Control function),
// so a name that resolves to a public address when checked and to a
// private one when used (DNS rebinding) gains nothing.
//
// The zero Guard refuses all of the above. A nil *Guard allows everything.
type Guard struct {
	// AllowPrivate allows loopback, private (RFC 1918), unique-local (fc00::/7)
	// and carrier-grade NAT (100.64.0.0/10) addresses, for installations
	// whose destinations live on their own network. Link-local and cloud
	// metadata addresses stay refused.
	AllowPrivate bool
	// Allow lists further prefixes to allow whatever the rules above say
	// (a SIEM at 10.1.2.3/32 while the rest of 10/8 stays refused).
	Allow []netip.Prefix
}

// metadata are cloud instance-metadata addresses, refused always.
var metadata = []netip.Prefix{
	netip.MustParsePrefix("169.254.169.254/32"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud
}

var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
}

// Check returns an error if addr may not be dialled.
func (g *Guard) Check(addr netip.Addr) error {
	if g == nil {
		return nil
	}
	addr = addr.Unmap()
	for _, p := range g.Allow {
		if p.Contains(addr) {
			return nil
		}
	}
	for _, p := range metadata {
		if p.Contains(addr) {
			return fmt.Errorf("sink: %s is a cloud metadata address; destinations may not reach it", addr)
		}
	}
	switch {
	case !addr.IsValid(), addr.IsUnspecified(), addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return fmt.Errorf("sink: %s is not an address destinations may reach", addr)
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return fmt.Errorf("sink: %s is link-local; destinations may not reach it", addr)
	}
	private := addr.IsLoopback() || addr.IsPrivate()
	for _, p := range privateRanges {
		private = private || p.Contains(addr)
	}
	if private && !g.AllowPrivate {
		return fmt.Errorf("sink: %s is a loopback or private address; destinations may reach it only if the installation allows private destinations", addr)
	}
	return nil
}

// Control is a net.Dialer Control function that refuses what Check refuses.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("sink: dialling %q: %w", address, err)
	}
	return g.Check(ap.Addr())
}

// Dialer returns a dialer whose every connection the guard checks.
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if g != nil {
		d.Control = g.Control
	}
	return d
}

// DialContext dials through the guard.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return g.Dialer(10*time.Second).DialContext(ctx, network, address)
}

// HTTPClient returns an HTTP client whose connections the guard checks. It
// uses no proxy from the environment (a proxy would dial for it, unchecked)
// and follows no redirects (a redirect is reported as the response, so a
// destination cannot be bounced elsewhere).
func (g *Guard) HTTPClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:           g.Dialer(10 * time.Second).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
