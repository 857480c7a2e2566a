package mirror

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"

	"github.com/ecluse/ecluse/internal/npm"
)

// JobVersion is the wire version of an encoded Job: the "v" member. A decoder refuses
// any other, so a later format (another ecosystem's fields, say) is added under a new
// number rather than read wrongly.
const JobVersion = 1

// EcosystemNPM is the only ecosystem jobs name today.
const EcosystemNPM = "npm"

// Bounds on an encoded job and its fields.
const (
	// MaxJobBytes bounds an encoded job. Every queue backend carries this much.
	MaxJobBytes = 8 << 10
	maxMount    = 128
	maxVersion  = 256
	maxURL      = 2048
	maxSRI      = 1024
)

// Job asks the worker to copy one public version the front door served (and verified)
// to the mirror target.
type Job struct {
	// Mount names the mount the version was served under ("npm" for the mount the
	// environment describes). Required: it travels into every log line.
	Mount string
	// Ecosystem is EcosystemNPM.
	Ecosystem string
	// Name and Version identify the package version ("@scope/name", "1.2.3").
	Name, Version string
	// Upstream is the base URL of the public upstream the version came from
	// (PUBLIC_UPSTREAM_URL of the mount). The worker reads the version manifest there
	// and fetches the tarball with that upstream's origin rules.
	Upstream string
	// Tarball is the URL the public upstream serves the artifact at.
	Tarball string
	// Integrity is the SRI string the artifact must match (dist.integrity as the
	// public upstream served it).
	Integrity string
}

// jobWire is a Job on the wire. Member names are short and stable.
type jobWire struct {
	V         int    `json:"v"`
	Mount     string `json:"mount"`
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Upstream  string `json:"upstream"`
	Tarball   string `json:"tarball"`
	Integrity string `json:"integrity"`
}

// Key identifies the copy a job asks for, for deduplication: two jobs with the same key
// would make the same copy.
func (j Job) Key() string {
	return j.Mount + "\x00" + j.Name + "\x00" + j.Version + "\x00" + j.Integrity
}

// Validate reports why j cannot be carried or run, as an error matched by
// errors.Is(err, ErrInvalidJob); nil when it can.
func (j Job) Validate() error {
	fail := func(field, reason string) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidJob, field, reason)
	}
	if j.Mount == "" || len(j.Mount) > maxMount || !printable(j.Mount) {
		return fail("mount", fmt.Sprintf("must be 1 to %d printable characters", maxMount))
	}
	if j.Ecosystem != EcosystemNPM {
		return fail("ecosystem", fmt.Sprintf("%q is not %q", clip(j.Ecosystem), EcosystemNPM))
	}
	if err := npm.ValidateName(j.Name); err != nil {
		return fmt.Errorf("%w: name: %w", ErrInvalidJob, err)
	}
	if j.Version == "" || len(j.Version) > maxVersion || !printable(j.Version) || strings.ContainsAny(j.Version, " /\\") {
		return fail("version", fmt.Sprintf("must be 1 to %d printable characters without spaces or slashes", maxVersion))
	}
	if err := checkURL(j.Upstream); err != "" {
		return fail("upstream", err)
	}
	if err := checkURL(j.Tarball); err != "" {
		return fail("tarball", err)
	}
	if len(j.Integrity) > maxSRI {
		return fail("integrity", fmt.Sprintf("is longer than %d bytes", maxSRI))
	}
	if _, err := newDigester(j.Integrity); err != nil {
		return fail("integrity", err.Error())
	}
	return nil
}

// Encode returns the job's wire form: a small JSON object with "v":1.
func (j Job) Encode() ([]byte, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(jobWire{
		V: JobVersion, Mount: j.Mount, Ecosystem: j.Ecosystem, Name: j.Name, Version: j.Version,
		Upstream: j.Upstream, Tarball: j.Tarball, Integrity: j.Integrity,
	}, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJob, err)
	}
	if len(b) > MaxJobBytes {
		return nil, fmt.Errorf("%w: encoded job is %d bytes, more than %d", ErrInvalidJob, len(b), MaxJobBytes)
	}
	return b, nil
}

// DecodeJob reads a job's wire form. It is strict: the payload must be at most
// MaxJobBytes of valid UTF-8 JSON, one object with "v" equal to JobVersion, no member
// unknown or repeated, nothing after it, and fields that pass Validate. Every error is
// matched by errors.Is(err, ErrInvalidJob).
func DecodeJob(b []byte) (Job, error) {
	if len(b) > MaxJobBytes {
		return Job{}, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidJob, len(b), MaxJobBytes)
	}
	var w jobWire
	if err := json.Unmarshal(b, &w, json.RejectUnknownMembers(true)); err != nil {
		return Job{}, fmt.Errorf("%w: %w", ErrInvalidJob, err)
	}
	if w.V != JobVersion {
		return Job{}, fmt.Errorf("%w: version %d, want %d", ErrInvalidJob, w.V, JobVersion)
	}
	j := Job{
		Mount: w.Mount, Ecosystem: w.Ecosystem, Name: w.Name, Version: w.Version,
		Upstream: w.Upstream, Tarball: w.Tarball, Integrity: w.Integrity,
	}
	if err := j.Validate(); err != nil {
		return Job{}, err
	}
	return j, nil
}

// checkURL returns why raw is not an absolute http(s) URL without credentials, or "".
func checkURL(raw string) string {
	if raw == "" || len(raw) > maxURL || !printable(raw) {
		return fmt.Sprintf("must be 1 to %d printable characters", maxURL)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.Host == "":
		return "has no host"
	case u.User != nil:
		return "must not carry credentials"
	}
	return ""
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// clip bounds a string from a payload before it goes into an error.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
