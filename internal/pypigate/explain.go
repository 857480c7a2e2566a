package pypigate

import (
	"context"
	"time"

	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/redact"
)

// Explanation is every file's decision for one project.
type Explanation struct {
	Project string `json:"project"`
	// Source is where the page came from; a private page's files are not decided.
	Source string        `json:"source"`
	Files  []FileVerdict `json:"files"`
}

// FileVerdict is one file's decision.
type FileVerdict struct {
	Filename string `json:"filename"`
	Version  string `json:"version"`
	// Kind is "wheel", "sdist" or "other".
	Kind       string     `json:"kind"`
	Allowed    bool       `json:"allowed"`
	Rule       string     `json:"rule,omitempty"`
	Reason     string     `json:"reason"`
	UploadTime *time.Time `json:"uploadTime,omitempty"`
	AdmitAt    *time.Time `json:"admitAt,omitempty"`
	Yanked     bool       `json:"yanked,omitempty"`
	Warnings   []string   `json:"warnings,omitempty"`
}

// Explain decides every file of name's page now and says why.
func (g *Gate) Explain(ctx context.Context, name string, cred redact.Secret) (*Explanation, error) {
	p, err := g.lookup(ctx, name, cred, true)
	if err != nil {
		return nil, err
	}
	out := &Explanation{Project: p.name, Source: p.source, Files: make([]FileVerdict, 0, len(p.files))}
	now := g.opts.Now()
	for i := range p.files {
		f := &p.files[i]
		fv := FileVerdict{Filename: f.Filename, Version: f.version, Kind: kindName(f.kind), Yanked: f.Yanked}
		if !f.UploadTime.IsZero() {
			t := f.UploadTime.UTC()
			fv.UploadTime = &t
		}
		if p.source != SourcePublic {
			fv.Allowed, fv.Reason = true, "served from the private index, which is trusted: its files are not decided"
			out.Files = append(out.Files, fv)
			continue
		}
		d := g.decide(p, f, now)
		fv.Allowed, fv.Rule, fv.Warnings = d.Allowed, d.Rule, d.Warnings()
		if d.Allowed {
			fv.Reason = d.Reason()
		} else {
			fv.Reason = g.refusal(p, f, d).Message
		}
		if !d.AdmitAt.IsZero() {
			t := d.AdmitAt.UTC()
			fv.AdmitAt = &t
		}
		out.Files = append(out.Files, fv)
	}
	return out, nil
}

func kindName(k pypi.Kind) string {
	switch k {
	case pypi.KindWheel:
		return "wheel"
	case pypi.KindSdist:
		return "sdist"
	}
	return "other"
}
