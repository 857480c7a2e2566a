package server

// npm audit, answered from Écluse's local advisory index. The npm CLI (7 and later)
// posts its installed package versions to the bulk endpoint and falls back to the
// quick endpoint when that fails; npm 6 only knows the quick one. Both answers are
// computed from one advisory.Snapshot and nothing else: no upstream is asked.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/npm"
)

// The audit endpoints, relative to an npm mount.
const (
	auditBulkPath  = "/-/npm/v1/security/advisories/bulk"
	auditQuickPath = "/-/npm/v1/security/audits/quick"
)

// Bounds on an audit request. Anything past one is a 400 naming it.
const (
	// maxAuditBodyBytes bounds the body as sent (compressed or not).
	maxAuditBodyBytes = 8 << 20
	// maxAuditDecodedBytes bounds the body once gzip is undone.
	maxAuditDecodedBytes = 32 << 20
	// maxAuditPackages bounds the package names of a bulk request and the dependency
	// entries of a quick one.
	maxAuditPackages = 50_000
	// maxAuditVersions bounds the versions listed for one package in a bulk request.
	maxAuditVersions = 10_000
	// maxAuditTotalVersions bounds the versions of a whole bulk request, so that the
	// matching work stays in proportion to a real dependency tree.
	maxAuditTotalVersions = 200_000
	// maxAuditDepth bounds how deeply a quick request's dependency entries nest, and
	// so the length of a finding's path.
	maxAuditDepth = 64
	// maxAuditTokens bounds the JSON tokens (keys, strings, delimiters, ...) the
	// handler reads one by one, which costs far more per byte than the values it skips
	// unread: without it a few kilobytes of gzip could buy seconds of work.
	maxAuditTokens = 2_000_000
	// maxAuditRequires bounds the "requires" entries of a whole quick request.
	maxAuditRequires = 500_000
	// maxAuditPathBytes bounds the bytes of all the paths a quick report lists; past
	// it, findings are still reported and counted but list no further paths.
	maxAuditPathBytes = 8 << 20
	// maxMatchedVersionLen: npm refuses versions longer than this, so a longer string
	// cannot name an installed registry version and is not matched.
	maxMatchedVersionLen = 256
)

// AuditIndex is the advisory index npm audit is answered from.
type AuditIndex interface {
	// Snapshot returns the current index, or nil before the first one has loaded.
	Snapshot() *advisory.Snapshot
}

var _ AuditIndex = (*advisory.Syncer)(nil)

// AuditHandler serves npm audit on an npm mount: POST /-/npm/v1/security/advisories/bulk
// and POST /-/npm/v1/security/audits/quick, told apart by path. The answer depends on
// the request and the index's current snapshot only. Before the index has loaded (or
// with a nil idx) every audit is a 503.
func AuditHandler(idx AuditIndex) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		quick := false
		switch r.URL.Path {
		case auditBulkPath:
			setRoute(r, "audit_bulk")
		case auditQuickPath:
			setRoute(r, "audit_quick")
			quick = true
		default:
			return errorf(http.StatusNotFound, "not found: "+truncate(r.URL.Path, 200)+" is not an audit endpoint")
		}
		var snap *advisory.Snapshot
		if idx != nil {
			snap = idx.Snapshot()
		}
		if snap == nil {
			return errorf(http.StatusServiceUnavailable,
				"the advisory index has not loaded yet: Écluse answers npm audit from its own copy of the advisory database, which it has not been able to load so far; try again later")
		}
		rd, done, err := auditBody(r)
		if err != nil {
			return err
		}
		defer done()
		if quick {
			tree, err := readQuick(rd)
			if err != nil {
				return err
			}
			report, err := quickAudit(r.Context(), snap, tree)
			if err != nil {
				return err
			}
			writeAuditJSON(w, r, report)
			return nil
		}
		req, err := readBulk(rd)
		if err != nil {
			return err
		}
		report, err := bulkAudit(r.Context(), snap, req)
		if err != nil {
			return err
		}
		writeAuditJSON(w, r, report)
		return nil
	}
}

// auditID is the number npm shows for an advisory: the first six bytes of the SHA-256
// of its OSV id, read big-endian. Below 2^48, so JavaScript holds it exactly, and the
// same for an id in every snapshot and every Écluse.
func auditID(osvID string) uint64 {
	sum := sha256.Sum256([]byte(osvID))
	var b [8]byte
	copy(b[2:], sum[:6])
	return binary.BigEndian.Uint64(b[:])
}

// auditSeverity spells an advisory's severity as npm does. A malicious package is
// critical whatever its record says. An advisory that states no severity the index can
// read is reported as "moderate", the middle of npm's scale: nobody rated it, so it is
// neither dismissed as low nor raised to high. (npm itself would call a missing
// severity "high"; the field is always sent, so that default never applies.)
func auditSeverity(a *advisory.Advisory) string {
	if a.Malicious {
		return "critical"
	}
	switch a.Severity {
	case advisory.SeverityLow:
		return "low"
	case advisory.SeverityHigh:
		return "high"
	case advisory.SeverityCritical:
		return "critical"
	default: // SeverityModerate, SeverityUnknown
		return "moderate"
	}
}

// auditTitle is the advisory's summary, a plain statement for a malicious package
// without one, else its id.
func auditTitle(name string, a *advisory.Advisory) string {
	switch {
	case a.Summary != "":
		return a.Summary
	case a.Malicious:
		return "Malware: " + name + " is a known malicious package (" + a.ID + ")"
	}
	return a.ID
}

// auditCVSS is npm's cvss object. Its score is 0 and its vector null when the
// advisory has none, as the public service answers.
type auditCVSS struct {
	Score        float64 `json:"score"`
	VectorString *string `json:"vectorString"`
}

func cvssOf(a *advisory.Advisory) auditCVSS {
	c := auditCVSS{Score: a.Score}
	if a.Vector != "" {
		v := a.Vector
		c.VectorString = &v
	}
	return c
}

// cwesOf returns the advisory's weakness ids, never nil (npm's answers hold an array).
func cwesOf(a *advisory.Advisory) []string {
	if a.CWEs == nil {
		return []string{}
	}
	return a.CWEs
}

// affects reports whether any of versions lies in a match's affected versions.
func affects(m advisory.Match, versions []string) bool {
	for _, v := range versions {
		if len(v) <= maxMatchedVersionLen && m.Affected.Contains(v) {
			return true
		}
	}
	return false
}

// usable reports whether a match carries what a report needs.
func usable(m advisory.Match) bool { return m.Advisory != nil && m.Affected != nil }

// ---- the bulk endpoint ----

// bulkAdvisory is one entry of a bulk answer, in the shape arborist's audit report
// hands to @npmcli/metavuln-calculator: it reads id, url, title, severity,
// vulnerable_versions, cwe and cvss.
type bulkAdvisory struct {
	ID                 uint64    `json:"id"`
	URL                string    `json:"url"`
	Title              string    `json:"title"`
	Severity           string    `json:"severity"`
	VulnerableVersions string    `json:"vulnerable_versions"`
	CWE                []string  `json:"cwe"`
	CVSS               auditCVSS `json:"cvss"`
}

// bulkRequest is a bulk body: package name to the versions installed, each list
// without repeats.
type bulkRequest map[string][]string

// readBulk reads {"<name>": ["<version>", ...], ...}, enforcing the bounds.
func readBulk(rd *auditJSON) (bulkRequest, error) {
	const shape = "the request body must be a JSON object mapping package names to arrays of versions"
	tok, err := rd.token()
	if err != nil {
		return nil, jsonProblem(err)
	}
	if tok != json.Delim('{') {
		return nil, badRequest(shape + "; it is " + describeToken(tok))
	}
	req := bulkRequest{}
	seen := map[string]struct{}{}
	packages, total := 0, 0
	for {
		tok, err := rd.token()
		if err != nil {
			return nil, jsonProblem(err)
		}
		if tok == json.Delim('}') {
			break
		}
		name, _ := tok.(string) // the decoder only yields strings as keys
		if packages++; packages > maxAuditPackages {
			return nil, badRequest(fmt.Sprintf("the request lists more than %d packages", maxAuditPackages))
		}
		if err := npm.ValidateName(name); err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Message: err.Error(), Cause: err}
		}
		if tok, err = rd.token(); err != nil {
			return nil, jsonProblem(err)
		}
		if tok != json.Delim('[') {
			return nil, badRequest(fmt.Sprintf("the versions of %s must be an array of strings; they are %s", npm.QuoteShort(name), describeToken(tok)))
		}
		clear(seen)
		for _, v := range req[name] {
			seen[v] = struct{}{}
		}
		n := 0
		for {
			tok, err := rd.token()
			if err != nil {
				return nil, jsonProblem(err)
			}
			if tok == json.Delim(']') {
				break
			}
			v, ok := tok.(string)
			if !ok {
				return nil, badRequest(fmt.Sprintf("the versions of %s must be strings; one is %s", npm.QuoteShort(name), describeToken(tok)))
			}
			if n++; n > maxAuditVersions {
				return nil, badRequest(fmt.Sprintf("the request lists more than %d versions of %s", maxAuditVersions, npm.QuoteShort(name)))
			}
			if total++; total > maxAuditTotalVersions {
				return nil, badRequest(fmt.Sprintf("the request lists more than %d versions in all", maxAuditTotalVersions))
			}
			if _, dup := seen[v]; !dup {
				seen[v] = struct{}{}
				req[name] = append(req[name], v)
			}
		}
		if _, ok := req[name]; !ok {
			req[name] = nil
		}
	}
	if err := rd.end(); err != nil {
		return nil, err
	}
	return req, nil
}

// bulkAudit lists, per package, the advisories affecting at least one of its
// requested versions, in the snapshot's order (by advisory id). Packages no advisory
// affects are left out.
func bulkAudit(ctx context.Context, snap *advisory.Snapshot, req bulkRequest) (map[string][]bulkAdvisory, error) {
	out := map[string][]bulkAdvisory{}
	i := 0
	for name, versions := range req {
		if i++; i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, m := range snap.Package(advisory.EcosystemNPM, name) {
			if !usable(m) || !affects(m, versions) {
				continue
			}
			a := m.Advisory
			out[name] = append(out[name], bulkAdvisory{
				ID:                 auditID(a.ID),
				URL:                a.URL,
				Title:              auditTitle(name, a),
				Severity:           auditSeverity(a),
				VulnerableVersions: m.Affected.Range(),
				CWE:                cwesOf(a),
				CVSS:               cvssOf(a),
			})
		}
	}
	return out, nil
}
