package egress

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The allowlist admits origins, not host names: a request passes only when its scheme,
// host and port (a missing port read as the scheme's default) are admitted together,
// so an allowlisted host does not open its other ports. An entry is one of:
//
//	files.example.com               the host on http port 80 and https port 443 only
//	files.example.com:8443          the host on port 8443, over http or https
//	https://files.example.com:8443  exactly that origin (no port: the scheme's default)
//
// IPv6 addresses are written in brackets when a port or scheme follows
// ("[2001:db8::1]:8443", "https://[2001:db8::1]"); a bare IPv6 address names the
// default ports like a bare name. Entries carry no userinfo, path (an origin may end
// in a single "/"), query, fragment or wildcard, and a port is a decimal number from
// 1 to 65535 written without leading zeros.

// schemeSet is a set of the schemes the guarded client speaks.
type schemeSet uint8

const (
	schemeHTTP schemeSet = 1 << iota
	schemeHTTPS

	schemeAny = schemeHTTP | schemeHTTPS
)

// schemeOf returns the bit of an http or https scheme (any case), or 0.
func schemeOf(scheme string) schemeSet {
	switch strings.ToLower(scheme) {
	case "http":
		return schemeHTTP
	case "https":
		return schemeHTTPS
	}
	return 0
}

// defaultPort is the port a URL of scheme s reaches when it names none.
func (s schemeSet) defaultPort() uint16 {
	if s == schemeHTTPS {
		return 443
	}
	return 80
}

// endpoint is a host as the allowlist is indexed (target.key()) and a port.
type endpoint struct {
	host string
	port uint16
}

// grant admits the schemes of one endpoint.
type grant struct {
	endpoint
	schemes schemeSet
}

// allowlist holds the admitted origins. The zero value admits nothing.
type allowlist struct {
	// origins maps each admitted host and port to the schemes admitted there.
	origins map[endpoint]schemeSet
	// hosts holds every host some entry names, so that a refusal can say whether the
	// host or only its port or scheme is not admitted.
	hosts map[string]struct{}
}

func (a *allowlist) add(g grant) {
	if a.origins == nil {
		a.origins = map[endpoint]schemeSet{}
		a.hosts = map[string]struct{}{}
	}
	a.origins[g.endpoint] |= g.schemes
	a.hosts[g.host] = struct{}{}
}

// allows reports whether some scheme of want is admitted on host and port.
func (a allowlist) allows(host string, port uint16, want schemeSet) bool {
	return a.origins[endpoint{host, port}]&want != 0
}

// reason says why host, port and a scheme of want are not admitted, or returns "".
// At dial time the scheme is not known and want is schemeAny.
func (a allowlist) reason(host string, port uint16, want schemeSet) string {
	if a.allows(host, port, want) {
		return ""
	}
	if _, ok := a.hosts[host]; !ok {
		return "host not in egress allowlist"
	}
	if want != schemeAny && a.allows(host, port, schemeAny) {
		return fmt.Sprintf("scheme %s on port %d not in egress allowlist", schemeName(want), port)
	}
	return fmt.Sprintf("port %d not in egress allowlist for this host", port)
}

func schemeName(s schemeSet) string {
	if s == schemeHTTPS {
		return "https"
	}
	return "http"
}

// effectivePort returns the port u reaches: its own, or the scheme's default when it
// names none. ok is false for port 0, a port out of range, or no port and a scheme
// other than http and https. A port with leading zeros is read as the number it is,
// as the dialler reads it.
func effectivePort(u *url.URL) (port uint16, ok bool) {
	p := u.Port()
	if p == "" {
		s := schemeOf(u.Scheme)
		if s == 0 {
			return 0, false
		}
		return s.defaultPort(), true
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint16(n), true
}

// entrySyntax is the hint given with a malformed allowlist entry.
const entrySyntax = "want a host name, host:port or http(s)://host[:port]"

// parseAllowEntry reads one operator-supplied allowlist entry (see the syntax above)
// into the endpoints and schemes it admits.
func parseAllowEntry(entry string) ([]grant, error) {
	s := strings.TrimSpace(entry)
	if s == "" {
		return nil, errors.New("empty entry")
	}
	scheme, rest, isOrigin := strings.Cut(s, "://")
	if isOrigin {
		return parseOriginEntry(scheme, rest)
	}
	if strings.ContainsAny(s, "/@?#\\") {
		return nil, fmt.Errorf("no path, userinfo, query or fragment (%s)", entrySyntax)
	}
	h, port, err := splitEntry(s, false)
	if err != nil {
		return nil, err
	}
	host, err := entryHost(h)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		return []grant{
			{endpoint{host, schemeHTTP.defaultPort()}, schemeHTTP},
			{endpoint{host, schemeHTTPS.defaultPort()}, schemeHTTPS},
		}, nil
	}
	return []grant{{endpoint{host, port}, schemeAny}}, nil
}

// parseOriginEntry reads the entry scheme://rest.
func parseOriginEntry(scheme, rest string) ([]grant, error) {
	bit := schemeOf(scheme)
	if bit == 0 {
		return nil, fmt.Errorf("scheme %q not allowed (http and https only)", clip(scheme))
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/@?#\\") {
		return nil, errors.New("an origin has no path, userinfo, query or fragment")
	}
	h, port, err := splitEntry(rest, true)
	if err != nil {
		return nil, err
	}
	host, err := entryHost(h)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = bit.defaultPort()
	}
	return []grant{{endpoint{host, port}, bit}}, nil
}

// splitEntry splits an entry's host[:port] part; port is 0 when none is written.
// Within an origin an IPv6 address must be in brackets, as in a URL.
func splitEntry(s string, origin bool) (host string, port uint16, err error) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", 0, errors.New("unclosed [ in IPv6 address")
		}
		host, after := rest[:end], rest[end+1:]
		if !strings.Contains(host, ":") {
			return "", 0, errors.New("brackets are for IPv6 addresses only")
		}
		if after == "" {
			return host, 0, nil
		}
		p, ok := strings.CutPrefix(after, ":")
		if !ok {
			return "", 0, fmt.Errorf("unexpected text after the IPv6 address (%s)", entrySyntax)
		}
		port, err := parseEntryPort(p)
		return host, port, err
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, 0, nil
	case 1:
		h, p, _ := strings.Cut(s, ":")
		port, err := parseEntryPort(p)
		return h, port, err
	}
	if origin {
		return "", 0, errors.New("write an IPv6 address in brackets")
	}
	return s, 0, nil // an IPv6 address without brackets, so without a port
}

// parseEntryPort reads a port strictly: decimal digits, no leading zero, 1 to 65535.
func parseEntryPort(p string) (uint16, error) {
	if p == "" || len(p) > 5 || !allIn(p, isDigit) || p[0] == '0' {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535 without leading zeros", clip(p))
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", clip(p))
	}
	return uint16(n), nil
}

// entryHost normalises an entry's host with the same parser the requests' hosts go
// through, so that the two meet on the same key.
func entryHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("empty host name")
	}
	t, reason := parseHost(h)
	if reason != "" {
		return "", errors.New(reason)
	}
	return t.key(), nil
}
