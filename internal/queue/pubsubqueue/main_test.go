package pubsubqueue

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the tests, stops the Pub/Sub emulator if a test started it, and
// fails the package if any goroutine outlives them. One is expected: OpenCensus's
// stats worker, which the Pub/Sub client library's import of go.opencensus.io/stats/view
// starts in that package's init and which runs for the life of the process.
func TestMain(m *testing.M) {
	code := m.Run()
	emulator.stop()
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
