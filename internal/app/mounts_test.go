package app

import (
	"net/http"
	"testing"

	"github.com/ecluse/ecluse/internal/npm"
)

// TestNPMMountUnderPrefix serves npm under a path prefix: documents, rewritten tarball
// URLs and tarballs all carry the prefix, and nothing answers outside it.
func TestNPMMountUnderPrefix(t *testing.T) {
	h := newHarness(t, map[string]string{"PROXY_CONFIG": `{"mounts":{"corp":{"path":"/corp/npm"}}}`})
	if p := docProblems(h.get("/corp/npm/left-pad"), leftPadServed, h.proxy.URL+"/corp/npm", false); p != "" {
		t.Errorf("GET /corp/npm/left-pad: %s", p)
	}
	h.wantTarball(h.get("/corp/npm"+npm.TarballPath("left-pad", "1.0.0")), "public", "left-pad", "1.0.0")
	h.wantJSONError(h.get("/left-pad"), "", http.StatusNotFound)
	if r := h.get("/corp/npm/-/ecluse/explain/left-pad"); r.status != http.StatusOK {
		t.Errorf("explain under the prefix: %s", r.describe())
	}
}

// TestTwoNPMMounts serves two npm mounts with their own policies side by side: the
// same package is decided by each mount's own rules.
func TestTwoNPMMounts(t *testing.T) {
	h := newHarness(t, map[string]string{"PROXY_CONFIG": `{
		"policies":{"lax":{"rules":{"min-age":{"ageSeconds":1}}}},
		"mounts":{"strict":{"path":"/"},"lax":{"path":"/lax/","policy":"lax"}}}`})
	h.wantServed(h.get("/left-pad"), leftPadServed)
	laxServed := served{name: "left-pad", source: "public", versions: []string{"1.0.0", "1.1.0", "1.2.0"}, latest: "1.2.0"}
	if p := docProblems(h.get("/lax/left-pad"), laxServed, h.proxy.URL+"/lax", false); p != "" {
		t.Errorf("GET /lax/left-pad: %s", p)
	}
}
