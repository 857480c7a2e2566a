package sqsqueue

import (
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
	"github.com/ecluse/ecluse/internal/queue/queuetest"
)

// complianceHold is the hold the suite runs with: SQS counts visibility in whole
// seconds, and a short one keeps the suite quick.
const complianceHold = 2 * time.Second

// TestCompliance runs the queue compliance suite against moto, one fresh queue per
// case.
func TestCompliance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		url := newQueueURL(t)
		return queuetest.Harness{
			Open: func(t *testing.T) queue.Queue {
				return openQueue(t, url, Options{Hold: complianceHold, WaitTime: time.Second})
			},
			Hold: complianceHold,
		}
	})
}

// TestComplianceBatch runs the suite with handles that receive in batches, to check
// that buffering keeps the contract.
func TestComplianceBatch(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		url := newQueueURL(t)
		return queuetest.Harness{
			Open: func(t *testing.T) queue.Queue {
				return openQueue(t, url, Options{Hold: complianceHold, WaitTime: time.Second, Batch: 4})
			},
			Hold: complianceHold,
		}
	})
}
