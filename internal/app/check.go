package app

import (
	"encoding/json"
	"io"

	"github.com/ecluse/ecluse/internal/config"
)

// CheckReport is what `ecluse check-config` prints on success.
type CheckReport struct {
	Config config.Effective `json:"config"`
	Policy any              `json:"policy"`
}

// WriteCheckReport prints the effective configuration and policy as indented JSON.
func WriteCheckReport(w io.Writer, l *Loaded) error {
	rep := CheckReport{Config: l.Config.Effective()}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
