package npm

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const (
	unionPrivate = `{"_id":"m","name":"m","dist-tags":{"latest":"1.0.0","internal":"1.0.0"},` +
		`"versions":{` +
		`"1.0.0":{"name":"m","version":"1.0.0","dist":{"integrity":"sha512-priv","tarball":"https://private.example.invalid/m/-/m-1.0.0.tgz"}},` +
		`"1.2.0":{"name":"m","version":"1.2.0","dist":{"integrity":"sha512-priv12","tarball":"https://private.example.invalid/m/-/m-1.2.0.tgz"}}},` +
		`"time":{"created":"2019-01-01T00:00:00Z","1.0.0":"2020-01-01T00:00:00Z","1.2.0":"2020-06-01T00:00:00Z","3.0.0":"2019-06-01T00:00:00Z"},` +
		`"_rev":"private-rev"}`
	unionPublic = `{"_id":"m","name":"m","dist-tags":{"latest":"2.0.0","beta":"2.1.0-beta.1"},` +
		`"versions":{` +
		`"1.0.0":{"name":"m","version":"1.0.0","dist":{"integrity":"sha512-pub","tarball":"https://registry.example.invalid/m/-/m-1.0.0.tgz"}},` +
		`"1.1.0":{"name":"m","version":"1.1.0","dist":{"integrity":"sha512-pub11","tarball":"https://registry.example.invalid/m/-/m-1.1.0.tgz"}},` +
		`"1.2.0":{"name":"m","version":"1.2.0","dist":{"integrity":"sha512-pub12","tarball":"https://registry.example.invalid/m/-/m-1.2.0.tgz"}},` +
		`"2.0.0":{"name":"m","version":"2.0.0","dist":{"integrity":"sha512-pub2","tarball":"https://registry.example.invalid/m/-/m-2.0.0.tgz"}},` +
		`"2.1.0-beta.1":{"name":"m","version":"2.1.0-beta.1","dist":{"integrity":"sha512-pubb","tarball":"https://registry.example.invalid/m/-/m-2.1.0-beta.1.tgz"}}},` +
		`"time":{"created":"2018-01-01T00:00:00Z","modified":"2021-01-01T00:00:00Z","1.0.0":"2018-02-01T00:00:00Z","1.1.0":"2018-03-01T00:00:00Z",` +
		`"1.2.0":"2018-04-01T00:00:00Z","2.0.0":"2021-01-01T00:00:00Z","2.1.0-beta.1":"2020-12-01T00:00:00Z"},` +
		`"readme":"public readme"}`
)

type servedDoc struct {
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
	Time     map[string]string          `json:"time"`
	Readme   string                     `json:"readme"`
	Rev      string                     `json:"_rev"`
}

func TestUnion(t *testing.T) {
	priv := mustParse(t, []byte(unionPrivate), "m")
	pub := mustParse(t, []byte(unionPublic), "m")
	// Policy admitted 1.0.0, 1.1.0 and 1.2.0 publicly; 2.0.0 and the beta are withheld.
	admitted := keepKeys(pub, "1.0.0", "1.1.0", "1.2.0")
	u := Union(priv, pub, admitted)

	var keys []string
	for _, v := range u.Versions {
		keys = append(keys, v.Key)
	}
	if got := strings.Join(keys, ","); got != "1.0.0,1.2.0,1.1.0" {
		t.Errorf("union versions = %s, want the private ones then the admitted public 1.1.0", got)
	}
	if got := u.Find("1.0.0").Info.Integrity; got != "sha512-priv" {
		t.Errorf("1.0.0 integrity = %s, want the private copy's", got)
	}
	if got := u.Find("1.1.0").Tarball; !strings.Contains(got, "registry.example.invalid") {
		t.Errorf("1.1.0 tarball = %s, want the public one", got)
	}
	if u.Find("2.0.0") != nil {
		t.Error("withheld public 2.0.0 is in the union")
	}

	out, err := u.Render(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	var s servedDoc
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("union render is not JSON: %v\n%s", err, out)
	}
	wantTags := map[string]string{"latest": "1.2.0", "beta": "1.2.0", "internal": "1.0.0"}
	if !reflect.DeepEqual(s.DistTags, wantTags) {
		t.Errorf("dist-tags = %v, want %v (public tags moved down to the mirrored 1.2.0, private-only tag kept)", s.DistTags, wantTags)
	}
	wantTime := map[string]string{
		"created": "2019-01-01T00:00:00Z", "modified": "2021-01-01T00:00:00Z",
		"1.0.0": "2020-01-01T00:00:00Z", "1.2.0": "2020-06-01T00:00:00Z", "1.1.0": "2018-03-01T00:00:00Z",
		"3.0.0": "2019-06-01T00:00:00Z",
	}
	if !reflect.DeepEqual(s.Time, wantTime) {
		t.Errorf("time = %v\nwant %v", s.Time, wantTime)
	}
	if s.Readme != "public readme" || s.Rev != "private-rev" {
		t.Errorf("envelope readme %q rev %q, want the public readme and the private _rev", s.Readme, s.Rev)
	}
	if len(s.Versions) != 3 || !strings.Contains(string(s.Versions["1.1.0"]), `"https://ecluse.example.test/m/-/m-1.1.0.tgz"`) {
		t.Errorf("versions = %s", out)
	}

	abbr, err := u.RenderAbbreviated(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(memberValue(t, abbr, "modified")); got != `"2021-01-01T00:00:00Z"` {
		t.Errorf("abbreviated modified = %s", got)
	}
	m, err := u.RenderVersion("latest", nil, gateURL)
	if err != nil || !strings.Contains(string(m), `"sha512-priv12"`) {
		t.Errorf("RenderVersion(latest) = %s, %v; want the private 1.2.0", m, err)
	}

	// The inputs are untouched and still render as before.
	if len(priv.Versions) != 2 || len(pub.Versions) != 5 || pub.DistTags[0].Version != "2.0.0" {
		t.Error("Union modified its arguments")
	}
	if _, err := pub.Render(nil, nil); err != nil {
		t.Error(err)
	}
}

func TestUnionOneSided(t *testing.T) {
	priv := mustParse(t, []byte(unionPrivate), "m")
	pub := mustParse(t, []byte(unionPublic), "m")
	if Union(nil, nil, nil) != nil {
		t.Error("Union(nil, nil) != nil")
	}
	onlyPriv := Union(priv, nil, nil)
	want, _ := priv.Render(nil, nil)
	if got, _ := onlyPriv.Render(nil, nil); string(got) != string(want) {
		t.Errorf("Union(priv, nil) renders\n%s\nwant\n%s", got, want)
	}
	onlyPub := Union(nil, pub, keepKeys(pub, "1.0.0"))
	if len(onlyPub.Versions) != 1 {
		t.Fatalf("Union(nil, pub, 1.0.0) has %d versions", len(onlyPub.Versions))
	}
	got, _ := onlyPub.Render(nil, nil)
	filtered, _ := pub.Render(keepKeys(pub, "1.0.0"), nil)
	if string(got) != string(filtered) {
		t.Errorf("Union(nil, pub, keep) renders\n%s\nwant what Render(keep) gives\n%s", got, filtered)
	}
	all := Union(priv, pub, nil)
	if len(all.Versions) != 5 {
		t.Errorf("Union with keepPublic nil has %d versions, want 5", len(all.Versions))
	}
}
