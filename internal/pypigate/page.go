package pypigate

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/redact"
)

// Page is a project page as served.
type Page struct {
	// Body is the page in ContentType's form.
	Body        []byte
	ContentType string
	// Source is where the page came from (SourcePrivate, SourcePublic).
	Source string
	// Blocked counts the public files not listed.
	Blocked int
}

// Page answers /simple/{name}/ in the form contentType names (pypi.ContentTypeJSON,
// ContentTypeHTMLv1 or ContentTypeHTML): the private index's page when it has the
// project, every file kept; else the public one's, with only the files the policy
// admits at this instant. Every file URL points back through the mount. name must be
// normalised (the server redirects other spellings).
func (g *Gate) Page(ctx context.Context, name, contentType string, cred redact.Secret) (*Page, error) {
	p, err := g.lookup(ctx, name, cred, true)
	if err != nil {
		return nil, err
	}
	out := &pypi.Project{Name: name, APIVersion: pypi.APIVersion}
	now := g.opts.Now()
	var versions []pypi.Version
	seen := map[string]bool{}
	var tel decideSpan
	if p.source == SourcePublic {
		tel = startDecide(ctx)
	}
	for i := range p.files {
		f := &p.files[i]
		if p.source == SourcePublic {
			if d := g.decide(p, f, now); !d.Allowed {
				tel.refused(d.Rule)
				continue
			}
		} else if f.url == nil || f.version == "" {
			continue // nothing a client could fetch through the mount
		}
		out.Files = append(out.Files, g.served(p, f))
		if !seen[f.version] {
			seen[f.version] = true
			if v, err := pypi.ParseVersion(f.version); err == nil {
				versions = append(versions, v)
			}
		}
	}
	slices.SortFunc(versions, pypi.Compare)
	out.Versions = make([]string, len(versions))
	for i, v := range versions {
		out.Versions[i] = v.String()
	}
	page := &Page{ContentType: contentType, Source: p.source, Blocked: len(p.files) - len(out.Files)}
	if p.source != SourcePublic {
		page.Blocked = 0
	} else {
		tel.end(name, len(p.files), page.Blocked)
	}
	if contentType == pypi.ContentTypeJSON {
		page.Body = pypi.RenderJSON(out)
	} else {
		page.Body = pypi.RenderHTML(out, name)
	}
	return page, nil
}

// served is f as a served page lists it: its URL through the mount, its hashes and
// metadata entry as the index gave them.
func (g *Gate) served(p *project, f *file) pypi.File {
	s := f.File
	s.URL = g.fileURL(p.name, f.Filename)
	return s
}

// fileURL is where the mount serves a file of project name.
func (g *Gate) fileURL(name, filename string) string {
	path := g.opts.MountPath + "files/" + url.PathEscape(name) + "/" + url.PathEscape(filename)
	if g.opts.PublicURL == nil {
		return path
	}
	return strings.TrimSuffix(g.opts.PublicURL.String(), "/") + path
}

// decide decides one public file at now.
func (g *Gate) decide(p *project, f *file, now time.Time) policy.Decision {
	if f.problem != "" {
		return policy.Decision{Rule: f.problemRule}
	}
	return g.opts.Policy.Decide(g.view(p, f), now)
}

// view is what the policy reads of a public file.
func (g *Gate) view(p *project, f *file) *policy.Version {
	v := &policy.Version{
		Name:      p.name,
		Version:   f.version,
		Published: f.UploadTime,
		Digests:   digests(f.Hashes),
		Yanked:    f.Yanked,
		Advice:    g.advice(p.name, f),
	}
	if f.kind == pypi.KindSdist {
		v.InstallScripts = []string{"build backend"}
		v.InstallSummary = "is a source distribution, which pip builds at install time by running its build backend (setup.py or the pyproject.toml build system)"
	}
	return v
}

// advice is what the advisory index says of the file's version.
func (g *Gate) advice(name string, f *file) policy.Advice {
	if g.opts.Advisories == nil {
		return policy.Advice{Loaded: true}
	}
	snap := g.opts.Advisories.Snapshot()
	if snap == nil {
		return policy.Advice{}
	}
	a := policy.Advice{Loaded: true}
	written := f.written
	for _, m := range snap.Package(advisory.EcosystemPyPI, name) {
		if m.Affected.Contains(f.version) || (written != "" && written != f.version && m.Affected.Contains(written)) {
			ad := m.Advisory
			a.Affecting = append(a.Affecting, policy.Advisory{
				ID: ad.ID, Aliases: ad.Aliases, Severity: policy.Severity(ad.Severity), Malicious: ad.Malicious,
			})
		}
	}
	return a
}

// refusal builds the refusal of a public file.
func (g *Gate) refusal(p *project, f *file, d policy.Decision) *RefusedError {
	reason := f.problem
	if reason == "" {
		if _, none := g.opts.Policy.(refuseAll); none {
			reason = "this mount has no policy, so no public file is served"
		} else {
			reason = clip(d.Reason())
		}
	}
	version := f.version
	if version == "" {
		version = "(unknown version)"
	}
	return &RefusedError{
		Project: p.name, Version: version, Filename: f.Filename, Rule: d.Rule, AdmitAt: d.AdmitAt,
		Message: fmt.Sprintf("Écluse refused %s %s (%s): %s", p.name, version, f.Filename, reason),
	}
}
