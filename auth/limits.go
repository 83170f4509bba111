package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/tokengate/tokengate/store"
)

// ErrTooManyFailures: the client or the target user used up its budget of
// failed credentials; RetryAfter says for how long.
type ErrTooManyFailures struct {
	Key        string
	RetryAfter time.Duration
	// Cause is ErrBusy when the password-check queue, not a budget, was
	// full; nil otherwise.
	Cause error
}

// Unwrap lets errors.Is find Cause.
func (e *ErrTooManyFailures) Unwrap() error { return e.Cause }

func (e *ErrTooManyFailures) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%v for %s; retry after %s", e.Cause, e.Key, e.RetryAfter)
	}
	return fmt.Sprintf("too many failed attempts for %s; retry after %s", e.Key, e.RetryAfter)
}

// Budget limits failed credentials: at most Max failures per Window for
// each client IP, and UserFactor times that for each target user, so that
// one client cannot lock a user out for everybody while a spread-out
// attack on one user is still stopped.
type Budget struct {
	Max        int
	Window     time.Duration
	UserFactor int
}

// DefaultBudget is 10 failures per 5 minutes per client.
var DefaultBudget = Budget{Max: 10, Window: 5 * time.Minute, UserFactor: 10}

// IPKey and UserKey name the counters of a client and a target user.
// Clients are counted through Service.ClientKey, which groups addresses.
func IPKey(ip string) string     { return "ip:" + ip }
func UserKey(user string) string { return "user:" + user }

// Default client groupings: an IPv4 address on its own, an IPv6 address
// by its /64, which is what one subscriber usually gets: counting every
// /128 would give a single host 2^64 budgets.
const (
	DefaultIPv4Prefix = 32
	DefaultIPv6Prefix = 64
)

// WithClientPrefixes sets how many leading bits of a client's IPv4 and
// IPv6 address name its budget. Default: DefaultIPv4Prefix,
// DefaultIPv6Prefix.
func WithClientPrefixes(v4, v6 int) Option {
	return func(s *Service) { s.v4Prefix, s.v6Prefix = v4, v6 }
}

// ClientKey names the budget of the client at addr: an IPv4-mapped IPv6
// address counts as the IPv4 address, and an address counts with every
// other of its prefix ("ip:192.0.2.7", "ip:2001:db8:1:2::/64"). An
// unknown address (zero) is one client of its own.
func (s *Service) ClientKey(addr netip.Addr) string {
	addr = addr.Unmap()
	bits := s.v6Prefix
	if addr.Is4() {
		bits = s.v4Prefix
	}
	if !addr.IsValid() || bits >= addr.BitLen() {
		return IPKey(addr.WithZone("").String())
	}
	p, err := addr.WithZone("").Prefix(bits)
	if err != nil {
		return IPKey(addr.String())
	}
	return IPKey(p.String())
}

// reserve takes a place in each key's budget for one attempt; if any key
// has none left, it gives back the places it took and answers
// *ErrTooManyFailures for that key.
func (s *Service) reserve(ctx context.Context, keys ...string) ([]store.Counter, error) {
	now := s.now()
	held := make([]store.Counter, 0, len(keys))
	for _, k := range keys {
		c, ok, err := s.store.Take(ctx, k, s.limit(k), s.budget.Window, now)
		if err == nil && !ok {
			err = &ErrTooManyFailures{Key: k, RetryAfter: c.Until.Sub(now)}
		} else if err != nil {
			err = s.storeErr(err)
		}
		if err != nil {
			s.giveBack(ctx, held)
			return nil, err
		}
		held = append(held, c)
	}
	return held, nil
}

// keep turns reserved places into counted failures, and reports a budget
// this failure used up.
func (s *Service) keep(ctx context.Context, held []store.Counter) {
	for _, c := range held {
		if c.Count == s.limit(c.Key) {
			s.exhausted.report(c, s.now(), s.banned(ctx, c))
		}
	}
}

// banned returns what hears of c's budget used up: the exhausted hook,
// and the audit trail (banned, until the window ends), once per window.
func (s *Service) banned(ctx context.Context, c store.Counter) func(string) {
	return func(key string) {
		s.onExhausted(key)
		s.emit(ctx, AuditEvent{Event: EventBanned, Target: key, Detail: "until " + c.Until.UTC().Format(time.RFC3339)}, "", nil)
	}
}

// giveBack returns reserved places: the attempt was no failure. Best
// effort, and done even if the client has gone (its place must not stay
// taken): a store failure here leaves a place counted until its window
// ends, failing closed.
func (s *Service) giveBack(ctx context.Context, held []store.Counter) {
	ctx = context.WithoutCancel(ctx)
	for _, c := range held {
		_ = s.store.Return(ctx, c)
	}
}

// WithExhaustedHook sets fn to hear, once per window, of each budget a
// failure used up: the key, never a credential. Default: nothing.
func WithExhaustedHook(fn func(key string)) Option {
	return func(s *Service) { s.onExhausted = fn }
}

// Admit returns *ErrTooManyFailures if any of the keys has used up its
// budget. Store failures fail closed.
func (s *Service) Admit(ctx context.Context, keys ...string) error {
	now := s.now()
	for _, k := range keys {
		c, err := s.store.Counter(ctx, k, now)
		if err != nil {
			return s.storeErr(err)
		}
		if c.Count >= s.limit(k) {
			return &ErrTooManyFailures{Key: k, RetryAfter: c.Until.Sub(now)}
		}
	}
	return nil
}

// Failed counts one failure against each key. It reports the keys whose
// budget this failure used up, so the caller can log that once per
// window rather than once per request.
func (s *Service) Failed(ctx context.Context, keys ...string) (exhausted []string, err error) {
	now := s.now()
	for _, k := range keys {
		c, err := s.store.Fail(ctx, k, s.budget.Window, now)
		if err != nil {
			return exhausted, s.storeErr(err)
		}
		if c.Count == s.limit(k) {
			exhausted = append(exhausted, k)
			s.exhausted.report(c, now, s.banned(ctx, c))
		}
	}
	return exhausted, nil
}

func (s *Service) limit(key string) int {
	if len(key) > 5 && key[:5] == "user:" {
		return s.budget.Max * s.budget.UserFactor
	}
	return s.budget.Max
}

// Bans lists the keys whose budget is used up.
func (s *Service) Bans(ctx context.Context) ([]store.Counter, error) {
	all, err := s.store.Counters(ctx, s.now())
	if err != nil {
		return nil, s.storeErr(err)
	}
	var out []store.Counter
	for _, c := range all {
		if c.Count >= s.limit(c.Key) {
			out = append(out, c)
		}
	}
	return out, nil
}

// IsTooManyFailures returns the budget error in err, if any.
func IsTooManyFailures(err error) (*ErrTooManyFailures, bool) {
	var e *ErrTooManyFailures
	ok := errors.As(err, &e)
	return e, ok
}

// exhaustions reports each used-up budget once per window: two attempts
// that reserved a place, one given back meanwhile, can both see the last
// place taken.
type exhaustions struct {
	mu   sync.Mutex
	seen map[string]time.Time // key → the window's end
}

// maxExhaustions bounds the memory: past it, ended windows are dropped.
const maxExhaustions = 4096

func (e *exhaustions) report(c store.Counter, now time.Time, fn func(string)) {
	e.mu.Lock()
	if e.seen == nil {
		e.seen = make(map[string]time.Time)
	}
	if until, ok := e.seen[c.Key]; ok && until.Equal(c.Until) {
		e.mu.Unlock()
		return
	}
	if len(e.seen) >= maxExhaustions {
		for k, until := range e.seen {
			if !now.Before(until) {
				delete(e.seen, k)
			}
		}
	}
	e.seen[c.Key] = c.Until
	e.mu.Unlock()
	fn(c.Key)
}
