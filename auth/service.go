// Package auth is tokengate's authentication core: it turns credentials
// into identities, and issues and revokes tokens, over a store with caches
// in front. It is shared by the gate, the HTTP APIs and the admin API, and
// knows nothing of HTTP or Caddy.
package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

var (
	// ErrUnavailable: the store could not answer and nothing usable was
	// cached. Callers must refuse the request (fail closed).
	ErrUnavailable = errors.New("authentication state unavailable")
	// ErrBadCredentials: unknown user or wrong password.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrUserBlocked: the user exists but an operator blocked it, or the
	// config that declared it no longer does (orphaned).
	ErrUserBlocked = errors.New("user blocked")
	// ErrCanceled: the caller gave up (its request's context ended) before
	// the answer was known. Nothing failed: front doors log nothing and
	// answer, if at all, with 499.
	ErrCanceled = errors.New("request canceled")
	// ErrNotFound: no such user, token, session or reset token.
	ErrNotFound = store.ErrNotFound
	// ErrExists: the id or unique name is taken.
	ErrExists = store.ErrExists
	// ErrConfigManaged: the user is declared in the server's config and
	// can be changed only there (blocking excepted).
	ErrConfigManaged = errors.New("user is managed by the config")
	// ErrForbidden: the record exists, but belongs to another user whom
	// the caller may not act for.
	ErrForbidden = errors.New("forbidden")
)

// Identity is who a credential belongs to. Values are shared by every
// cache entry of the subject and must not be modified.
type Identity struct {
	ID, Name, Email, Role string
}

// Token is a verified token as the cache keeps it.
type Token struct {
	Identity   *Identity
	Kind       tokens.Kind
	ID         string // the token's id; for a session, the session id
	Type       tokens.Type
	Caveats    []tokens.Caveat
	ValidUntil int64 // earliest time caveat, Unix seconds; 0: none
	// consumer: a consumer caveat is among Caveats, so a request's
	// consumer token must be verified before they are checked.
	consumer bool
	// assertions are the upstream assertions minted for this token, one
	// per route spec (Service.Assertion); nil until one is asked for.
	assertions atomic.Pointer[[]minted]
	// key is the server key the token is of (CSRF tokens derive from it).
	key tokens.ServerKey
}

// subject is the cached state of one user.
type subject struct {
	identity     *Identity
	passwordHash string
	blocked      bool
	generation   uint64
	secret       []byte // the temp secret, which temp and session keys derive from
	// tempKey and sessionKey are derived from key, the ring's newest
	// server key when the state was read; a token of another key derives
	// its own (signingKeys).
	key        tokens.ServerKey
	tempKey    []byte
	sessionKey []byte
}

// signingKeys returns the subject's temporary and session signing keys
// under server key k.
func (sub *subject) signingKeys(k tokens.ServerKey) (temp, session []byte) {
	if k.Equal(sub.key) {
		return sub.tempKey, sub.sessionKey
	}
	id := sub.identity.ID
	return k.SigningKey(tokens.Temporary, id, sub.secret), k.SigningKey(tokens.Session, id, sub.secret)
}

// Defaults.
const (
	DefaultMaxTemporaryTTL = 30 * 24 * time.Hour // Onezone's shipped config
	DefaultCacheSize       = 64 << 20
)

// Service authenticates against one store. It is safe for concurrent use.
type Service struct {
	store store.Store
	// ring holds the server keys tokens are accepted of, newest first;
	// SetKeyRing replaces it.
	ring atomic.Pointer[tokens.KeyRing]
	keys keyState
	// keyReloadFailed hears of failed reloads (WithKeyReloadErrors).
	keyReloadFailed func(error)
	epochs          *cache.Epochs
	tokens          *cache.Cache[*Token]
	subjects        *cache.Cache[*subject]
	now             func() time.Time
	maxTempTTL      time.Duration
	cacheSize       int64
	dummyHash       []byte
	timing          *checkTiming
	checksRun       atomic.Uint64
	policy          Policy
	budget          Budget
	// v4Prefix and v6Prefix group client addresses into budgets.
	v4Prefix, v6Prefix int
	onExhausted        func(key string)
	observer           Observer
	exhausted          exhaustions
	guesses            guesses
	// checks bounds and orders password hashing and checking.
	checks       *checkQueue
	passwordCost int // 0: PasswordCost
	cancel       func()
	// heard is set for stores whose change notifications can be lost (a
	// shared store's broken subscription): cached state is trusted only
	// while the last notification or health check is at most maxStale old.
	heard    func() time.Time
	maxStale time.Duration
	// audit hears of every state change (WithAudit); nil: nobody.
	audit func(context.Context, AuditEvent)
	// assert signs the assertions the gate hands upstreams.
	assert *assertions

	closeOnce sync.Once
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock used to issue and check tokens. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithMaxTemporaryTTL caps the lifetime of temporary tokens.
// Default: DefaultMaxTemporaryTTL.
func WithMaxTemporaryTTL(d time.Duration) Option { return func(s *Service) { s.maxTempTTL = d } }

// WithCacheSize bounds the caches' memory in bytes. Default: DefaultCacheSize.
func WithCacheSize(n int64) Option { return func(s *Service) { s.cacheSize = n } }

// WithDummyPasswordHash sets the bcrypt hash that passwords of unknown
// users are compared against, so that they take as long to refuse as
// real users' wrong passwords. Use a hash of the cost your users' hashes
// have. Default: a cost-14 hash, as `caddy hash-password` makes.
func WithDummyPasswordHash(hash string) Option {
	return func(s *Service) { s.dummyHash = []byte(hash) }
}

// WithPasswordPolicy sets what new passwords must satisfy.
// Default: DefaultPolicy.
func WithPasswordPolicy(p Policy) Option { return func(s *Service) { s.policy = p } }

// WithBudget sets the brute-force budget. Default: DefaultBudget.
func WithBudget(b Budget) Option { return func(s *Service) { s.budget = b } }

// WithPasswordConcurrency bounds how many password hashes are computed or
// checked at once. Default: half the CPUs, at least 1.
func WithPasswordConcurrency(n int) Option {
	return func(s *Service) { s.checks = newCheckQueue(n) }
}

// DefaultMaxStaleness bounds how long cached state is trusted after a
// shared store's change notifications stop arriving.
const DefaultMaxStaleness = 2 * time.Second

// WithMaxStaleness sets that bound. Default: DefaultMaxStaleness.
func WithMaxStaleness(d time.Duration) Option { return func(s *Service) { s.maxStale = d } }

// Notifications is implemented by stores shared between processes, whose
// change notifications arrive over a connection that can break.
type Notifications interface {
	// LastHeard is when the store last knew its notifications were
	// flowing.
	LastHeard() time.Time
	// OnReconnect registers fn to run when notifications resume after an
	// outage (changes made meanwhile were missed), until cancel is called.
	OnReconnect(fn func()) (cancel func())
}

// New returns a Service over st that signs with key. Close it when done.
func New(st store.Store, key tokens.ServerKey, opts ...Option) (*Service, error) {
	if key.IsZero() {
		return nil, tokens.ErrBadKey
	}
	return NewWithKeyRing(st, tokens.SingleKeyRing(key), opts...)
}

// NewWithKeyRing returns a Service over st that signs with ring's newest
// key and accepts tokens of all of its keys. Close it when done.
func NewWithKeyRing(st store.Store, ring *tokens.KeyRing, opts ...Option) (*Service, error) {
	if ring == nil {
		return nil, tokens.ErrNoKeys
	}
	s := &Service{
		store:           st,
		epochs:          cache.NewEpochs(),
		now:             time.Now,
		maxTempTTL:      DefaultMaxTemporaryTTL,
		cacheSize:       DefaultCacheSize,
		timing:          newCheckTiming(),
		v4Prefix:        DefaultIPv4Prefix,
		v6Prefix:        DefaultIPv6Prefix,
		onExhausted:     func(string) {},
		keyReloadFailed: func(error) {},
		observer:        noObserver{},
		policy:          DefaultPolicy,
		budget:          DefaultBudget,
		maxStale:        DefaultMaxStaleness,
		assert:          newAssertions(),
	}
	s.ring.Store(ring)
	s.keys.configured = ring
	WithPasswordConcurrency(runtime.NumCPU() / 2)(s)
	for _, o := range opts {
		o(s)
	}
	s.guesses.max, s.guesses.window = s.budget.Max*s.budget.UserFactor, s.budget.Window
	if s.dummyHash == nil {
		s.dummyHash = newDummyHash()
	}
	var err error
	// Subject entries are few and small; tokens get the rest of the budget.
	subjects := min(max(s.cacheSize/16, 512<<10), s.cacheSize/2)
	if s.subjects, err = cache.New[*subject](subjects, s.epochs); err != nil {
		return nil, err
	}
	if s.tokens, err = cache.New[*Token](s.cacheSize-subjects, s.epochs); err != nil {
		s.subjects.Close()
		return nil, err
	}
	// Every change the store announces, from this Service or any other
	// sharing the store, invalidates before the change is acknowledged.
	unsubscribe := st.Subscribe(func(e store.Event) {
		if e.Kind == store.KeysChanged {
			s.keysChanged()
		}
		s.epochs.Invalidate(e.Subject)
		s.heardRemote(e)
	})
	s.cancel = unsubscribe
	if n, ok := st.(Notifications); ok {
		s.heard = n.LastHeard
		// A KeysChanged may have been missed too.
		stop := n.OnReconnect(func() { s.epochs.InvalidateAll(); s.keysChanged() })
		s.cancel = func() { unsubscribe(); stop() }
	}
	return s, nil
}

// Close stops the caches and the subscription. Requests still using the
// Service go on answering from the store. Safe on nil and more than once.
func (s *Service) Close() {
	if s == nil {
		return
	}
	s.closeOnce.Do(func() {
		s.cancel()
		s.tokens.Close()
		s.subjects.Close()
	})
}

// subject returns the cached or stored state of a user and a stamp taken
// before that state was read.
func (s *Service) subject(ctx context.Context, id string) (*subject, cache.Stamp, error) {
	stamp := s.epochs.Stamp(id)
	if sub, ok := s.subjects.Get(id); ok && s.fresh(s.now()) {
		return sub, stamp, nil
	}
	st, err := s.store.Subject(ctx, id)
	if err != nil {
		return nil, stamp, s.storeErr(err)
	}
	u := st.User
	_, key := s.ring.Load().Newest()
	sub := &subject{
		identity:     &Identity{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role},
		passwordHash: u.PasswordHash,
		blocked:      u.Blocked || u.Orphaned,
		generation:   st.Temp.Generation,
		secret:       st.Temp.Secret,
		key:          key,
		tempKey:      key.SigningKey(tokens.Temporary, u.ID, st.Temp.Secret),
		sessionKey:   key.SigningKey(tokens.Session, u.ID, st.Temp.Secret),
	}
	s.subjects.Set(id, stamp, sub, int64(len(u.ID)+len(u.Name)+len(u.Email)+len(u.Role)+len(u.PasswordHash)+32), 0)
	return sub, stamp, nil
}

// fresh reports whether cached state may be trusted: always, unless the
// store's change notifications have been silent for longer than maxStale.
func (s *Service) fresh(now time.Time) bool {
	return s.heard == nil || now.Sub(s.heard()) <= s.maxStale
}

// CacheStats returns the counts of the verified-token cache and of the
// user-state cache.
func (s *Service) CacheStats() (tokens, subjects cache.Stats) {
	return s.tokens.Stats(), s.subjects.Stats()
}

// storeErr translates a store failure: a missing user is an invalid token
// subject; a caller that went away is ErrCanceled; anything else means the
// state is unavailable.
func (s *Service) storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", tokens.ErrSubjectInvalid, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %w", ErrCanceled, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// opErr translates the failure of an operation on a record: a missing
// record or a taken name is the caller's to hear (ErrNotFound, ErrExists,
// and errors of this package pass through); anything else is storeErr's.
func (s *Service) opErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists),
		errors.Is(err, ErrConfigManaged), errors.Is(err, ErrBadValue), errors.Is(err, ErrUserBlocked),
		errors.Is(err, ErrForbidden):
		return err
	}
	return s.storeErr(err)
}
