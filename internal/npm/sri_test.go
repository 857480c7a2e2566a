package npm

import (
	"encoding/base64"
	"strings"
	"testing"
)

// b64 returns the padded standard base64 of n bytes, for building digests of a given size.
func b64(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

var (
	d256  = b64(32)
	d384  = b64(48)
	d512  = b64(64)
	dSHA1 = b64(20)
)

var sriTests = []struct {
	name      string
	in        string
	want      []Digest
	strongest Algorithm
}{
	{name: "empty", in: "", strongest: AlgorithmNone},
	{name: "only whitespace", in: " \t\n ", strongest: AlgorithmNone},
	{name: "sha512", in: "sha512-" + d512, want: []Digest{{SHA512, d512, ""}}, strongest: SHA512},
	{name: "sha256", in: "sha256-" + d256, want: []Digest{{SHA256, d256, ""}}, strongest: SHA256},
	{name: "sha384", in: "sha384-" + d384, want: []Digest{{SHA384, d384, ""}}, strongest: SHA384},
	{name: "blake2b", in: "blake2b-" + d512, want: []Digest{{BLAKE2b, d512, ""}}, strongest: BLAKE2b},
	{name: "sha1 is unknown", in: "sha1-" + dSHA1, strongest: AlgorithmNone},
	{name: "md5 is unknown", in: "md5-" + b64(16), strongest: AlgorithmNone},
	{name: "upper case name is unknown", in: "SHA512-" + d512, strongest: AlgorithmNone},
	{name: "no dash", in: "sha512" + d512, strongest: AlgorithmNone},
	{name: "empty value", in: "sha512-", strongest: AlgorithmNone},
	{name: "sha512 value too short", in: "sha512-" + d256, strongest: AlgorithmNone},
	{name: "sha256 value too long", in: "sha256-" + d512, strongest: AlgorithmNone},
	{name: "unpadded is malformed", in: "sha256-" + strings.TrimRight(d256, "="), strongest: AlgorithmNone},
	{name: "url alphabet is malformed", in: "sha512-" + strings.Replace(d512, "A", "_", 1), strongest: AlgorithmNone},
	{name: "padding inside", in: "sha512-" + "A=" + d512[2:], strongest: AlgorithmNone},
	{name: "three pads", in: "sha256-" + d256[:len(d256)-3] + "===", strongest: AlgorithmNone},
	{name: "options kept", in: "sha384-" + d384 + "?foo=bar", want: []Digest{{SHA384, d384, "foo=bar"}}, strongest: SHA384},
	{name: "empty options", in: "sha384-" + d384 + "?", want: []Digest{{SHA384, d384, ""}}, strongest: SHA384},
	{
		name: "several, strongest wins",
		in:   "sha1-" + dSHA1 + " sha256-" + d256 + "\tsha512-" + d512 + "\n",
		want: []Digest{{SHA256, d256, ""}, {SHA512, d512, ""}}, strongest: SHA512,
	},
	{
		name: "malformed strong does not count",
		in:   "sha512-!!!! sha256-" + d256,
		want: []Digest{{SHA256, d256, ""}}, strongest: SHA256,
	},
	{
		name: "tie prefers sha512 either order",
		in:   "blake2b-" + d512 + " sha512-" + d512,
		want: []Digest{{BLAKE2b, d512, ""}, {SHA512, d512, ""}}, strongest: SHA512,
	},
	{name: "leading and trailing space", in: "  sha256-" + d256 + "  ", want: []Digest{{SHA256, d256, ""}}, strongest: SHA256},
}

func TestParseSRI(t *testing.T) {
	for _, tt := range sriTests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseSRI(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("ParseSRI(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("ParseSRI(%q)[%d] = %+v, want %+v", tt.in, i, got[i], tt.want[i])
				}
			}
			if got := StrongestAlgorithm(tt.in); got != tt.strongest {
				t.Errorf("StrongestAlgorithm(%q) = %v, want %v", tt.in, got, tt.strongest)
			}
		})
	}
}

func TestAlgorithm(t *testing.T) {
	tests := []struct {
		name     string
		alg      Algorithm
		size     int
		strength int
	}{
		{"", AlgorithmNone, 0, 0},
		{"sha256", SHA256, 32, 256},
		{"sha384", SHA384, 48, 384},
		{"sha512", SHA512, 64, 512},
		{"blake2b", BLAKE2b, 64, 512},
	}
	for _, tt := range tests {
		if tt.name != "" {
			if got := ParseAlgorithm(tt.name); got != tt.alg {
				t.Errorf("ParseAlgorithm(%q) = %v, want %v", tt.name, got, tt.alg)
			}
		}
		if got := tt.alg.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.alg, got, tt.name)
		}
		if got := tt.alg.Size(); got != tt.size {
			t.Errorf("%v.Size() = %d, want %d", tt.alg, got, tt.size)
		}
		if got := tt.alg.Strength(); got != tt.strength {
			t.Errorf("%v.Strength() = %d, want %d", tt.alg, got, tt.strength)
		}
	}
	for _, name := range []string{"sha1", "md5", "SHA256", "sha-256", ""} {
		if got := ParseAlgorithm(name); got != AlgorithmNone {
			t.Errorf("ParseAlgorithm(%q) = %v, want none", name, got)
		}
	}
	atLeast := []struct {
		a, floor Algorithm
		want     bool
	}{
		{SHA256, SHA256, true},
		{SHA384, SHA256, true},
		{SHA256, SHA384, false},
		{SHA512, BLAKE2b, true},
		{BLAKE2b, SHA512, true},
		{BLAKE2b, SHA384, true},
		{AlgorithmNone, SHA256, false},
		{AlgorithmNone, AlgorithmNone, false},
	}
	for _, tt := range atLeast {
		if got := tt.a.AtLeast(tt.floor); got != tt.want {
			t.Errorf("%v.AtLeast(%v) = %v, want %v", tt.a, tt.floor, got, tt.want)
		}
	}
}

func TestStrongestAlgorithmAllocs(t *testing.T) {
	in := "sha1-" + dSHA1 + " sha512-" + d512 + " sha256-" + d256
	if n := testing.AllocsPerRun(100, func() { _ = StrongestAlgorithm(in) }); n != 0 {
		t.Errorf("StrongestAlgorithm allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = ParseSRI(in) }); n != 1 {
		t.Errorf("ParseSRI allocates %v times per call, want 1", n)
	}
}

// referenceSRI is a plain, allocation-happy restatement of the parser's contract that
// the fuzz test compares the real one against.
func referenceSRI(s string) []Digest {
	var out []Digest
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isSRISpace(byte(r)) }) {
		name, rest, ok := strings.Cut(tok, "-")
		if !ok {
			continue
		}
		alg := ParseAlgorithm(name)
		if alg == AlgorithmNone {
			continue
		}
		value, opts, _ := strings.Cut(rest, "?")
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil || len(raw) != alg.Size() {
			continue
		}
		out = append(out, Digest{alg, value, opts})
	}
	return out
}

func FuzzParseSRI(f *testing.F) {
	for _, tt := range sriTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ParseSRI(s)
		want := referenceSRI(s)
		if len(got) != len(want) {
			t.Fatalf("ParseSRI(%q) = %v, reference %v", s, got, want)
		}
		best := AlgorithmNone
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("ParseSRI(%q)[%d] = %+v, reference %+v", s, i, got[i], want[i])
			}
			if got[i].Algorithm.stronger(best) {
				best = got[i].Algorithm
			}
		}
		if s := StrongestAlgorithm(s); s != best {
			t.Fatalf("StrongestAlgorithm = %v, want %v", s, best)
		}
	})
}

func FuzzBase64DecodedLen(f *testing.F) {
	for _, s := range []string{"", "AA==", "AAA=", "AAAA", "A===", "====", d256, d512, "AB=C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") {
			return // the standard decoder skips line breaks; the tokenizer never passes them
		}
		want := -1
		if raw, err := base64.StdEncoding.DecodeString(s); err == nil && len(s) > 0 {
			want = len(raw)
		}
		if got := base64DecodedLen(s); got != want {
			t.Fatalf("base64DecodedLen(%q) = %d, want %d", s, got, want)
		}
	})
}

func BenchmarkStrongestAlgorithm(b *testing.B) {
	in := "sha512-" + d512
	b.ReportAllocs()
	for b.Loop() {
		_ = StrongestAlgorithm(in)
	}
}

func BenchmarkParseSRI(b *testing.B) {
	in := "sha1-" + dSHA1 + " sha512-" + d512
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseSRI(in)
	}
}
