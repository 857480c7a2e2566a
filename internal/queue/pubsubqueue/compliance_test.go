package pubsubqueue

import (
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
	"github.com/ecluse/ecluse/internal/queue/queuetest"
)

// complianceHold is the hold the suite runs with. Each message's ack deadline is set
// right after the pull, so a hold below the 10s subscription minimum applies.
const complianceHold = 2 * time.Second

// TestCompliance runs the queue compliance suite against pstest and the emulator,
// one fresh topic and subscription per case.
func TestCompliance(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		queuetest.Run(t, func(t *testing.T) queuetest.Harness {
			f := newFixture(t, b)
			return queuetest.Harness{
				Open: func(t *testing.T) queue.Queue { return f.open(t, Options{Hold: complianceHold}) },
				Hold: complianceHold,
			}
		})
	})
}

// TestComplianceDeadLetter runs the suite on the emulator with subscriptions that have
// a dead-letter policy, where Pub/Sub counts deliveries, so the suite checks Attempt
// too.
func TestComplianceDeadLetter(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		f := newFixture(t, emulatorBackend).withDeadLetter(t)
		return queuetest.Harness{
			Open: func(t *testing.T) queue.Queue { return f.open(t, Options{Hold: complianceHold}) },
			Hold: complianceHold,
		}
	})
}

// TestComplianceBatch runs the suite on pstest with handles that pull in batches, to
// check that buffering keeps the contract.
func TestComplianceBatch(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		f := newFixture(t, pstestBackend)
		return queuetest.Harness{
			Open: func(t *testing.T) queue.Queue { return f.open(t, Options{Hold: complianceHold, Batch: 4}) },
			Hold: complianceHold,
		}
	})
}
