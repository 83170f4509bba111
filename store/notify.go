package store

import "sync"

// notifier fans events out to subscribers. Delivery is synchronous so that
// a mutation has invalidated every cache in the process before it returns.
type notifier struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

func (n *notifier) Subscribe(fn func(Event)) func() {
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

// publish calls the subscribers outside the lock, so that a subscriber
// may cancel itself or change the store from its callback.
func (n *notifier) publish(e Event) {
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
