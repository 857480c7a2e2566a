package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	stdjson "encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// jobj is a JSON object that keeps its members in order and lets a test write a member
// name twice, which a map cannot.
type jobj struct{ f []jfield }

type jfield struct {
	k string
	v any
}

func (o *jobj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o.f {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := stdjson.Marshal(f.k)
		if err != nil {
			return nil, err
		}
		v, err := stdjson.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func obj(kv ...any) *jobj {
	o := &jobj{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.f = append(o.f, jfield{kv[i].(string), kv[i+1]})
	}
	return o
}

// set replaces the first member k, or appends it.
func (o *jobj) set(k string, v any) *jobj {
	for i := range o.f {
		if o.f[i].k == k {
			o.f[i].v = v
			return o
		}
	}
	o.f = append(o.f, jfield{k, v})
	return o
}

// add appends a member, even one already there.
func (o *jobj) add(k string, v any) *jobj {
	o.f = append(o.f, jfield{k, v})
	return o
}

func (o *jobj) del(k string) *jobj {
	for i := range o.f {
		if o.f[i].k == k {
			o.f = append(o.f[:i], o.f[i+1:]...)
			return o
		}
	}
	return o
}

// at returns the nested object k.
func (o *jobj) at(k string) *jobj {
	for _, f := range o.f {
		if f.k == k {
			return f.v.(*jobj)
		}
	}
	panic("no member " + k)
}

// rename renames the first member from to to, keeping its place.
func (o *jobj) rename(from, to string) *jobj {
	for i := range o.f {
		if o.f[i].k == from {
			o.f[i].k = to
			return o
		}
	}
	panic("no member " + from)
}

// pubDoc is a publish body under construction: the document, and the name and version
// its helpers address.
type pubDoc struct {
	doc           *jobj
	name, version string
}

func (d *pubDoc) manifest() *jobj { return d.doc.at("versions").at(d.version) }
func (d *pubDoc) dist() *jobj     { return d.manifest().at("dist") }
func (d *pubDoc) attachment() *jobj {
	return d.doc.at("_attachments").at(d.name + "-" + d.version + ".tgz")
}

// setTarball puts data in the attachment with a matching length, integrity and shasum.
func (d *pubDoc) setTarball(data []byte) {
	d.attachment().set("data", base64.StdEncoding.EncodeToString(data)).set("length", len(data))
	d.dist().set("integrity", sri512(data)).set("shasum", sha1Hex(data))
}

func (d *pubDoc) bytes(t testing.TB) []byte {
	t.Helper()
	b, err := stdjson.Marshal(d.doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sri512(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// testTarball returns a real package tarball: package/package.json, and when pad > 0 a
// file of pad random (incompressible) bytes. Writing to memory cannot fail, so it
// panics rather than take a *testing.T (the table's mutations have none).
func testTarball(name, version string, pad int) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	add := func(path string, body []byte) {
		hdr := &tar.Header{Name: path, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg}
		must(tw.WriteHeader(hdr))
		_, err := tw.Write(body)
		must(err)
	}
	add("package/package.json", []byte(`{"name":`+strconv.Quote(name)+`,"version":`+strconv.Quote(version)+`,"main":"index.js"}`))
	add("package/index.js", []byte("module.exports = 42\n"))
	if pad > 0 {
		blob := make([]byte, pad)
		_, err := rand.Read(blob)
		must(err)
		add("package/blob.bin", blob)
	}
	must(tw.Close())
	must(zw.Close())
	return buf.Bytes()
}

// newPubDoc builds a publish body shaped as npm's client sends it.
func newPubDoc(t testing.TB, name, version string) *pubDoc {
	t.Helper()
	tgz := testTarball(name, version, 0)
	file := name + "-" + version + ".tgz"
	d := &pubDoc{name: name, version: version, doc: obj(
		"_id", name,
		"name", name,
		"description", "a package for the tests",
		"dist-tags", obj("latest", version),
		"versions", obj(version, obj(
			"name", name,
			"version", version,
			"description", "a package for the tests",
			"main", "index.js",
			"scripts", obj("test", "node test.js"),
			"_id", name+"@"+version,
			"_nodeVersion", "22.11.0",
			"_npmVersion", "10.9.0",
			"dist", obj(
				"integrity", sri512(tgz),
				"shasum", sha1Hex(tgz),
				"tarball", "https://npm.example/"+name+"/-/"+file,
			),
		)),
		"access", "public",
		"_attachments", obj(file, obj(
			"content_type", "application/octet-stream",
			"data", base64.StdEncoding.EncodeToString(tgz),
			"length", len(tgz),
		)),
	)}
	return d
}

// sriOf returns an SRI entry of alg over b.
func sriOf(alg string, b []byte) string {
	var sum []byte
	switch alg {
	case "sha1":
		s := sha1.Sum(b)
		sum = s[:]
	case "sha256":
		s := sha256.Sum256(b)
		sum = s[:]
	case "sha384":
		s := sha512.Sum384(b)
		sum = s[:]
	case "sha512":
		s := sha512.Sum512(b)
		sum = s[:]
	}
	return alg + "-" + base64.StdEncoding.EncodeToString(sum)
}

type publishCase struct {
	name   string
	url    string // the URL name; "" means the document's
	pkg    string // the package name the body is built for; "" means "left-pad"
	ver    string // "" means "1.2.3"
	mutate func(d *pubDoc)
	raw    func(b []byte) []byte // applied to the marshalled body
	lim    PublishLimits
	want   string // a fragment of the refusal; "" means accepted
	check  func(t *testing.T, d *pubDoc, p *Publish)
}

// tarball reads the tarball the document carries (newPubDoc always puts one in).
func (d *pubDoc) tarball() []byte {
	for _, f := range d.attachment().f {
		if f.k == "data" {
			b, err := base64.StdEncoding.DecodeString(f.v.(string))
			if err != nil {
				panic(err)
			}
			return b
		}
	}
	panic("no data")
}

var publishCases = []publishCase{
	{name: "npm's shape", check: func(t *testing.T, d *pubDoc, p *Publish) {
		tgz := d.tarball()
		if p.Name != "left-pad" || p.Version != "1.2.3" {
			t.Errorf("ParsePublish = %s@%s, want left-pad@1.2.3", p.Name, p.Version)
		}
		if p.Integrity != sri512(tgz) || p.Shasum != sha1Hex(tgz) || !bytes.Equal(p.Tarball, tgz) {
			t.Errorf("ParsePublish = integrity %q shasum %q, want the tarball's", p.Integrity, p.Shasum)
		}
		if !reflect.DeepEqual(p.DistTags, map[string]string{"latest": "1.2.3"}) {
			t.Errorf("DistTags = %v, want latest: 1.2.3", p.DistTags)
		}
	}},
	{name: "scoped", pkg: "@scope/pkg", check: func(t *testing.T, d *pubDoc, p *Publish) {
		if p.Name != "@scope/pkg" {
			t.Errorf("Name = %q, want @scope/pkg", p.Name)
		}
	}},
	{name: "scoped attachment without the scope", pkg: "@scope/pkg", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").rename("@scope/pkg-1.2.3.tgz", "pkg-1.2.3.tgz")
	}, want: `attachment "pkg-1.2.3.tgz" is not "@scope/pkg-1.2.3.tgz"`},
	{name: "prerelease", ver: "2.0.0-rc.1"},
	{name: "build metadata", ver: "2.0.0+build.5"},

	// Digests.
	{name: "integrity mismatch", mutate: func(d *pubDoc) {
		d.dist().set("integrity", sri512([]byte("something else")))
	}, want: "does not match the version's dist.integrity (sha512)"},
	{name: "shasum mismatch", mutate: func(d *pubDoc) {
		d.dist().set("shasum", sha1Hex([]byte("something else")))
	}, want: "does not match the version's dist.shasum"},
	{name: "shasum not hex", mutate: func(d *pubDoc) {
		d.dist().set("shasum", strings.Repeat("g", 40))
	}, want: "not 40 hexadecimal digits"},
	{name: "shasum too short", mutate: func(d *pubDoc) {
		d.dist().set("shasum", sha1Hex(d.tarball())[:38])
	}, want: "not 40 hexadecimal digits"},
	{name: "shasum upper case", mutate: func(d *pubDoc) {
		d.dist().set("shasum", strings.ToUpper(sha1Hex(d.tarball())))
	}, check: func(t *testing.T, d *pubDoc, p *Publish) {
		if p.Shasum != sha1Hex(d.tarball()) {
			t.Errorf("Shasum = %q, want lower case", p.Shasum)
		}
	}},
	{name: "only shasum", mutate: func(d *pubDoc) { d.dist().del("integrity") }, check: func(t *testing.T, d *pubDoc, p *Publish) {
		if want := sri512(d.tarball()); p.Integrity != want {
			t.Errorf("Integrity = %q, want the computed %q", p.Integrity, want)
		}
	}},
	{name: "empty integrity and a shasum", mutate: func(d *pubDoc) { d.dist().set("integrity", " ") }, check: func(t *testing.T, d *pubDoc, p *Publish) {
		if want := sri512(d.tarball()); p.Integrity != want {
			t.Errorf("Integrity = %q, want the computed %q", p.Integrity, want)
		}
	}},
	{name: "only integrity", mutate: func(d *pubDoc) { d.dist().del("shasum") }},
	{name: "neither digest", mutate: func(d *pubDoc) { d.dist().del("shasum").del("integrity") }, want: "neither integrity nor shasum"},
	{name: "no dist", mutate: func(d *pubDoc) { d.manifest().del("dist") }, want: "has no dist"},
	{name: "dist not an object", mutate: func(d *pubDoc) { d.manifest().set("dist", "x") }, want: "dist is not an object"},
	{name: "integrity not a string", mutate: func(d *pubDoc) { d.dist().set("integrity", 7) }, want: "dist.integrity is not a string"},
	{name: "integrity sha256 only", mutate: func(d *pubDoc) {
		d.dist().set("integrity", sriOf("sha256", d.tarball()))
	}, check: func(t *testing.T, d *pubDoc, p *Publish) {
		if want := sri512(d.tarball()); p.Integrity != want {
			t.Errorf("Integrity = %q, want the computed %q", p.Integrity, want)
		}
	}},
	{name: "integrity sha256 mismatch", mutate: func(d *pubDoc) {
		d.dist().set("integrity", sriOf("sha256", []byte("x")))
	}, want: "dist.integrity (sha256)"},
	{name: "integrity sha512 and sha384 and sha1", mutate: func(d *pubDoc) {
		tgz := d.tarball()
		d.dist().set("integrity", sriOf("sha512", tgz)+" "+sriOf("sha384", tgz)+"\t"+sriOf("sha1", tgz)+"?opt")
	}, check: func(t *testing.T, d *pubDoc, p *Publish) {
		tgz := d.tarball()
		if want := sriOf("sha512", tgz) + " " + sriOf("sha384", tgz) + "\t" + sriOf("sha1", tgz) + "?opt"; p.Integrity != want {
			t.Errorf("Integrity = %q, want the client's %q", p.Integrity, want)
		}
	}},
	{name: "integrity good sha512, bad sha1", mutate: func(d *pubDoc) {
		d.dist().set("integrity", sri512(d.tarball())+" "+sriOf("sha1", []byte("x")))
	}, want: "dist.integrity (sha1)"},
	{name: "integrity good sha512, bad sha384", mutate: func(d *pubDoc) {
		d.dist().set("integrity", sriOf("sha384", []byte("x"))+" "+sri512(d.tarball()))
	}, want: "dist.integrity (sha384)"},
	{name: "integrity unknown algorithm", mutate: func(d *pubDoc) {
		d.dist().set("integrity", sri512(d.tarball())+" md5-"+base64.StdEncoding.EncodeToString(make([]byte, 16)))
	}, want: "not a well-formed sha512"},
	{name: "integrity malformed", mutate: func(d *pubDoc) {
		d.dist().set("integrity", "sha512-AAAA")
	}, want: "not a well-formed sha512"},
	{name: "signatures not an array", mutate: func(d *pubDoc) { d.dist().set("signatures", obj()) }, want: "dist.signatures is set by the client"},

	// Versions.
	{name: "two versions", mutate: func(d *pubDoc) {
		d.doc.at("versions").add("1.2.4", obj("name", "left-pad", "version", "1.2.4"))
	}, want: "has 2 versions"},
	{name: "no version", mutate: func(d *pubDoc) { d.doc.set("versions", obj()) }, want: "versions is empty"},
	{name: "versions missing", mutate: func(d *pubDoc) { d.doc.del("versions") }, want: "has no versions"},
	{name: "versions not an object", mutate: func(d *pubDoc) { d.doc.set("versions", []int{1}) }, want: "versions is not an object"},
	{name: "manifest not an object", mutate: func(d *pubDoc) { d.doc.at("versions").set("1.2.3", "x") }, want: "manifest of \"1.2.3\" is not an object"},
	{name: "version key and manifest differ", mutate: func(d *pubDoc) { d.manifest().set("version", "1.2.4") }, want: "does not have that version"},
	{name: "manifest version missing", mutate: func(d *pubDoc) { d.manifest().del("version") }, want: "does not have that version"},
	{name: "manifest named otherwise", mutate: func(d *pubDoc) { d.manifest().set("name", "right-pad") }, want: `is not named "left-pad"`},
	{name: "manifest _id otherwise", mutate: func(d *pubDoc) { d.manifest().set("_id", "left-pad@9.9.9") }, want: "manifest's _id"},
	{name: "invalid semver two parts", ver: "1.2", want: `"1.2" is not valid semver`},
	{name: "invalid semver leading v", ver: "v1.2.3", want: "not valid semver"},
	{name: "invalid semver leading zero", ver: "01.2.3", want: "not valid semver"},
	{name: "invalid semver empty", ver: "1.2.3", mutate: func(d *pubDoc) {
		d.doc.at("versions").rename("1.2.3", "")
	}, want: "not valid semver"},

	// Attachments.
	{name: "two attachments", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").add("left-pad-1.2.4.tgz", obj("data", "H4sI"))
	}, want: `attachment "left-pad-1.2.4.tgz" is not "left-pad-1.2.3.tgz"`},
	{name: "provenance bundle", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").add("left-pad-1.2.3.sigstore", obj(
			"content_type", "application/vnd.dev.sigstore.bundle.v0.3+json", "data", `{"mediaType":"x"}`, "length", 17))
	}},
	{name: "provenance bundle of another version", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").add("left-pad-1.2.4.sigstore", obj("data", `{}`))
	}, want: `attachment "left-pad-1.2.4.sigstore"`},
	{name: "provenance bundle alone", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").rename("left-pad-1.2.3.tgz", "left-pad-1.2.3.sigstore")
	}, want: `no attachment "left-pad-1.2.3.tgz"`},
	{name: "provenance bundle without data", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").add("left-pad-1.2.3.sigstore", obj("length", 2))
	}, want: "has no data string"},
	{name: "wrong attachment name", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").rename("left-pad-1.2.3.tgz", "left-pad-1.2.4.tgz")
	}, want: `attachment "left-pad-1.2.4.tgz" is not "left-pad-1.2.3.tgz"`},
	{name: "no attachments", mutate: func(d *pubDoc) { d.doc.del("_attachments") }, want: "has no _attachments"},
	{name: "empty attachments", mutate: func(d *pubDoc) { d.doc.set("_attachments", obj()) }, want: "no attachment \"left-pad-1.2.3.tgz\""},
	{name: "attachments not an object", mutate: func(d *pubDoc) { d.doc.set("_attachments", "x") }, want: "_attachments is not an object"},
	{name: "attachment not an object", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").set("left-pad-1.2.3.tgz", 3)
	}, want: "is not an object"},
	{name: "attachment without data", mutate: func(d *pubDoc) { d.attachment().del("data") }, want: "has no data string"},
	{name: "attachment data not a string", mutate: func(d *pubDoc) { d.attachment().set("data", 5) }, want: "has no data string"},
	{name: "bad base64", mutate: func(d *pubDoc) { d.attachment().set("data", "H4sI!!!!") }, want: "not padded standard base64"},
	{name: "unpadded base64", mutate: func(d *pubDoc) {
		d.attachment().set("data", strings.TrimRight(base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 8, 0}), "="))
	}, want: "not padded standard base64"},
	{name: "url-safe base64", mutate: func(d *pubDoc) {
		d.attachment().set("data", base64.URLEncoding.EncodeToString([]byte{0x1f, 0x8b, 0xfb, 0xff}))
	}, want: "not padded standard base64"},
	{name: "base64 with line breaks", mutate: func(d *pubDoc) {
		s := base64.StdEncoding.EncodeToString(d.tarball())
		d.attachment().set("data", s[:8]+"\n"+s[8:])
	}, want: "not padded standard base64"},
	{name: "base64 with escaped slashes", mutate: func(d *pubDoc) {
		// Some JSON encoders write "/" as "\/"; the string is the same.
		for i := 0; ; i++ {
			tgz := append(testTarball("left-pad", "1.2.3", 0), make([]byte, i)...)
			if strings.Contains(base64.StdEncoding.EncodeToString(tgz), "/") {
				d.setTarball(tgz)
				return
			}
		}
	}, raw: func(b []byte) []byte {
		// Only the data holds slashes: the rest of the document has none once the
		// tarball URL is gone.
		return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))
	}},
	{name: "length mismatch", mutate: func(d *pubDoc) { d.attachment().set("length", 3) }, want: "length is 3, but its data decodes to"},
	{name: "length not a number", mutate: func(d *pubDoc) { d.attachment().set("length", "3") }, want: "not a whole number"},
	{name: "length fractional", mutate: func(d *pubDoc) { d.attachment().set("length", 3.5) }, want: "not a whole number"},
	{name: "length absent", mutate: func(d *pubDoc) { d.attachment().del("length") }},
	{name: "oversized tarball", lim: PublishLimits{MaxTarballBytes: 64}, want: "tarball is larger than the 64 bytes Écluse accepts"},
	{name: "tarball at the limit", mutate: func(d *pubDoc) { d.setTarball(append([]byte{0x1f, 0x8b}, make([]byte, 62)...)) }, lim: PublishLimits{MaxTarballBytes: 64}},
	{name: "oversized body", lim: PublishLimits{MaxBytes: 100}, want: "publish body is larger than the 100 bytes"},
	{name: "not gzip", mutate: func(d *pubDoc) { d.setTarball([]byte("package/package.json\x00\x00\x00")) }, want: "not gzip-compressed"},
	{name: "empty tarball", mutate: func(d *pubDoc) { d.setTarball(nil) }, want: "not gzip-compressed"},

	// Names.
	{name: "name mismatch with URL", url: "right-pad", want: `is for "left-pad", but the request is for "right-pad"`},
	{name: "scoped URL, unscoped body", url: "@scope/left-pad", want: "but the request is for"},
	{name: "_id mismatch", mutate: func(d *pubDoc) { d.doc.set("_id", "right-pad") }, want: `_id is not "left-pad"`},
	{name: "_id absent", mutate: func(d *pubDoc) { d.doc.del("_id") }},
	{name: "name absent", mutate: func(d *pubDoc) { d.doc.del("name") }, want: "has no name"},
	{name: "name not a string", mutate: func(d *pubDoc) { d.doc.set("name", 1) }, want: "name is not a string"},
	{name: "upper case", pkg: "Left-Pad", want: "upper-case letters"},
	{name: "upper case scope", pkg: "@Scope/pkg", want: "upper-case letters"},
	{name: "dot dot", pkg: "a..b", want: `contains ".."`},
	{name: "too long", pkg: strings.Repeat("a", 215), want: "longer than 214"},
	{name: "special character", pkg: "it's", want: "~'!()*"},
	{name: "leading dot", pkg: ".hidden", want: "starts with a dot"},
	{name: "reserved", pkg: "node_modules", want: "reserved"},
	{name: "longest name", pkg: strings.Repeat("a", 214)},

	// Dist-tags.
	{name: "dist-tag elsewhere", mutate: func(d *pubDoc) { d.doc.at("dist-tags").set("latest", "9.9.9") }, want: `dist-tag "latest" does not point at "1.2.3"`},
	{name: "dist-tag not a string", mutate: func(d *pubDoc) { d.doc.at("dist-tags").set("latest", 1) }, want: "does not point at"},
	{name: "dist-tag empty name", mutate: func(d *pubDoc) { d.doc.at("dist-tags").set("", "1.2.3") }, want: "empty name"},
	{name: "dist-tags not an object", mutate: func(d *pubDoc) { d.doc.set("dist-tags", "latest") }, want: "dist-tags is not an object"},
	{name: "dist-tags several", mutate: func(d *pubDoc) { d.doc.at("dist-tags").set("next", "1.2.3") }, check: func(t *testing.T, d *pubDoc, p *Publish) {
		if !reflect.DeepEqual(p.DistTags, map[string]string{"latest": "1.2.3", "next": "1.2.3"}) {
			t.Errorf("DistTags = %v, want latest and next", p.DistTags)
		}
	}},
	{name: "dist-tags absent", mutate: func(d *pubDoc) { d.doc.del("dist-tags") }, check: func(t *testing.T, d *pubDoc, p *Publish) {
		if len(p.DistTags) != 0 {
			t.Errorf("DistTags = %v, want none", p.DistTags)
		}
	}},

	// Duplicate member names, at every level.
	{name: "duplicate at the top", mutate: func(d *pubDoc) { d.doc.add("name", "left-pad") }, want: `repeats a member name, at "/name"`},
	{name: "duplicate escaped", raw: func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"description"`), []byte(`"n\u0061me"`), 1)
	}, want: "repeats a member name"},
	{name: "duplicate version", mutate: func(d *pubDoc) {
		d.doc.at("versions").add("1.2.3", obj("name", "left-pad", "version", "1.2.3"))
	}, want: `at "/versions/1.2.3"`},
	{name: "duplicate in the manifest", mutate: func(d *pubDoc) { d.manifest().add("dist", obj()) }, want: `at "/versions/1.2.3/dist"`},
	{name: "duplicate in dist", mutate: func(d *pubDoc) { d.dist().add("integrity", "sha512-x") }, want: `at "/versions/1.2.3/dist/integrity"`},
	{name: "duplicate attachment", mutate: func(d *pubDoc) {
		d.doc.at("_attachments").add("left-pad-1.2.3.tgz", obj("data", "H4sI"))
	}, want: `at "/_attachments/left-pad-1.2.3.tgz"`},
	{name: "duplicate in the attachment", mutate: func(d *pubDoc) { d.attachment().add("data", "H4sI") }, want: `at "/_attachments/left-pad-1.2.3.tgz/data"`},
	{name: "duplicate in dist-tags", mutate: func(d *pubDoc) { d.doc.at("dist-tags").add("latest", "1.2.3") }, want: "repeats a member name"},
	{name: "duplicate deep in the manifest", mutate: func(d *pubDoc) { d.manifest().at("scripts").add("test", "rm -rf /") }, want: "repeats a member name"},

	// Not a JSON object.
	{name: "not JSON", raw: func([]byte) []byte { return []byte(`{"name": "left-pad",`) }, want: "not valid JSON"},
	{name: "array", raw: func([]byte) []byte { return []byte(`[]`) }, want: "not a JSON object"},
	{name: "empty body", raw: func([]byte) []byte { return nil }, want: "not valid JSON"},
	{name: "trailing value", raw: func(b []byte) []byte { return append(b, ` {}`...) }, want: "more after its JSON object"},
	{name: "trailing garbage", raw: func(b []byte) []byte { return append(b, ` x`...) }, want: "not valid JSON"},
	{name: "trailing space", raw: func(b []byte) []byte { return append(b, " \n"...) }},
	{name: "invalid UTF-8", raw: func(b []byte) []byte {
		return bytes.Replace(b, []byte("a package for the tests"), []byte("a package \xff"), 1)
	}, want: "not valid JSON"},
}

// build returns a case's document and body.
func (tc *publishCase) build(t testing.TB) (*pubDoc, []byte, string) {
	t.Helper()
	pkg, ver := tc.pkg, tc.ver
	if pkg == "" {
		pkg = "left-pad"
	}
	if ver == "" {
		ver = "1.2.3"
	}
	d := newPubDoc(t, pkg, ver)
	if tc.mutate != nil {
		tc.mutate(d)
	}
	if tc.raw != nil {
		d.manifest().at("dist").del("tarball") // see "base64 with escaped slashes"
	}
	body := d.bytes(t)
	if tc.raw != nil {
		body = tc.raw(body)
	}
	url := tc.url
	if url == "" {
		url = pkg
	}
	return d, body, url
}

func TestParsePublish(t *testing.T) {
	for _, tc := range publishCases {
		t.Run(tc.name, func(t *testing.T) {
			d, body, url := tc.build(t)
			p, err := ParsePublish(body, url, tc.lim)
			if tc.want != "" {
				if err == nil {
					t.Fatalf("ParsePublish(%s) = nil error, want one about %s", tc.name, tc.want)
				}
				checkPublishError(t, err)
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("ParsePublish(%s) = %q, want it to say %q", tc.name, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePublish(%s) = %v, want nil", tc.name, err)
			}
			if tc.check != nil {
				tc.check(t, d, p)
			}
			if !bytes.Equal(p.Tarball, d.tarball()) {
				t.Errorf("Tarball = %d bytes, want the attachment's %d", len(p.Tarball), len(d.tarball()))
			}
			// What was accepted encodes to a body that is accepted again, the same.
			enc, err := p.Encode()
			if err != nil {
				t.Fatalf("Encode() = %v", err)
			}
			again, err := ParsePublish(enc, url, tc.lim)
			if err != nil {
				t.Fatalf("ParsePublish(Encode()) = %v, want nil\n%s", err, enc)
			}
			samePublish(t, again, p)
		})
	}
}

// checkPublishError holds a refusal to its contract: a *PublishError matching
// ErrBadPublish, one line, starting "publish refused: ".
func checkPublishError(t *testing.T, err error) {
	t.Helper()
	var pe *PublishError
	if !errors.As(err, &pe) || !errors.Is(err, ErrBadPublish) {
		t.Fatalf("error %#v is not a *PublishError matching ErrBadPublish", err)
	}
	if !strings.HasPrefix(pe.Msg, "publish refused: ") || strings.ContainsAny(pe.Msg, "\r\n") || pe.Msg != err.Error() {
		t.Errorf("PublishError.Msg = %q, want one line starting \"publish refused: \"", pe.Msg)
	}
	if len(pe.Msg) > maxReasonLen {
		t.Errorf("PublishError.Msg is %d bytes long, want a short line", len(pe.Msg))
	}
}

func samePublish(t *testing.T, got, want *Publish) {
	t.Helper()
	if got.Name != want.Name || got.Version != want.Version || got.Integrity != want.Integrity || got.Shasum != want.Shasum {
		t.Errorf("reparsed = %s@%s %q %q, want %s@%s %q %q", got.Name, got.Version, got.Integrity, got.Shasum,
			want.Name, want.Version, want.Integrity, want.Shasum)
	}
	if !bytes.Equal(got.Tarball, want.Tarball) || !reflect.DeepEqual(got.DistTags, want.DistTags) {
		t.Errorf("reparsed tarball or dist-tags differ: %v, want %v", got.DistTags, want.DistTags)
	}
}

// decodeAny decodes JSON with the standard library, for comparisons.
func decodeAny(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := stdjson.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return m
}

// memberOrder returns the member names of the object at the JSON pointer ptr in b.
func memberOrder(t *testing.T, b []byte, ptr string) []string {
	t.Helper()
	var v jsontext.Value
	if ptr == "" {
		v = b
	} else {
		var m map[string]stdjson.RawMessage
		cur := b
		for _, seg := range strings.Split(ptr[1:], "/") {
			m = nil
			if err := stdjson.Unmarshal(cur, &m); err != nil {
				t.Fatal(err)
			}
			cur = m[seg]
		}
		v = jsontext.Value(cur)
	}
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	if _, err := dec.ReadToken(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.String())
		if err := dec.SkipValue(); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestPublishEncode(t *testing.T) {
	d := newPubDoc(t, "@acme/widget", "1.0.0")
	tgz := d.tarball()
	d.doc.set("readme", "# widget\n").set("x-foo", obj("bar", []int{1, 2}))
	d.manifest().set("x-bar", true)
	d.dist().del("integrity").set("x-dist", "kept")
	body := d.bytes(t)

	p, err := ParsePublish(body, "@acme/widget", PublishLimits{})
	if err != nil {
		t.Fatalf("ParsePublish = %v", err)
	}
	p.AddSignature("SHA256:key-one", "MEUCIQ==")
	p.AddSignature("SHA256:key-two", "MEQCIA==")
	enc, err := p.Encode()
	if err != nil {
		t.Fatalf("Encode() = %v", err)
	}

	got, want := decodeAny(t, enc), decodeAny(t, body)
	dist := want["versions"].(map[string]any)["1.0.0"].(map[string]any)["dist"].(map[string]any)
	dist["integrity"] = sri512(tgz)
	dist["signatures"] = []any{
		map[string]any{"keyid": "SHA256:key-one", "sig": "MEUCIQ=="},
		map[string]any{"keyid": "SHA256:key-two", "sig": "MEQCIA=="},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Encode() =\n%s\nwant the client's body with integrity and signatures added:\n%s", enc, body)
	}
	for _, ptr := range []string{"", "/versions/1.0.0", "/_attachments"} {
		if g, w := memberOrder(t, enc, ptr), memberOrder(t, body, ptr); !reflect.DeepEqual(g, w) {
			t.Errorf("Encode() members at %q = %v, want the client's order %v", ptr, g, w)
		}
	}
	if g, w := memberOrder(t, enc, "/versions/1.0.0/dist"), []string{"shasum", "tarball", "x-dist", "integrity", "signatures"}; !reflect.DeepEqual(g, w) {
		t.Errorf("Encode() dist members = %v, want %v", g, w)
	}

	// A body carrying registry signatures is refused when a client sends it: only the
	// registry signs.
	if _, err := ParsePublish(enc, "@acme/widget", PublishLimits{}); err == nil || !strings.Contains(err.Error(), "dist.signatures is set by the client") {
		t.Errorf("ParsePublish of a signed body = %v, want the client-signature refusal", err)
	}
}

// TestPublishEncodeUntouched: without a signature, and with the client's own sha512,
// Encode gives back the client's document.
func TestPublishEncodeUntouched(t *testing.T) {
	d := newPubDoc(t, "left-pad", "1.2.3")
	d.dist().set("signatures", []any{})
	body := d.bytes(t)
	p, err := ParsePublish(body, "left-pad", PublishLimits{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, body) {
		t.Errorf("Encode() =\n%s\nwant the client's body unchanged:\n%s", enc, body)
	}
}

func TestPublishEncodeBadSignature(t *testing.T) {
	p, err := ParsePublish(newPubDoc(t, "left-pad", "1.2.3").bytes(t), "left-pad", PublishLimits{})
	if err != nil {
		t.Fatal(err)
	}
	p.AddSignature("key", "\xff")
	if _, err := p.Encode(); err == nil {
		t.Error("Encode() with a signature that is not UTF-8 = nil error, want one")
	}
}

// TestPublishGolden reads a body in npm's shape from testdata/publish and compares its
// signed encoding with the golden file. go test -update rewrites both.
func TestPublishGolden(t *testing.T) {
	dir := filepath.Join("testdata", "publish")
	in, golden := filepath.Join(dir, "scoped.json"), filepath.Join(dir, "scoped.signed.golden.json")
	if *update {
		d := newPubDoc(t, "@acme/widget", "1.0.0")
		d.doc.set("readme", "# widget\n\nA widget.\n")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in, d.bytes(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePublish(body, "@acme/widget", PublishLimits{})
	if err != nil {
		t.Fatal(err)
	}
	p.AddSignature("SHA256:golden", "MEUCIQDgolden==")
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, want) {
		t.Errorf("Encode() =\n%s\nwant %s:\n%s", enc, golden, want)
	}
}

func TestPublishLimitsDefaults(t *testing.T) {
	got := PublishLimits{}.withDefaults()
	if got.MaxBytes != 64<<20 || got.MaxTarballBytes != 32<<20 {
		t.Errorf("PublishLimits{}.withDefaults() = %+v, want 64 MiB and 32 MiB", got)
	}
	d := newPubDoc(t, "left-pad", "1.2.3")
	d.setTarball(append([]byte{0x1f, 0x8b}, make([]byte, 32<<20-1)...))
	_, err := ParsePublish(d.bytes(t), "left-pad", PublishLimits{})
	if err == nil || !strings.Contains(err.Error(), "larger than the 32 MiB") {
		t.Errorf("ParsePublish of a tarball past 32 MiB = %v, want a refusal naming 32 MiB", err)
	}
}

// BenchmarkParsePublish reads the publish of a 5 MiB (incompressible) tarball, and with
// SignEncode also signs and re-encodes it, as the write path does.
//
//	go test -run '^$' -bench ParsePublish -benchmem ./internal/npm/
func BenchmarkParsePublish(b *testing.B) {
	d := newPubDoc(b, "left-pad", "1.2.3")
	d.setTarball(testTarball("left-pad", "1.2.3", 5<<20))
	body := d.bytes(b)
	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParsePublish(body, "left-pad", PublishLimits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SignEncode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := ParsePublish(body, "left-pad", PublishLimits{})
			if err != nil {
				b.Fatal(err)
			}
			p.AddSignature("SHA256:k", "sig")
			if _, err := p.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
