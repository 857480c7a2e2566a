package pypi

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFilename(t *testing.T) {
	tests := []struct {
		project, filename string
		kind              Kind
		version           string
	}{
		// Wheels.
		{"requests", "requests-2.31.0-py3-none-any.whl", KindWheel, "2.31.0"},
		{"django", "Django-4.2.7-py3-none-any.whl", KindWheel, "4.2.7"},
		{"zope-interface", "zope_interface-6.1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", KindWheel, "6.1"},
		{"zope-interface", "zope.interface-5.0-cp38-cp38-win_amd64.whl", KindWheel, "5.0"},
		{"foo", "foo-1.0-1-py3-none-any.whl", KindWheel, "1.0"},
		{"foo", "foo-1.0-20240101abc-py2.py3-none-any.whl", KindWheel, "1.0"},
		{"foo", "foo-1.0rc1-py3-none-any.WHL", KindWheel, "1.0rc1"},
		{"foo", "foo-1.0+local_1-py3-none-any.whl", KindWheel, "1.0+local_1"},
		{"foo-bar", "foo_bar-2!1.0.post1-cp311-abi3-macosx_10_9_universal2.whl", KindWheel, "2!1.0.post1"},
		// Source distributions, modern and legacy.
		{"requests", "requests-2.31.0.tar.gz", KindSdist, "2.31.0"},
		{"foo-bar", "foo_bar-1.0.tar.gz", KindSdist, "1.0"},
		{"foo-bar", "foo-bar-1.0.tar.gz", KindSdist, "1.0"},
		{"foo-bar", "Foo-Bar-1.0.zip", KindSdist, "1.0"},
		{"foo-bar-baz", "foo-bar-baz-2.0rc1.tar.bz2", KindSdist, "2.0rc1"},
		{"foo", "foo-1.0.tgz", KindSdist, "1.0"},
		{"foo", "foo-1.0.tar.xz", KindSdist, "1.0"},
		{"foo", "foo-1.0.tar", KindSdist, "1.0"},
		{"foo", "foo-1.0.TAR.GZ", KindSdist, "1.0"},
		{"foo", "foo-1.0-1.tar.gz", KindSdist, "1.0-1"},
		{"foo", "foo-1.0-beta.tar.gz", KindSdist, "1.0-beta"},
		{"foo-1", "foo-1-2.0.tar.gz", KindSdist, "2.0"},
		{"zope-interface", "zope.interface-4.7.1.tar.gz", KindSdist, "4.7.1"},
		// Everything else.
		{"foo", "foo-1.0-py2.7.egg", KindOther, "1.0"},
		{"foo", "foo-1.0.win32.exe", KindOther, "1.0"},
		{"foo", "foo-1.0.dev1.win-amd64-py3.8.msi", KindOther, "1.0.dev1"},
		{"foo", "foo-1.0-1.noarch.rpm", KindOther, "1.0"},
		{"foo", "foo-1.0-py2.7-macosx10.5.dmg", KindOther, "1.0"},
		{"foo-bar", "foo_bar-1.2.3-py3.8.egg", KindOther, "1.2.3"},
		{"foo", "foo.exe", KindOther, ""},
		{"foo", "bar-1.0.egg", KindOther, ""},
		{"foo", "foo-weird.egg", KindOther, ""},
		{"foo", "foo-", KindOther, ""},
		{"foo", "README", KindOther, ""},
		{"foo", ".whl", KindOther, ""},
	}
	for _, tt := range tests {
		got, err := ParseFilename(tt.project, tt.filename)
		if err != nil {
			t.Errorf("ParseFilename(%q, %q) = %v", tt.project, tt.filename, err)
			continue
		}
		if want := (FileInfo{Kind: tt.kind, Version: tt.version}); got != want {
			t.Errorf("ParseFilename(%q, %q) = %+v, want %+v", tt.project, tt.filename, got, want)
		}
	}
}

func TestParseFilenameRejects(t *testing.T) {
	tests := []struct{ project, filename, why string }{
		{"foo", "", "empty"},
		{"foo", "../foo-1.0.tar.gz", "path separator"},
		{"foo", "dir/foo-1.0.tar.gz", "path separator"},
		{"foo", `dir\foo-1.0.tar.gz`, "path separator"},
		{"foo", "foo..1.0.tar.gz", `".."`},
		{"foo", "foo-1.0\x00.tar.gz", "control character"},
		{"foo", "foo-1.0\n.whl", "control character"},
		{"foo", "foo-1.0\x7f.egg", "control character"},
		{"foo", "foo-" + strings.Repeat("1", 250) + ".tar.gz", "longer than 255 bytes"},
		{"", "foo-1.0.tar.gz", "no project name"},
		// Wheels.
		{"foo", "foo-1.0-py3-none.whl", "5 or 6 parts"},
		{"foo", "foo-1.0-1-2-py3-none-any.whl", "5 or 6 parts"},
		{"foo", "foo-1.0--py3-none-any.whl", "empty part"},
		{"foo", "bar-1.0-py3-none-any.whl", "not of"},
		{"foo", "foo-abc-py3-none-any.whl", "invalid PEP 440 version"},
		{"foo", "foo-1.0-x1-py3-none-any.whl", "build tag"},
		{"foo", "foo-1.0-py3-none-any+x.whl", "compatibility tag"},
		// Source distributions.
		{"foo", "bar-1.0.tar.gz", "does not start with the project name"},
		{"foo", "foo.tar.gz", "does not start with the project name"},
		{"foo", "foo-1.0.linux-x86_64.tar.gz", "invalid PEP 440 version"},
		{"foo", "foo-1-2.0.tar.gz", "invalid PEP 440 version"},
		{"foo", "foo- 1.0.zip", "white space"},
	}
	for _, tt := range tests {
		_, err := ParseFilename(tt.project, tt.filename)
		if err == nil {
			t.Errorf("ParseFilename(%q, %q) = nil error, want one about %s", tt.project, tt.filename, tt.why)
			continue
		}
		if !errors.Is(err, ErrInvalidFilename) {
			t.Errorf("ParseFilename(%q, %q) = %v, not an ErrInvalidFilename", tt.project, tt.filename, err)
		}
		if !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ParseFilename(%q, %q) = %v, want it to mention %s", tt.project, tt.filename, err, tt.why)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindWheel: "wheel", KindSdist: "sdist", KindOther: "other", Kind(9): "other"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
