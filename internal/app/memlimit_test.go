package app

import (
	"math"
	"testing"

	"github.com/ecluse/ecluse/internal/config"
)

func TestMemoryLimitFor(t *testing.T) {
	tests := []struct {
		name          string
		cache, budget int64
		cgroup        int64
		want          int64
	}{
		{"defaults, no container limit", 256 << 20, 128 << 20, 0, 640 << 20},
		{"a container limit above the sum", 256 << 20, 128 << 20, 4 << 30, 640 << 20},
		{"a container limit below the sum", 256 << 20, 128 << 20, 400 << 20, 400 << 20 / 10 * 9},
		{"huge settings saturate", math.MaxInt64, math.MaxInt64, 0, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{CacheMaxBytes: tt.cache, MaxInflightBytes: tt.budget}
			if got := memoryLimitFor(cfg, tt.cgroup); got != tt.want {
				t.Errorf("memoryLimitFor(cache %d, budget %d, cgroup %d) = %d, want %d", tt.cache, tt.budget, tt.cgroup, got, tt.want)
			}
		})
	}
}
