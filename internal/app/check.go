package app

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/policy"
)

// CheckReport is what `ecluse check-config` prints on success.
type CheckReport struct {
	Config config.Effective `json:"config"`
	Policy policy.Effective `json:"policy"`
	// ExpiredExceptions are allow-list entries past their expiry: they no longer apply.
	ExpiredExceptions []policy.Exception `json:"expiredExceptions"`
	// ExpiringExceptions are entries that expire within 14 days.
	ExpiringExceptions []policy.Exception `json:"expiringExceptions"`
	// Mounts are the mounts served, each with the policy it applies.
	Mounts []MountReport `json:"mounts"`
	// Advisories describes the advisory index the advisory rules and npm audit read.
	Advisories AdvisoryReport `json:"advisories"`
}

// AdvisoryReport is the advisory index in the check-config report.
type AdvisoryReport struct {
	// Sources are the CVE_SOURCE_URL entries, OSV's exports when it is unset.
	Sources             []string `json:"sources"`
	SyncIntervalSeconds int64    `json:"syncIntervalSeconds"`
	// Index is the index check-config loaded when run with --sync-advisories, or its
	// failure; nil otherwise.
	Index *AdvisoryDetail `json:"index"`
	// Note says how to read the section.
	Note string `json:"note"`
}

// CheckOptions tune what check-config does beyond reading the configuration.
type CheckOptions struct {
	// SyncAdvisories loads the advisory index once, from every source, and reports
	// it. False means the sources are listed but not read.
	SyncAdvisories bool
}

// MountReport is one mount in the check-config report.
type MountReport struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	Ecosystem string `json:"ecosystem"`
	// PolicyName names the document's policy the mount uses; empty means the
	// top-level rules.
	PolicyName string           `json:"policyName"`
	Policy     policy.Effective `json:"policy"`
	// ChecksumDatabase is a go mount's database name and where its key came from.
	ChecksumDatabase *SumDBReport `json:"checksumDatabase,omitempty"`
	// Notes say what about the mount's policy the operator should know (a rule that
	// cannot apply to the ecosystem, a weaker publish time). Never nil.
	Notes []string `json:"notes"`
}

// SumDBReport says which checksum database a go mount verifies against.
type SumDBReport struct {
	// Key is the verifier key in use; KeyFrom is "document" or "go toolchain".
	Key     string `json:"key"`
	KeyFrom string `json:"keyFrom"`
}

// WriteCheckReport prints the effective configuration and policy as indented JSON.
// With opts.SyncAdvisories it first loads the advisory index once (bounded by ctx) and
// reports how that went.
func WriteCheckReport(ctx context.Context, w io.Writer, l *Loaded, now time.Time, opts CheckOptions) error {
	expired, soon := l.Policy.Expiring(now, exceptionWarningWindow)
	rep := CheckReport{
		Config:             l.Config.Effective(),
		Policy:             l.Policy.Effective(now),
		ExpiredExceptions:  orEmpty(expired),
		ExpiringExceptions: orEmpty(soon),
		Mounts:             []MountReport{},
	}
	for _, m := range l.Mounts {
		mr := MountReport{Name: m.Name, Path: m.Path, Ecosystem: m.Ecosystem, Policy: m.Policy.Effective(now)}
		mr.PolicyName = m.PolicyName
		if m.Ecosystem == config.EcosystemGo {
			mr.ChecksumDatabase = &SumDBReport{Key: m.SumDBKey, KeyFrom: m.SumDBKeyFrom}
		}
		mr.Notes = orEmpty(mountNotes(m, mr.Policy))
		rep.Mounts = append(rep.Mounts, mr)
	}
	rep.Advisories = AdvisoryReport{
		Sources:             orEmpty(l.Config.CVESources),
		SyncIntervalSeconds: int64(l.Config.CVESyncInterval / time.Second),
		Note: "until the index loads, DenyIfCVE and DenyMalicious rules do what their onMissingIndex says (see each policy) " +
			"and the fast-track admits nothing; run check-config --sync-advisories to load the index once here",
	}
	if opts.SyncAdvisories {
		d, err := syncOnce(ctx, l)
		if err != nil {
			return err
		}
		rep.Advisories.Index = &d
		rep.Advisories.Note = "the index as check-config loaded it just now"
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// mountNotes lists what an operator should know about a mount's policy on its
// ecosystem.
func mountNotes(m LoadedMount, eff policy.Effective) []string {
	if m.Ecosystem == config.EcosystemPyPI {
		notes := []string{"publish times are each file's upload-time (PEP 700), which only the JSON form of the Simple API carries: an index that answers only in HTML has no file old enough for an age rule (see docs/pypi.md)"}
		for _, r := range eff.Rules {
			switch r.Type {
			case policy.TypeDenyInstallTimeExecution:
				notes = append(notes, "rule "+r.Name+" ("+r.Type+") refuses every source distribution on a pypi mount (installing one runs its build backend); wheels are served")
			case policy.TypeAllowIfRemediatesCve:
				notes = append(notes, "rule "+r.Name+" ("+r.Type+") admits nothing on a pypi mount: a file is decided alone, without the releases around it that the fast-track compares")
			}
		}
		return notes
	}
	if m.Ecosystem != config.EcosystemGo {
		return nil
	}
	notes := []string{"publish times are the .info Time of each version: the commit time, which the module's author chooses (see docs/go.md)"}
	for _, r := range eff.Rules {
		switch r.Type {
		case policy.TypeDenyInstallTimeExecution:
			notes = append(notes, "rule "+r.Name+" ("+r.Type+") has no effect on a go mount: nothing from a module runs when the go command downloads it")
		case policy.TypeAllowIfRemediatesCve:
			notes = append(notes, "rule "+r.Name+" ("+r.Type+") admits nothing on a go mount: a Go version is decided alone, without the versions around it that the fast-track compares")
		}
	}
	return notes
}
