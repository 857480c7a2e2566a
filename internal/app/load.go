package app

import (
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/signing"
)

// Loaded is a configuration that passed every check, with the parts built from it that
// validation needs (each mount's rule policy and internal patterns).
type Loaded struct {
	Config *config.Config
	// Policy is the top-level rules merged over the defaults, read with npm's version
	// ordering: what check-config prints as "policy" and the boot log reports.
	Policy *policy.Policy
	// Mounts are the configuration's mounts, in its order, each with its own policy.
	Mounts []LoadedMount
	// Keys are the signing keys of PROXY_SIGNING_KEY_FILE; nil when it is unset.
	Keys *signing.Keyring
}

// LoadedMount is one mount with what Load built for it.
type LoadedMount struct {
	config.Mount
	// Policy is the mount's rule policy, read with the ecosystem's version ordering.
	Policy *policy.Policy
	// Internal are the mount's internal patterns, compiled. Nil matches nothing.
	Internal *policy.Names
	// SumDBKey is a go mount's checksum database verifier key, resolved; SumDBKeyFrom
	// says where it came from ("document" or "go toolchain").
	SumDBKey, SumDBKeyFrom string
}

// ordering returns the version ordering of an ecosystem's ranges.
func ordering(ecosystem string) policy.Ordering {
	switch ecosystem {
	case config.EcosystemGo:
		return gomod.Ordering{}
	case config.EcosystemPyPI:
		return pypi.Ordering{}
	}
	return npm.Semver{}
}

// Load reads and validates the whole configuration: the environment, the document and
// the rule policies built from it. It returns every problem found.
func Load(src config.Source) (*Loaded, config.Problems) {
	cfg, problems := config.Load(src)
	floor := cfg.MinPublicIntegrity
	for _, p := range problems {
		if p.Path == "PROXY_MIN_PUBLIC_INTEGRITY" {
			floor = "" // already reported; build with the default so the rules still get checked
		}
	}
	// One rule set read with one ordering is built (and its problems reported) once,
	// however many mounts share it.
	built := map[string]*policy.Policy{}
	build := func(raw []byte, path, ecosystem string) *policy.Policy {
		key := path + "\x00" + ecosystem
		if p, ok := built[key]; ok {
			return p
		}
		opts := policy.Options{MinIntegrity: floor, Ordering: ordering(ecosystem), Path: path, Ecosystem: ecosystem}
		if ecosystem == config.EcosystemPyPI {
			opts.FoldName = pypi.Normalize
		}
		pol, errs := policy.Build(raw, opts)
		for _, err := range errs {
			problem := config.Problem{Path: path, Message: err.Error()}
			var pe *policy.Error
			if errors.As(err, &pe) {
				problem = config.Problem{Path: pe.Path, Message: pe.Msg}
			}
			problems = append(problems, problem)
		}
		built[key] = pol
		return pol
	}
	var doc []byte
	if cfg.Document != nil {
		doc = cfg.Document.Rules
	}
	l := &Loaded{Config: cfg, Policy: build(doc, "rules", config.EcosystemNPM)}
	for _, m := range cfg.Mounts {
		lm := LoadedMount{Mount: m, Policy: build(m.Rules, m.RulesPath, m.Ecosystem)}
		patterns := m.Internal
		if m.Ecosystem == config.EcosystemPyPI {
			// PyPI names are matched normalised (PEP 503), so the patterns are too:
			// "Corp_*" and "corp-*" name the same projects.
			patterns = make([]string, len(m.Internal))
			for i, p := range m.Internal {
				patterns[i] = pypi.Normalize(p)
			}
		}
		names, err := policy.CompileNames(patterns)
		if err != nil {
			problems = append(problems, config.Problem{Path: m.InternalPath, Message: err.Error()})
		}
		lm.Internal = names
		if m.Ecosystem == config.EcosystemGo {
			lm.SumDBKey, lm.SumDBKeyFrom = m.ChecksumDatabase.Key, "document"
			if lm.SumDBKey == "" {
				key, err := toolchainSumDBKey()
				if err != nil {
					problems = append(problems, config.Problem{Path: "mounts." + m.Name + ".checksumDatabase.key",
						Message: "not set, and the Go toolchain's default could not be read (" + err.Error() + "); give the database's verifier key"})
				}
				lm.SumDBKey, lm.SumDBKeyFrom = key, "go toolchain"
			}
		}
		l.Mounts = append(l.Mounts, lm)
	}
	if cfg.SigningKeyFile != "" {
		keys, err := signing.LoadFile(cfg.SigningKeyFile, time.Now())
		if err != nil {
			problems = append(problems, config.Problem{Path: "PROXY_SIGNING_KEY_FILE", Message: err.Error()})
		}
		l.Keys = keys
	}
	if cfg.PublicUpstream != nil {
		// Build the guard once so its own checks (allowlist entries, ranges) are reported
		// with everything else, before anything starts.
		if _, err := egress.New(egressOptions(cfg, slog.New(slog.DiscardHandler))); err != nil {
			problems = append(problems, egressProblems(cfg, err)...)
		}
	}
	return l, dedupe(problems)
}

// dedupe drops repeated problems (a rule set shared by mounts of two ecosystems is
// read twice), keeping the first of each.
func dedupe(ps config.Problems) config.Problems {
	seen := map[config.Problem]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// egressProblems reports the guard's refusals of its options under the settings they
// came from. The first AllowedHosts are the public upstreams' origins (see
// egressOptions); the operator's entries follow.
func egressProblems(cfg *config.Config, err error) config.Problems {
	origins := upstreamOrigins(cfg)
	joined, ok := err.(interface{ Unwrap() []error }) //nolint:errorlint // New returns errors.Join's value, whose parts are wanted
	if !ok {
		return config.Problems{{Path: "egress", Message: err.Error()}}
	}
	var out config.Problems
	for _, e := range joined.Unwrap() {
		var oe *egress.OptionError
		if !errors.As(e, &oe) {
			out = append(out, config.Problem{Path: "egress", Message: e.Error()})
			continue
		}
		switch oe.Option {
		case "AllowedHosts":
			path := "PROXY_EGRESS_ALLOWED_HOSTS or egress.allowedHosts"
			if oe.Index < len(origins) {
				path = origins[oe.Index].setting
			}
			out = append(out, config.Problem{Path: path, Message: oe.Msg})
		case "AllowInternal":
			out = append(out, config.Problem{Path: "PROXY_EGRESS_ALLOW_INTERNAL_CIDRS", Message: oe.Msg})
		default:
			out = append(out, config.Problem{Path: "egress", Message: oe.Error()})
		}
	}
	return out
}

// origin is an upstream origin the egress guard must allow, with the setting it came from.
type origin struct{ origin, setting string }

// upstreamOrigins lists the origins (scheme, host and port) of every public upstream
// and checksum database, each once, PUBLIC_UPSTREAM_URL's first.
func upstreamOrigins(cfg *config.Config) []origin {
	var out []origin
	add := func(u *url.URL, setting string) {
		if u == nil {
			return
		}
		o := u.Scheme + "://" + u.Host
		for _, have := range out {
			if have.origin == o {
				return
			}
		}
		out = append(out, origin{o, setting})
	}
	add(cfg.PublicUpstream, "PUBLIC_UPSTREAM_URL")
	for _, m := range cfg.Mounts {
		add(m.PublicUpstream, "mounts."+m.Name+".publicUpstreamUrl")
		add(m.ChecksumDatabase.URL, "mounts."+m.Name+".checksumDatabase.url")
		add(m.FilesUpstream, "mounts."+m.Name+".filesUpstreamUrl")
	}
	// The advisory sources are fetched through the guard too.
	for _, src := range cfg.CVESources {
		if config.CVESourceIsURL(src) {
			if u, err := url.Parse(src); err == nil {
				add(u, "CVE_SOURCE_URL")
			}
		}
	}
	return out
}

// egressOptions derives the guard's options from the configuration. Every public
// upstream's own origin (scheme, host and port) is always allowed; the operator's
// entries follow, a bare host name among them meaning ports 80 and 443 only.
func egressOptions(cfg *config.Config, log *slog.Logger) egress.Options {
	var hosts []string
	for _, o := range upstreamOrigins(cfg) {
		hosts = append(hosts, o.origin)
	}
	return egress.Options{
		AllowedHosts:               append(hosts, cfg.EgressAllowedHosts...),
		AllowInternal:              cfg.EgressAllowInternal,
		RespectUpstreamTarballHost: cfg.RespectUpstreamTarballHost,
		Logger:                     log,
	}
}

// exceptionWarningWindow is how far ahead the boot log warns about expiring exceptions.
const exceptionWarningWindow = 14 * 24 * time.Hour
