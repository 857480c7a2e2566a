package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestTarballManifestSetting(t *testing.T) {
	for _, tc := range []struct {
		name     string
		doc      string
		want     TarballManifest
		problems []string // substrings, one per problem, in order
	}{
		{name: "absent", doc: `{}`, want: TarballManifest{Scripts: "refuse", Dependencies: "warn"}},
		{name: "null", doc: `{"tarballManifest":null}`, want: TarballManifest{Scripts: "refuse", Dependencies: "warn"}},
		{name: "empty object", doc: `{"tarballManifest":{}}`, want: TarballManifest{Scripts: "refuse", Dependencies: "warn"}},
		{name: "both set", doc: `{"tarballManifest":{"scripts":"warn","dependencies":"refuse"}}`, want: TarballManifest{Scripts: "warn", Dependencies: "refuse"}},
		{name: "one set", doc: `{"tarballManifest":{"dependencies":"refuse"}}`, want: TarballManifest{Scripts: "refuse", Dependencies: "refuse"}},
		{name: "unknown values", doc: `{"tarballManifest":{"scripts":"off","dependencies":"Refuse"}}`,
			problems: []string{`tarballManifest.scripts: unknown value "off" (want refuse or warn)`, `tarballManifest.dependencies: unknown value "Refuse"`}},
		{name: "unknown key and wrong type", doc: `{"tarballManifest":{"script":"warn","dependencies":true,"scripts":""}}`,
			problems: []string{`tarballManifest.dependencies: expected "refuse" or "warn", got true`, `tarballManifest.script: unknown key`, `tarballManifest.scripts: expected "refuse" or "warn", got ""`}},
		{name: "not an object", doc: `{"tarballManifest":"refuse"}`, problems: []string{`tarballManifest: expected an object`}},
		{name: "reported with the other problems", doc: `{"tarballManifest":{"scripts":"x"},"credentialStrategy":"y"}`,
			problems: []string{`credentialStrategy: unknown value "y"`, `tarballManifest.scripts: unknown value "x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, problems := Load(Source{Getenv: env(map[string]string{"PROXY_CONFIG": tc.doc})})
			if len(problems) != len(tc.problems) {
				t.Fatalf("Load(%s) problems = %v, want %d", tc.doc, problems, len(tc.problems))
			}
			for i, want := range tc.problems {
				if got := problems[i].String(); !strings.Contains(got, want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, want)
				}
			}
			if len(tc.problems) > 0 {
				return
			}
			if c.TarballManifest != tc.want {
				t.Errorf("TarballManifest = %+v, want %+v", c.TarballManifest, tc.want)
			}
			var eff map[string]json.RawMessage
			b, _ := json.Marshal(c.Effective())
			if err := json.Unmarshal(b, &eff); err != nil {
				t.Fatal(err)
			}
			var got TarballManifest
			if err := json.Unmarshal(eff["tarballManifest"], &got); err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("check-config shows tarballManifest %s, want %+v", eff["tarballManifest"], tc.want)
			}
		})
	}
}
