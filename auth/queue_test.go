package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (q *checkQueue) state() (queued int, lanes map[string]int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	lanes = make(map[string]int)
	for k, l := range q.lanes {
		lanes[k] = l.n
	}
	return q.queued, lanes
}

// TestQueueFairAcrossClients: however many checks one client has
// waiting, another client's check runs right after the one running now.
func TestQueueFairAcrossClients(t *testing.T) {
	q := newCheckQueue(1)
	ctx := context.Background()
	relA, err := q.acquire(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	run := func(client string) {
		wg.Go(func() {
			rel, err := q.acquire(ctx, client)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, client)
			mu.Unlock()
			rel()
		})
	}
	for range 3 {
		run("a")
	}
	waitFor(t, "a's checks in its lane", func() bool { _, l := q.state(); return l["a"] == 4 })
	run("b")
	waitFor(t, "b queued", func() bool { n, _ := q.state(); return n == 1 })
	relA()
	wg.Wait()
	if len(order) != 4 || order[0] != "b" {
		t.Fatalf("order %v: b should run first after the running check", order)
	}
	if n, lanes := q.state(); n != 0 || len(lanes) != 0 {
		t.Fatalf("left behind: %d queued, lanes %v", n, lanes)
	}
}

// TestQueueBounded: past a client's lane or the shared queue, a check is
// refused at once with ErrBusy, and a canceled wait leaves nothing held.
func TestQueueBounded(t *testing.T) {
	q := newCheckQueue(1)
	q.maxQueued = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rel, _ := q.acquire(ctx, "") // the one slot
	errs := make(chan error, 16)
	for range defaultPerClient - 1 { // one of a's in the queue, the rest in its lane
		go func() { _, err := q.acquire(ctx, "a"); errs <- err }()
	}
	go func() { _, err := q.acquire(ctx, "b"); errs <- err }()
	waitFor(t, "a's lane full and the queue full", func() bool {
		n, l := q.state()
		return l["a"] == defaultPerClient-1 && n == 2
	})
	if _, err := q.acquire(ctx, "c"); !errors.Is(err, ErrBusy) {
		t.Fatalf("past the shared queue: %v, want ErrBusy", err)
	}
	go func() { _, err := q.acquire(ctx, "a"); errs <- err }()
	waitFor(t, "a's lane at its bound", func() bool { _, l := q.state(); return l["a"] == defaultPerClient })
	if _, err := q.acquire(ctx, "a"); !errors.Is(err, ErrBusy) {
		t.Fatalf("past a's lane: %v, want ErrBusy", err)
	}
	cancel()
	for range defaultPerClient + 1 {
		if err := <-errs; !errors.Is(err, ErrCanceled) {
			t.Fatalf("canceled wait: %v", err)
		}
	}
	rel()
	if n, lanes := q.state(); n != 0 || len(lanes) != 0 {
		t.Fatalf("left behind: %d queued, lanes %v", n, lanes)
	}
	if r, err := q.acquire(context.Background(), "a"); err != nil {
		t.Fatalf("after everything was given back: %v", err)
	} else {
		r()
	}
}
