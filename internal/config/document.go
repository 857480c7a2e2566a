package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Document is the optional structured configuration (a JSON file or PROXY_CONFIG).
// Every field is optional; a zero Document means "the default policy, one npm mount
// described by the environment".
type Document struct {
	// Rules is the "rules" object as written: it patches, suppresses or adds rules over
	// the built-in default policy. Config only checks that it is a JSON object; its
	// schema, the merge and their validation belong to internal/policy. Nil means no
	// rules were written (the built-in defaults).
	Rules json.RawMessage `json:"rules,omitempty"`
	// Policies are named rule sets a mount may select with its "policy" key. Nil
	// means none.
	Policies map[string]*PolicyDoc `json:"policies,omitempty"`
	// Internal lists name patterns ("@corp/*", "corp-*", "exact-name") that are served
	// from the private upstream only; the public side is never asked about them.
	Internal []string `json:"internal,omitempty"`
	// CredentialStrategy says how reads of the private upstream are credentialled:
	// "passthrough" (empty means this) or "service".
	CredentialStrategy string `json:"credentialStrategy,omitempty"`
	// Egress widens the outbound allowlist for untrusted origins.
	Egress *EgressDoc `json:"egress,omitempty"`
	// Mounts is the multi-mount map. Empty means the single mount the environment describes.
	Mounts map[string]*MountDoc `json:"mounts,omitempty"`
	// TarballManifest says what a difference between a public tarball's own
	// package.json and the registry's metadata does. Nil means the defaults.
	TarballManifest *TarballManifestDoc `json:"tarballManifest,omitempty"`
	// Signing is what the npm mounts require of signatures: "off", "warn",
	// "internal" or "all" (checked by Load). Empty means "off".
	Signing string `json:"signing,omitempty"`
}

// EgressDoc is the document's "egress" section.
type EgressDoc struct {
	// AllowedHosts are host names (no scheme, no port) added to the public upstream's host.
	AllowedHosts []string `json:"allowedHosts,omitempty"`
}

// PolicyDoc is one entry of the document's "policies" map: a named rule set.
type PolicyDoc struct {
	// Rules is the rule set's "rules" object, read exactly like the top-level "rules"
	// (merged over the same built-in defaults). Nil means the built-in defaults.
	Rules json.RawMessage `json:"rules,omitempty"`
}

// MountDoc is one entry of the document's "mounts" map: an ecosystem served under a
// path prefix.
type MountDoc struct {
	// Path is the URL prefix the mount answers under, starting with "/" ("/go/").
	// Required.
	Path string `json:"path"`
	// Ecosystem is the protocol served: "npm", "go" or "pypi"; "cargo", "maven" and
	// "rubygems" are reserved. Empty means "npm".
	Ecosystem string `json:"ecosystem,omitempty"`
	// PrivateUpstreamURL is the mount's trusted upstream. Empty means, for npm,
	// PRIVATE_UPSTREAM_URL; for other ecosystems, no private upstream.
	PrivateUpstreamURL string `json:"privateUpstreamUrl,omitempty"`
	// PublicUpstreamURL is the mount's public upstream. Empty means, for npm,
	// PUBLIC_UPSTREAM_URL; other ecosystems must give one.
	PublicUpstreamURL string `json:"publicUpstreamUrl,omitempty"`
	// Policy names an entry of the document's "policies". Empty means the top-level
	// "rules".
	Policy string `json:"policy,omitempty"`
	// ChecksumDatabase configures the checksum database of a go mount. Nil means the
	// defaults (see ChecksumDatabaseDoc).
	ChecksumDatabase *ChecksumDatabaseDoc `json:"checksumDatabase,omitempty"`
	// CredentialStrategy overrides the document's credentialStrategy. Empty means inherit.
	CredentialStrategy string `json:"credentialStrategy,omitempty"`
	// Internal overrides the document's internal patterns for this mount. Nil means inherit.
	Internal []string `json:"internal,omitempty"`
	// FilesUpstreamURL is a pypi mount's files host (see Mount.FilesUpstream). Empty
	// means the public index's own origin only.
	FilesUpstreamURL string `json:"filesUpstreamUrl,omitempty"`
	// Signing overrides the document's signing for this mount (npm mounts only).
	// Empty means inherit.
	Signing string `json:"signing,omitempty"`
}

// ChecksumDatabaseDoc is a go mount's "checksumDatabase": the database whose signed
// log every public module version must be recorded in.
type ChecksumDatabaseDoc struct {
	// Key is the database's verifier key, "<name>+<hash>+<key>" as GOSUMDB spells it.
	// Empty means the Go toolchain's default database and key, read from the go
	// command installed beside Écluse at boot (a boot error when there is none).
	Key string `json:"key,omitempty"`
	// URL is where the database is read. Empty means the public upstream's
	// "/sumdb/<name>/" path, the way the go command reads it through a proxy.
	URL string `json:"url,omitempty"`
}

// ParseDocument decodes a configuration document strictly: unknown keys anywhere,
// trailing data and wrong types are errors. Each error names the document path it
// concerns ("rules.min-age: unknown key \"agSeconds\""); every rule and mount is
// decoded even when an earlier one failed, so all problems are reported together.
func ParseDocument(b []byte) (*Document, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("document is empty")
	}
	var shadow struct {
		Rules              json.RawMessage            `json:"rules"`
		Policies           map[string]json.RawMessage `json:"policies"`
		Internal           []string                   `json:"internal"`
		CredentialStrategy string                     `json:"credentialStrategy"`
		Egress             *EgressDoc                 `json:"egress"`
		Mounts             map[string]json.RawMessage `json:"mounts"`
		TarballManifest    json.RawMessage            `json:"tarballManifest"`
		Signing            json.RawMessage            `json:"signing"`
	}
	if err := strictUnmarshal(b, &shadow); err != nil {
		return nil, err
	}
	d := &Document{
		Internal:           shadow.Internal,
		CredentialStrategy: shadow.CredentialStrategy,
		Egress:             shadow.Egress,
	}
	var errs []error
	if v, err := parseSigning("signing", shadow.Signing); err != nil {
		errs = append(errs, err)
	} else {
		d.Signing = v
	}
	if err := checkObject(shadow.Rules); err != nil {
		errs = append(errs, fmt.Errorf("rules: %w", err))
	} else {
		d.Rules = shadow.Rules
	}
	if shadow.Policies != nil {
		d.Policies = make(map[string]*PolicyDoc, len(shadow.Policies))
		for _, name := range sortedKeys(shadow.Policies) {
			var p PolicyDoc
			if err := strictUnmarshal(shadow.Policies[name], &p); err != nil {
				errs = append(errs, fmt.Errorf("policies.%s: %w", name, err))
				continue
			}
			if err := checkObject(p.Rules); err != nil {
				errs = append(errs, fmt.Errorf("policies.%s.rules: %w", name, err))
				continue
			}
			d.Policies[name] = &p
		}
	}
	if shadow.Mounts != nil {
		d.Mounts = make(map[string]*MountDoc, len(shadow.Mounts))
		for _, name := range sortedKeys(shadow.Mounts) {
			// "signing" is read raw first, so that a value of the wrong type is
			// reported with the values allowed.
			var sig struct {
				Signing json.RawMessage `json:"signing"`
			}
			if json.Unmarshal(shadow.Mounts[name], &sig) == nil {
				if _, err := parseSigning("mounts."+name+".signing", sig.Signing); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			var m MountDoc
			if err := strictUnmarshal(shadow.Mounts[name], &m); err != nil {
				errs = append(errs, fmt.Errorf("mounts.%s: %w", name, err))
				continue
			}
			d.Mounts[name] = &m
		}
	}
	if shadow.TarballManifest != nil {
		tm, tmErrs := parseTarballManifest(shadow.TarballManifest)
		d.TarballManifest = tm
		errs = append(errs, tmErrs...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// parseSigning reads a "signing" value as written: absent or null is "", anything but
// a non-empty string an error naming path and the values allowed. Which strings are
// allowed is checked by Load, with the rest of the document's values.
func parseSigning(path string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return "", fmt.Errorf(`%s: expected "off", "warn", "internal" or "all", got %s`, path, clipJSON(raw))
	}
	return s, nil
}

// checkObject accepts an absent value, null or a JSON object: what a "rules" key may
// hold. What the object says is internal/policy's to read.
func checkObject(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || raw[0] == '{' {
		return nil
	}
	return errors.New("expected an object of rules")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON document")
	}
	return nil
}

// describeJSONError turns encoding/json's messages into ones that name the document path.
func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		path := typeErr.Field
		if path == "" {
			path = "(document)"
		}
		return fmt.Errorf("%s: expected %s, got JSON %s", path, typeErr.Type, typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON at byte %d: %w", syntaxErr.Offset, err)
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Errorf("unknown key %s", rest)
	}
	return err
}
