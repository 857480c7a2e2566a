package natsqueue

import (
	"context"
	"fmt"
)

// Depth returns the jobs the durable consumer has yet to finish: those waiting and
// those delivered but not acknowledged. For the mirror's periodic statistics.
func (q *Queue) Depth(ctx context.Context) (int, error) {
	info, err := q.cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the queue's depth: %w", err)
	}
	return int(info.NumPending) + info.NumAckPending, nil
}
