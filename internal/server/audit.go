package server

// npm audit, answered from Écluse's local advisory index. The npm CLI (7 and later)
// posts its installed package versions to the bulk endpoint and falls back to the
// quick endpoint when that fails; npm 6 only knows the quick one. Both answers are
// computed from one advisory.Snapshot and nothing else: no upstream is asked.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

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
	// maxAuditNesting bounds the nesting of a JSON value the handler skips unread.
	maxAuditNesting = 64
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
				"the advisory index has not loaded yet: Écluse answers npm audit from its own copy of the advisory database, which is still loading; try again shortly")
		}
		dec, done, err := auditDecoder(r)
		if err != nil {
			return err
		}
		defer done()
		if quick {
			tree, err := readQuick(dec)
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
		req, err := readBulk(dec)
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
func readBulk(dec *json.Decoder) (bulkRequest, error) {
	const shape = "the request body must be a JSON object mapping package names to arrays of versions"
	tok, err := dec.Token()
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
		tok, err := dec.Token()
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
		if tok, err = dec.Token(); err != nil {
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
			tok, err := dec.Token()
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
	if err := expectEnd(dec); err != nil {
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

// ---- the quick endpoint ----

// quickReport is the quick endpoint's answer. npm 7 and later read only each
// advisory's id, url, title, severity, vulnerable_versions and module_name (arborist's
// AuditReport.auditToBulk); npm 6 prints metadata's counts and, per action, the
// advisory's title, module_name, severity and patched_versions. Écluse computes no
// remediation, so actions is always empty.
type quickReport struct {
	Actions    []struct{}                `json:"actions"`
	Advisories map[string]*quickAdvisory `json:"advisories"`
	Muted      []struct{}                `json:"muted"`
	Metadata   quickMetadata             `json:"metadata"`
}

type quickAdvisory struct {
	ID                 uint64         `json:"id"`
	GitHubAdvisoryID   string         `json:"github_advisory_id,omitempty"`
	Title              string         `json:"title"`
	ModuleName         string         `json:"module_name"`
	VulnerableVersions string         `json:"vulnerable_versions"`
	PatchedVersions    string         `json:"patched_versions"`
	Severity           string         `json:"severity"`
	CWE                []string       `json:"cwe"`
	CVEs               []string       `json:"cves"`
	CVSS               auditCVSS      `json:"cvss"`
	URL                string         `json:"url"`
	Overview           string         `json:"overview"`
	Recommendation     string         `json:"recommendation"`
	Created            *string        `json:"created"`
	Updated            *string        `json:"updated"`
	Findings           []quickFinding `json:"findings"`
}

// quickFinding is one installed version an advisory affects, with the path to each
// copy of it ("a>b>c", from a top-level dependency down).
type quickFinding struct {
	Version  string   `json:"version"`
	Paths    []string `json:"paths"`
	Dev      bool     `json:"dev"`
	Optional bool     `json:"optional"`
	Bundled  bool     `json:"bundled"`
}

type quickMetadata struct {
	Vulnerabilities      severityCounts `json:"vulnerabilities"`
	Dependencies         int            `json:"dependencies"`
	DevDependencies      int            `json:"devDependencies"`
	OptionalDependencies int            `json:"optionalDependencies"`
	TotalDependencies    int            `json:"totalDependencies"`
}

// severityCounts counts vulnerable installed copies per severity: one per advisory
// and copy it affects. info is always 0.
type severityCounts struct {
	Info     int `json:"info"`
	Low      int `json:"low"`
	Moderate int `json:"moderate"`
	High     int `json:"high"`
	Critical int `json:"critical"`
}

func (c *severityCounts) add(severity string, n int) {
	switch severity {
	case "low":
		c.Low += n
	case "moderate":
		c.Moderate += n
	case "high":
		c.High += n
	case "critical":
		c.Critical += n
	}
}

// quickTree is a quick request's dependency tree: the lockfile (version 1) shape, where
// an entry's "dependencies" are the packages installed in its node_modules.
type quickTree struct {
	// nodes[0] is the root (the project); every other node is one installed copy.
	nodes []quickNode
}

type quickNode struct {
	// name is the entry's key: the directory it is installed under.
	name string
	// pkg is the package installed there: name, or the target of an alias
	// ("npm:real@1.0.0").
	pkg     string
	version string
	parent  int32
	depth   int32
	dev     bool
	opt     bool
	bundled bool
	// children maps the names installed in this entry's node_modules to their nodes.
	children map[string]int32
	// requires are the names this entry depends on.
	requires []string
}

// quickFrame is one level of readQuick's walk: the fields of node's entry, or (in
// deps) the entries of its "dependencies".
type quickFrame struct {
	node int32
	deps bool
}

// readQuick reads a quick request iteratively, enforcing the bounds as it goes. Fields
// it does not use are skipped; those it uses must have their documented types.
func readQuick(dec *json.Decoder) (*quickTree, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonProblem(err)
	}
	if tok != json.Delim('{') {
		return nil, badRequest("the request body must be a JSON object describing the dependency tree; it is " + describeToken(tok))
	}
	t := &quickTree{nodes: []quickNode{{parent: -1}}}
	requires := 0
	stack := []quickFrame{{node: 0}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonProblem(err)
		}
		if tok == json.Delim('}') {
			stack = stack[:len(stack)-1]
			continue
		}
		key, _ := tok.(string) // the decoder only yields strings as keys
		if f.deps {
			child, err := t.addChild(f.node, key)
			if err != nil {
				return nil, err
			}
			if tok, err = dec.Token(); err != nil {
				return nil, jsonProblem(err)
			}
			if tok != json.Delim('{') {
				return nil, badRequest(fmt.Sprintf("the entry of %s under dependencies must be an object; it is %s", npm.QuoteShort(key), describeToken(tok)))
			}
			stack = append(stack, quickFrame{node: child})
			continue
		}
		n := f.node
		switch key {
		case "version":
			v, err := readString(dec, t.label(n, "version"))
			if err != nil {
				return nil, err
			}
			if n != 0 {
				t.nodes[n].pkg, t.nodes[n].version = aliasTarget(t.nodes[n].name, v)
			}
		case "dev", "optional", "bundled":
			b, err := readBool(dec, t.label(n, key))
			if err != nil {
				return nil, err
			}
			switch key {
			case "dev":
				t.nodes[n].dev = b
			case "optional":
				t.nodes[n].opt = b
			default:
				t.nodes[n].bundled = b
			}
		case "requires":
			names, err := readRequires(dec, t.label(n, "requires"), maxAuditRequires-requires)
			if err != nil {
				return nil, err
			}
			requires += len(names)
			t.nodes[n].requires = append(t.nodes[n].requires, names...)
		case "dependencies":
			if tok, err = dec.Token(); err != nil {
				return nil, jsonProblem(err)
			}
			if tok != json.Delim('{') {
				return nil, badRequest(fmt.Sprintf("%s must be an object of dependency entries; it is %s", t.label(n, "dependencies"), describeToken(tok)))
			}
			stack = append(stack, quickFrame{node: n, deps: true})
		default:
			if err := skipValue(dec); err != nil {
				return nil, err
			}
		}
	}
	if err := expectEnd(dec); err != nil {
		return nil, err
	}
	return t, nil
}

// addChild adds an entry named name under parent's dependencies.
func (t *quickTree) addChild(parent int32, name string) (int32, error) {
	if len(t.nodes) > maxAuditPackages {
		return 0, badRequest(fmt.Sprintf("the dependency tree has more than %d entries", maxAuditPackages))
	}
	if err := npm.ValidateName(name); err != nil {
		return 0, &Error{Status: http.StatusBadRequest, Message: err.Error(), Cause: err}
	}
	depth := t.nodes[parent].depth + 1
	if depth > maxAuditDepth {
		return 0, badRequest(fmt.Sprintf("the dependency tree nests deeper than %d levels", maxAuditDepth))
	}
	id := int32(len(t.nodes))
	t.nodes = append(t.nodes, quickNode{name: name, pkg: name, parent: parent, depth: depth})
	p := &t.nodes[parent]
	if p.children == nil {
		p.children = map[string]int32{}
	}
	p.children[name] = id
	return id, nil
}

// label names a field of node n for an error message.
func (t *quickTree) label(n int32, field string) string {
	if n == 0 {
		return "the top-level " + field
	}
	return "the " + field + " of " + npm.QuoteShort(t.nodes[n].name)
}

// aliasTarget returns the package and version an entry installs: an alias's version
// is "npm:<package>@<version>".
func aliasTarget(name, version string) (pkg, v string) {
	spec, ok := strings.CutPrefix(version, "npm:")
	if !ok {
		return name, version
	}
	at := strings.LastIndexByte(spec, '@')
	if at <= 0 || npm.ValidateName(spec[:at]) != nil {
		return name, version
	}
	return spec[:at], spec[at+1:]
}

// readRequires reads a "requires" value: an object of name to version range (or the
// lockfile's top-level flag, true or false, which says nothing about names).
func readRequires(dec *json.Decoder, label string, room int) ([]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonProblem(err)
	}
	if _, ok := tok.(bool); ok {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, badRequest(fmt.Sprintf("%s must be an object of package names to version ranges; it is %s", label, describeToken(tok)))
	}
	var names []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonProblem(err)
		}
		if tok == json.Delim('}') {
			return names, nil
		}
		name, _ := tok.(string)
		if err := npm.ValidateName(name); err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Message: err.Error(), Cause: err}
		}
		if _, err := readString(dec, "the range "+label+" gives "+npm.QuoteShort(name)); err != nil {
			return nil, err
		}
		if len(names) >= room {
			return nil, badRequest(fmt.Sprintf("the dependency tree has more than %d requires entries", maxAuditRequires))
		}
		names = append(names, name)
	}
}

// quickAudit builds the quick report of a tree.
func quickAudit(ctx context.Context, snap *advisory.Snapshot, t *quickTree) (*quickReport, error) {
	rep := &quickReport{Actions: []struct{}{}, Muted: []struct{}{}, Advisories: map[string]*quickAdvisory{}}
	md := &rep.Metadata
	byPkg := map[string][]int32{}
	for i := 1; i < len(t.nodes); i++ {
		n := &t.nodes[i]
		md.TotalDependencies++
		if n.dev {
			md.DevDependencies++
		} else {
			md.Dependencies++
		}
		if n.opt {
			md.OptionalDependencies++
		}
		byPkg[n.pkg] = append(byPkg[n.pkg], int32(i))
	}
	names := make([]string, 0, len(byPkg))
	for name := range byPkg {
		names = append(names, name)
	}
	slices.Sort(names) // a stable answer, and a stable choice of key on an id clash
	paths := t.paths()
	budget := maxAuditPathBytes
	for i, name := range names {
		if i%1024 == 1023 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, m := range snap.Package(advisory.EcosystemNPM, name) {
			if !usable(m) {
				continue
			}
			findings, copies := findingsOf(t, m, byPkg[name], paths, &budget)
			if copies == 0 {
				continue
			}
			adv := quickEntry(name, m, findings)
			key := strconv.FormatUint(adv.ID, 10)
			if prev, ok := rep.Advisories[key]; ok && prev.ModuleName != name {
				// One record naming several packages: the key must stay unique, so the
				// later package (in name order) gets an id derived from both.
				adv.ID = auditID(m.Advisory.ID + "\x00" + name)
				key = strconv.FormatUint(adv.ID, 10)
			}
			rep.Advisories[key] = adv
			md.Vulnerabilities.add(adv.Severity, copies)
		}
	}
	return rep, nil
}

// findingsOf groups the copies in nodes that m affects by version, in tree order. It
// returns the findings and how many copies they cover.
func findingsOf(t *quickTree, m advisory.Match, nodes []int32, paths func(int32) string, budget *int) ([]quickFinding, int) {
	var findings []quickFinding
	byVersion := map[string]int{}
	verdict := map[string]bool{}
	copies := 0
	for _, id := range nodes {
		n := &t.nodes[id]
		hit, known := verdict[n.version]
		if !known {
			hit = len(n.version) <= maxMatchedVersionLen && m.Affected.Contains(n.version)
			verdict[n.version] = hit
		}
		if !hit {
			continue
		}
		copies++
		i, ok := byVersion[n.version]
		if !ok {
			i = len(findings)
			byVersion[n.version] = i
			findings = append(findings, quickFinding{Version: n.version, Paths: []string{}, Dev: true, Optional: true, Bundled: true})
		}
		f := &findings[i]
		f.Dev = f.Dev && n.dev
		f.Optional = f.Optional && n.opt
		f.Bundled = f.Bundled && n.bundled
		if p := paths(id); len(p) <= *budget {
			*budget -= len(p)
			f.Paths = append(f.Paths, p)
		}
	}
	return findings, copies
}

// quickEntry renders one advisory of the quick report.
func quickEntry(name string, m advisory.Match, findings []quickFinding) *quickAdvisory {
	a := m.Advisory
	rng := m.Affected.Range()
	patched, fixed := patchedVersions(rng)
	rec := "None"
	switch {
	case a.Malicious:
		rec = "Remove " + name + ": every version listed is malware, and no version of it should be trusted."
	case fixed != "":
		rec = "Upgrade to version " + fixed + " or later"
	}
	title := auditTitle(name, a)
	overview := a.Summary
	if overview == "" {
		overview = title
	}
	cves := []string{}
	ghsa := ""
	if strings.HasPrefix(a.ID, "GHSA-") {
		ghsa = a.ID
	}
	for _, alias := range a.Aliases {
		switch {
		case strings.HasPrefix(alias, "CVE-"):
			cves = append(cves, alias)
		case ghsa == "" && strings.HasPrefix(alias, "GHSA-"):
			ghsa = alias
		}
	}
	return &quickAdvisory{
		ID:                 auditID(a.ID),
		GitHubAdvisoryID:   ghsa,
		Title:              title,
		ModuleName:         name,
		VulnerableVersions: rng,
		PatchedVersions:    patched,
		Severity:           auditSeverity(a),
		CWE:                cwesOf(a),
		CVEs:               cves,
		CVSS:               cvssOf(a),
		URL:                a.URL,
		Overview:           overview,
		Recommendation:     rec,
		Created:            timeOrNull(a.Published),
		Updated:            timeOrNull(a.Modified),
		Findings:           findings,
	}
}

// patchedVersions derives the versions an advisory leaves alone, for the two simple
// shapes of vulnerable range: "<B" gives ">=B", and ">=A <B" gives "<A || >=B". fixed is
// B, the version to upgrade to. Any other range gives "" for both: the complement of a
// union is not worth guessing at, and npm 7 and later never read the field.
func patchedVersions(rng string) (patched, fixed string) {
	if strings.Contains(rng, "||") || rng == "<0.0.0-0" {
		return "", ""
	}
	parts := strings.Fields(rng)
	isVersion := func(s string) bool {
		return s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "<>=*xX ")
	}
	switch {
	case len(parts) == 1 && strings.HasPrefix(parts[0], "<") && !strings.HasPrefix(parts[0], "<="):
		b := parts[0][1:]
		if isVersion(b) {
			return ">=" + b, b
		}
	case len(parts) == 2 && strings.HasPrefix(parts[0], ">=") && strings.HasPrefix(parts[1], "<") && !strings.HasPrefix(parts[1], "<="):
		a, b := parts[0][2:], parts[1][1:]
		if isVersion(a) && isVersion(b) {
			return "<" + a + " || >=" + b, b
		}
	}
	return "", ""
}

func timeOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// paths returns a function giving the path of a node: the shortest chain of "requires"
// from the project's own requires down to it, resolved as Node resolves them (the
// nearest node_modules up the tree), when one of at most maxAuditDepth steps exists;
// else its place in the tree (its ancestors' names). Each is "a>b>c".
func (t *quickTree) paths() func(int32) string {
	const unreached = -2
	pred := make([]int32, len(t.nodes))
	dist := make([]int32, len(t.nodes))
	for i := range pred {
		pred[i] = unreached
	}
	var queue []int32
	visit := func(from, to int32) {
		if to > 0 && pred[to] == unreached {
			pred[to] = from
			if from > 0 {
				dist[to] = dist[from] + 1
			} else {
				dist[to] = 1
			}
			queue = append(queue, to)
		}
	}
	for _, name := range t.nodes[0].requires {
		visit(-1, t.resolve(0, name))
	}
	for i := 0; i < len(queue); i++ {
		n := queue[i]
		if dist[n] >= maxAuditDepth {
			continue
		}
		for _, name := range t.nodes[n].requires {
			visit(n, t.resolve(n, name))
		}
	}
	return func(n int32) string {
		next := func(x int32) int32 { return t.nodes[x].parent }
		if pred[n] != unreached {
			next = func(x int32) int32 { return pred[x] }
		}
		var chain []string
		for x := n; x > 0 && len(chain) <= maxAuditDepth; x = next(x) {
			chain = append(chain, t.nodes[x].name)
		}
		slices.Reverse(chain)
		return strings.Join(chain, ">")
	}
}

// resolve finds the node a require of name from node n loads: in n's node_modules,
// else its parent's, up to the project's. -1 when none.
func (t *quickTree) resolve(n int32, name string) int32 {
	for x := n; x >= 0; x = t.nodes[x].parent {
		if c, ok := t.nodes[x].children[name]; ok {
			return c
		}
	}
	return -1
}

// ---- reading the body ----

// auditDecoder returns a JSON decoder over r's body, gzip undone, with both size
// bounds applied: a passed bound, a bad gzip stream or an unsupported encoding is an
// *Error (a 400) from the decoder's reads or from here.
func auditDecoder(r *http.Request) (*json.Decoder, func(), error) {
	gz, err := requestGzipped(r.Header.Values("Content-Encoding"))
	if err != nil {
		return nil, nil, err
	}
	if r.ContentLength > maxAuditBodyBytes {
		return nil, nil, badRequest(fmt.Sprintf("the request body is larger than %d MiB", maxAuditBodyBytes>>20))
	}
	var body io.Reader = &capReader{r: r.Body, max: maxAuditBodyBytes,
		tooBig: badRequest(fmt.Sprintf("the request body is larger than %d MiB", maxAuditBodyBytes>>20))}
	done := func() {}
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, nil, gzipProblem(err)
		}
		done = func() { _ = zr.Close() }
		body = &capReader{r: gzipErrors{zr}, max: maxAuditDecodedBytes,
			tooBig: badRequest(fmt.Sprintf("the request body is larger than %d MiB once decompressed", maxAuditDecodedBytes>>20))}
	}
	dec := json.NewDecoder(&spaceSquasher{r: body})
	dec.UseNumber() // a number is never read, so never fails to convert
	return dec, done, nil
}

// spaceSquasher passes JSON through with every run of white space outside strings cut
// to its first byte, which leaves the document's meaning as it was. json.Decoder
// rescans a run of white space from its start each time it reads more input, so a body
// of megabytes of blanks would otherwise take it minutes.
type spaceSquasher struct {
	r        io.Reader
	inString bool // inside a string
	escaped  bool // just after a backslash inside a string
	space    bool // the last byte passed was white space outside a string
}

func (s *spaceSquasher) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			blank := false
			switch {
			case s.inString:
				switch {
				case s.escaped:
					s.escaped = false
				case c == '\\':
					s.escaped = true
				case c == '"':
					s.inString = false
				}
			case c == '"':
				s.inString = true
			case c == ' ', c == '\t', c == '\n', c == '\r':
				blank = true
			}
			if blank && s.space {
				continue
			}
			s.space = blank
			p[k] = c
			k++
		}
		if k > 0 || n == 0 || err != nil {
			return k, err
		}
	}
}

// requestGzipped reads Content-Encoding: none or identity is plain, gzip (or x-gzip)
// is gzip, and anything else is refused.
func requestGzipped(values []string) (bool, error) {
	gz := false
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			switch c = strings.ToLower(strings.TrimSpace(c)); c {
			case "", "identity":
			case "gzip", "x-gzip":
				if gz {
					return false, badRequest("the request body is gzip-compressed twice; compress it once")
				}
				gz = true
			default:
				return false, badRequest("unsupported Content-Encoding " + strconv.Quote(truncate(c, 40)) + ": send the body as plain JSON or gzip-compressed")
			}
		}
	}
	return gz, nil
}

// capReader reads r until more than max bytes have come, then fails with tooBig.
type capReader struct {
	r      io.Reader
	n, max int64
	tooBig error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, c.tooBig
	}
	if room := c.max + 1 - c.n; int64(len(p)) > room {
		p = p[:room]
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	if c.n > c.max {
		return k - 1, c.tooBig
	}
	return k, err
}

// gzipErrors turns a gzip stream's failures into 400s; a read error that is already
// an *Error (a bound passed beneath) stays as it is.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = gzipProblem(err)
	}
	return n, err
}

func gzipProblem(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusBadRequest, Message: "the request body is not a valid gzip stream", Cause: err}
}

// jsonProblem turns a decoding failure into a 400 naming it.
func jsonProblem(err error) error {
	var (
		e   *Error
		syn *json.SyntaxError
	)
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("the request body is not valid JSON: %s (at byte %d)", syn.Error(), syn.Offset), Cause: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Message: "the request body ends before its JSON does", Cause: err}
	}
	return &Error{Status: http.StatusBadRequest, Message: "the request body could not be read", Cause: err}
}

func badRequest(msg string) *Error { return errorf(http.StatusBadRequest, msg) }

// expectEnd checks that nothing but white space follows the document.
func expectEnd(dec *json.Decoder) error {
	tok, err := dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return jsonProblem(err)
	}
	return badRequest("the request body goes on after its JSON object: " + describeToken(tok))
}

// readString reads a value that must be a string.
func readString(dec *json.Decoder, label string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", jsonProblem(err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", badRequest(fmt.Sprintf("%s must be a string; it is %s", label, describeToken(tok)))
	}
	return s, nil
}

// readBool reads a value that must be true or false.
func readBool(dec *json.Decoder, label string) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, jsonProblem(err)
	}
	b, ok := tok.(bool)
	if !ok {
		return false, badRequest(fmt.Sprintf("%s must be true or false; it is %s", label, describeToken(tok)))
	}
	return b, nil
}

// skipValue reads one value and drops it, refusing nesting deeper than maxAuditNesting.
func skipValue(dec *json.Decoder) error {
	level := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return jsonProblem(err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if level++; level > maxAuditNesting {
				return badRequest(fmt.Sprintf("the request body nests JSON deeper than %d levels", maxAuditNesting))
			}
		case json.Delim('}'), json.Delim(']'):
			level--
		}
		if level == 0 {
			return nil
		}
	}
}

// describeToken says what a JSON token is, for an error message.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		case '}':
			return "the end of an object"
		}
		return "the end of an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a JSON value"
}

// writeAuditJSON writes an audit answer, gzip-compressed when the client accepts it
// and the body is big enough to gain from it.
func writeAuditJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error"})
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	if len(b) > 1024 && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // never fails for a valid level
		_, _ = zw.Write(b)
		if zw.Close() == nil {
			b = buf.Bytes()
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
