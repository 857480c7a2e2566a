package observe

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the batching
// span processor and the periodic metric reader must stop on Shutdown.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
