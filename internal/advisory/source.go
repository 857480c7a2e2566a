package advisory

// This file reads one source of OSV records: an https URL of an export zip, fetched
// conditionally and spooled to disk, or a local zip file or directory, re-read only
// when it changed.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
)

// ErrDownloadTooLarge reports a URL source whose export is larger than
// SyncOptions.MaxDownloadBytes, whether its Content-Length announced it or the body
// ran past the bound.
var ErrDownloadTooLarge = errors.New("advisory export exceeds the download limit")

// ErrDownloadTruncated reports a URL source whose body ended before the length its
// Content-Length announced.
var ErrDownloadTruncated = errors.New("advisory export shorter than announced")

// StatusError is a URL source's answer with a status other than 200 (or 304 to a
// conditional request).
type StatusError struct {
	// Status is the HTTP status code received.
	Status int
	// Body is the start of the response body, printable characters only and clipped
	// to a couple of hundred bytes. Empty when the body was.
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("answered %d", e.Status)
	}
	return fmt.Sprintf("answered %d: %q", e.Status, e.Body)
}

// userAgent is the only header a fetch sets besides the conditional ones.
const userAgent = "ecluse"

// maxQuotedBody bounds the part of an error body quoted in a StatusError.
const maxQuotedBody = 200

// maxValidator bounds an ETag or Last-Modified kept to make the next fetch
// conditional; a longer one is not kept (the next fetch is then unconditional).
const maxValidator = 256

// syncSource is one entry of SyncOptions.Sources, classified.
type syncSource struct {
	// name is the entry as shown in errors, logs and Status: a URL without userinfo,
	// query or fragment; a path as given.
	name string
	// url is set for a URL source, path for a local one.
	url  *url.URL
	path string
}

func (s *syncSource) local() bool { return s.url == nil }

// syncState is what one source yielded in a good round, and what the next round
// compares against to see whether it changed.
type syncState struct {
	set *Set
	// fetched is when set was read.
	fetched time.Time
	// etag and lastModified are a URL source's validators.
	etag, lastModified string
	// size and mtime are a local zip's. For a directory (dir), size is the count of
	// *.json files and digest that of their paths, sizes and modification times.
	dir    bool
	size   int64
	mtime  time.Time
	digest [sha256.Size]byte
}

// parseSourceEntry classifies one SyncOptions.Sources entry: an https URL (with a
// host and no userinfo), or a local path. Anything with a scheme other than https is
// refused, so "file:///x" or "s3://b/k" fail loudly instead of being read as a
// relative path; a relative file name containing a colon is written "./a:b". The
// error names the entry with its userinfo, query and fragment removed.
func parseSourceEntry(entry string) (*syncSource, error) {
	entry = strings.TrimSpace(entry)
	if entry == "" {
		return nil, errors.New("empty entry")
	}
	if strings.ContainsFunc(entry, unicode.IsControl) {
		return nil, fmt.Errorf("%q holds a control character", redactEntry(entry))
	}
	u, err := url.Parse(entry)
	if err != nil || u.Scheme == "" {
		if strings.Contains(entry, "://") {
			return nil, fmt.Errorf("%q is not a valid URL", redactEntry(entry))
		}
		return &syncSource{name: entry, path: entry}, nil
	}
	name := redactURL(u)
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return nil, fmt.Errorf("%q: scheme %q is not allowed: use an https URL or a local path", name, u.Scheme)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q: an https URL needs a host", name)
	case u.User != nil:
		return nil, fmt.Errorf("%q: a URL must not carry userinfo (credentials)", name)
	}
	u.Scheme = "https"
	u.Fragment, u.RawFragment = "", ""
	return &syncSource{name: name, url: u}, nil
}

// redactURL renders u for errors, logs and Status: scheme, host and path only.
// Userinfo, query and fragment can carry credentials or signed tokens.
func redactURL(u *url.URL) string {
	c := url.URL{Scheme: strings.ToLower(u.Scheme), Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// redactEntry is redactURL for an entry that may not parse: it drops anything from a
// "?" or "#" on and anything up to an "@" in what looks like the authority.
func redactEntry(entry string) string {
	if u, err := url.Parse(entry); err == nil && u.Scheme != "" {
		return redactURL(u)
	}
	if i := strings.IndexAny(entry, "?#"); i >= 0 {
		entry = entry[:i]
	}
	if scheme, rest, ok := strings.Cut(entry, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if slash := strings.Index(rest, "/"); slash < 0 || at < slash {
				rest = rest[at+1:]
			}
		}
		entry = scheme + "://" + rest
	}
	return entry
}

// fetch reads the source into a Set. prev is the source's state from the last good
// round (nil when there is none); unchanged is true when the source is the same as
// then, and next is prev itself.
func (s *Syncer) fetch(ctx context.Context, src *syncSource, prev *syncState) (next *syncState, unchanged bool, err error) {
	if src.local() {
		return s.readLocal(ctx, src, prev)
	}
	return s.download(ctx, src, prev)
}

// download fetches a URL source, conditionally when prev holds validators.
func (s *Syncer) download(ctx context.Context, src *syncSource, prev *syncState) (*syncState, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url.String(), nil)
	if err != nil {
		return nil, false, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	conditional := false
	if prev != nil {
		if prev.etag != "" {
			req.Header.Set("If-None-Match", prev.etag)
			conditional = true
		}
		if prev.lastModified != "" {
			req.Header.Set("If-Modified-Since", prev.lastModified)
			conditional = true
		}
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		// A *url.Error quotes the full URL, query (a signed token) included: keep
		// only its cause.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, false, fmt.Errorf("get: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()

	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		return prev, true, nil
	case resp.StatusCode != http.StatusOK:
		return nil, false, &StatusError{Status: resp.StatusCode, Body: quoteBody(resp.Body)}
	case resp.Request != nil && resp.Request.URL != nil && !strings.EqualFold(resp.Request.URL.Scheme, "https"):
		// The guarded client refuses such a redirect; this holds whatever client is given.
		return nil, false, fmt.Errorf("redirected to %q: only https is allowed", redactURL(resp.Request.URL))
	case resp.ContentLength > s.opts.MaxDownloadBytes:
		return nil, false, fmt.Errorf("announced %d bytes, limit %d: %w", resp.ContentLength, s.opts.MaxDownloadBytes, ErrDownloadTooLarge)
	}

	set, err := s.spoolAndRead(ctx, resp)
	if err != nil {
		return nil, false, err
	}
	return &syncState{
		set:          set,
		fetched:      s.now(),
		etag:         validator(resp.Header.Get("ETag")),
		lastModified: validator(resp.Header.Get("Last-Modified")),
	}, false, nil
}

// spoolAndRead copies the body to a temporary file in the spool directory, bounded by
// MaxDownloadBytes, reads the zip from it and removes it, whatever happens.
func (s *Syncer) spoolAndRead(ctx context.Context, resp *http.Response) (set *Set, err error) {
	f, err := os.CreateTemp(s.opts.SpoolDir, "ecluse-osv-*.zip")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer func() {
		_ = f.Close()
		if rerr := os.Remove(f.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove spool file: %w", rerr)
		}
	}()
	limit := s.opts.MaxDownloadBytes
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("download after %d bytes: %w", n, err)
	case n > limit:
		return nil, fmt.Errorf("more than %d bytes: %w", limit, ErrDownloadTooLarge)
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return nil, fmt.Errorf("received %d of %d bytes: %w", n, resp.ContentLength, ErrDownloadTruncated)
	}
	set, err = ReadZip(ctxReaderAt{ctx: ctx, r: f}, n, s.opts.Ecosystems, s.opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("read export: %w", err)
	}
	return set, nil
}

// readLocal reads a local zip file or directory tree, unless its (size, mtime) for a
// file, or its (count of *.json, digest of their paths, sizes and mtimes) for a
// directory, are those of prev.
func (s *Syncer) readLocal(ctx context.Context, src *syncSource, prev *syncState) (*syncState, bool, error) {
	fi, err := os.Stat(src.path)
	if err != nil {
		return nil, false, fmt.Errorf("stat: %w", err)
	}
	switch {
	case fi.IsDir():
		return s.readLocalDir(ctx, src, prev)
	case fi.Mode().IsRegular():
		return s.readLocalZip(ctx, src, prev)
	default:
		return nil, false, fmt.Errorf("not a regular file or a directory (%s)", fi.Mode().Type())
	}
}

func (s *Syncer) readLocalZip(ctx context.Context, src *syncSource, prev *syncState) (*syncState, bool, error) {
	f, err := os.Open(src.path)
	if err != nil {
		return nil, false, fmt.Errorf("open: %w", err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("stat: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, errors.New("not a regular file")
	}
	if prev != nil && !prev.dir && prev.size == fi.Size() && prev.mtime.Equal(fi.ModTime()) {
		return prev, true, nil
	}
	set, err := ReadZip(ctxReaderAt{ctx: ctx, r: f}, fi.Size(), s.opts.Ecosystems, s.opts.Limits)
	if err != nil {
		return nil, false, fmt.Errorf("read zip: %w", err)
	}
	return &syncState{set: set, fetched: s.now(), size: fi.Size(), mtime: fi.ModTime()}, false, nil
}

func (s *Syncer) readLocalDir(ctx context.Context, src *syncSource, prev *syncState) (*syncState, bool, error) {
	count, digest, err := scanTree(ctx, src.path)
	if err != nil {
		return nil, false, err
	}
	if prev != nil && prev.dir && prev.size == count && prev.digest == digest {
		return prev, true, nil
	}
	set, err := ReadDir(src.path, s.opts.Ecosystems, s.opts.Limits)
	if err != nil {
		return nil, false, fmt.Errorf("read directory: %w", err)
	}
	return &syncState{set: set, fetched: s.now(), dir: true, size: count, digest: digest}, false, nil
}

// scanTree counts the record files under root (as ReadDir names them: *.json, with
// symbolic links followed inside root) and digests the path, size and modification
// time of each, so that a file added, removed, renamed, resized or touched changes
// the digest, whatever the order of the modification times.
func scanTree(ctx context.Context, root string) (count int64, digest [sha256.Size]byte, err error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return 0, digest, fmt.Errorf("scan directory: %w", err)
	}
	defer func() { _ = r.Close() }()
	fsys := r.FS()
	h := sha256.New()
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !isRecordName(p) {
			return nil
		}
		var fi fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			fi, err = fs.Stat(fsys, p)
		} else {
			fi, err = d.Info()
		}
		if err != nil {
			return err
		}
		count++
		fmt.Fprintf(h, "%q %d %d %d\n", p, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
		return nil
	})
	if err != nil {
		return 0, digest, fmt.Errorf("scan directory: %w", err)
	}
	h.Sum(digest[:0])
	return count, digest, nil
}

// ctxReaderAt fails every read once ctx is done, so that reading a large export
// stops promptly when the syncer is stopped.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// validator keeps an ETag or Last-Modified value for the next conditional request
// when it is short and printable ASCII; otherwise it is dropped.
func validator(v string) string {
	if len(v) > maxValidator || !printableASCII(v) {
		return ""
	}
	return v
}

// quoteBody reads the start of a hostile error body and returns it on one printable
// line, clipped to maxQuotedBody bytes (never inside a character): invalid UTF-8 and
// characters unicode.IsPrint refuses (controls, formatting, unassigned, private use)
// are dropped, white space is folded.
func quoteBody(r io.Reader) string {
	buf := make([]byte, 4*maxQuotedBody)
	n, _ := io.ReadFull(r, buf)
	kept := strings.Map(func(c rune) rune {
		if unicode.IsPrint(c) || unicode.IsSpace(c) {
			return c
		}
		return -1
	}, strings.ToValidUTF8(string(buf[:n]), " "))
	return oneLine(kept, maxQuotedBody)
}
