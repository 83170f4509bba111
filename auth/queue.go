package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBusy: too many password checks are waiting, from this client or in
// all. It comes as the Cause of an *ErrTooManyFailures with a short
// RetryAfter, so every door answers it as it answers a used-up budget
// (429 with Retry-After), at once rather than after an unbounded wait.
var ErrBusy = errors.New("too many password checks in progress")

// busyRetry is the Retry-After of ErrBusy: about one check's time.
const busyRetry = time.Second

func busy(client string) error {
	if client == "" {
		client = "password checks"
	}
	return &ErrTooManyFailures{Key: client, RetryAfter: busyRetry, Cause: ErrBusy}
}

// Queue bounds. A client's checks wait in a lane of their own and enter
// the shared queue one at a time, so a flood from one client delays
// another client's check by at most one check; the shared queue holds at
// most maxQueued checks beyond those running.
const (
	defaultPerClient = 4  // a browser's parallel Basic requests fit
	maxQueuedFactor  = 16 // × password_concurrency
)

// checkQueue admits password hashing and checking: slots bound the CPU
// they take, lanes make the waiting fair between clients, and every wait
// is bounded, so that a full queue answers ErrBusy at once.
type checkQueue struct {
	slots     chan struct{}
	perClient int
	maxQueued int

	mu     sync.Mutex
	queued int              // waiting for a slot
	lanes  map[string]*lane // by client key
}

// lane serialises one client's checks.
type lane struct {
	turn chan struct{} // holds a token while one of the client's checks is in the shared queue or running
	n    int           // the client's checks waiting or running
}

func newCheckQueue(concurrency int) *checkQueue {
	concurrency = max(concurrency, 1)
	return &checkQueue{
		slots:     make(chan struct{}, concurrency),
		perClient: defaultPerClient,
		maxQueued: concurrency * maxQueuedFactor,
		lanes:     make(map[string]*lane),
	}
}

// acquire waits for a slot; client "" (a hash the server computes for an
// operator) has no lane. It returns the function that gives the slot back.
func (q *checkQueue) acquire(ctx context.Context, client string) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCanceled, err)
	}
	var l *lane
	if client != "" {
		if l, err = q.enterLane(client); err != nil {
			return nil, err
		}
		select {
		case l.turn <- struct{}{}:
		case <-ctx.Done():
			q.leaveLane(client, l, false)
			return nil, fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
		}
	}
	if err := q.wait(ctx); err != nil {
		if l != nil {
			q.leaveLane(client, l, true)
		}
		return nil, err
	}
	return func() {
		<-q.slots
		if l != nil {
			q.leaveLane(client, l, true)
		}
	}, nil
}

func (q *checkQueue) enterLane(client string) (*lane, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lanes[client]
	if l == nil {
		l = &lane{turn: make(chan struct{}, 1)}
		q.lanes[client] = l
	}
	if l.n >= q.perClient {
		return nil, busy(client)
	}
	l.n++
	return l, nil
}

func (q *checkQueue) leaveLane(client string, l *lane, hadTurn bool) {
	if hadTurn {
		<-l.turn
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if l.n--; l.n == 0 {
		delete(q.lanes, client)
	}
}

// wait takes a slot, waiting only if fewer than maxQueued already wait.
// A caller already gone gets none, even if one is free: select would
// pick at random between the two.
func (q *checkQueue) wait(ctx context.Context) error {
	select {
	case q.slots <- struct{}{}:
		return nil
	default:
	}
	q.mu.Lock()
	if q.queued >= q.maxQueued {
		q.mu.Unlock()
		return busy("")
	}
	q.queued++
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.queued--
		q.mu.Unlock()
	}()
	select {
	case q.slots <- struct{}{}:
		if ctx.Err() != nil {
			<-q.slots
			return fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
	}
}
