package budget

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNilBudgetIsUnbounded(t *testing.T) {
	var b *Budget
	l := b.Lease(150)
	if err := l.Charge(context.Background(), 1<<40); err != nil {
		t.Fatalf("nil lease Charge = %v, want nil", err)
	}
	l.Release()
	if b.InUse() != 0 || b.Max() != 0 {
		t.Fatalf("nil budget InUse, Max = %d, %d, want 0, 0", b.InUse(), b.Max())
	}
	if New(0, 0) != nil {
		t.Fatal("New(0) is bounded, want nil")
	}
}

func TestChargeScalesAndReleases(t *testing.T) {
	b := New(1000, time.Second)
	l := b.Lease(150)
	if err := l.Charge(context.Background(), 200); err != nil {
		t.Fatal(err)
	}
	if got := l.Held(); got != 300 {
		t.Fatalf("Held = %d, want 300 (150%% of 200)", got)
	}
	if got := b.InUse(); got != 300 {
		t.Fatalf("InUse = %d, want 300", got)
	}
	l.Release()
	l.Release() // a second release does nothing
	if got := b.InUse(); got != 0 {
		t.Fatalf("InUse after release = %d, want 0", got)
	}
	if err := l.Charge(context.Background(), 1); err == nil {
		t.Fatal("Charge after Release = nil, want an error")
	}
}

func TestChargeLargerThanBudgetTakesAllOfIt(t *testing.T) {
	b := New(1000, time.Second)
	l := b.Lease(100)
	if err := l.Charge(context.Background(), 5000); err != nil {
		t.Fatalf("Charge(5000) = %v, want nil (clamped to the budget)", err)
	}
	if got := l.Held(); got != 1000 {
		t.Fatalf("Held = %d, want 1000", got)
	}
	if err := l.Charge(context.Background(), 10); err != nil {
		t.Fatalf("further Charge on a lease holding the whole budget = %v, want nil", err)
	}
	l.Release()
}

func TestChargeWaitsThenFails(t *testing.T) {
	b := New(1000, 20*time.Millisecond)
	first := b.Lease(100)
	if err := first.Charge(context.Background(), 900); err != nil {
		t.Fatal(err)
	}
	second := b.Lease(100)
	err := second.Charge(context.Background(), 200)
	var ex *ExhaustedError
	if !errors.As(err, &ex) || !errors.Is(err, ErrExhausted) {
		t.Fatalf("Charge over the budget = %v, want *ExhaustedError", err)
	}
	if ex.Want != 200 || ex.Max != 1000 {
		t.Fatalf("ExhaustedError = %+v, want Want 200, Max 1000", ex)
	}
	if got := b.InUse(); got != 900 {
		t.Fatalf("InUse after a failed charge = %d, want 900", got)
	}
	first.Release()
	second.Release()
}

func TestChargeWaitsForRelease(t *testing.T) {
	b := New(1000, time.Minute)
	first := b.Lease(100)
	if err := first.Charge(context.Background(), 1000); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	second := b.Lease(100)
	go func() { done <- second.Charge(context.Background(), 500) }()
	first.Release()
	if err := <-done; err != nil {
		t.Fatalf("Charge after room was made = %v, want nil", err)
	}
	second.Release()
}

func TestChargeStopsWithContext(t *testing.T) {
	b := New(10, time.Minute)
	first := b.Lease(100)
	if err := first.Charge(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Lease(100).Charge(ctx, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("Charge with a cancelled context = %v, want context.Canceled", err)
	}
	first.Release()
}
