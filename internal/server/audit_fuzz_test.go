package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Encodings a fuzzed body is sent with.
const (
	fuzzPlain      = iota // as is
	fuzzGzipped           // gzip-compressed, announced
	fuzzClaimsGzip        // as is, but announced as gzip
)

// fuzzAudit posts body to path with encoding enc and checks the answer: a 200 whose
// body is JSON of the endpoint's shape, or a 400 JSON error; never a 5xx or a panic
// (which the front door would turn into a 500).
func fuzzAudit(t *testing.T, s *Server, path string, body []byte, enc uint8, check func([]byte) error) {
	header := http.Header{}
	switch enc % 3 {
	case fuzzGzipped:
		body = gzipBytes(t, body)
		header.Set("Content-Encoding", "gzip")
	case fuzzClaimsGzip:
		header.Set("Content-Encoding", "gzip")
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header = header
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	switch w.Code {
	case http.StatusOK:
		if err := check(w.Body.Bytes()); err != nil {
			t.Fatalf("POST %s %q = 200 with a body of the wrong shape: %v\n%s", path, body, err, w.Body)
		}
	case http.StatusBadRequest:
		var e errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Fatalf("POST %s %q = 400 without a JSON error: %s", path, body, w.Body)
		}
	default:
		t.Fatalf("POST %s %q = %d %s, want 200 or 400", path, body, w.Code, w.Body)
	}
}

func FuzzAuditBulk(f *testing.F) {
	s := auditServer(f, fakeIndex{testSnapshot(f, 1, osvRecords)})
	for _, seed := range []string{
		`{"left-pad":["1.0.0"]}`, `{"left-pad":["1.1.5","2.0.0"],"evil-pkg":["0.0.1"]}`,
		`{"@scope/lib":["1.4.9"],"nested-dep":["1.0.0"]}`, `{}`, `[]`, `{"left-pad":"1.0.0"}`,
		`{"left-pad":[1,null,true]}`, `{".x":["1"]}`, `{"a":["1"]} x`, ``, `{"left-pad":["v1.0.0","=1.0.0","1.0.0+build"]}`,
	} {
		for enc := range uint8(3) {
			f.Add([]byte(seed), enc)
		}
	}
	for _, tt := range badRequests {
		if tt.path == auditBulkPath && tt.big == nil {
			f.Add([]byte(tt.body), uint8(fuzzPlain))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, enc uint8) {
		fuzzAudit(t, s, auditBulkPath, body, enc, func(b []byte) error {
			var v map[string][]bulkAdvisory
			return json.Unmarshal(b, &v)
		})
	})
}

func FuzzAuditQuick(f *testing.F) {
	s := auditServer(f, fakeIndex{testSnapshot(f, 1, osvRecords)})
	for _, seed := range []string{
		`{"requires":{"left-pad":"^1.0.0"},"dependencies":{"left-pad":{"version":"1.0.0"}}}`,
		`{"requires":{"a":"1"},"dependencies":{"a":{"version":"1.0.0","requires":{"left-pad":"1.0.0"},"dependencies":{"left-pad":{"version":"1.0.0","dev":true}}}}}`,
		`{"dependencies":{"x":{"version":"npm:evil-pkg@0.0.1","bundled":true}}}`,
		`{"requires":true,"dependencies":{}}`, `{}`, `{"dependencies":[]}`, `{"x":[[[{}]]]}`, ``, `null`,
		nested(3),
	} {
		for enc := range uint8(3) {
			f.Add([]byte(seed), enc)
		}
	}
	for _, tt := range badRequests {
		if tt.path == auditQuickPath && tt.big == nil {
			f.Add([]byte(tt.body), uint8(fuzzPlain))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, enc uint8) {
		fuzzAudit(t, s, auditQuickPath, body, enc, func(b []byte) error {
			var v quickReport
			return json.Unmarshal(b, &v)
		})
	})
}
