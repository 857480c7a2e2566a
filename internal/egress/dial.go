package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// minDialShare is the least time one address is given when several are tried.
const minDialShare = 2 * time.Second

// dialContext is the guarded transport's dialer. It resolves the host once with the
// configured resolver, refuses the connection if any answer is internal (one bad
// answer is enough: a name that can point inward is not trusted), and then connects
// to the checked addresses themselves, so no second lookup can swap them. The
// dialer's ControlContext re-checks the address the socket is about to connect to.
func (g *Guard) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, g.refuse(ctx, stageDial, address, nil, "malformed dial address")
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return nil, g.refuse(ctx, stageDial, address, nil, "malformed port")
	}
	// The transport only dials hosts that passed the request checks; checking again
	// (host and port, over whichever scheme) keeps this function safe on its own.
	t, reason := g.vetHost(host, uint16(port), schemeAny)
	if reason != "" {
		return nil, g.refuse(ctx, stageDial, address, nil, reason)
	}

	addrs := []netip.Addr{t.addr}
	if !t.addr.IsValid() {
		addrs, err = g.resolver.LookupNetIP(ctx, lookupNetwork(network), t.name)
		if err != nil {
			return nil, fmt.Errorf("egress: resolve %q: %w", t.name, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("egress: resolve %q: no addresses", t.name)
		}
		for _, a := range addrs {
			if reason := g.addrReason(a); reason != "" {
				return nil, g.refuse(ctx, stageDial, address, nil, fmt.Sprintf("resolves to %s: %s", a, reason))
			}
		}
	}

	if len(addrs) > maxDialAttempts {
		addrs = addrs[:maxDialAttempts]
	}
	var errs []error
	for i, a := range addrs {
		if ctx.Err() != nil {
			break
		}
		conn, err := g.connectWithin(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)), len(addrs)-i)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("egress: dial %q: %w", address, ctx.Err())
	}
	return nil, errors.Join(errs...)
}

// connectWithin gives one attempt a share of the dial timeout when more addresses
// remain to be tried, as the standard library's own serial dialer does, so that one
// unreachable address (a blackholed IPv6 route, say) does not use up the whole budget.
func (g *Guard) connectWithin(ctx context.Context, network string, ap netip.AddrPort, remaining int) (net.Conn, error) {
	if remaining > 1 {
		share := max(g.dialer.Timeout/time.Duration(remaining), minDialShare)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, share)
		defer cancel()
	}
	return g.connect(ctx, network, ap)
}

// dialChecked connects to an address that has passed the check.
func (g *Guard) dialChecked(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
	return g.dialer.DialContext(ctx, network, ap.String())
}

// control runs on every socket just before it connects and checks the address the
// kernel is about to be given. It is the backstop should anything above it have been
// fooled.
func (g *Guard) control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp4", "tcp6":
	default:
		return g.refuse(ctx, stageConnect, address, nil, fmt.Sprintf("network %q not allowed", network))
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return g.refuse(ctx, stageConnect, address, nil, "unparseable connect address")
	}
	if reason := g.addrReason(ap.Addr()); reason != "" {
		return g.refuse(ctx, stageConnect, address, nil, fmt.Sprintf("address %s: %s", ap.Addr(), reason))
	}
	return nil
}

func lookupNetwork(network string) string {
	switch network {
	case "tcp4":
		return "ip4"
	case "tcp6":
		return "ip6"
	}
	return "ip"
}
