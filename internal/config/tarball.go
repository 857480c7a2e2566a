package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// What a tarballManifest check does with a difference.
const (
	ManifestRefuse = "refuse"
	ManifestWarn   = "warn"
)

// TarballManifestDoc is the document's "tarballManifest" section, as written: what a
// difference between a public tarball's own package.json and the registry's metadata
// does. Empty fields take the defaults (see TarballManifest).
type TarballManifestDoc struct {
	// Scripts is "refuse" or "warn", for install-time scripts.
	Scripts string `json:"scripts,omitempty"`
	// Dependencies is "refuse" or "warn", for dependencies.
	Dependencies string `json:"dependencies,omitempty"`
}

// TarballManifest is the validated tarballManifest setting.
type TarballManifest struct {
	// Scripts is what a difference in install-time scripts does: "refuse" (the
	// default) or "warn".
	Scripts string `json:"scripts"`
	// Dependencies is what a difference in dependencies does: "warn" (the default) or
	// "refuse".
	Dependencies string `json:"dependencies"`
}

// parseTarballManifest decodes the section strictly: an object whose only keys are
// "scripts" and "dependencies", each a string. Every problem is returned, each naming
// its path; null means the section is absent.
func parseTarballManifest(raw json.RawMessage) (*TarballManifestDoc, []error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, []error{errors.New(`tarballManifest: expected an object such as {"scripts": "refuse", "dependencies": "warn"}`)}
	}
	doc := &TarballManifestDoc{}
	var errs []error
	for _, k := range sortedKeys(fields) {
		var dst *string
		switch k {
		case "scripts":
			dst = &doc.Scripts
		case "dependencies":
			dst = &doc.Dependencies
		default:
			errs = append(errs, fmt.Errorf("tarballManifest.%s: unknown key (valid: scripts, dependencies)", k))
			continue
		}
		if err := json.Unmarshal(fields[k], dst); err != nil || *dst == "" {
			errs = append(errs, fmt.Errorf(`tarballManifest.%s: expected "refuse" or "warn", got %s`, k, clipJSON(fields[k])))
		}
	}
	return doc, errs
}

// clipJSON shows a short piece of a JSON value in a message.
func clipJSON(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// validateTarballManifest folds the document's section into c, reporting every value
// other than "refuse" or "warn" with its path.
func (l *loader) validateTarballManifest(c *Config) {
	d := c.Document.TarballManifest
	if d == nil {
		return
	}
	for _, f := range []struct {
		key string
		val string
		dst *string
	}{{"scripts", d.Scripts, &c.TarballManifest.Scripts}, {"dependencies", d.Dependencies, &c.TarballManifest.Dependencies}} {
		switch f.val {
		case "":
		case ManifestRefuse, ManifestWarn:
			*f.dst = f.val
		default:
			l.addf("tarballManifest."+f.key, "unknown value %q (want refuse or warn)", f.val)
		}
	}
}
