package advisory

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchRecords is how many records BenchmarkBuildNPMExport's export holds: about as
// many as OSV's npm export, or ECLUSE_BENCH_RECORDS for a quicker run.
func benchRecords(b *testing.B) int {
	n := 210_000
	if s := os.Getenv("ECLUSE_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("ECLUSE_BENCH_RECORDS=%q is not a positive number", s)
		}
		n = v
	}
	return n
}

// exportWords make up generated package names.
var exportWords = strings.Fields(`react vue angular node express lodash axios chalk debug util core
	helper config plugin loader parser client server stream crypto token auth cli logger cache
	render style build test mock data json http fetch request color string array async promise`)

// cvssVectors are the vectors the generated GitHub-like advisories carry.
var cvssVectors = []string{
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
	"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L",
	"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
	"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N",
	"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N",
}

// writeExport writes to w a zip shaped like OSV's npm export: n records, nine in ten
// of them malicious-package reports naming one package each (every version, or a
// short versions list), the rest GitHub-like advisories with ranges, CVSS vectors and
// a few hundred bytes of details on a pool of popular packages.
func writeExport(w io.Writer, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	zw := zip.NewWriter(w)
	// One compressor for every entry: a new one per entry would cost more than the
	// compression.
	fw, err := flate.NewWriter(io.Discard, flate.BestSpeed)
	if err != nil {
		return err
	}
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		fw.Reset(out)
		return fw, nil
	})
	hex := func(k int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, k)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	ghsaID := func(i int) string {
		const alphabet = "23456789cfghjmpqrvwx"
		b := []byte("GHSA-xxxx-xxxx-xxxx")
		for _, p := range []int{5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18} {
			b[p] = alphabet[i%20]
			i /= 20
		}
		return string(b)
	}
	word := func() string { return exportWords[rng.IntN(len(exportWords))] }
	popular := make([]string, 6000)
	for i := range popular {
		popular[i] = fmt.Sprintf("%s-%s-%d", word(), word(), i)
		if i%7 == 0 {
			popular[i] = "@" + word() + "/" + popular[i]
		}
	}
	details := strings.Repeat("The package does not neutralise input before it reaches a sensitive sink, so an attacker who controls it can run code or read data. ", 5)
	for i := range n {
		var body string
		if i%10 != 0 {
			name := fmt.Sprintf("%s-%s-%d", word(), word(), i)
			if i%5 == 0 {
				name = "@" + word() + fmt.Sprint(i%900) + "/" + name
			}
			var versions []string
			for k := rng.IntN(3) + 1; k > 0; k-- {
				versions = append(versions, fmt.Sprintf("%q", fmt.Sprintf("%d.%d.%d", rng.IntN(3), rng.IntN(10), rng.IntN(20))))
			}
			affected := `"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]`
			if i%2 == 0 {
				affected = `"versions":[` + strings.Join(versions, ",") + `]`
			}
			sha := hex(64)
			body = fmt.Sprintf(`{"modified":"2024-12-14T19:14:54Z","published":"2024-12-14T19:14:54Z","schema_version":"1.5.0","id":"MAL-2024-%d",`+
				`"summary":"Malicious code in %s (npm)","details":"\n---\n_-= Per source details. Do not edit below this line.=-_\n\n## Source: ossf-package-analysis (%s)\nThe OpenSSF Package Analysis project identified '%s' @ %s (npm) as malicious.\n\nIt is considered malicious because:\n\n- The package communicates with a domain associated with malicious activity.\n",`+
				`"affected":[{"package":{"ecosystem":"npm","name":%q},%s,"database_specific":{"cwes":[{"cweId":"CWE-506","description":"The product contains code that appears to be malicious in nature.","name":"Embedded Malicious Code"}]}}],`+
				`"credits":[{"name":"OpenSSF: Package Analysis","type":"FINDER","contact":["https://github.com/ossf/package-analysis"]}],`+
				`"database_specific":{"malicious-packages-origins":[{"import_time":"2024-12-14T19:34:04.402296644Z","modified_time":"2024-12-14T19:14:54Z","sha256":"%s","source":"ossf-package-analysis","versions":[%s]}]}}`,
				i, name, sha, name, strings.Trim(versions[0], `"`), name, affected, sha, strings.Join(versions, ","))
		} else {
			name := popular[rng.IntN(len(popular))]
			var entries []string
			major := rng.IntN(4)
			for k := rng.IntN(3) + 1; k > 0; k-- {
				intro := "0"
				if major > 0 {
					intro = fmt.Sprintf("%d.0.0", major)
				}
				fixed := fmt.Sprintf("%d.%d.%d", major, rng.IntN(20), rng.IntN(30)+1)
				entries = append(entries, fmt.Sprintf(`{"package":{"ecosystem":"npm","name":%q},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":%q},{"fixed":%q}]}]}`, name, intro, fixed))
				major++
			}
			body = fmt.Sprintf(`{"schema_version":"1.4.0","id":%q,"modified":"2023-07-10T22:57:56Z","published":"2023-06-21T06:30:28Z","aliases":["CVE-2023-%d"],`+
				`"summary":"Improper neutralisation of input in %s","details":%q,"severity":[{"type":"CVSS_V3","score":%q}],"affected":[%s],`+
				`"references":[{"type":"ADVISORY","url":"https://nvd.nist.gov/vuln/detail/CVE-2023-%d"},{"type":"WEB","url":"https://github.com/example/%s/commit/%s"},{"type":"PACKAGE","url":"https://github.com/example/%s"}],`+
				`"database_specific":{"cwe_ids":["CWE-%d"],"severity":%q,"github_reviewed":true,"github_reviewed_at":"2023-06-22T16:52:56Z","nvd_published_at":null}}`,
				ghsaID(i), 10000+i, name, details, cvssVectors[rng.IntN(len(cvssVectors))], strings.Join(entries, ","),
				10000+i, word(), hex(40), word(), 20+rng.IntN(900), []string{"LOW", "MODERATE", "HIGH", "CRITICAL"}[rng.IntN(4)])
		}
		f, err := zw.Create(fmt.Sprintf("record-%d.json", i))
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, body); err != nil {
			return err
		}
	}
	return zw.Close()
}

// BenchmarkBuildNPMExport reads an export the size of OSV's npm export and merges it
// into a Snapshot, and reports the heap the Snapshot keeps (heap-MiB), the size of the
// zip (zip-MiB) and of the records in it (json-MiB), and the advisories kept. The
// export is generated in a temporary directory first.
func BenchmarkBuildNPMExport(b *testing.B) {
	n := benchRecords(b)
	path := filepath.Join(b.TempDir(), "all.zip")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	if err := writeExport(bw, n); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		b.Fatal(err)
	}
	var uncompressed uint64
	for _, e := range zr.File {
		uncompressed += e.UncompressedSize64
	}

	var heap uint64
	var records int
	var inflate, build time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var before, after runtime.MemStats
		b.StopTimer()
		// The floor any reader of the export pays, side by side: inflating every entry.
		start := time.Now()
		for _, e := range zr.File {
			rc, err := e.Open()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Fatal(err)
			}
			_ = rc.Close()
		}
		inflate += time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()

		start = time.Now()
		set, err := ReadZip(f, info.Size(), []string{EcosystemNPM}, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		snap := Merge(1, time.Now(), set)
		build += time.Since(start)

		b.StopTimer()
		runtime.GC() // the Set is garbage now: only the Snapshot is kept
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		records = snap.Records()
		runtime.KeepAlive(snap)
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(info.Size())/(1<<20), "zip-MiB")
	b.ReportMetric(float64(uncompressed)/(1<<20), "json-MiB")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(build)/float64(inflate), "build-x-inflate")
}

// BenchmarkLookup decides every version of a package of 3,000 versions against the
// five advisories naming it, as the gate does for one packument: one lookup, then one
// Contains per version and advisory.
func BenchmarkLookup(b *testing.B) {
	records := []string{
		`{"id":"GHSA-aaaa-aaaa-aaaa","affected":[{"package":{"ecosystem":"npm","name":"big"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`,
		`{"id":"GHSA-bbbb-bbbb-bbbb","affected":[{"package":{"ecosystem":"npm","name":"big"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"7.0.0"},{"fixed":"7.5.2"}]}]},{"package":{"ecosystem":"npm","name":"big"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"6.0.0"},{"fixed":"6.3.1"}]}]},{"package":{"ecosystem":"npm","name":"big"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.7.2"}]}]}]}`,
		`{"id":"GHSA-cccc-cccc-cccc","affected":[{"package":{"ecosystem":"npm","name":"big"},"ranges":[{"type":"SEMVER","events":[{"introduced":"2.0.0-beta.1"},{"last_affected":"2.9.9"}]}]}]}`,
		`{"id":"GHSA-dddd-dddd-dddd","affected":[{"package":{"ecosystem":"npm","name":"big"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.2.3"},{"introduced":"3.0.0"},{"fixed":"3.4.5"},{"introduced":"8.0.0"},{"fixed":"8.1.0"}]}]}]}`,
		`{"id":"MAL-2024-1","affected":[{"package":{"ecosystem":"npm","name":"big"},"versions":["9.9.9","9.9.10","9.10.0"]}]}`,
	}
	snap := Merge(1, time.Now(), setOf(b, records...))
	versions := make([]string, 0, 3000)
	for major := 0; len(versions) < 3000; major++ {
		for minor := 0; minor < 20 && len(versions) < 3000; minor++ {
			for patch := 0; patch < 15 && len(versions) < 3000; patch++ {
				v := fmt.Sprintf("%d.%d.%d", major, minor, patch)
				if patch%5 == 4 {
					v += "-rc." + strconv.Itoa(patch)
				}
				versions = append(versions, v)
			}
		}
	}
	if ms := snap.Package(EcosystemNPM, "big"); len(ms) != 5 {
		b.Fatalf("%d advisories name the package, want 5", len(ms))
	}
	b.ReportAllocs()
	b.ResetTimer()
	affected := 0
	for range b.N {
		affected = 0
		ms := snap.Package(EcosystemNPM, "big")
		for _, v := range versions {
			for _, m := range ms {
				if m.Affected.Contains(v) {
					affected++
				}
			}
		}
	}
	b.ReportMetric(float64(affected), "affected")
}
