package store

import (
	"crypto/rand"
	"strconv"
	"sync"
)

// Notifier fans events out to subscribers, for a backend to embed as a
// field and serve Subscribe with. Delivery is synchronous so that
// a mutation has invalidated every cache in the process before it returns.
type Notifier struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

func (n *Notifier) Subscribe(fn func(Event)) func() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = make(map[int]func(Event))
	}
	id := n.next
	n.next++
	n.subs[id] = fn
	return func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	}
}

// Publish calls the subscribers outside the lock, so that a subscriber
// may cancel itself or change the store from its callback.
func (n *Notifier) Publish(e Event) {
	n.mu.RLock()
	fns := make([]func(Event), 0, len(n.subs))
	for _, fn := range n.subs {
		fns = append(fns, fn)
	}
	n.mu.RUnlock()
	for _, fn := range fns {
		fn(e)
	}
}

// NewSecret returns a fresh temporary-token secret: 32 random bytes.
func NewSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// HealthEvent is a change in the health of a shared store's change
// notifications (see HealthReporter).
type HealthEvent uint8

const (
	// SubscriptionLost: changes by other instances may go unseen until
	// SubscriptionRestored.
	SubscriptionLost HealthEvent = iota + 1
	// SubscriptionRestored: the subscription is back after an outage;
	// changes made in between were not announced.
	SubscriptionRestored
)

func (h HealthEvent) String() string {
	switch h {
	case SubscriptionLost:
		return "subscription lost"
	case SubscriptionRestored:
		return "subscription restored"
	}
	return "HealthEvent(" + strconv.Itoa(int(h)) + ")"
}

// HealthReporter is implemented by a shared store whose change
// notifications can break: while they are lost, other instances' changes
// go unseen, so callers bound how long they trust cached state.
type HealthReporter interface {
	// OnHealth calls fn at each change; the returned function stops it.
	OnHealth(fn func(HealthEvent)) (cancel func())
}
