package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/egress"
)

// advisoryEcosystems lists the ecosystems the advisory index keeps: those the mounts
// serve.
func advisoryEcosystems(mounts []LoadedMount) []string {
	var out []string
	for _, eco := range []string{config.EcosystemNPM, config.EcosystemGo, config.EcosystemPyPI} {
		for _, m := range mounts {
			if m.Ecosystem == eco {
				out = append(out, eco)
				break
			}
		}
	}
	return out
}

// newAdvisories builds the syncer of the advisory index from CVE_SOURCE_URL, fetching
// URL sources through the egress guard. It does not sync: the run group starts it.
func newAdvisories(l *Loaded, guard *egress.Guard, log *slog.Logger) (*advisory.Syncer, error) {
	cfg := l.Config
	s, err := advisory.NewSyncer(advisory.SyncOptions{
		Sources:          cfg.CVESources,
		Ecosystems:       advisoryEcosystems(l.Mounts),
		Client:           guard.Client(),
		Interval:         cfg.CVESyncInterval,
		MaxDownloadBytes: cfg.CVEMaxDownloadBytes,
		Logger:           log,
	})
	if err != nil {
		return nil, fmt.Errorf("advisory index (CVE_SOURCE_URL): %w", err)
	}
	return s, nil
}

// AdvisoryDetail is the advisory index's state as /readyz and check-config report it.
type AdvisoryDetail struct {
	// Loaded is false until the first sync succeeds; the advisory rules fail closed
	// (or abstain, as set) until then.
	Loaded     bool   `json:"loaded"`
	Generation uint64 `json:"generation"`
	Records    int    `json:"records"`
	// Built is when the index in use was assembled; AgeSeconds how long ago.
	Built      *time.Time `json:"built,omitempty"`
	AgeSeconds int64      `json:"ageSeconds"`
	// LastError is the last failed sync's error; empty after a success.
	LastError string `json:"lastError,omitempty"`
	// Syncs, Failures and Unchanged count sync rounds since boot: all, failed, and
	// those where no source had changed.
	Syncs     uint64           `json:"syncs"`
	Failures  uint64           `json:"failures"`
	Unchanged uint64           `json:"unchanged"`
	Sources   []AdvisorySource `json:"sources"`
}

// AdvisorySource is one CVE_SOURCE_URL entry's state.
type AdvisorySource struct {
	Source       string     `json:"source"`
	Records      int        `json:"records"`
	ETag         string     `json:"etag,omitempty"`
	LastModified string     `json:"lastModified,omitempty"`
	Fetched      *time.Time `json:"fetched,omitempty"`
	LastError    string     `json:"lastError,omitempty"`
}

func advisoryDetail(st advisory.Status, now time.Time) AdvisoryDetail {
	d := AdvisoryDetail{
		Loaded: st.Loaded, Generation: st.Generation, Records: st.Records,
		AgeSeconds: int64(st.Age(now) / time.Second), LastError: st.LastError,
		Syncs: st.Rounds, Failures: st.Failures, Unchanged: st.Unchanged, Sources: []AdvisorySource{},
	}
	for _, src := range st.Sources {
		as := AdvisorySource{Source: src.Source, Records: src.Records, ETag: src.ETag, LastModified: src.LastModified, LastError: src.LastError}
		if !src.Fetched.IsZero() {
			f := src.Fetched
			as.Fetched = &f
		}
		d.Sources = append(d.Sources, as)
	}
	if st.Loaded {
		b := st.Built
		d.Built = &b
	}
	return d
}

// syncOnce builds the index's syncer as serve would and runs one sync, for
// check-config. A failed sync is reported in the detail, not returned: only a syncer
// that cannot be built is an error.
func syncOnce(ctx context.Context, l *Loaded) (AdvisoryDetail, error) {
	log := slog.New(slog.DiscardHandler)
	guard, err := egress.New(egressOptions(l.Config, log))
	if err != nil {
		return AdvisoryDetail{}, fmt.Errorf("egress guard: %w", err)
	}
	s, err := newAdvisories(l, guard, log)
	if err != nil {
		return AdvisoryDetail{}, err
	}
	_ = s.Sync(ctx) // its error is in the status
	return advisoryDetail(s.Status(), time.Now()), nil
}
