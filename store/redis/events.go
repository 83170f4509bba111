package redis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// Events between instances. Each mutation's script PUBLISHes on P events,
// in the same script as the change, so no change goes unannounced:
//
//	<kind>:<instance>:<unix nanoseconds>:<subject>
//
// kind is temp, user, named or session; instance is the random id of the
// publishing Store, which drops its own messages (its subscribers were
// called synchronously); the time measures the lag. The subject comes
// last and may contain colons.
//
// A listener goroutine holds the subscription. It pings every pingEvery
// and counts the subscription lost when nothing (message or pong) has
// arrived for deadAfter, or the connection fails; it then resubscribes
// with backoff. Events published meanwhile are lost, so once it is back
// the listener calls the OnReconnect (and OnHealth) functions: caches must
// forget what they hold then.

const (
	pingEvery        = 300 * time.Millisecond
	deadAfter        = time.Second
	healthTick       = 100 * time.Millisecond
	subscribeTimeout = 2 * time.Second
	minBackoff       = 50 * time.Millisecond
	maxBackoff       = time.Second
)

var kindNames = map[store.EventKind]string{
	store.TempRevoked:  "temp",
	store.UserChanged:  "user",
	store.NamedChanged: "named",
	store.SessionEnded: "session",
	store.KeysChanged:  "keys",
}

// messagePrefix is an event message up to its subject.
func (r *Store) messagePrefix(k store.EventKind) string {
	return kindNames[k] + ":" + r.self + ":" + strconv.FormatInt(time.Now().UnixNano(), 10) + ":"
}

func (r *Store) message(e store.Event) string { return r.messagePrefix(e.Kind) + e.Subject }

// parseMessage decodes an event message. An unknown kind (from a newer
// version) is reported as UserChanged, which makes caches forget the most.
func parseMessage(s string) (e store.Event, from string, ok bool) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 {
		return e, "", false
	}
	ns, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return e, "", false
	}
	e = store.Event{Kind: store.UserChanged, Subject: parts[3], Sent: time.Unix(0, ns)}
	for k, name := range kindNames {
		if name == parts[0] {
			e.Kind = k
		}
	}
	return e, parts[1], true
}

// Connected reports whether the event subscription is healthy now.
func (r *Store) Connected() bool { return r.connected.Load() }

// LastHeard is when the subscription last received anything: an event, a
// reply to its periodic ping or the confirmation of the subscription.
func (r *Store) LastHeard() time.Time { return time.Unix(0, r.heard.Load()) }

// OnReconnect registers fn to be called each time the subscription is
// re-established after an outage. Events published in between were lost,
// so caches must drop cached user state in fn. fn runs on the listener
// goroutine and must not call Close. The returned function stops the
// calls.
func (r *Store) OnReconnect(fn func()) (cancel func()) {
	return r.OnHealth(func(h store.HealthEvent) {
		if h == store.SubscriptionRestored {
			fn()
		}
	})
}

// OnHealth registers fn to be called when the subscription is lost or
// restored, and returns a function that stops the calls. fn runs on the
// listener goroutine and must not call Close.
func (r *Store) OnHealth(fn func(store.HealthEvent)) (cancel func()) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	if r.health == nil {
		r.health = make(map[int]func(store.HealthEvent))
	}
	id := r.hnext
	r.hnext++
	r.health[id] = fn
	return func() {
		r.hmu.Lock()
		delete(r.health, id)
		r.hmu.Unlock()
	}
}

func (r *Store) fireHealth(h store.HealthEvent) {
	r.hmu.Lock()
	fns := make([]func(store.HealthEvent), 0, len(r.health))
	for _, fn := range r.health {
		fns = append(fns, fn)
	}
	r.hmu.Unlock()
	for _, fn := range fns {
		fn(h)
	}
}

func (r *Store) touch() { r.heard.Store(time.Now().UnixNano()) }

// listen keeps the subscription up until Close. It reports the outcome
// of the first attempts on ready until one succeeds.
func (r *Store) listen(ready chan<- error) {
	defer close(r.done)
	backoff := minBackoff
	first := true
	for {
		established, err := r.session(first, ready)
		if r.ctx.Err() != nil {
			return
		}
		if established {
			first = false
			backoff = minBackoff
		} else if first {
			select {
			case ready <- err:
			default:
			}
		}
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session subscribes and delivers events until the subscription fails.
func (r *Store) session(first bool, ready chan<- error) (established bool, err error) {
	ps := r.c.Subscribe(r.ctx)
	defer ps.Close()
	err = ps.Subscribe(r.ctx, r.channel)
	if err == nil {
		var m any
		m, err = ps.ReceiveTimeout(r.ctx, subscribeTimeout)
		if _, ok := m.(*goredis.Subscription); err == nil && !ok {
			err = fmt.Errorf("unexpected %T", m)
		}
	}
	if err != nil {
		return false, err
	}
	r.touch()
	r.connected.Store(true)
	if first {
		select {
		case ready <- nil:
		default:
		}
	} else {
		r.fireHealth(store.SubscriptionRestored)
	}

	errc := make(chan error, 1)
	go func() { errc <- r.receive(ps) }()
	tick := time.NewTicker(healthTick)
	defer tick.Stop()
	var pinged time.Time
	for err == nil {
		select {
		case <-r.ctx.Done():
			err = r.ctx.Err()
		case err = <-errc:
			errc = nil
		case now := <-tick.C:
			if now.Sub(r.LastHeard()) > deadAfter && !r.busy.Load() {
				err = errors.New("no reply to ping")
			} else if now.Sub(pinged) >= pingEvery {
				pinged = now
				err = ps.Ping(r.ctx)
			}
		}
	}
	r.connected.Store(false)
	ps.Close()
	if errc != nil {
		<-errc
	}
	if r.ctx.Err() == nil {
		r.fireHealth(store.SubscriptionLost)
	}
	return true, err
}

// receive reads the subscription until it fails.
func (r *Store) receive(ps *goredis.PubSub) error {
	for {
		m, err := ps.Receive(r.ctx)
		if err != nil {
			return err
		}
		r.touch()
		switch m := m.(type) {
		case *goredis.Message:
			r.deliver(m.Payload)
		case *goredis.Subscription:
			// go-redis reconnected on its own: messages may have been
			// lost, so start over and tell OnReconnect.
			return errors.New("resubscribed")
		}
	}
}

func (r *Store) deliver(payload string) {
	e, from, ok := parseMessage(payload)
	if !ok || from == r.self {
		return
	}
	e.Origin = from
	r.busy.Store(true)
	r.events.Publish(e)
	r.busy.Store(false)
	r.touch()
}

// Instance is this Store's id in event messages: what other instances'
// audit trails name as the origin of the changes it makes.
func (r *Store) Instance() string { return r.self }
