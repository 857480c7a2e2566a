package app

import (
	"log/slog"
	"strings"
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
		path, msg, ok := strings.Cut(err.Error(), ": ")
		if !ok {
			path, msg = "rules", err.Error()
		}
		problems = append(problems, config.Problem{Path: path, Message: msg})
	}
	if cfg.PublicUpstream != nil {
		// Build the guard once so its own checks (allowlist entries, ranges) are reported
		// with everything else, before anything starts.
		if _, err := egress.New(egressOptions(cfg, slog.New(slog.DiscardHandler))); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				problems = append(problems, config.Problem{Path: "egress", Message: strings.TrimPrefix(line, "egress: ")})
			}
		}
	}
	return &Loaded{Config: cfg, Policy: pol}, problems
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
