// Package queuetest is the one compliance suite every mirror queue provider passes
// (memqueue, natsqueue, sqsqueue, pubsubqueue). A provider's test builds a Harness
// onto a fresh underlying queue and calls Run; the suite checks the contract written on
// queue.Queue and queue.Message: payloads delivered intact and exactly once when
// acknowledged, redelivery after a consumer crashes or its hold lapses, Extend, Nack
// with a delay, Receive honouring its context and Close, no message held by two
// consumers at once, and the depth cap of a bounded provider.
//
// It imports testing and is imported only by tests. It never sleeps to synchronise:
// positive checks poll with a deadline of a few Holds plus a margin, and a check that
// something must not happen waits a fixed multiple of Hold as a Receive timeout.
package queuetest
