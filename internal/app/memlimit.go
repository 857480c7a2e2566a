package app

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/ecluse/ecluse/internal/config"
)

// memoryHeadroom is what the soft memory limit allows beyond the cache and the
// in-flight budget: the runtime, connection buffers, responses being written and
// tarballs streaming.
const memoryHeadroom = 64 << 20

// advisoryAllowance is what the soft memory limit allows for the advisory index: the
// index in use (about 90 MiB for OSV's npm export) and the next one while it is built.
const advisoryAllowance = 192 << 20

// cgroupMemoryMax is where cgroup v2 publishes the container's memory limit.
var cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// setMemoryLimit gives the Go runtime a soft memory limit, unless the operator set
// GOMEMLIMIT (which the runtime applies itself). Écluse's own bounds (the document cache
// and the in-flight budget) cap what it keeps live; the limit makes the collector
// return garbage before the heap doubles past them, which is what turned a few large
// documents into an out-of-memory kill. It is the sum of those bounds and a headroom,
// or 90% of the container's cgroup limit when that is lower. It returns the limit set,
// or -1 when GOMEMLIMIT is left to the runtime.
func setMemoryLimit(cfg *config.Config, getenv func(string) (string, bool), log *slog.Logger) int64 {
	if v, ok := getenv("GOMEMLIMIT"); ok && v != "" {
		log.Info("GOMEMLIMIT is set; the runtime applies it", "gomemlimit", v)
		return -1
	}
	limit := memoryLimitFor(cfg, readCgroupLimit())
	debug.SetMemoryLimit(limit)
	return limit
}

// memoryLimitFor computes the soft limit from the configuration and the container's
// limit (0 when unknown).
func memoryLimitFor(cfg *config.Config, cgroup int64) int64 {
	limit := saturatingAdd(saturatingAdd(saturatingAdd(cfg.CacheMaxBytes, cfg.MaxInflightBytes), memoryHeadroom), advisoryAllowance)
	if cgroup > 0 && cgroup/10*9 < limit {
		limit = cgroup / 10 * 9
	}
	return limit
}

func saturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// readCgroupLimit returns the cgroup v2 memory limit, or 0 when there is none or it
// cannot be read.
func readCgroupLimit() int64 {
	b, err := os.ReadFile(cgroupMemoryMax)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0 // "max": no limit
	}
	return n
}
