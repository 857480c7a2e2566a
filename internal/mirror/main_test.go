package mirror

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (a heartbeat, a
// job, a Run loop).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
