package gate

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ecluse/ecluse/internal/instrument"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// This file is the gate's telemetry, through the OpenTelemetry API's global providers:
// the "policy.decide" span around the decision of a document's versions and the
// ecluse.policy.versions.blocked counter; the cache result of a packument request
// (ecluse.cache on the request's span, and the ecluse.cache.requests counter); and the
// "tarball.stream" span with the ecluse.tarball.bytes counter for a public tarball.
// Metric attributes are closed sets (rule names are bounded by the operator's policy);
// package names go on spans only.

const scope = "github.com/ecluse/ecluse/internal/gate"

// Attribute keys.
const (
	keyPackage       = attribute.Key("ecluse.package")
	keyVersion       = attribute.Key("ecluse.version")
	keyVersions      = attribute.Key("ecluse.versions")
	keyBlocked       = attribute.Key("ecluse.versions.blocked")
	keyRule          = attribute.Key("ecluse.rule")
	keyCache         = attribute.Key("ecluse.cache")
	keyOutcome       = attribute.Key("ecluse.outcome")
	keyTarballBytes  = attribute.Key("ecluse.tarball.bytes")
	blockedPrefix    = "ecluse.blocked."
	spanDecide       = "policy.decide"
	spanTarball      = "tarball.stream"
	otherRule        = "other"
	maxRuleSets      = 256
	numCacheStates   = int(downloaded) + 1
	numStreamResults = int(streamAborted) + 1
)

// telemetry is the package's tracer and instruments, made from the global providers.
type telemetry struct {
	tracer       trace.Tracer
	blocked      metric.Int64Counter
	cache        metric.Int64Counter
	tarballBytes metric.Int64Counter
}

var instruments = instrument.Bind(func(p instrument.Providers) *telemetry {
	meter := p.Meter.Meter(scope)
	return &telemetry{
		tracer: p.Tracer.Tracer(scope),
		blocked: instrument.Counter(meter, "ecluse.policy.versions.blocked", "{version}",
			"Public versions the policy removed from a document it rendered, by the rule that decided."),
		cache: instrument.Counter(meter, "ecluse.cache.requests", "{request}",
			"Packument requests by what it took to answer them: hit, revalidated or miss."),
		tarballBytes: instrument.Counter(meter, "ecluse.tarball.bytes", "By",
			"Public tarball bytes streamed from the upstream, by how the stream ended."),
	}
})

// tel returns the tracer and instruments of the global providers installed now.
func tel() *telemetry { return instruments.Get() }

// cacheOptions are ecluse.cache.requests' attribute sets, by freshness.
var cacheOptions = func() (o [numCacheStates][]metric.AddOption) {
	for f := range freshness(numCacheStates) {
		o[f] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyCache.String(f.header())))}
	}
	return o
}()

// noteCache records what answering a packument request took, on the request's span and
// in ecluse.cache.requests.
func noteCache(ctx context.Context, f freshness) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(keyCache.String(f.header()))
	}
	tel().cache.Add(ctx, 1, cacheOptions[f]...)
}

// notePackage names the package a request is for on the request's span.
func notePackage(ctx context.Context, name, version string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		if version == "" {
			span.SetAttributes(keyPackage.String(name))
			return
		}
		span.SetAttributes(keyPackage.String(name), keyVersion.String(version))
	}
}

// ruleSets keeps ecluse.policy.versions.blocked's attribute sets by rule name. Rule
// names are the policy's, bounded by the operator's configuration; past maxRuleSets
// (a safeguard) further rules are counted as "other". The map is replaced, never
// changed, so reading it takes no lock.
var ruleSets struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string][]metric.AddOption]
}

// ruleOptions returns the add options for rule.
func ruleOptions(rule string) []metric.AddOption {
	if m := ruleSets.m.Load(); m != nil {
		if o, ok := (*m)[rule]; ok {
			return o
		}
	}
	ruleSets.mu.Lock()
	defer ruleSets.mu.Unlock()
	var old map[string][]metric.AddOption
	if p := ruleSets.m.Load(); p != nil {
		old = *p
	}
	if o, ok := old[rule]; ok {
		return o
	}
	if len(old) >= maxRuleSets {
		rule = otherRule
		if o, ok := old[rule]; ok {
			return o
		}
	}
	o := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyRule.String(rule)))}
	next := make(map[string][]metric.AddOption, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[rule] = o
	ruleSets.m.Store(&next)
	return o
}

// startDecide starts the "policy.decide" span of a document's versions. The returned
// tally is nil when neither the span records nor the counter is enabled: then nothing
// is counted per rule.
func startDecide(ctx context.Context) (context.Context, trace.Span, *telemetry, map[string]int) {
	t := tel()
	ctx, span := t.tracer.Start(ctx, spanDecide)
	if span.IsRecording() || t.blocked.Enabled(ctx) {
		return ctx, span, t, map[string]int{}
	}
	return ctx, span, t, nil
}

// endDecide records a document's decision and ends its span.
func endDecide(ctx context.Context, span trace.Span, t *telemetry, name string, versions int, d *decided, byRule map[string]int) {
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 3+len(byRule))
		attrs = append(attrs, keyPackage.String(name), keyVersions.Int(versions), keyBlocked.Int(d.blocked))
		for rule, n := range byRule {
			attrs = append(attrs, attribute.Int(blockedPrefix+rule, n))
		}
		span.SetAttributes(attrs...)
	}
	span.End()
	for rule, n := range byRule {
		t.blocked.Add(ctx, int64(n), ruleOptions(rule)...)
	}
}

// streamResult is how a public tarball's stream ended, a closed set.
type streamResult uint8

const (
	streamOK       streamResult = iota // delivered whole: digest matched, contents passed
	streamMismatch                     // the digest did not match
	streamRefused                      // refused for what it holds
	streamError                        // the upstream's body failed
	streamAborted                      // closed before its end (a HEAD, a client gone)
)

func (r streamResult) String() string {
	switch r {
	case streamOK:
		return "ok"
	case streamMismatch:
		return "integrity-mismatch"
	case streamRefused:
		return "refused"
	case streamError:
		return "error"
	}
	return "aborted"
}

// streamOptions are ecluse.tarball.bytes' attribute sets, by result.
var streamOptions = func() (o [numStreamResults][]metric.AddOption) {
	for r := range streamResult(numStreamResults) {
		o[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyOutcome.String(r.String())))}
	}
	return o
}()

// startStream starts the "tarball.stream" span of a public tarball, and returns what
// ends it: the stream's result and the bytes read from the upstream, called once.
func startStream(ctx context.Context, name, version string) func(streamResult, int64) {
	t := tel()
	ctx, span := t.tracer.Start(ctx, spanTarball)
	if span.IsRecording() {
		span.SetAttributes(keyPackage.String(name), keyVersion.String(version))
	}
	return func(r streamResult, n int64) {
		if span.IsRecording() {
			span.SetAttributes(keyOutcome.String(r.String()), keyTarballBytes.Int64(n))
			if r != streamOK && r != streamAborted {
				span.SetStatus(codes.Error, r.String())
			}
		}
		span.End()
		t.tarballBytes.Add(ctx, n, streamOptions[r]...)
	}
}
