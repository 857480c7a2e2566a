package sqsqueue

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the tests, stops the SQS emulator if a test started it, and fails the
// package if any goroutine outlives them.
func TestMain(m *testing.M) {
	code := m.Run()
	moto.stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
