package app

import (
	"encoding/json"
	"io"
	"time"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/policy"
)

// CheckReport is what `ecluse check-config` prints on success.
type CheckReport struct {
	Config config.Effective `json:"config"`
	Policy policy.Effective `json:"policy"`
	// ExpiredExceptions are allow-list entries past their expiry: they no longer apply.
	ExpiredExceptions []policy.Exception `json:"expiredExceptions"`
	// ExpiringExceptions are entries that expire within 14 days.
	ExpiringExceptions []policy.Exception `json:"expiringExceptions"`
}

// WriteCheckReport prints the effective configuration and policy as indented JSON.
func WriteCheckReport(w io.Writer, l *Loaded, now time.Time) error {
	expired, soon := l.Policy.Expiring(now, exceptionWarningWindow)
	rep := CheckReport{
		Config:             l.Config.Effective(),
		Policy:             l.Policy.Effective(now),
		ExpiredExceptions:  orEmpty(expired),
		ExpiringExceptions: orEmpty(soon),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
