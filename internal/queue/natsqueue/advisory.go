package natsqueue

import (
	"encoding/json"

	"github.com/nats-io/nats.go"
)

// maxDeliveriesPrefix is the subject prefix of JetStream's advisory that a message
// reached its consumer's MaxDeliver and will not be delivered again.
const maxDeliveriesPrefix = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"

func maxDeliveriesSubject(stream, consumer string) string {
	return maxDeliveriesPrefix + "." + stream + "." + consumer
}

// maxDeliveries is the part of the advisory that is logged.
type maxDeliveries struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// givenUp logs a job JetStream will not deliver again: it stays in the stream, where
// an operator can inspect or remove it.
func (q *Queue) givenUp(msg *nats.Msg) {
	var a maxDeliveries
	if err := json.Unmarshal(msg.Data, &a); err != nil {
		q.log.Warn("mirror job given up after too many deliveries", "stream", q.opts.Stream, "consumer", q.opts.Consumer, "error", err)
		return
	}
	q.log.Warn("mirror job given up after too many deliveries",
		"stream", a.Stream, "consumer", a.Consumer, "stream_seq", a.StreamSeq, "deliveries", a.Deliveries)
}
