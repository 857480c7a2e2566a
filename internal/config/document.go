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
	// Rules patches, suppresses or adds rules over the built-in default policy.
	// A nil value (JSON null) suppresses the default rule of that name. The merge
	// and its semantic validation belong to internal/policy.
	Rules map[string]*RuleSpec `json:"rules,omitempty"`
	// Internal lists name patterns ("@corp/*", "corp-*", "exact-name") that are served
	// from the private upstream only; the public side is never asked about them.
	Internal []string `json:"internal,omitempty"`
	// CredentialStrategy says how reads of the private upstream are credentialled:
	// "passthrough" (empty means this) or "service".
	CredentialStrategy string `json:"credentialStrategy,omitempty"`
	// Egress widens the outbound allowlist for untrusted origins.
	Egress *EgressDoc `json:"egress,omitempty"`
	// Mounts is the multi-mount map. Empty means the single mount the environment describes.
	Mounts map[string]*Mount `json:"mounts,omitempty"`
	// TarballManifest says what a difference between a public tarball's own
	// package.json and the registry's metadata does. Nil means the defaults.
	TarballManifest *TarballManifestDoc `json:"tarballManifest,omitempty"`
}

// EgressDoc is the document's "egress" section.
type EgressDoc struct {
	// AllowedHosts are host names (no scheme, no port) added to the public upstream's host.
	AllowedHosts []string `json:"allowedHosts,omitempty"`
}

// Mount is one entry of the document's "mounts" map: an ecosystem served under a path prefix.
type Mount struct {
	// Path is the URL prefix the mount answers under, starting with "/". Required.
	Path string `json:"path"`
	// Ecosystem is the protocol served; only "npm" is known. Empty means "npm".
	Ecosystem string `json:"ecosystem,omitempty"`
	// PrivateUpstreamURL overrides PRIVATE_UPSTREAM_URL for this mount. Empty means inherit.
	PrivateUpstreamURL string `json:"privateUpstreamUrl,omitempty"`
	// PublicUpstreamURL overrides PUBLIC_UPSTREAM_URL for this mount. Empty means inherit.
	PublicUpstreamURL string `json:"publicUpstreamUrl,omitempty"`
	// CredentialStrategy overrides the document's credentialStrategy. Empty means inherit.
	CredentialStrategy string `json:"credentialStrategy,omitempty"`
	// Internal overrides the document's internal patterns for this mount. Nil means inherit.
	Internal []string `json:"internal,omitempty"`
}

// RuleSpec is one entry of the document's "rules" map, as written. Which fields a rule
// may carry depends on its type; internal/policy checks that. A nil pointer means the
// field was not written.
type RuleSpec struct {
	// Type names the rule type ("MinAge", "DenyInstallTimeExecution", ...). Empty when the
	// entry patches a default rule.
	Type string `json:"type,omitempty"`
	// Precedence: higher wins. Nil means the type's default precedence.
	Precedence *int `json:"precedence,omitempty"`
	// Mode is "enforce" (empty means this) or "warn".
	Mode string `json:"mode,omitempty"`
	// AgeSeconds is MinAge's quarantine window.
	AgeSeconds *int64 `json:"ageSeconds,omitempty"`
	// Packages is the pattern list of AllowPackages and DenyPackages.
	Packages []PackageEntry `json:"packages,omitempty"`

	// set records which keys were present, so a patch can tell "absent" from "empty".
	set map[string]bool
}

// Has reports whether the JSON object of this rule carried the key.
func (r *RuleSpec) Has(key string) bool { return r != nil && r.set[key] }

// Keys returns the keys the JSON object of this rule carried.
func (r *RuleSpec) Keys() []string {
	if r == nil {
		return nil
	}
	keys := make([]string, 0, len(r.set))
	for k := range r.set {
		keys = append(keys, k)
	}
	return keys
}

// UnmarshalJSON decodes strictly (unknown fields are errors) and records the keys present.
func (r *RuleSpec) UnmarshalJSON(b []byte) error {
	type plain RuleSpec
	var p plain
	if err := strictUnmarshal(b, &p); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	*r = RuleSpec(p)
	r.set = make(map[string]bool, len(keys))
	for k := range keys {
		r.set[k] = true
	}
	return nil
}

// PackageEntry is one element of a "packages" list: either a bare pattern string, or an
// object with a pattern and the bookkeeping an exception needs.
type PackageEntry struct {
	// Pattern is "name", "@scope/*", a glob, each optionally followed by "@<semver range>".
	Pattern string `json:"pattern"`
	// Reason says why the entry exists. Empty means none was given.
	Reason string `json:"reason,omitempty"`
	// Expires is an RFC 3339 date or date-time after which the entry stops applying.
	// Empty means it never expires.
	Expires string `json:"expires,omitempty"`
}

// UnmarshalJSON accepts a string or a strict object.
func (p *PackageEntry) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = PackageEntry{Pattern: s}
		return nil
	}
	type plain PackageEntry
	var q plain
	if err := strictUnmarshal(b, &q); err != nil {
		return err
	}
	if q.Pattern == "" {
		return errors.New(`package entry object needs a non-empty "pattern"`)
	}
	*p = PackageEntry(q)
	return nil
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
		Rules              map[string]json.RawMessage `json:"rules"`
		Internal           []string                   `json:"internal"`
		CredentialStrategy string                     `json:"credentialStrategy"`
		Egress             *EgressDoc                 `json:"egress"`
		Mounts             map[string]json.RawMessage `json:"mounts"`
		TarballManifest    json.RawMessage            `json:"tarballManifest"`
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
	if shadow.Rules != nil {
		d.Rules = make(map[string]*RuleSpec, len(shadow.Rules))
		for _, name := range sortedKeys(shadow.Rules) {
			raw := bytes.TrimSpace(shadow.Rules[name])
			if bytes.Equal(raw, []byte("null")) {
				d.Rules[name] = nil
				continue
			}
			var r RuleSpec
			if err := r.UnmarshalJSON(raw); err != nil {
				errs = append(errs, fmt.Errorf("rules.%s: %w", name, err))
				continue
			}
			d.Rules[name] = &r
		}
	}
	if shadow.Mounts != nil {
		d.Mounts = make(map[string]*Mount, len(shadow.Mounts))
		for _, name := range sortedKeys(shadow.Mounts) {
			var m Mount
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
