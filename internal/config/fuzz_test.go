package config

import "testing"

func FuzzParseDocument(f *testing.F) {
	seeds := []string{
		`{}`,
		`{"rules":{"min-age":{"ageSeconds":1209600},"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`,
		`{"rules":{"min-age":null}}`,
		`{"rules":{"x":{"type":"AllowPackages","packages":["a",{"pattern":"b@^1","reason":"r","expires":"2030-01-01"}]}}}`,
		`{"internal":["@corp/*"],"egress":{"allowedHosts":["a.example.test"]},"credentialStrategy":"service"}`,
		`{"mounts":{"npm":{"path":"/","privateUpstreamUrl":"http://x/"}}}`,
		`{"signing":"all","mounts":{"npm":{"path":"/","signing":"warn"},"go":{"path":"/go/","ecosystem":"go","signing":1}}}`,
		`{"rules":{"a":{"x":1}}} trailing`,
		`[1,2,3]`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := ParseDocument([]byte(doc))
		if err == nil && d == nil {
			t.Fatal("nil document without error")
		}
		// The whole loader must hold up too, with the document inline.
		_, _ = Load(Source{Getenv: env(map[string]string{"PROXY_CONFIG": doc})})
	})
}
