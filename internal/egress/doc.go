// Package egress builds every outbound HTTP client Écluse uses, so that the rules for
// leaving the process live in one place.
//
// Two clients come out of it:
//
//   - The guarded client (New, then Guard.Client) is for untrusted origins: the public
//     upstream and any artifact URL an upstream hands us. It reaches only allowlisted
//     origins (scheme, host and port together, so an allowlisted host's other ports
//     stay closed) over http or https, refuses URLs with userinfo and IPv4 literals in
//     anything but dotted decimal, resolves each name once and refuses the connection
//     if any answer is a non-public address (loopback, private, link-local and the
//     cloud metadata endpoint, CGNAT, unique-local, multicast, reserved, and the IPv6
//     forms that embed such an IPv4 address), dials the checked address itself, and
//     checks the socket's address again just before it connects. Redirects are
//     bounded, may not leave https, and every hop passes the same checks. A tarball
//     fetch (a context marked with WithOrigin) also obeys the tarball host policy.
//     Operators may open named internal ranges (Options.AllowInternal); nothing else
//     turns the block off.
//
//   - The trusted client (NewTrusted) is for the operator's private upstream. It skips
//     the address block, because that registry usually lives on the internal network,
//     and in exchange can reach that one origin (scheme, host and port) only.
//
// Every refusal is a *RefusedError naming the host and the reason, and is logged at
// warn level with URLs stripped of userinfo, query and fragment. LimitReader bounds a
// response body; the guarded client always hands back decoded bodies, so the bound
// applies to what is parsed, not to what crossed the wire.
//
// The package must not: read configuration or the environment (the caller passes
// Options); honour HTTP_PROXY and related variables (a forward proxy would hide the
// real destination from the address check); fall back silently to a weaker check; or
// put credentials, query strings or unbounded upstream strings into errors and logs.
// The cloud SDKs' own credential traffic (instance metadata) does not pass through
// here and must not be routed through the guarded client.
package egress
