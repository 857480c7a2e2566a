package app

import (
	"errors"
	"log/slog"
	"time"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/policy"
)

// Loaded is a configuration that passed every check, with the parts built from it that
// validation needs (the merged rule policy).
type Loaded struct {
	Config *config.Config
	Policy *policy.Policy
}

// Load reads and validates the whole configuration: the environment, the document and
// the rule policy built from it. It returns every problem found.
func Load(src config.Source) (*Loaded, config.Problems) {
	cfg, problems := config.Load(src)
	floor := cfg.MinPublicIntegrity
	for _, p := range problems {
		if p.Path == "PROXY_MIN_PUBLIC_INTEGRITY" {
			floor = "" // already reported; build with the default so the rules still get checked
		}
	}
	pol, errs := policy.Build(cfg.Document.Rules, policy.Options{MinIntegrity: floor})
	for _, err := range errs {
		problem := config.Problem{Path: "rules", Message: err.Error()}
		var pe *policy.Error
		if errors.As(err, &pe) {
			problem = config.Problem{Path: pe.Path, Message: pe.Msg}
		}
		problems = append(problems, problem)
	}
	if cfg.PublicUpstream != nil {
		// Build the guard once so its own checks (allowlist entries, ranges) are reported
		// with everything else, before anything starts.
		if _, err := egress.New(egressOptions(cfg, slog.New(slog.DiscardHandler))); err != nil {
			problems = append(problems, egressProblems(err)...)
		}
	}
	return &Loaded{Config: cfg, Policy: pol}, problems
}

// egressProblems reports the guard's refusals of its options under the settings they
// came from. AllowedHosts[0] is the public upstream's origin (see egressOptions), so the
// operator's entries start at 1.
func egressProblems(err error) config.Problems {
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
			if oe.Index == 0 {
				path = "PUBLIC_UPSTREAM_URL"
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

// egressOptions derives the guard's options from the configuration. The public
// upstream's own origin (scheme, host and port) is always allowed; the operator's
// entries follow, a bare host name among them meaning ports 80 and 443 only.
func egressOptions(cfg *config.Config, log *slog.Logger) egress.Options {
	upstream := cfg.PublicUpstream.Scheme + "://" + cfg.PublicUpstream.Host
	return egress.Options{
		AllowedHosts:               append([]string{upstream}, cfg.EgressAllowedHosts...),
		AllowInternal:              cfg.EgressAllowInternal,
		RespectUpstreamTarballHost: cfg.RespectUpstreamTarballHost,
		Logger:                     log,
	}
}

// exceptionWarningWindow is how far ahead the boot log warns about expiring exceptions.
const exceptionWarningWindow = 14 * 24 * time.Hour
