package npm

import (
	"errors"
	"strings"
	"testing"
)

var pathTests = []struct {
	path string
	want Request
	err  string // a fragment of the error text; empty when the path is accepted
}{
	{path: "/left-pad", want: Request{Kind: KindPackument, Name: "left-pad"}},
	{path: "/JSONStream", want: Request{Kind: KindPackument, Name: "JSONStream"}},
	{path: "/@types%2fnode", want: Request{Kind: KindPackument, Name: "@types/node"}},
	{path: "/@types%2Fnode", want: Request{Kind: KindPackument, Name: "@types/node"}},
	{path: "/@types/node", want: Request{Kind: KindPackument, Name: "@types/node"}},
	{path: "/%40types%2fnode", want: Request{Kind: KindPackument, Name: "@types/node"}},
	{path: "/left-pad/1.3.0", want: Request{Kind: KindVersion, Name: "left-pad", Version: "1.3.0"}},
	{path: "/left-pad/latest", want: Request{Kind: KindVersion, Name: "left-pad", Version: "latest"}},
	{path: "/left-pad/1.0.0%2Bbuild.5", want: Request{Kind: KindVersion, Name: "left-pad", Version: "1.0.0+build.5"}},
	{path: "/@types/node/20.1.0", want: Request{Kind: KindVersion, Name: "@types/node", Version: "20.1.0"}},
	{path: "/@types%2fnode/next", want: Request{Kind: KindVersion, Name: "@types/node", Version: "next"}},
	{path: "/left-pad/-/left-pad-1.3.0.tgz", want: Request{Kind: KindTarball, Name: "left-pad", Version: "1.3.0", File: "left-pad-1.3.0.tgz"}},
	{path: "/left-pad/-/left-pad-2.0.0-rc.1.tgz", want: Request{Kind: KindTarball, Name: "left-pad", Version: "2.0.0-rc.1", File: "left-pad-2.0.0-rc.1.tgz"}},
	{path: "/express/-/express-1.0.0beta.tgz", want: Request{Kind: KindTarball, Name: "express", Version: "1.0.0beta", File: "express-1.0.0beta.tgz"}},
	{path: "/@types/node/-/node-20.1.0.tgz", want: Request{Kind: KindTarball, Name: "@types/node", Version: "20.1.0", File: "node-20.1.0.tgz"}},
	{path: "/@types%2fnode/-/node-20.1.0.tgz", want: Request{Kind: KindTarball, Name: "@types/node", Version: "20.1.0", File: "node-20.1.0.tgz"}},
	{path: "/foo-bar/-/foo-bar-1.0.0.tgz", want: Request{Kind: KindTarball, Name: "foo-bar", Version: "1.0.0", File: "foo-bar-1.0.0.tgz"}},

	{path: "", err: "does not start with a slash"},
	{path: "left-pad", err: "does not start with a slash"},
	{path: "/", err: "is empty"},
	{path: "/.hidden", err: "starts with a dot"},
	{path: "/a%2fb", err: "escaped slash"},
	{path: "/@scope", err: "needs a slash"},
	{path: "/@scope/", err: "package part after the scope is empty"},
	{path: "/@scope/a%2fb", err: "escaped slash"},
	{path: "/@scope%2fa%2fb", err: "slash"},
	{path: "/%zz", err: "malformed"},
	{path: "/left-pad/%zz", err: "malformed"},
	{path: "/left-pad/", err: "is empty"},
	{path: "/left-pad/..", err: "dot segment"},
	{path: "/left-pad/1.0.0%2f..", err: `'/'`},
	{path: "/left-pad/a%20b", err: `' '`},
	{path: "/left-pad/" + strings.Repeat("1", 257), err: "longer than 256"},
	{path: "/left-pad/x/y", err: "expected /{name}/-/{file}.tgz"},
	{path: "/left-pad/-/left-pad-1.3.0.tar.gz", err: "end in .tgz"},
	{path: "/left-pad/-/right-pad-1.3.0.tgz", err: "not a tarball of left-pad"},
	{path: "/left-pad/-/left-pad-.tgz", err: "not a tarball of left-pad"},
	{path: "/left-pad/-/left-pad-latest.tgz", err: "not a tarball of left-pad"},
	{path: "/foo/-/foo-bar-1.0.0.tgz", err: "not a tarball of foo"},
	{path: "/@types/node/-/@types-node-1.0.0.tgz", err: "not a tarball of @types/node"},
	{path: "/left-pad/-/left-pad-1.0%2F.tgz", err: `'/'`},
	{path: "/left-pad/-/left-pad-1.3.0.tgz/x", err: "too many segments"},
	{path: "/-/ping", err: "registry endpoint"},
	{path: "/-/v1/search", err: "registry endpoint"},
	{path: "/a b", err: "space"},
}

func TestParseRequestPath(t *testing.T) {
	for _, tt := range pathTests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := ParseRequestPath(tt.path)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Errorf("ParseRequestPath(%q) = %+v, %v, want %+v", tt.path, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseRequestPath(%q) = %+v, want an error about %s", tt.path, got, tt.err)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRequestPath(%q) error = %q, want it to mention %s", tt.path, err, tt.err)
			}
			if !errors.Is(err, ErrInvalidPath) && !errors.Is(err, ErrInvalidName) {
				t.Errorf("ParseRequestPath(%q) error %T matches neither ErrInvalidPath nor ErrInvalidName", tt.path, err)
			}
			if got != (Request{}) {
				t.Errorf("ParseRequestPath(%q) returned %+v with its error, want the zero Request", tt.path, got)
			}
		})
	}
}

func TestTarballPath(t *testing.T) {
	tests := []struct {
		name, version, want string
	}{
		{"left-pad", "1.3.0", "/left-pad/-/left-pad-1.3.0.tgz"},
		{"@types/node", "20.1.0", "/@types/node/-/node-20.1.0.tgz"},
		{"JSONStream", "1.0.0-rc.1+build.7", "/JSONStream/-/JSONStream-1.0.0-rc.1+build.7.tgz"},
		{"express", "1.0.0beta", "/express/-/express-1.0.0beta.tgz"},
		{"odd", "1.0.0/../x y", "/odd/-/odd-1.0.0%2F..%2Fx%20y.tgz"},
	}
	for _, tt := range tests {
		if got := TarballPath(tt.name, tt.version); got != tt.want {
			t.Errorf("TarballPath(%q, %q) = %q, want %q", tt.name, tt.version, got, tt.want)
		}
	}
	// What TarballPath writes, ParseRequestPath reads back.
	for _, tt := range tests[:4] {
		req, err := ParseRequestPath(TarballPath(tt.name, tt.version))
		if err != nil || req.Kind != KindTarball || req.Name != tt.name || req.Version != tt.version {
			t.Errorf("ParseRequestPath(TarballPath(%q, %q)) = %+v, %v", tt.name, tt.version, req, err)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindPackument: "packument", KindVersion: "version", KindTarball: "tarball", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func FuzzParseRequestPath(f *testing.F) {
	for _, tt := range pathTests {
		f.Add(tt.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := ParseRequestPath(path)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) && !errors.Is(err, ErrInvalidName) {
				t.Fatalf("ParseRequestPath(%q) error %#v is neither a path nor a name error", path, err)
			}
			return
		}
		if err := ValidateName(req.Name); err != nil {
			t.Fatalf("ParseRequestPath(%q) accepted name %q: %v", path, req.Name, err)
		}
		switch req.Kind {
		case KindPackument:
			if req.Version != "" || req.File != "" {
				t.Fatalf("ParseRequestPath(%q) = %+v: packument with a version or file", path, req)
			}
		case KindVersion:
			if refProblem(req.Version) != "" || req.File != "" {
				t.Fatalf("ParseRequestPath(%q) = %+v: bad version request", path, req)
			}
		case KindTarball:
			_, base := splitName(req.Name)
			if req.File != base+"-"+req.Version+".tgz" || refProblem(req.Version) != "" {
				t.Fatalf("ParseRequestPath(%q) = %+v: file does not match name and version", path, req)
			}
			back, err := ParseRequestPath(TarballPath(req.Name, req.Version))
			if err != nil || back != req {
				t.Fatalf("TarballPath round trip of %+v = %+v, %v", req, back, err)
			}
		default:
			t.Fatalf("ParseRequestPath(%q) kind %v", path, req.Kind)
		}
	})
}
