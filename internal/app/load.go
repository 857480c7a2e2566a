package app

import (
	"github.com/ecluse/ecluse/internal/config"
)

// Loaded is a configuration that passed every check, with the parts built from it that
// validation needs (the merged rule policy).
type Loaded struct {
	Config *config.Config
}

// Load reads and validates the whole configuration: the environment, the document and
// the rule policy built from it. It returns every problem found.
func Load(src config.Source) (*Loaded, config.Problems) {
	cfg, problems := config.Load(src)
	return &Loaded{Config: cfg}, problems
}
