package pypi

import (
	"fmt"
	"testing"
	"time"
)

// benchProject is a project page the size of a busy real one: 5,000 files.
func benchProject() *Project {
	p := &Project{Name: "bench-pkg", APIVersion: APIVersion}
	for i := 0; i < 5000; i++ {
		v := fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10)
		p.Versions = append(p.Versions, v)
		p.Files = append(p.Files, File{
			Filename:       "bench_pkg-" + v + "-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
			URL:            fmt.Sprintf("https://files.example.test/packages/%02x/%02x/bench_pkg-%s-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", i%256, i/256, v),
			Hashes:         map[string]string{"sha256": fmt.Sprintf("%064x", i)},
			RequiresPython: ">=3.8",
			Yanked:         i%97 == 0,
			UploadTime:     time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
			Size:           int64(1000 + i),
			CoreMetadata:   Metadata{Present: true, Hashes: map[string]string{"sha256": fmt.Sprintf("%064x", i+1)}},
		})
	}
	return p
}

func BenchmarkParseJSON(b *testing.B) {
	body := RenderJSON(benchProject())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHTML(b *testing.B) {
	body := RenderHTML(benchProject(), "bench-pkg")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHTML(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderJSON(b *testing.B) {
	p := benchProject()
	b.ReportAllocs()
	for b.Loop() {
		RenderJSON(p)
	}
}

func BenchmarkRenderHTML(b *testing.B) {
	p := benchProject()
	b.ReportAllocs()
	for b.Loop() {
		RenderHTML(p, "bench-pkg")
	}
}

func BenchmarkCompileRangePredicate(b *testing.B) {
	in, err := Ordering{}.CompileRange(">=1.2, !=1.5.*, <2.0")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in("1.9.3rc1")
	}
}
