package gomod

import (
	"errors"
	"slices"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// maxErrorText bounds an error's text however hostile the input: messages quote
// clipped input only.
const maxErrorText = 1024

func FuzzParseRequest(f *testing.F) {
	for _, tt := range requestTests {
		if len(tt.path) < 1000 {
			f.Add(tt.path)
		}
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, err := ParseRequest(path)
		if err != nil {
			var pe *PathError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("ParseRequest(%q) error %v is not a *PathError", path, err)
			}
			if len(err.Error()) > maxErrorText {
				t.Fatalf("ParseRequest(%q) error is %d bytes long", path, len(err.Error()))
			}
			return
		}
		if back := r.EscapedPath(); back != path {
			t.Fatalf("ParseRequest(%q).EscapedPath() = %q, want the input", path, back)
		}
		switch r.Kind {
		case KindInfo, KindMod, KindZip:
			if err := module.Check(r.Module, r.Version); err != nil || !IsCanonical(r.Version) {
				t.Fatalf("ParseRequest(%q) = %+v, not a canonical module version: %v", path, r, err)
			}
		case KindList, KindLatest:
			if err := module.CheckPath(r.Module); err != nil || r.Version != "" {
				t.Fatalf("ParseRequest(%q) = %+v: %v", path, r, err)
			}
		case KindSumDB:
			if r.SumDB == "" || r.SumDBPath == "" || sumDBNameProblem(r.SumDB) != "" {
				t.Fatalf("ParseRequest(%q) = %+v, a bad sumdb request", path, r)
			}
		default:
			t.Fatalf("ParseRequest(%q) = unknown kind %v", path, r.Kind)
		}
	})
}

func FuzzParseList(f *testing.F) {
	for _, tt := range listTests {
		if len(tt.body) < 10000 {
			f.Add(tt.mod, []byte(tt.body))
		}
	}
	f.Fuzz(func(t *testing.T, mod string, body []byte) {
		list, err := ParseList(mod, body)
		if err != nil {
			var le *ListError
			if !errors.As(err, &le) || !errors.Is(err, ErrInvalidList) {
				t.Fatalf("ParseList error %v is not a *ListError", err)
			}
			return
		}
		if len(list) > MaxListVersions {
			t.Fatalf("ParseList returned %d versions", len(list))
		}
		for i, v := range list {
			if len(v) > MaxVersionLength || !IsCanonical(v) || module.Check(mod, v) != nil {
				t.Fatalf("ParseList(%q) kept %q", body, v)
			}
			if i > 0 && semver.Compare(list[i-1], v) > 0 || i > 0 && list[i-1] == v {
				t.Fatalf("ParseList(%q) = %q, not sorted and distinct", body, list)
			}
		}
		back, err := ParseList(mod, RenderList(list))
		if err != nil || !slices.Equal(back, list) {
			t.Fatalf("ParseList(RenderList(%q)) = %q, %v", list, back, err)
		}
		if v, ok := Latest(list, nil); ok && !slices.Contains(list, v) {
			t.Fatalf("Latest(%q) = %q, not in the list", list, v)
		} else if !ok && len(list) > 0 {
			t.Fatalf("Latest(%q) chose nothing", list)
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	for _, tt := range infoTests {
		if len(tt.body) < 10000 {
			f.Add([]byte(tt.body), tt.want)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, want string) {
		info, err := ParseInfo(body, want)
		if err != nil {
			var ie *InfoError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidInfo) {
				t.Fatalf("ParseInfo(%q) error %v is not an *InfoError", body, err)
			}
			if len(err.Error()) > maxErrorText {
				t.Fatalf("ParseInfo(%q) error is %d bytes long", body, len(err.Error()))
			}
			return
		}
		if !IsCanonical(info.Version) || want != "" && info.Version != want || !timeInRange(info.Time) {
			t.Fatalf("ParseInfo(%q, %q) = %+v", body, want, info)
		}
		out, err := RenderInfo(info)
		if err != nil {
			t.Fatalf("RenderInfo(%+v) = %v", info, err)
		}
		if back, err := ParseInfo(out, info.Version); err != nil || back != info {
			t.Fatalf("ParseInfo(RenderInfo(%+v)) = %+v, %v", info, back, err)
		}
	})
}
