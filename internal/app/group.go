package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// component is one long-running part of the process: the listener today; the mirror
// worker, the advisory sync and the telemetry exporter as they arrive.
type component struct {
	name string
	// run works until ctx is cancelled, then stops (within its own grace) and returns.
	// An error returned before ctx ends stops the whole group.
	run func(ctx context.Context) error
}

// group runs components together and stops them in order: when the parent context
// ends, or any component fails, the components are stopped one at a time in the
// reverse of the order they were added, each finishing before the next is told. So a
// part added first (a queue a worker feeds on) outlives the parts added after it (the
// listener that feeds it), and nothing is left running when run returns.
type group struct {
	log        *slog.Logger
	components []component
}

func (g *group) add(name string, run func(ctx context.Context) error) {
	g.components = append(g.components, component{name: name, run: run})
}

// run starts every component and returns when all have returned: nil when they all
// stopped cleanly after ctx ended, else every error, each naming its component.
func (g *group) run(ctx context.Context) error {
	type result struct {
		i   int
		err error
	}
	done := make(chan result, len(g.components))
	cancels := make([]context.CancelFunc, len(g.components))
	finished := make([]chan struct{}, len(g.components))
	var wg sync.WaitGroup
	for i, c := range g.components {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i], finished[i] = cancel, make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(finished[i])
			done <- result{i, c.run(cctx)}
		}()
	}
	var errs []error
	record := func(r result) {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", g.components[r.i].name, r.err))
		}
	}
	select {
	case <-ctx.Done():
	case r := <-done:
		// A component stopped on its own: whatever it says, the process cannot go on
		// without it.
		record(r)
		if r.err == nil {
			errs = append(errs, fmt.Errorf("%s: stopped unexpectedly", g.components[r.i].name))
		}
		g.log.Error("component stopped; shutting down the others", "component", g.components[r.i].name, "error", r.err)
	}
	for i := len(g.components) - 1; i >= 0; i-- {
		cancels[i]()
		<-finished[i]
	}
	wg.Wait()
	close(done)
	for r := range done {
		record(r)
	}
	return errors.Join(errs...)
}
