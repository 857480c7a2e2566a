package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/npm"
)

// patternByte reports whether c may appear in a compiled name pattern.
func patternByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!'()*@/", c) >= 0
}

// FuzzCompilePattern compiles fuzzed package-list entries. A refused entry yields an
// error and no pattern at all; an accepted one is at most maxPatternLen bytes of npm
// name characters and "*", splits again into the same name and range, has a range npm's
// ordering accepts, matches its own name with each "*" taken as empty, and, when
// it carries an expiry (allow lists only), is active up to that instant and not at it.
// parseExpiry refuses with a zero time, and reads a date as lasting through that UTC day.
func FuzzCompilePattern(f *testing.F) {
	for _, tt := range globTests {
		f.Add(tt.pat, "", "", true, tt.name)
	}
	for _, s := range []string{"left-pad", "left-pad@1.3.0", "typescript@>=5.0.0 <6", "@corp/*", "@types/*@^18",
		"@types/node@18.x || 20.x", "eslint-plugin-*@*", "Uppercase_OK.js", "", "@", "@@", "@corp", "@corp/", "@/x",
		"x/y", "a b", "foo@", "foo@ ", "@a/b/c", "é", "x@not a range", strings.Repeat("a", maxPatternLen+1)} {
		f.Add(s, "r", "", true, "left-pad")
		f.Add(s, "", "2026-12-31", false, "@corp/ui")
	}
	for _, e := range []string{"2026-12-31", "2026-12-31T18:00:00Z", "2026-12-31T18:00:00+02:00", "2026-02-30",
		"31/12/2026", "2026-12-31 18:00:00", "tomorrow", "9999-12-31", "0000-01-01T00:00:00.999999999-23:59"} {
		f.Add("x", "", e, true, "x")
	}
	f.Fuzz(func(t *testing.T, pat, reason, expires string, allowExpiry bool, name string) {
		p, err := compilePattern(packageEntry{pattern: pat, reason: reason, expires: expires}, allowExpiry, &npmOptions)
		if err != nil {
			if p.text != "" || p.reason != "" || p.expiresText != "" || p.inRange != nil || p.name.shape != shapeNone || !p.expires.IsZero() {
				t.Fatalf("compilePattern(%q) = %+v with error %v", pat, p, err)
			}
			if !errors.Is(err, errPattern) && !strings.Contains(err.Error(), "expires") {
				t.Fatalf("compilePattern(%q) error %q is neither a pattern nor an expiry error", pat, err)
			}
		} else {
			checkPattern(t, pat, reason, expires, allowExpiry, name, p)
		}

		at, err := parseExpiry(expires)
		if err != nil {
			if !at.IsZero() {
				t.Fatalf("parseExpiry(%q) = %v with error %v", expires, at, err)
			}
			return
		}
		if day, derr := time.Parse(time.DateOnly, expires); derr == nil {
			if !at.Equal(day.AddDate(0, 0, 1)) || at.Location() != time.UTC || at.Hour() != 0 {
				t.Fatalf("parseExpiry(%q) = %v, want the end of that UTC day", expires, at)
			}
			return
		}
		back, err := time.Parse(time.RFC3339Nano, at.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(at) {
			t.Fatalf("parseExpiry(%q) = %v, which does not read back (%v)", expires, at, err)
		}
	})
}

func checkPattern(t *testing.T, pat, reason, expires string, allowExpiry bool, name string, p pattern) {
	t.Helper()
	if len(pat) == 0 || len(pat) > maxPatternLen || p.text != pat || p.reason != reason || p.expiresText != expires {
		t.Fatalf("compilePattern(%q) = %+v", pat, p)
	}
	pname := p.name.String()
	for i := 0; i < len(pname); i++ {
		if !patternByte(pname[i]) {
			t.Fatalf("compilePattern(%q) accepted name %q holding %q", pat, pname, pname[i])
		}
	}
	if err := checkNamePattern(pname); err != nil {
		t.Fatalf("compilePattern(%q) accepted name %q: %v", pat, pname, err)
	}
	n, rng, err := splitPattern(pat, "")
	if err != nil || n != pname {
		t.Fatalf("splitPattern(%q) = %q, %v; compiled name %q", pat, n, err, pname)
	}
	if (rng == "") != (p.inRange == nil) {
		t.Fatalf("compilePattern(%q): range %q, compiled %v", pat, rng, p.inRange != nil)
	}
	if rest, ok := strings.CutPrefix(pat, pname); !ok || rng == "" && rest != "" || rng != "" && (!strings.HasPrefix(rest, "@") || strings.TrimSpace(rest[1:]) != rng) {
		t.Fatalf("compilePattern(%q) split into name %q and range %q", pat, pname, rng)
	}
	if rng != "" {
		if _, err := (npm.Semver{}).CompileRange(rng); err != nil {
			t.Fatalf("compilePattern(%q) accepted range %q: %v", pat, rng, err)
		}
	}
	literal := !strings.Contains(pname, "*")
	if literal != (p.name.shape == shapeLiteral) {
		t.Fatalf("compilePattern(%q) shape = %v", pat, p.name.shape)
	}
	if !p.name.Match(strings.ReplaceAll(pname, "*", "")) {
		t.Fatalf("pattern %q does not match its own name with the stars empty", pat)
	}
	if !strings.Contains(pname, "**") {
		if got, want := p.name.Match(name), globMatch(pname, name); got != want {
			t.Fatalf("pattern %q Match(%q) = %v, globMatch %v", pat, name, got, want)
		}
	}
	if literal && p.name.Match(name) != (name == pname) {
		t.Fatalf("literal pattern %q Match(%q) = %v", pat, name, !(name == pname))
	}
	if expires == "" {
		if !p.expires.IsZero() || !p.active(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("compilePattern(%q) without expires has expiry %v", pat, p.expires)
		}
		return
	}
	if !allowExpiry {
		t.Fatalf("compilePattern(%q) accepted expires %q on a deny entry", pat, expires)
	}
	if p.expires.IsZero() || p.active(p.expires) || !p.active(p.expires.Add(-time.Nanosecond)) {
		t.Fatalf("compilePattern(%q, expires %q) = expiry %v, wrong activity around it", pat, expires, p.expires)
	}
}

// FuzzIntegrityFloor feeds a fuzzed floor setting and an upstream SRI string to the
// integrity floor. A floor is never weaker than sha256, even when it is refused (as a
// *Error on the setting, wrapping ErrWeakFloor); FloorCheck passes exactly when a
// well-formed digest reaches the floor and names the strongest one; and the prose that
// describes an integrity field in a denial is one line of printable ASCII naming only
// algorithms the field named.
func FuzzIntegrityFloor(f *testing.F) {
	for _, floor := range []string{"", "sha256", " SHA512 ", "sha384", "blake2b", "sha1", "md5", "sha-1", "sha224", "crc32", "ｓｈａ２５６"} {
		f.Add(floor, sha512Integrity, "")
		f.Add(floor, sha256Integrity+" "+sha1Integrity, "a")
	}
	for _, in := range []string{"", " ", sha1Integrity, "sha512-short", "md5-x md5-y sha1-z", "x-" + strings.Repeat("a", 20),
		"sha512-" + strings.Repeat("A", 86) + "== blake2b-" + strings.Repeat("A", 86) + "==", "\x00-a é-b"} {
		f.Add("sha512", in, "0123456789abcdef0123456789abcdef01234567")
	}
	f.Fuzz(func(t *testing.T, floor, integrity, shasum string) {
		a, err := parseFloor(floor)
		if a.strength() < algSHA256.strength() {
			t.Fatalf("parseFloor(%q) = %v, weaker than sha256", floor, a)
		}
		name := strings.ToLower(strings.TrimSpace(floor))
		if err != nil {
			var pe *Error
			if a != algSHA256 || !errors.As(err, &pe) || pe.Path != floorSetting || !errors.Is(err, ErrWeakFloor) {
				t.Fatalf("parseFloor(%q) = %v, %#v", floor, a, err)
			}
		} else if name != "" && a.String() != name || name == "" && a != algSHA256 {
			t.Fatalf("parseFloor(%q) = %v", floor, a)
		}

		digests := sriDigests(integrity, shasum)
		if err == nil {
			p, errs := Build(nil, Options{MinIntegrity: floor})
			if len(errs) > 0 {
				t.Fatalf("Build with floor %q: %v", floor, errs)
			}
			// npm's own SRI parser is the reference for what is well formed.
			ok, strongest := p.FloorCheck(digests)
			best := npm.AlgorithmNone
			for _, d := range npm.ParseSRI(integrity) {
				if d.Algorithm.Strength() > best.Strength() || best != npm.AlgorithmNone && d.Algorithm.Strength() == best.Strength() && d.Algorithm < best {
					best = d.Algorithm
				}
			}
			if strongest != best.String() || ok != (best != npm.AlgorithmNone && best.Strength() >= a.strength()) {
				t.Fatalf("FloorCheck(%q) under %v = %v, %q; strongest well-formed digest is %v", integrity, a, ok, strongest, best)
			}
			if got := meetsFloor(digests, p.floor); got != ok {
				t.Fatalf("meetsFloor(%q) under %v = %v, FloorCheck says %v", integrity, a, got, ok)
			}
		}

		d := describeIntegrity(digests)
		if d == "" {
			t.Fatalf("describeIntegrity(%q) is empty", integrity)
		}
		for i := 0; i < len(d); i++ {
			if c := d[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("describeIntegrity(%q) = %q holds %q", integrity, d, c)
			}
		}
		if rest, ok := strings.CutPrefix(d, "only "); ok && rest != "a legacy sha1 shasum" {
			for _, alg := range strings.Split(rest, ", ") {
				if !printableAlg(alg) || !strings.Contains(integrity, alg) {
					t.Fatalf("describeIntegrity(%q) = %q names %q", integrity, d, alg)
				}
			}
		}
		// Not asserted while it fails: a bound on the length of this prose; an upstream
		// integrity field of many distinct algorithm names makes it as long as the field.
	})
}

// FuzzClip feeds upstream prose (deprecation messages, reasons) to clip. The result is
// one line with single spaces, at most 160 bytes plus an ellipsis, a prefix of the
// prose with its whitespace collapsed, and valid UTF-8 when the prose is.
func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "use 2.x", "  a \n\t b  ", strings.Repeat("é", 100), strings.Repeat("ab ", 100), "x\u00a0y\u2028z", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := clip(s)
		norm := strings.Join(strings.Fields(s), " ")
		body, cut := strings.CutSuffix(c, "…")
		if !cut || len(norm) <= 160 {
			body = c
		}
		if len(body) > 160 || !strings.HasPrefix(norm, body) || (len(norm) <= 160) != (c == norm) {
			t.Fatalf("clip(%q) = %q, want at most 160 bytes of %q", s, c, norm)
		}
		if strings.ContainsFunc(body, func(r rune) bool { return unicode.IsSpace(r) && r != ' ' }) || strings.Contains(body, "  ") {
			t.Fatalf("clip(%q) = %q is not one line with single spaces", s, c)
		}
		if utf8.ValidString(s) && !utf8.ValidString(c) {
			t.Fatalf("clip(%q) = %q is not valid UTF-8", s, c)
		}
	})
}
