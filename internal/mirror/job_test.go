package mirror

import (
	"errors"
	"strings"
	"testing"
)

func validJob() Job {
	return Job{
		Mount: "npm", Ecosystem: EcosystemNPM, Name: "@scope/pkg", Version: "1.2.3-beta.1+build.5",
		Upstream: "https://public.example/", Tarball: "https://public.example/@scope/pkg/-/pkg-1.2.3-beta.1+build.5.tgz",
		Integrity: sriOf([]byte("x")),
	}
}

func TestJobRoundTrip(t *testing.T) {
	j := validJob()
	b, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"v":1,`) {
		t.Errorf("Encode = %s, want the version first", b)
	}
	got, err := DecodeJob(b)
	if err != nil || got != j {
		t.Errorf("DecodeJob(Encode(j)) = %+v, %v, want %+v", got, err, j)
	}
}

func TestJobKey(t *testing.T) {
	a := validJob()
	for _, edit := range []func(*Job){
		func(j *Job) { j.Mount = "other" },
		func(j *Job) { j.Name = "@scope/other" },
		func(j *Job) { j.Version = "1.2.4" },
		func(j *Job) { j.Integrity = sriOf([]byte("y")) },
	} {
		b := a
		edit(&b)
		if a.Key() == b.Key() {
			t.Errorf("Key(%+v) = Key(%+v), want them different", a, b)
		}
	}
	b := a
	b.Tarball = "https://public.example/elsewhere.tgz"
	if a.Key() != b.Key() {
		t.Error("Key depends on the tarball URL; the same copy is asked for")
	}
}

func TestDecodeJobRejects(t *testing.T) {
	good := string(mustEncode(t, validJob()))
	tests := []struct {
		name, body string
	}{
		{"empty", ""},
		{"not json", "not json"},
		{"array", "[]"},
		{"no version", strings.Replace(good, `"v":1,`, ``, 1)},
		{"future version", strings.Replace(good, `"v":1`, `"v":2`, 1)},
		{"unknown member", strings.Replace(good, `"v":1,`, `"v":1,"extra":true,`, 1)},
		{"repeated member", strings.Replace(good, `"v":1,`, `"v":1,"v":1,`, 1)},
		{"trailing data", good + "{}"},
		{"other ecosystem", strings.Replace(good, `"ecosystem":"npm"`, `"ecosystem":"go"`, 1)},
		{"bad name", strings.Replace(good, `"name":"@scope/pkg"`, `"name":"../etc"`, 1)},
		{"no mount", strings.Replace(good, `"mount":"npm"`, `"mount":""`, 1)},
		{"control character", strings.Replace(good, `"mount":"npm"`, `"mount":"n\u0000pm"`, 1)},
		{"version with a slash", strings.Replace(good, `"version":"1.2.3-beta.1+build.5"`, `"version":"1/2"`, 1)},
		{"relative tarball", strings.Replace(good, `"tarball":"https://public.example/@scope/pkg/-/pkg-1.2.3-beta.1+build.5.tgz"`, `"tarball":"/x.tgz"`, 1)},
		{"file upstream", strings.Replace(good, `"upstream":"https://public.example/"`, `"upstream":"file:///etc/"`, 1)},
		{"credentials in a URL", strings.Replace(good, `"upstream":"https://public.example/"`, `"upstream":"https://u:p@public.example/"`, 1)},
		{"sha1 only", strings.Replace(good, validJob().Integrity, "sha1-C+7Hteo/D9vJXQ3UfzxbwnXaijM=", 1)},
		{"malformed digest", strings.Replace(good, validJob().Integrity, "sha512-abc", 1)},
		{"too large", `{"v":1,"mount":"` + strings.Repeat("m", MaxJobBytes) + `"}`},
		{"invalid utf-8", strings.Replace(good, `"mount":"npm"`, "\"mount\":\"n\xffpm\"", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if j, err := DecodeJob([]byte(tt.body)); !errors.Is(err, ErrInvalidJob) {
				t.Errorf("DecodeJob(%.80q) = %+v, %v, want ErrInvalidJob", tt.body, j, err)
			}
		})
	}
}

func TestEncodeRejectsInvalidJob(t *testing.T) {
	j := validJob()
	j.Ecosystem = ""
	if _, err := j.Encode(); !errors.Is(err, ErrInvalidJob) {
		t.Errorf("Encode of a job without ecosystem = %v, want ErrInvalidJob", err)
	}
}

// FuzzDecodeJob: DecodeJob never panics, and what it accepts encodes back to a payload
// that decodes to the same job.
func FuzzDecodeJob(f *testing.F) {
	good, _ := validJob().Encode()
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"mount":"npm","ecosystem":"npm","name":"a","version":"1","upstream":"http://h/","tarball":"http://h/a.tgz","integrity":"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := DecodeJob(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidJob) {
				t.Fatalf("DecodeJob error %v does not match ErrInvalidJob", err)
			}
			return
		}
		again, err := j.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded job: %v", err)
		}
		j2, err := DecodeJob(again)
		if err != nil || j2 != j {
			t.Fatalf("round trip: %+v, %v, want %+v", j2, err, j)
		}
	})
}
