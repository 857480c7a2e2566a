package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/queue/memqueue"
)

func TestGroupStopsInReverseOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	started := make(chan struct{}, 3)
	g := &group{log: slog.New(slog.DiscardHandler)}
	for _, name := range []string{"queue", "worker", "listener"} {
		g.add(name, func(ctx context.Context) error {
			started <- struct{}{}
			<-ctx.Done()
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- g.run(ctx) }()
	for range 3 {
		<-started
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if got := strings.Join(order, ","); got != "listener,worker,queue" {
		t.Errorf("stop order = %s, want listener,worker,queue", got)
	}
}

func TestGroupFailureStopsTheOthers(t *testing.T) {
	g := &group{log: slog.New(slog.DiscardHandler)}
	stopped := make(chan struct{})
	g.add("listener", func(ctx context.Context) error {
		<-ctx.Done()
		close(stopped)
		return nil
	})
	g.add("worker", func(context.Context) error { return errors.New("queue gone") })
	err := g.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "worker: queue gone") {
		t.Fatalf("run = %v, want the worker's error", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("the listener was not stopped when the worker failed")
	}
}

func TestGroupComponentReturningEarlyIsAFailure(t *testing.T) {
	g := &group{log: slog.New(slog.DiscardHandler)}
	g.add("exporter", func(context.Context) error { return nil })
	if err := g.run(context.Background()); err == nil || !strings.Contains(err.Error(), "exporter: stopped unexpectedly") {
		t.Errorf("run = %v, want an unexpected stop reported", err)
	}
}

func TestLogMirrorStatsReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := logMirrorStats(ctx, nil, nil, nil, time.Hour, slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("logMirrorStats after cancel = %v, want nil", err)
	}
}

func TestQueueDepth(t *testing.T) {
	q := memqueue.New(memqueue.Options{})
	defer q.Close()
	if err := q.Enqueue(context.Background(), []byte("job")); err != nil {
		t.Fatal(err)
	}
	if n := queueDepth(context.Background(), q); n != 1 {
		t.Errorf("queueDepth(memory queue with one job) = %d, want 1", n)
	}
}
