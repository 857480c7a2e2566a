package egress

import (
	"net/url"
	"strings"
)

// maxLogged bounds any upstream-chosen string placed in an error or a log line.
const maxLogged = 256

// redactURL renders u for errors and logs: scheme, host and path only. Userinfo, query
// and fragment can carry credentials or signed tokens and are dropped.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return clip(c.String())
}

// clip shortens s to maxLogged bytes, keeping it valid UTF-8.
func clip(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	return strings.ToValidUTF8(s[:maxLogged], "") + "..."
}
