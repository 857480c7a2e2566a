package policy

import (
	"fmt"
	"testing"
	"time"
)

// syntheticVersions returns n versions of a mix that exercises every rule of benchDoc:
// mostly old and clean, some young, some with scripts, some in the exception scope,
// some ranged, some on the deny list.
func syntheticVersions(n int) []Version {
	vs := make([]Version, n)
	for i := range vs {
		v := version(fmt.Sprintf("pkg-%d", i%500), fmt.Sprintf("1.%d.%d", i%17, i%5), time.Duration(i%60)*day)
		switch i % 10 {
		case 1:
			v.InstallScripts = []string{"postinstall"}
		case 2:
			v.Name = fmt.Sprintf("@corp/lib-%d", i%50)
		case 3:
			v.Name = "typescript"
		case 4:
			v.Name = "flatmap-stream"
		case 5:
			v.Name = fmt.Sprintf("eslint-plugin-%d", i%20)
		}
		vs[i] = *v
	}
	return vs
}

// BenchmarkDecide3000 decides 3,000 versions (one op) with the default policy plus
// three rules; the budget is well under a millisecond per op.
func BenchmarkDecide3000(b *testing.B) {
	p := mustBuild(b, benchDoc, Options{})
	vs := syntheticVersions(3000)
	b.ReportAllocs()
	for b.Loop() {
		for i := range vs {
			_ = p.Decide(&vs[i], now)
		}
	}
}

// BenchmarkDecideAbstaining decides one old, clean version: every extra rule abstains
// and min-age admits. It must report 0 allocs/op.
func BenchmarkDecideAbstaining(b *testing.B) {
	p := mustBuild(b, benchDoc, Options{})
	v := version("react", "18.2.0", 30*day)
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Decide(v, now)
	}
}

// BenchmarkAbstainingRule evaluates one AllowPackages rule that abstains.
func BenchmarkAbstainingRule(b *testing.B) {
	p := mustBuild(b, benchDoc, Options{})
	var r *rule
	for i := range p.rules {
		if p.rules[i].name == "exceptions" {
			r = &p.rules[i]
		}
	}
	v := version("react", "18.2.0", 30*day)
	b.ReportAllocs()
	for b.Loop() {
		if verdict, _ := p.eval(r, v, now); verdict != abstain {
			b.Fatal("rule did not abstain")
		}
	}
}

// BenchmarkReason is the cost paid only when a reason is wanted.
func BenchmarkReason(b *testing.B) {
	p := mustBuild(b, benchDoc, Options{})
	d := p.Decide(version("react", "18.3.0", day), now)
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Reason()
	}
}
