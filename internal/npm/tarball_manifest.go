package npm

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// ErrBadTarball: a package tarball Écluse cannot read the way every client would. It is
// not gzip or tar, is damaged or truncated, is ambiguous (two package.json files at its
// root, a path clients resolve differently, a global header that renames entries, data
// after its end), unpacks to more than allowed, or its package.json is missing, too
// large, not a JSON object, or repeats a member Écluse reads.
var ErrBadTarball = errors.New("unusable package tarball")

// TarballError is why a tarball was refused. Its Error text is written for the npm user
// (it completes "the tarball of NAME@VERSION ..."): it names the problem and quotes at
// most a short piece of the archive.
type TarballError struct {
	// Reason is the public description, e.g. `holds two package.json files at its root`.
	Reason string
	// Err wraps ErrBadTarball and, when there is one, the lower-level cause for logs.
	Err error
}

func (e *TarballError) Error() string { return e.Reason }

func (e *TarballError) Unwrap() error { return e.Err }

func tarballError(reason string, cause error) *TarballError {
	err := ErrBadTarball
	if cause != nil {
		err = fmt.Errorf("%w: %w", ErrBadTarball, cause)
	}
	return &TarballError{Reason: reason, Err: err}
}

// InspectLimits bound what a TarballInspector reads. Each zero field takes the default
// noted.
type InspectLimits struct {
	// MaxManifestBytes is the largest package.json read; a larger one refuses the
	// tarball. Zero means 1 MiB.
	MaxManifestBytes int64
	// MaxUnpackedBytes bounds the tar stream once decompressed, against a gzip bomb;
	// past it the tarball is refused. Zero means 4 GiB.
	MaxUnpackedBytes int64
}

// Default limits of a TarballInspector.
const (
	DefaultMaxManifestBytes = 1 << 20
	DefaultMaxUnpackedBytes = 4 << 30
)

// TarballReport is what a TarballInspector found in a package tarball.
type TarballReport struct {
	// Manifest is the package.json at the package root. Never nil in a report returned
	// without error.
	Manifest *Manifest
	// GypFile reports a file whose name ends in ".gyp" at the package root. For
	// binding.gyp every client runs node-gyp rebuild at install; npm's own publish step
	// adds that script for any *.gyp file, and older npm built any of them.
	GypFile bool
	// BindingGyp reports binding.gyp itself at the package root.
	BindingGyp bool
	// Entries counts the archive's entries; Unpacked is the tar stream's size.
	Entries  int
	Unpacked int64
}

// RunsCode reports whether a client installing the tarball would run code from it: an
// install-time script in its package.json, or a *.gyp file it would build.
func (r *TarballReport) RunsCode() bool {
	return r != nil && (len(r.Manifest.InstallScripts()) > 0 || r.GypFile)
}

// TarballInspector reads a package tarball as it streams past, once, in bounded memory:
// it is written the tarball's bytes in order (it is an io.Writer, meant for an
// io.TeeReader or a tee inside a reader) and, at the end, Finish reports the package.json
// at the package root and whether a *.gyp file sits beside it.
//
// The root is what npm extracts the archive into after removing each entry's first
// path component, whatever its name (usually "package/"). Every entry whose name could
// land on the root's package.json or a root *.gyp file under some client's reading of
// the path counts: pnpm strips up to the first slash or backslash and keeps a
// one-component name as it is, node-tar resolves "." and ".." and strips a Windows drive
// root on every platform, case-insensitive file systems fold case and Windows drops
// trailing dots and spaces. A name that only some of those readings put at the root is
// refused as ambiguous, so Écluse and every client read the same package.json.
//
// It does no I/O of its own and is not safe for concurrent use. The parser runs as a
// coroutine (iter.Pull) fed by Write: call Finish at the end of the stream, or Close to
// abandon it; either releases it.
type TarballInspector struct {
	lim InspectLimits

	next func() (struct{}, bool)
	stop func()
	// yield suspends the parser until the next Write; set inside the coroutine.
	yield func(struct{}) bool

	chunk     []byte // bytes of the current Write not yet read by the parser
	ended     bool   // Finish was called: no more bytes will come
	abandoned bool   // Close was called before the end
	finished  bool   // the parser returned
	stopped   bool

	report TarballReport
	err    error
}

// errAbandoned ends the parser when the inspector is closed before the end.
var errAbandoned = errors.New("tarball inspection abandoned")

// NewTarballInspector returns an inspector bounded by lim.
func NewTarballInspector(lim InspectLimits) *TarballInspector {
	if lim.MaxManifestBytes <= 0 {
		lim.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if lim.MaxUnpackedBytes <= 0 {
		lim.MaxUnpackedBytes = DefaultMaxUnpackedBytes
	}
	return &TarballInspector{lim: lim}
}

// start creates the coroutine; it runs only when next is called.
func (in *TarballInspector) start() {
	in.next, in.stop = iter.Pull(func(yield func(struct{}) bool) {
		in.yield = yield
		in.report, in.err = in.parse()
		in.finished = true
	})
}

// Write hands the next bytes of the tarball to the parser, which reads them before
// Write returns (p is not kept). It never fails: a problem is reported by Finish.
func (in *TarballInspector) Write(p []byte) (int, error) {
	if len(p) == 0 || in.finished || in.ended || in.abandoned {
		return len(p), nil
	}
	if in.next == nil {
		in.start()
	}
	in.chunk = p
	in.next()
	in.chunk = nil
	return len(p), nil
}

// Finish tells the parser the tarball has ended and returns what it found, or a
// *TarballError (wrapping ErrBadTarball). It releases the parser; later calls return
// the same result.
func (in *TarballInspector) Finish() (*TarballReport, error) {
	if in.abandoned && !in.finished {
		return nil, errAbandoned
	}
	in.ended = true
	if in.next == nil {
		in.start()
	}
	if !in.finished {
		in.next()
	}
	in.release()
	if !in.finished {
		return nil, errAbandoned // the parser did not end with its input: cannot happen
	}
	if in.err != nil {
		return nil, in.err
	}
	r := in.report
	return &r, nil
}

// Close abandons the inspection if it has not finished and releases the parser. It is
// safe to call more than once, and after Finish.
func (in *TarballInspector) Close() error {
	if !in.finished && !in.ended {
		in.abandoned = true
	}
	in.release()
	return nil
}

func (in *TarballInspector) release() {
	if in.stop != nil && !in.stopped {
		in.stopped = true
		in.stop()
	}
}

// feed is the parser's view of the written bytes: it suspends the coroutine when it has
// read all of them, until the next Write (or Finish, which makes it report io.EOF).
type feed struct{ in *TarballInspector }

func (f feed) Read(p []byte) (int, error) {
	in := f.in
	for len(in.chunk) == 0 {
		if in.ended {
			return 0, io.EOF
		}
		if in.abandoned || !in.yield(struct{}{}) {
			in.abandoned = true
			return 0, errAbandoned
		}
	}
	n := copy(p, in.chunk)
	in.chunk = in.chunk[n:]
	return n, nil
}

// parse reads the whole stream. It runs inside the coroutine.
func (in *TarballInspector) parse() (TarballReport, error) {
	br := bufio.NewReaderSize(feed{in}, 16<<10)
	magic, err := br.Peek(2)
	if len(magic) == 0 {
		if errors.Is(err, errAbandoned) {
			return TarballReport{}, err
		}
		return TarballReport{}, tarballError("is empty", err)
	}
	var z *gzip.Reader
	var src io.Reader = br // an uncompressed tar archive: npm and pnpm install those too
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if z, err = gzip.NewReader(br); err != nil {
			return TarballReport{}, streamError(err)
		}
		// One gzip member only: Node's decoder reads a second one, or ignores what
		// follows a zero byte, depending on where its input buffers end.
		z.Multistream(false)
		src = z
	}
	unpacked := &boundedReader{r: src, left: in.lim.MaxUnpackedBytes}
	rep, err := in.readArchive(unpacked)
	rep.Unpacked = in.lim.MaxUnpackedBytes - unpacked.left
	if err != nil {
		return rep, err
	}
	// What follows the end of the archive must be padding: node-tar ignores it, while
	// pnpm's parser stops at the first zero byte where a header would start, and would
	// read entries hidden there.
	if err := zerosOnly(unpacked); err != nil {
		return rep, afterEnd(err, "holds data after the end of its tar archive")
	}
	rep.Unpacked = in.lim.MaxUnpackedBytes - unpacked.left
	if z != nil {
		if err := zerosOnly(br); err != nil {
			return rep, afterEnd(err, "holds data after the end of its gzip stream")
		}
	}
	if rep.Manifest == nil {
		return rep, tarballError("has no package.json at its root", nil)
	}
	return rep, nil
}

// readArchive walks the tar archive's entries up to its end marker.
func (in *TarballInspector) readArchive(r io.Reader) (TarballReport, error) {
	var rep TarballReport
	var manifestName string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return rep, nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // paths are judged below
			return rep, streamError(err)
		}
		rep.Entries++
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader:
			// node-tar applies a global header's path and size to every later entry;
			// archive/tar and pnpm do not.
			for _, k := range []string{"path", "linkpath", "size"} {
				if _, ok := hdr.PAXRecords[k]; ok {
					return rep, tarballError("has a global header that rewrites the "+k+" of later entries", nil)
				}
			}
			continue
		case tar.TypeDir, 'D':
			continue
		}
		if hdr.Name == "" {
			return rep, tarballError("has an entry with no name", nil)
		}
		switch at := placeOf(hdr.Name); at {
		case placeElsewhere:
		case placeAmbiguous:
			return rep, tarballError(fmt.Sprintf("holds %s, a path clients place differently", quoteShort(hdr.Name)), nil)
		case placeRootGyp, placeRootBindingGyp:
			rep.GypFile = true
			rep.BindingGyp = rep.BindingGyp || at == placeRootBindingGyp
		case placeRootManifest:
			if manifestName != "" {
				return rep, tarballError(fmt.Sprintf("holds two package.json files at its root (%s and %s)",
					quoteShort(manifestName), quoteShort(hdr.Name)), nil)
			}
			manifestName = hdr.Name
			if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeCont {
				return rep, tarballError("has a package.json that is not a regular file", nil)
			}
			if hdr.Size > in.lim.MaxManifestBytes {
				return rep, tarballError(fmt.Sprintf("has a package.json larger than %d bytes", in.lim.MaxManifestBytes), nil)
			}
			b := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, b); err != nil {
				return rep, streamError(err)
			}
			m, err := ParsePackageJSON(b)
			if err != nil {
				return rep, err
			}
			rep.Manifest = m
		}
	}
}

// place is where an entry lands relative to the package root, for the names that matter.
type place uint8

const (
	placeElsewhere      place = iota // not package.json or *.gyp at the root
	placeRootManifest                // the root's package.json
	placeRootGyp                     // a *.gyp file at the root
	placeRootBindingGyp              // binding.gyp at the root
	placeAmbiguous                   // a package.json or *.gyp that clients place differently
)

// placeOf places an entry name. Only names whose last component (after the last '/',
// '\' or ':') is package.json or ends in .gyp, in any case and with trailing dots or
// spaces, are considered. Such a name is ambiguous when it holds a backslash, a colon,
// an empty or ".." component, or a trailing slash: the clients read those differently
// (node-tar strips a Windows drive root on every platform and skips ".." entries, pnpm
// splits on backslashes and keeps a leading slash). Otherwise the first component is
// removed and "." components are resolved, as both do; the name is at the root when one
// component is left, or when it had only one (pnpm keeps a one-component name as it is).
func placeOf(name string) place {
	trimmed := strings.TrimRight(name, `/\`)
	base := foldName(trimmed[strings.LastIndexAny(trimmed, `/\:`)+1:])
	manifest := base == "package.json"
	gyp := strings.HasSuffix(base, ".gyp")
	if !manifest && !gyp {
		return placeElsewhere
	}
	if trimmed != name || strings.ContainsAny(name, `\:`) {
		return placeAmbiguous
	}
	parts := strings.Split(name, "/")
	below := 0 // components below the root
	for i, p := range parts {
		switch {
		case p == "" || p == "..":
			return placeAmbiguous
		case i > 0 && p != ".":
			below++
		}
	}
	switch {
	case len(parts) > 1 && below != 1:
		return placeElsewhere
	case manifest:
		return placeRootManifest
	case base == "binding.gyp":
		return placeRootBindingGyp
	}
	return placeRootGyp
}

// foldName is a file name as a case-insensitive file system that drops trailing dots
// and spaces (Windows) compares it.
func foldName(s string) string {
	return strings.ToLower(strings.TrimRight(s, ". "))
}

// boundedReader reads r and fails once more than left bytes have come through.
type boundedReader struct {
	r    io.Reader
	left int64
}

// errUnpackedTooLarge: the decompressed stream ran past MaxUnpackedBytes.
var errUnpackedTooLarge = errors.New("tarball unpacks past the bound")

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a stream that ends exactly at the bound from a longer one.
		var one [1]byte
		if n, err := b.r.Read(one[:]); n > 0 {
			return 0, errUnpackedTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// errNotZero: non-zero bytes after the end of an archive or a gzip member.
var errNotZero = errors.New("non-zero data")

// zerosOnly reads r to its end and fails on the first byte that is not zero.
func zerosOnly(r io.Reader) error {
	var buf [4096]byte
	for {
		n, err := r.Read(buf[:])
		for _, c := range buf[:n] {
			if c != 0 {
				return errNotZero
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// afterEnd describes a failure while reading past the end of the archive.
func afterEnd(err error, reason string) error {
	if errors.Is(err, errNotZero) {
		return tarballError(reason, nil)
	}
	return streamError(err)
}

// streamError turns a failure of the gzip or tar reader into a *TarballError.
func streamError(err error) error {
	switch {
	case errors.Is(err, errAbandoned):
		return err
	case errors.Is(err, errUnpackedTooLarge):
		return tarballError("unpacks to more than the bound on unpacked tarballs", err)
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum):
		return tarballError("is not a valid gzip stream", err)
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrFieldTooLong):
		return tarballError("is not a valid tar archive", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tarballError("is truncated", err)
	}
	return tarballError("is not a valid tar.gz archive", err)
}
