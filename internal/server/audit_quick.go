package server

// The quick audit endpoint: npm 6 and the fallback of later versions.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/npm"
)

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
func readQuick(rd *auditJSON) (*quickTree, error) {
	tok, err := rd.token()
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
		tok, err := rd.token()
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
			if tok, err = rd.token(); err != nil {
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
			v, err := rd.str(t.label(n, "version"))
			if err != nil {
				return nil, err
			}
			if n != 0 {
				t.nodes[n].pkg, t.nodes[n].version = aliasTarget(t.nodes[n].name, v)
			}
		case "dev", "optional", "bundled":
			b, err := rd.boolean(t.label(n, key))
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
			names, err := readRequires(rd, t.label(n, "requires"), maxAuditRequires-requires)
			if err != nil {
				return nil, err
			}
			requires += len(names)
			t.nodes[n].requires = append(t.nodes[n].requires, names...)
		case "dependencies":
			if tok, err = rd.token(); err != nil {
				return nil, jsonProblem(err)
			}
			if tok != json.Delim('{') {
				return nil, badRequest(fmt.Sprintf("%s must be an object of dependency entries; it is %s", t.label(n, "dependencies"), describeToken(tok)))
			}
			stack = append(stack, quickFrame{node: n, deps: true})
		default:
			if err := rd.skip(); err != nil {
				return nil, err
			}
		}
	}
	if err := rd.end(); err != nil {
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
func readRequires(rd *auditJSON, label string, room int) ([]string, error) {
	tok, err := rd.token()
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
		tok, err := rd.token()
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
		if _, err := rd.str("the range " + label + " gives " + npm.QuoteShort(name)); err != nil {
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
