package pypi

// This file is the package's contract with its callers (the pypi gate, the server,
// the e2e tests). The implementations live in name.go, version.go and specifier.go,
// filename.go, simple.go (with its HTML scanner in html.go) and negotiate.go; the
// signatures here must not change.

import "time"

// Content types of the Simple API (PEP 691 and PEP 503).
const (
	// ContentTypeJSON is PEP 691's JSON form, version 1.
	ContentTypeJSON = "application/vnd.pypi.simple.v1+json"
	// ContentTypeHTMLv1 is PEP 691's name for the HTML form, version 1.
	ContentTypeHTMLv1 = "application/vnd.pypi.simple.v1+html"
	// ContentTypeHTML is the legacy name of the HTML form (PEP 503).
	ContentTypeHTML = "text/html"
	// APIVersion is the repository version Écluse writes on pages it renders:
	// 1.1 carries PEP 700's upload-time, size and versions.
	APIVersion = "1.1"
)

// Limits bounds what a page parse accepts. Zero (or negative) fields take the
// defaults noted.
type Limits struct {
	// MaxFiles bounds the files of one project page, and the entries of its JSON
	// "versions" list. Zero means 200,000.
	MaxFiles int
	// MaxFieldBytes bounds one string field (a URL, a filename, a hash, a
	// requires-python, a yank reason). Zero means 8 KiB.
	MaxFieldBytes int
}

// Project is one project's page of a Simple API, in either form, as parsed. Parsing
// never resolves URLs: File.URL is as the page wrote it.
type Project struct {
	// Name is the page's project name as written (JSON "name"; for HTML, empty, since
	// an HTML page does not carry it reliably). Callers use Normalize on what they asked.
	Name string
	// APIVersion is meta.api-version (JSON) or the pypi:repository-version meta tag
	// (HTML); empty when absent.
	APIVersion string
	// Files are the page's files in page order.
	Files []File
	// Versions is the JSON v1.1 "versions" list, as written; nil when the page has none.
	Versions []string
}

// File is one file (a distribution) on a project page.
type File struct {
	// Filename is the file's name: JSON "filename", HTML the anchor's text.
	Filename string
	// URL is the file's URL as written, without its fragment (HTML's #<alg>=<hex>
	// fragment is moved into Hashes; any other fragment is dropped). May be relative
	// to the page.
	URL string
	// Hashes maps a lower-case hash name ("sha256", "md5", "blake2b_256", ...) to its
	// value in lower-case hex, as the page gave them. Nil when none.
	Hashes map[string]string
	// RequiresPython is the data-requires-python / requires-python value, HTML
	// entities decoded; empty when absent.
	RequiresPython string
	// Yanked reports a PEP 592 yank; YankedReason is its reason, possibly empty.
	Yanked       bool
	YankedReason string
	// UploadTime is PEP 700's upload-time (JSON only); zero when absent or unparsable.
	UploadTime time.Time
	// Size is PEP 700's size in bytes; -1 when absent.
	Size int64
	// CoreMetadata is PEP 658/714: whether the file's metadata is served beside it
	// (at URL + ".metadata"), with the metadata file's own hashes. Read from
	// core-metadata / data-core-metadata, else the older dist-info-metadata /
	// data-dist-info-metadata.
	CoreMetadata Metadata
}

// Metadata is a file's PEP 658 metadata entry.
type Metadata struct {
	// Present reports that the metadata file exists.
	Present bool
	// Hashes are its hashes (lower-case name to lower-case hex); nil when the page
	// said only "true".
	Hashes map[string]string
}

// Kind is what sort of distribution a file is.
type Kind uint8

const (
	// KindOther is a file that is neither a wheel nor a source distribution (an egg,
	// an installer, a name that cannot be read).
	KindOther Kind = iota
	// KindWheel is a built distribution (.whl): installing it runs no project code.
	KindWheel
	// KindSdist is a source distribution (.tar.gz, .zip, .tar.bz2, .tar.xz, .tgz,
	// .tar): installing it builds it, running its build backend.
	KindSdist
)

// FileInfo is what a filename says.
type FileInfo struct {
	Kind Kind
	// Version is the version as the filename writes it (not normalized).
	Version string
}
