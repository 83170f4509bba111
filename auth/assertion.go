package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/assertion"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// Assertion defaults.
const (
	DefaultAssertionRotation = 24 * time.Hour
	DefaultAssertionIssuer   = "tokengate"
	DefaultAssertionTTL      = 60 * time.Second
)

// jwksReread bounds how old the key ring behind a JWKS answer may be, so
// that a key another instance added shows within a second on every
// instance, while a flood of JWKS requests costs the store at most one
// read a second.
const jwksReread = time.Second

// maxMinted bounds the assertions cached beside one token (one per route
// spec it was used on).
const maxMinted = 4

// mintedCost is what the assertions cached beside a token hold, counted
// in its cache cost once any route asks for assertions.
const mintedCost = maxMinted * 512

// AssertionOptions configures the assertions a Service signs.
type AssertionOptions struct {
	// Rotation is how long a key signs. Default: DefaultAssertionRotation.
	Rotation time.Duration
	// Issuer is every assertion's iss. Default: DefaultAssertionIssuer.
	Issuer string
}

// WithAssertions sets how assertions are signed.
func WithAssertions(o AssertionOptions) Option {
	return func(s *Service) {
		if o.Rotation > 0 {
			s.assert.schedule.Period = o.Rotation
		}
		if o.Issuer != "" {
			s.assert.issuer = o.Issuer
		}
	}
}

// AssertionSpec is what a route asks for: assertions for Service, signed
// with Algorithm, valid for TTL. A route keeps one spec for its life:
// the assertions cached beside a token are found by the spec's address.
type AssertionSpec struct {
	Service   string
	Algorithm string
	TTL       time.Duration
}

// assertions is a Service's key ring and signer.
type assertions struct {
	schedule assertion.Schedule
	issuer   string
	used     atomic.Bool // some route asked: tokens' cache cost includes mintedCost
	mu       sync.Mutex  // one reload or rotation at a time in this process
	ring     atomic.Pointer[keyRing]
	retryAt  atomic.Int64 // UnixNano before which a due rotation is not tried again (the store failed)
}

// keyRing is the store's ring as this process last read it.
type keyRing struct {
	version uint64
	stored  []store.AssertionKey
	keys    []assertion.Key // the usable ones, newest first
	jwks    []byte
	read    time.Time
}

// minted is an assertion cached beside a token: its header value, and
// when it should be replaced (a quarter of its life before it expires).
type minted struct {
	spec    *AssertionSpec
	vals    []string // one value, len = cap so that an append copies
	refresh time.Time
}

func newAssertions() *assertions {
	return &assertions{schedule: assertion.Schedule{Period: DefaultAssertionRotation}, issuer: DefaultAssertionIssuer}
}

// Assertion returns the header value of t's assertion for spec: the one
// cached beside t while it has more than a quarter of its life left,
// else a new one. The cached path reads the clock once and allocates
// nothing. The slice is shared by every request of the token: set it as
// the header's value, never write into it.
//
// An assertion never outlives its token's time caveats. It is bound to
// the token's Identity as verified: a change of the user invalidates the
// cached token, and with it its assertions.
func (s *Service) Assertion(ctx context.Context, t *Token, spec *AssertionSpec) ([]string, error) {
	return s.assertionAt(ctx, t, spec, s.now())
}

// AuthenticateFor is Authenticate, and then, unless spec is nil, the
// token's Assertion for spec, with the clock read once for both (a
// clock read is a tenth of a cache hit on some hosts). An assertion that
// cannot be signed is an error (ErrUnavailable): the gate fails closed.
func (s *Service) AuthenticateFor(ctx context.Context, raw string, r tokens.Request, spec *AssertionSpec) (*Token, []string, error) {
	r.Now = s.now()
	t, err := s.authenticateAt(ctx, raw, r.ClientIP, r, false)
	if err != nil || spec == nil {
		return t, nil, err
	}
	vals, err := s.assertionAt(ctx, t, spec, r.Now)
	if err != nil {
		return nil, nil, err
	}
	return t, vals, nil
}

func (s *Service) assertionAt(ctx context.Context, t *Token, spec *AssertionSpec, now time.Time) ([]string, error) {
	if m := t.assertions.Load(); m != nil {
		for i := range *m {
			if e := &(*m)[i]; e.spec == spec && now.Before(e.refresh) {
				return e.vals, nil
			}
		}
	}
	return s.mintAssertion(ctx, t, spec, now)
}

func (s *Service) mintAssertion(ctx context.Context, t *Token, spec *AssertionSpec, now time.Time) ([]string, error) {
	s.assert.used.Store(true)
	k, err := s.assertionKey(ctx, spec.Algorithm, now)
	if err != nil {
		return nil, err
	}
	// A JWT's times are whole seconds: the life is counted from the
	// second the assertion says it was issued, so that it is never
	// refreshed later than it expires.
	iat := now.Truncate(time.Second)
	exp := iat.Add(spec.TTL).Truncate(time.Second)
	if t.ValidUntil > 0 {
		if until := time.Unix(t.ValidUntil, 0); until.Before(exp) {
			exp = until
		}
	}
	id := t.Identity
	raw, err := assertion.Sign(k, s.assert.issuer, spec.Service,
		assertion.Subject{ID: id.ID, Email: id.Email, Name: id.Name, Role: id.Role}, iat, exp)
	if err != nil {
		return nil, fmt.Errorf("%w: signing the assertion: %w", ErrUnavailable, err)
	}
	e := minted{spec: spec, vals: []string{raw}, refresh: exp.Add(-exp.Sub(iat) / 4)}
	// Copy on write: hits read the list without a lock.
	for {
		old := t.assertions.Load()
		list := make([]minted, 0, maxMinted)
		if old != nil {
			for _, o := range *old {
				if o.spec != spec && now.Before(o.refresh) {
					list = append(list, o)
				}
			}
		}
		list = append(list[max(len(list)-(maxMinted-1), 0):], e)
		if t.assertions.CompareAndSwap(old, &list) {
			break
		}
	}
	return e.vals, nil
}

// assertionKey returns the key that signs alg now, rotating the ring in
// the store first if it is due. Rotation is a compare-and-swap: of
// instances that find it due at once, one writes and the others adopt its
// ring.
//
// A store that cannot answer does not stop the signing: the key this
// process has goes on signing, overdue, and the store is asked again
// only after storeRetry, so that an outage costs a mint no round trip.
// With no key at all, minting fails (the gate refuses, fail closed).
func (s *Service) assertionKey(ctx context.Context, alg string, now time.Time) (assertion.Key, error) {
	a := s.assert
	if k, ok := a.current(alg, now); ok {
		return k, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Another request may have read or rotated the ring meanwhile.
	if k, ok := a.current(alg, now); ok {
		return k, nil
	}
	k, err := s.rotate(ctx, alg, now)
	if err == nil {
		return k, nil
	}
	if r := a.ring.Load(); r != nil && !errors.Is(err, ErrCanceled) {
		if k, ok := a.schedule.Signing(r.keys, alg, now); ok {
			a.retryAt.Store(now.Add(storeRetry).UnixNano())
			return k, nil
		}
	}
	return assertion.Key{}, err
}

// storeRetry is how long a process that could not rotate goes on with
// the key it has before asking the store again.
const storeRetry = time.Second

// current returns the key of the ring kept that signs alg now, unless a
// rotation is due (and not put off after a failure).
func (a *assertions) current(alg string, now time.Time) (assertion.Key, bool) {
	r := a.ring.Load()
	if r == nil || a.schedule.Due(r.keys, alg, now) && now.UnixNano() >= a.retryAt.Load() {
		return assertion.Key{}, false
	}
	return a.schedule.Signing(r.keys, alg, now)
}

// rotate reads the ring from the store, rotates alg's key if it is due
// and returns the key that signs alg now.
func (s *Service) rotate(ctx context.Context, alg string, now time.Time) (assertion.Key, error) {
	a := s.assert
	r, err := s.readRing(ctx, now)
	if err != nil {
		return assertion.Key{}, err
	}
	for attempt := 0; a.schedule.Due(r.keys, alg, now) && attempt < 3; attempt++ {
		keys, err := a.schedule.Rotate(r.stored, alg, now)
		if err != nil {
			return assertion.Key{}, err
		}
		ring, err := s.store.SwapAssertionKeys(ctx, r.version, keys)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return assertion.Key{}, s.storeErr(err)
		}
		// Written, or another instance's ring to adopt.
		if r, err = a.adopt(ring, now); err != nil {
			return assertion.Key{}, err
		}
	}
	k, ok := a.schedule.Signing(r.keys, alg, now)
	if !ok {
		return assertion.Key{}, fmt.Errorf("%w: no usable %s assertion key", ErrUnavailable, alg)
	}
	return k, nil
}

// readRing reads the ring from the store and keeps it.
func (s *Service) readRing(ctx context.Context, now time.Time) (*keyRing, error) {
	ring, err := s.store.AssertionKeys(ctx)
	if err != nil {
		return nil, s.storeErr(err)
	}
	return s.assert.adopt(ring, now)
}

// adopt parses a ring read from the store and keeps it, unless a newer
// version is already kept. Keys that do not parse are skipped: published
// and signed with are only the usable ones.
func (a *assertions) adopt(ring store.AssertionKeyRing, now time.Time) (*keyRing, error) {
	r := &keyRing{version: ring.Version, stored: ring.Keys, read: now}
	for _, sk := range ring.Keys {
		if k, err := assertion.Parse(sk); err == nil {
			r.keys = append(r.keys, k)
		}
	}
	// Published are the keys not yet a period past their retirement at
	// now: exact to the second a JWKS answer's ring may be old, though the
	// store drops them only at the next rotation.
	var published []assertion.Key
	for _, sk := range a.schedule.Prune(ring.Keys, now) {
		if k, err := assertion.Parse(sk); err == nil {
			published = append(published, k)
		}
	}
	var err error
	if r.jwks, err = assertion.JWKS(published); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for {
		old := a.ring.Load()
		if old != nil && old.version > r.version {
			return old, nil
		}
		if a.ring.CompareAndSwap(old, r) {
			return r, nil
		}
	}
}

// AssertionJWKS returns the JSON Web Key Set of the assertion keys, and
// how long a verifier may cache it: the schedule's lead, so that it has
// a new key before that key signs. The ring is read from the store when
// the copy kept is more than a second old (another instance may have
// rotated); algs are the algorithms the config's routes sign with, for
// which a key is made first if there is none yet, so that a verifier's
// first fetch already has it.
func (s *Service) AssertionJWKS(ctx context.Context, algs []string) ([]byte, time.Duration, error) {
	now := s.now()
	r := s.assert.ring.Load()
	if r == nil || now.Sub(r.read) >= jwksReread {
		fresh, err := s.readRing(ctx, now)
		switch {
		case err == nil:
			r = fresh
		case r == nil:
			return nil, 0, err
		}
		// Else the store did not answer: the keys this process has are
		// still the ones it signs with.
	}
	for _, alg := range algs {
		if s.assert.schedule.Due(r.keys, alg, now) {
			if _, err := s.assertionKey(ctx, alg, now); err != nil {
				return nil, 0, err
			}
			r = s.assert.ring.Load()
		}
	}
	return r.jwks, s.assert.schedule.Lead(), nil
}
