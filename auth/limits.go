package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/store"
)

// ErrTooManyFailures: the client or the target user used up its budget of
// failed credentials; RetryAfter says for how long.
type ErrTooManyFailures struct {
	Key        string
	RetryAfter time.Duration
}

func (e *ErrTooManyFailures) Error() string {
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
func IPKey(ip string) string     { return "ip:" + ip }
func UserKey(user string) string { return "user:" + user }

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

// LiftBan forgets a key's failures.
func (s *Service) LiftBan(ctx context.Context, key string) error {
	if err := s.store.ClearCounter(ctx, key); err != nil {
		return s.storeErr(err)
	}
	return nil
}

// IsTooManyFailures returns the budget error in err, if any.
func IsTooManyFailures(err error) (*ErrTooManyFailures, bool) {
	var e *ErrTooManyFailures
	ok := errors.As(err, &e)
	return e, ok
}
