package auth

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// checkTiming makes every password check take as long as the slowest kind
// of real check: unknown users, users without a password (who compare
// against the cheap dummy) and users whose hash is cheaper than another's
// all answer after the same time, so timing tells no usernames apart.
//
// It keeps, per hash class (the hash up to its salt: algorithm and
// parameters), a moving average of the compare time and of its deviation,
// as TCP estimates round trips, and pads every failed check to the
// largest average plus twice its deviation: a real compare then ends
// before the target almost always, so real and dummy checks answer at
// the same moment rather than the real ones a little later. A class is learnt from the first check of a user with such a
// hash, or ahead of time through Learn (SyncUsers learns the declared
// users' classes at start). It measures real elapsed time, not the
// Service's clock: it is about what a client can observe.
type checkTiming struct {
	mu      sync.Mutex
	classes map[string]classTiming
	target  time.Duration // the largest avg + 2·dev
}

type classTiming struct{ avg, dev time.Duration }

func newCheckTiming() *checkTiming {
	return &checkTiming{classes: make(map[string]classTiming)}
}

func (t *checkTiming) start() time.Time { return time.Now() }

// observe records the duration of one compare against hash.
func (t *checkTiming) observe(hash []byte, start time.Time) {
	d := time.Since(start)
	c := hashClass(hash)
	t.mu.Lock()
	defer t.mu.Unlock()
	ct, ok := t.classes[c]
	if !ok {
		ct = classTiming{avg: d, dev: d / 4}
	} else {
		diff := d - ct.avg
		ct.avg += diff / 8
		ct.dev += (max(diff, -diff) - ct.dev) / 4
	}
	t.classes[c] = ct
	t.target = 0
	for _, ct := range t.classes {
		t.target = max(t.target, ct.avg+2*ct.dev)
	}
}

// pad waits until start plus the target, or until ctx ends.
func (t *checkTiming) pad(ctx context.Context, start time.Time) {
	t.mu.Lock()
	wait := t.target - time.Since(start)
	t.mu.Unlock()
	if wait <= 0 {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// hashClass is the part of a hash that decides its cost: bcrypt's
// "$2a$10$", argon2id's "$argon2id$v=19$m=…,t=…,p=…$".
func hashClass(hash []byte) string {
	// The salt follows the third '$' of a bcrypt hash, the fourth of an
	// argon2id one.
	ends := 3
	if bytes.HasPrefix(hash, []byte("$argon2id$")) {
		ends = 4
	}
	n := 0
	for i, b := range hash {
		if b == '$' {
			if n++; n == ends {
				return string(hash[:i+1])
			}
		}
	}
	return string(hash)
}

// Learn times one compare against each hash whose class is not known
// yet, so that the first login of such a user is padded like the rest.
// It takes a check slot for each, as a real check would.
func (s *Service) Learn(ctx context.Context, hashes []string) {
	seen := make(map[string]bool)
	for _, h := range hashes {
		c := hashClass([]byte(h))
		if h == "" || seen[c] {
			continue
		}
		seen[c] = true
		s.timing.mu.Lock()
		_, known := s.timing.classes[c]
		s.timing.mu.Unlock()
		if known || CheckHash(h) != nil {
			continue
		}
		release, err := s.checks.acquire(ctx, "")
		if err != nil {
			return
		}
		start := s.timing.start()
		_, _ = comparePassword([]byte(h), "\x00not the password")
		release()
		s.timing.observe([]byte(h), start)
	}
}
