package modgate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
)

// Explanation says, for every version of a module (or one), whether it is served and
// why.
type Explanation struct {
	Module string `json:"module"`
	// Source is where the module is served from: private or public.
	Source string `json:"source"`
	// Now is the instant the decisions were taken at.
	Now      time.Time            `json:"now"`
	Admitted int                  `json:"admitted"`
	Blocked  int                  `json:"blocked"`
	Versions []VersionExplanation `json:"versions"`
}

// VersionExplanation is one version's decision.
type VersionExplanation struct {
	Version  string `json:"version"`
	Admitted bool   `json:"admitted"`
	// Origin is where the version is served from: private or public.
	Origin string `json:"origin"`
	// Rule is the deciding rule ("trusted" for private versions).
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Published is the version's .info Time, when it could be read.
	Published *time.Time `json:"published,omitempty"`
	// TimeSource says what Published is: the commit time the author chose.
	TimeSource string `json:"timeSource,omitempty"`
	// AdmitAt is when a quarantined version will be admitted; nil when not quarantined.
	AdmitAt *time.Time `json:"admitAt,omitempty"`
	// SumDB is the checksum database's word on the version: "verified" (an
	// authenticated record), "no record", "not asked" (private versions), or why it
	// could not be read.
	SumDB string `json:"sumdb"`
	// Warned lists warn-mode rules that would have denied it.
	Warned []string `json:"warned,omitempty"`
	// Advisories are the known advisories that affect the version, each with the rules
	// it fed. Omitted when none (or when the policy cannot say).
	Advisories []policy.AdvisoryNote `json:"advisories,omitempty"`
}

// advisoryNoter is what a policy that reads advisories can add to an explanation.
type advisoryNoter interface {
	AdvisoryNotes(v *policy.Version) []policy.AdvisoryNote
}

// The SumDB values of a VersionExplanation.
const (
	SumDBVerified = "verified"
	SumDBNoRecord = "no record"
	SumDBNotAsked = "not asked"
)

// timeSourceExplained is TimeSource's text in an explanation.
const timeSourceExplained = "author-chosen commit time"

// Explain decides every version of mod's list (or only version, when set) and says
// why, as the go command would be answered. A module the private proxy has (and every
// internal module) is explained as trusted.
func (g *Gate) Explain(ctx context.Context, mod, version string, cred redact.Secret) (*Explanation, error) {
	if version == "" {
		if err := checkModule(mod); err != nil {
			return nil, err
		}
	} else if err := checkVersion(mod, version); err != nil {
		return nil, err
	}
	ctx = redact.WithSecret(ctx, cred)
	now := g.opts.Now()
	ex := &Explanation{Module: mod, Now: now, Versions: []VersionExplanation{}}
	private, err := g.explainPrivate(ctx, mod, version, cred)
	if err != nil {
		return nil, err
	}
	if private != nil {
		ex.Source, ex.Versions = SourcePrivate, private
	} else {
		ex.Source = SourcePublic
		versions := []string{version}
		if version == "" {
			if versions, err = g.pubLists.Fetch(ctx, mod); err != nil {
				return nil, err
			}
		}
		results, errs, err := g.decideAll(ctx, mod, versions, now)
		if err != nil {
			return nil, err
		}
		if version != "" && isNotFound(errs[0]) {
			return nil, errs[0]
		}
		for i, v := range versions {
			ve, err := g.explainPublic(v, results[i], errs[i])
			if err != nil {
				return nil, err
			}
			ex.Versions = append(ex.Versions, ve)
		}
	}
	for _, v := range ex.Versions {
		if v.Admitted {
			ex.Admitted++
		} else {
			ex.Blocked++
		}
	}
	return ex, nil
}

// explainPrivate explains the versions the private proxy serves, or returns nil when
// the public side answers.
func (g *Gate) explainPrivate(ctx context.Context, mod, version string, cred redact.Secret) ([]VersionExplanation, error) {
	var versions []string
	done, err := g.privateFirst(mod, version, func() error {
		if version != "" {
			_, err := g.privInfos.Fetch(ctx, g.privateKey(cred, mod+"@"+version))
			versions = []string{version}
			return err
		}
		list, err := g.privLists.Fetch(ctx, g.privateKey(cred, mod))
		if err == nil && len(list) == 0 && !g.isInternal(mod) {
			return &NotFoundError{Message: "empty private list"} // let the public side answer
		}
		versions = list
		return err
	})
	if !done || err != nil {
		return nil, err
	}
	out := make([]VersionExplanation, 0, len(versions))
	for _, v := range versions {
		ve := VersionExplanation{Version: v, Admitted: true, Origin: SourcePrivate, Rule: "trusted",
			Reason: "served from the trusted private proxy; the rules and the checksum database do not apply",
			SumDB:  SumDBNotAsked}
		if info, err := g.privInfos.Fetch(ctx, g.privateKey(cred, mod+"@"+v)); err == nil {
			ve.Published, ve.TimeSource = &info.Time, timeSourceExplained
		}
		out = append(out, ve)
	}
	return out, nil
}

// explainPublic explains one public version from its decision (or why it could not
// be decided).
func (g *Gate) explainPublic(version string, dv decided, err error) (VersionExplanation, error) {
	ve := VersionExplanation{Version: version, Origin: SourcePublic}
	var nf *NotFoundError
	var up *UpstreamError
	switch {
	case errors.As(err, &nf):
		ve.Rule, ve.Reason, ve.SumDB = "unreadable", nf.Message, SumDBNotAsked
		return ve, nil
	case errors.As(err, &up):
		ve.Rule, ve.Reason, ve.SumDB = "unreadable", up.Message, "unknown"
		return ve, nil
	case err != nil:
		return ve, err
	}
	published := dv.c.info.Time
	ve.Published, ve.TimeSource = &published, timeSourceExplained
	ve.Admitted, ve.Rule, ve.Warned = dv.d.Allowed, dv.d.Rule, dv.d.Warned
	ve.Reason = g.reason(dv)
	if n, ok := g.opts.Policy.(advisoryNoter); ok {
		ve.Advisories = n.AdvisoryNotes(dv.v)
	}
	if !dv.d.AdmitAt.IsZero() {
		at := dv.d.AdmitAt
		ve.AdmitAt = &at
	}
	ve.SumDB = SumDBNoRecord
	if dv.c.record != nil {
		ve.SumDB = SumDBVerified
	}
	if g.opts.SumDB == nil {
		ve.SumDB = fmt.Sprintf("%s (this mount has no checksum database)", SumDBNotAsked)
	}
	return ve, nil
}
