package signing

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSignatures(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    []Signature
		wantErr error
	}{
		{name: "one", raw: `[{"keyid":"SHA256:abc","sig":"MEUCIQ=="}]`, want: []Signature{{KeyID: "SHA256:abc", Sig: "MEUCIQ=="}}},
		{name: "two with extra members", raw: `[{"keyid":"a","sig":"b","x":1},{"sig":"d","keyid":"c"}]`, want: []Signature{{"a", "b"}, {"c", "d"}}},
		{name: "absent", raw: "", wantErr: ErrNoSignature},
		{name: "empty array", raw: `[]`, wantErr: ErrNoSignature},
		{name: "null", raw: `null`, wantErr: ErrNoSignature},
		{name: "object", raw: `{"keyid":"a","sig":"b"}`, wantErr: ErrBadSignature},
		{name: "keyid not a string", raw: `[{"keyid":1,"sig":"b"}]`, wantErr: ErrBadSignature},
		{name: "no sig", raw: `[{"keyid":"a"}]`, wantErr: ErrBadSignature},
		{name: "empty keyid", raw: `[{"keyid":"","sig":"b"}]`, wantErr: ErrBadSignature},
		{name: "repeated keyid", raw: `[{"keyid":"a","keyid":"c","sig":"b"}]`, wantErr: ErrBadSignature},
		{name: "other case", raw: `[{"KEYID":"a","sig":"b"}]`, wantErr: ErrBadSignature},
		{name: "overlong sig", raw: `[{"keyid":"a","sig":"` + strings.Repeat("A", maxSigChars+1) + `"}]`, wantErr: ErrBadSignature},
		{name: "too many", raw: "[" + strings.Repeat(`{"keyid":"a","sig":"b"},`, maxSignatures) + `{"keyid":"a","sig":"b"}]`, wantErr: ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSignatures(tc.raw)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ParseSignatures() error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSignatures() = %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ParseSignatures() = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestParseSignaturesVerifies checks that what Sign makes, written as a registry
// writes dist.signatures, reads back and verifies.
func TestParseSignaturesVerifies(t *testing.T) {
	r, err := ParsePEM(readTestdata(t, "p256.pem"), rotationNow)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := r.Sign("@corp/lib", "1.2.3", "sha512-abc")
	if err != nil {
		t.Fatal(err)
	}
	raw := `[{"keyid":"` + sig.KeyID + `","sig":"` + sig.Sig + `"}]`
	sigs, err := ParseSignatures(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(r.PublicKeys()).Verify("@corp/lib", "1.2.3", "sha512-abc", sigs, time.Time{}); err != nil {
		t.Fatalf("Verify(ParseSignatures(signed)) = %v", err)
	}
}

// FuzzParseSignatures: no panic, bounded results, and errors that do not repeat
// the input.
func FuzzParseSignatures(f *testing.F) {
	f.Add(`[{"keyid":"SHA256:abc","sig":"MEUCIQ=="}]`)
	f.Add(`[{"keyid":"a","keyid":"b","sig":"c"}]`)
	f.Add(`[]`)
	f.Add(`{"keyid":"secret-looking"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		sigs, err := ParseSignatures(raw)
		if err != nil {
			if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrNoSignature) {
				t.Fatalf("ParseSignatures() error %v wraps neither ErrBadSignature nor ErrNoSignature", err)
			}
			if len(raw) > 8 && strings.Contains(err.Error(), raw) {
				t.Fatalf("ParseSignatures() error repeats the input: %v", err)
			}
			return
		}
		if len(sigs) == 0 || len(sigs) > maxSignatures {
			t.Fatalf("ParseSignatures() = %d signatures", len(sigs))
		}
		for _, s := range sigs {
			if s.KeyID == "" || s.Sig == "" || len(s.KeyID) > maxKeyIDChars || len(s.Sig) > maxSigChars {
				t.Fatalf("ParseSignatures() kept %+v", s)
			}
		}
	})
}
