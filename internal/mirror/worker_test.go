package mirror

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWorkerPublishesWhatNPMPublishSends(t *testing.T) {
	r := newRig(t)
	tgz := []byte("a tarball, not really gzip, but bytes are bytes")
	r.public.add("left-pad", "1.3.0", tgz)
	w := r.worker(t, nil)
	run(t, w)

	m := r.q.deliver(mustEncode(t, r.job("left-pad", "1.3.0", tgz)), 1)
	if acked, delay := m.wait(t); !acked {
		t.Fatalf("message nacked (delay %s), want acked; stats %+v", delay, w.Stats())
	}
	puts := r.target.putsSnapshot()
	if len(puts) != 1 {
		t.Fatalf("target got %d PUTs, want 1", len(puts))
	}
	p := puts[0]
	if p.status != http.StatusCreated {
		t.Fatalf("PUT answered %d", p.status)
	}
	if p.rawPath != "/left-pad" {
		t.Errorf("PUT path = %q, want /left-pad", p.rawPath)
	}
	if p.auth != "Bearer w-token" {
		t.Errorf("PUT Authorization = %q, want the static token as Bearer", p.auth)
	}
	if p.doc.ID != "left-pad" || p.doc.Name != "left-pad" || p.doc.Description != "the left-pad package" {
		t.Errorf("document head = %q %q %q", p.doc.ID, p.doc.Name, p.doc.Description)
	}
	if got := p.doc.DistTags; len(got) != 1 || got["latest"] != "1.3.0" {
		t.Errorf("dist-tags = %v, want latest on a target without one", got)
	}
	a, ok := p.doc.Attachments["left-pad-1.3.0.tgz"]
	if !ok || a.Length != int64(len(tgz)) || !bytes.Equal(p.tarball, tgz) {
		t.Errorf("attachments = %+v, want left-pad-1.3.0.tgz holding the tarball", p.doc.Attachments)
	}
	var manifest map[string]any
	if err := json.Unmarshal(p.doc.Versions["1.3.0"], &manifest); err != nil {
		t.Fatal(err)
	}
	dist := manifest["dist"].(map[string]any)
	if dist["integrity"] != sriOf(tgz) || dist["shasum"] != sha1Of(tgz) {
		t.Errorf("dist = %v, want the public integrity and shasum kept", dist)
	}
	if want := r.target.srv.URL + "/left-pad/-/left-pad-1.3.0.tgz"; dist["tarball"] != want {
		t.Errorf("dist.tarball = %v, want %s", dist["tarball"], want)
	}
	if dist["signatures"] == nil || manifest["_id"] != "left-pad@1.3.0" || manifest["dependencies"] == nil {
		t.Errorf("manifest = %v, want the public manifest's other members kept", manifest)
	}
	// The job counts as done before its slot is released: wait for both.
	eventually(t, "the job's slot released", func() bool { return w.Stats().InFlight == 0 })
	if s := w.Stats(); s.Received != 1 || s.Done != 1 || s.Publishes != 1 || s.InFlight != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestWorkerJobDoneOnceWhenDeliveredTwice(t *testing.T) {
	r := newRig(t)
	tgz := []byte("twice")
	r.public.add("dup", "1.0.0", tgz)
	w := r.worker(t, nil)
	run(t, w)
	body := mustEncode(t, r.job("dup", "1.0.0", tgz))
	for i := 1; i <= 2; i++ {
		if acked, _ := r.q.deliver(body, i).wait(t); !acked {
			t.Fatalf("delivery %d not acked", i)
		}
	}
	if n := len(r.target.putsSnapshot()); n != 1 {
		t.Errorf("target got %d PUTs, want 1", n)
	}
	if s := w.Stats(); s.Done != 1 || s.Skipped != 1 {
		t.Errorf("Stats = %+v, want one done and one skipped as present", s)
	}
}

func TestWorkerSettlesByOutcome(t *testing.T) {
	tgz := []byte("outcomes")
	tests := []struct {
		name      string
		putStatus int
		// breakTarball serves other bytes than the integrity names.
		breakTarball bool
		// conflict makes the target hold the version with another artifact.
		conflict  bool
		attempt   int
		wantAck   bool
		wantDelay time.Duration
		wantPuts  int
		want      func(Stats) bool
	}{
		{name: "409 counts as done", putStatus: http.StatusConflict, attempt: 1, wantAck: true, wantPuts: 1,
			want: func(s Stats) bool { return s.Done == 1 && s.AlreadyPresent == 1 }},
		{name: "500 is retried with backoff", putStatus: http.StatusInternalServerError, attempt: 3, wantDelay: 8 * time.Second, wantPuts: 1,
			want: func(s Stats) bool { return s.Retried == 1 && s.Done == 0 }},
		{name: "429 is retried", putStatus: http.StatusTooManyRequests, attempt: 1, wantDelay: 2 * time.Second, wantPuts: 1,
			want: func(s Stats) bool { return s.Retried == 1 }},
		{name: "backoff is capped", putStatus: http.StatusBadGateway, attempt: 12, wantDelay: 5 * time.Minute, wantPuts: 1,
			want: func(s Stats) bool { return s.Retried == 1 }},
		{name: "400 fails permanently", putStatus: http.StatusBadRequest, attempt: 1, wantDelay: DefaultPermanentDelay, wantPuts: 1,
			want: func(s Stats) bool { return s.Failed == 1 }},
		{name: "403 fails permanently", putStatus: http.StatusForbidden, attempt: 1, wantDelay: DefaultPermanentDelay, wantPuts: 1,
			want: func(s Stats) bool { return s.Failed == 1 }},
		{name: "integrity mismatch is never published", breakTarball: true, attempt: 1, wantDelay: DefaultPermanentDelay,
			want: func(s Stats) bool { return s.Failed == 1 && s.Publishes == 0 }},
		{name: "a different artifact on the target is a conflict", conflict: true, attempt: 1, wantDelay: DefaultPermanentDelay,
			want: func(s Stats) bool { return s.Failed == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.public.add("pkg", "1.0.0", tgz)
			if tt.putStatus != 0 {
				r.target.putStatus = func(int) int { return tt.putStatus }
			}
			if tt.breakTarball {
				r.public.served["pkg@1.0.0"] = []byte("outcomez")
			}
			if tt.conflict {
				r.target.hold("pkg", "1.0.0", sriOf([]byte("another artifact")), map[string]string{"latest": "1.0.0"})
			}
			w := r.worker(t, nil)
			run(t, w)
			acked, delay := r.q.deliver(mustEncode(t, r.job("pkg", "1.0.0", tgz)), tt.attempt).wait(t)
			if acked != tt.wantAck || (!acked && delay != tt.wantDelay) {
				t.Errorf("settled acked=%v delay=%s, want acked=%v delay=%s", acked, delay, tt.wantAck, tt.wantDelay)
			}
			if n := len(r.target.putsSnapshot()); n != tt.wantPuts {
				t.Errorf("target got %d PUTs, want %d", n, tt.wantPuts)
			}
			if s := w.Stats(); !tt.want(s) {
				t.Errorf("Stats = %+v", s)
			}
		})
	}
}

func TestWorkerAcksPoison(t *testing.T) {
	for _, body := range []string{"not json", `{"v":2}`, `{"v":1,"mount":"npm"}`, ""} {
		r := newRig(t)
		w := r.worker(t, nil)
		run(t, w)
		if acked, _ := r.q.deliver([]byte(body), 5).wait(t); !acked {
			t.Errorf("poison %q not acked", body)
		}
		if s := w.Stats(); s.Poison != 1 || s.Failed != 0 {
			t.Errorf("poison %q: Stats = %+v", body, s)
		}
	}
}

func TestWorkerUnknownUpstreamIsPermanent(t *testing.T) {
	r := newRig(t)
	tgz := []byte("elsewhere")
	r.public.add("pkg", "1.0.0", tgz)
	w := r.worker(t, nil)
	run(t, w)
	j := r.job("pkg", "1.0.0", tgz)
	j.Upstream = "http://" + freeHost(t) + "/"
	if acked, delay := r.q.deliver(mustEncode(t, j), 1).wait(t); acked || delay != DefaultPermanentDelay {
		t.Errorf("acked=%v delay=%s, want a permanent failure", acked, delay)
	}
	if hits := r.public.hits.Load(); hits != 0 {
		t.Errorf("public upstream hit %d times", hits)
	}
}

// TestWorkerHeartbeat: while a publish is slow, the message's hold is extended.
func TestWorkerHeartbeat(t *testing.T) {
	r := newRig(t)
	tgz := []byte("slow")
	r.public.add("slow", "1.0.0", tgz)
	release := blockPuts(r)
	w := r.worker(t, func(o *WorkerOptions) { o.Hold = 30 * time.Millisecond })
	run(t, w)
	t.Cleanup(release)
	m := r.q.deliver(mustEncode(t, r.job("slow", "1.0.0", tgz)), 1)
	eventually(t, "two hold extensions", func() bool { return m.extends.Load() >= 2 })
	release()
	if acked, _ := m.wait(t); !acked {
		t.Fatal("slow job not acked")
	}
	n := m.extends.Load()
	// The heartbeat stopped with the job.
	for range 3 {
		runtime.Gosched()
	}
	if m.extends.Load() != n {
		t.Error("heartbeat went on after the job settled")
	}
}

func TestWorkerHealth(t *testing.T) {
	r := newRig(t)
	tgz := []byte("stuck")
	r.public.add("stuck", "1.0.0", tgz)
	release := blockPuts(r)
	w := r.worker(t, nil)

	if err := w.Healthy(r.clock.Now().Add(24 * time.Hour)); err != nil {
		t.Errorf("idle worker: Healthy = %v, want nil", err)
	}
	run(t, w)
	t.Cleanup(release)
	r.clock.Advance(time.Hour) // idle for an hour: that is no stall
	m := r.q.deliver(mustEncode(t, r.job("stuck", "1.0.0", tgz)), 1)
	eventually(t, "the publish to start", func() bool { return len(r.target.putsSnapshot()) > 0 || r.target.gets.Load() >= 2 })
	if err := w.Healthy(r.clock.Now().Add(time.Minute)); err != nil {
		t.Errorf("busy for a minute: Healthy = %v, want nil", err)
	}
	r.clock.Advance(3 * time.Minute)
	var stalled *StalledError
	if err := w.Healthy(r.clock.Now()); !errors.As(err, &stalled) || stalled.InFlight != 1 {
		t.Errorf("stuck for 3 minutes: Healthy = %v, want a *StalledError", err)
	}
	if err := w.Live(context.Background()); err == nil {
		t.Error("Live = nil while stuck")
	}
	release()
	m.wait(t)
	eventually(t, "the job to settle", func() bool { return w.Stats().InFlight == 0 })
	if err := w.Healthy(r.clock.Now().Add(time.Hour)); err != nil {
		t.Errorf("idle again: Healthy = %v, want nil", err)
	}
}

func TestWorkerGivesBackAtShutdown(t *testing.T) {
	r := newRig(t)
	tgz := []byte("cut off")
	r.public.add("cut", "1.0.0", tgz)
	release := blockPuts(r)
	t.Cleanup(release)
	w := r.worker(t, func(o *WorkerOptions) { o.StopGrace = -1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	m := r.q.deliver(mustEncode(t, r.job("cut", "1.0.0", tgz)), 1)
	eventually(t, "the job to start", func() bool { return r.target.gets.Load() >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if acked, delay := m.wait(t); acked || delay != 0 {
		t.Errorf("acked=%v delay=%s, want given back at once", acked, delay)
	}
	if s := w.Stats(); s.GivenBack != 1 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestWorkerRunEndsWhenQueueCloses(t *testing.T) {
	r := newRig(t)
	w := r.worker(t, nil)
	r.q.Close()
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Run on a closed queue = %v, want an error", err)
	}
}

func TestWorkerLatestNeverMovesBackwards(t *testing.T) {
	tests := []struct {
		name, version, latest string
		wantTag               string
		wantLatest            string
	}{
		{"older release", "1.5.0", "2.0.0", DefaultMirrorTag, "2.0.0"},
		{"newer release", "3.0.0", "2.0.0", "latest", "3.0.0"},
		{"newer prerelease", "3.0.0-beta.1", "2.0.0", DefaultMirrorTag, "2.0.0"},
		{"release past a prerelease latest", "2.0.0", "2.0.0-rc.1", "latest", "2.0.0"},
		{"same minor, older patch", "2.0.0", "2.0.1", DefaultMirrorTag, "2.0.1"},
		{"no latest yet", "0.1.0", "", "latest", "0.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			tgz := []byte("v" + tt.version)
			r.public.add("tagged", tt.version, tgz)
			if tt.latest != "" {
				r.target.hold("tagged", tt.latest, sriOf([]byte("old")), map[string]string{"latest": tt.latest})
			}
			w := r.worker(t, nil)
			run(t, w)
			if acked, _ := r.q.deliver(mustEncode(t, r.job("tagged", tt.version, tgz)), 1).wait(t); !acked {
				t.Fatalf("not acked: %+v", w.Stats())
			}
			puts := r.target.putsSnapshot()
			if len(puts) != 1 {
				t.Fatalf("%d PUTs", len(puts))
			}
			if got := puts[0].doc.DistTags; len(got) != 1 || got[tt.wantTag] != tt.version {
				t.Errorf("dist-tags sent = %v, want {%s: %s}", got, tt.wantTag, tt.version)
			}
			if got := r.target.distTags("tagged")["latest"]; got != tt.wantLatest {
				t.Errorf("target latest = %q, want %q", got, tt.wantLatest)
			}
		})
	}
}

func TestWorkerScopedName(t *testing.T) {
	r := newRig(t)
	tgz := []byte("scoped")
	r.public.add("@scope/pkg", "1.0.0", tgz)
	w := r.worker(t, nil)
	run(t, w)
	if acked, _ := r.q.deliver(mustEncode(t, r.job("@scope/pkg", "1.0.0", tgz)), 1).wait(t); !acked {
		t.Fatalf("not acked: %+v", w.Stats())
	}
	p := r.target.putsSnapshot()[0]
	if p.rawPath != "/@scope%2fpkg" {
		t.Errorf("PUT path = %q, want /@scope%%2fpkg", p.rawPath)
	}
	if _, ok := p.doc.Attachments["@scope/pkg-1.0.0.tgz"]; !ok {
		t.Errorf("attachments = %v, want @scope/pkg-1.0.0.tgz", p.doc.Attachments)
	}
	var manifest struct {
		Dist struct{ Tarball string } `json:"dist"`
	}
	_ = json.Unmarshal(p.doc.Versions["1.0.0"], &manifest)
	if want := r.target.srv.URL + "/@scope/pkg/-/pkg-1.0.0.tgz"; manifest.Dist.Tarball != want {
		t.Errorf("dist.tarball = %q, want %q", manifest.Dist.Tarball, want)
	}
}

// TestWorkerLargeTarballBoundedMemory publishes a 20 MB tarball and checks the bytes
// allocated meanwhile, by the worker, the fake upstream and the streaming fake target
// together, stay far below the tarball's size: it is spooled to a file and its base64
// text streamed into the request, never held.
func TestWorkerLargeTarballBoundedMemory(t *testing.T) {
	const size = 20 << 20
	r := newRig(t)
	tgz := make([]byte, size)
	_, _ = rand.Read(tgz)
	r.public.add("big", "1.0.0", tgz)
	r.target.streaming = true
	w := r.worker(t, func(o *WorkerOptions) { o.TempDir = t.TempDir() })
	body := mustEncode(t, r.job("big", "1.0.0", tgz))
	run(t, w)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := r.q.deliver(body, 1)
	if acked, _ := m.wait(t); !acked {
		t.Fatalf("not acked: %+v", w.Stats())
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes while mirroring %d", allocated, size)
	if allocated > size/8 {
		t.Errorf("allocated %d bytes while mirroring a %d-byte tarball, want far less", allocated, size)
	}
	r.target.mu.Lock()
	defer r.target.mu.Unlock()
	if r.target.streamedHash != sriOf(tgz) || r.target.streamedLen != size {
		t.Errorf("target received %d bytes hashing to %s, want the tarball", r.target.streamedLen, r.target.streamedHash)
	}
}

func TestRetryDelay(t *testing.T) {
	w, err := NewWorker(WorkerOptions{Queue: newFakeQueue(), Target: &NPMPublisher{}, Fetch: &UpstreamFetcher{},
		Jitter: func(limit time.Duration) time.Duration { return limit }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{{0, 2 * time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {7, 128 * time.Second}, {8, 256 * time.Second}, {9, 5 * time.Minute}, {100, 5 * time.Minute}} {
		if got := w.retryDelay(tt.attempt); got != tt.want {
			t.Errorf("retryDelay(%d) = %s, want %s", tt.attempt, got, tt.want)
		}
	}
	w.opts.Jitter = func(time.Duration) time.Duration { return -time.Hour }
	if got := w.retryDelay(3); got != 0 {
		t.Errorf("retryDelay with a negative jitter = %s, want 0", got)
	}
	// The default jitter stays within its bound.
	w2, _ := NewWorker(WorkerOptions{Queue: newFakeQueue(), Target: &NPMPublisher{}, Fetch: &UpstreamFetcher{}})
	for range 100 {
		if d := w2.retryDelay(2); d < 0 || d > 4*time.Second {
			t.Fatalf("retryDelay(2) = %s, outside [0, 4s]", d)
		}
	}
}
