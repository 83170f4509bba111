package auth

import (
	"context"
	"errors"
	"net/netip"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// Login checks a username and password sent by the client at addr, within
// the client's and the target user's brute-force budgets. A guess
// reserves its place in both budgets before the password is checked, and
// gives it back only if the password was right, so n parallel guesses get
// at most the budget's worth of checks, on this instance and on every
// instance sharing the store; the rest get *ErrTooManyFailures. Checks
// wait in a bounded, per-client fair queue (ErrBusy when full).
//
// Unknown users, users without a password and wrong passwords are
// indistinguishable: all answer ErrBadCredentials, after as long as a
// real check takes (see checkTiming).
func (s *Service) Login(ctx context.Context, addr netip.Addr, username, password string) (*Identity, error) {
	client := s.ClientKey(addr)
	held, err := s.reserve(ctx, client, UserKey(username))
	if err != nil {
		return nil, err
	}
	id, err := s.checkPassword(ctx, client, username, password)
	if errors.Is(err, ErrBadCredentials) {
		s.keep(ctx, held)
	} else {
		s.giveBack(ctx, held)
	}
	return id, err
}

// checkPassword compares the password with the user's hash, or with the
// dummy hash for an unknown user or one without a password, in the
// client's lane, then waits out the rest of the time a real check takes.
func (s *Service) checkPassword(ctx context.Context, client, username, password string) (*Identity, error) {
	// Timed from here: the state reads and the wait for a slot are part
	// of what a client sees, the same for every path.
	start := s.timing.start()
	u, err := s.store.UserByName(ctx, username)
	var sub *subject
	if err == nil {
		sub, _, err = s.subject(ctx, u.ID)
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, tokens.ErrSubjectInvalid):
		sub = nil
	case err != nil:
		return nil, s.storeErr(err)
	}
	hash, real := s.dummyHash, false
	if sub != nil && sub.passwordHash != "" {
		hash, real = []byte(sub.passwordHash), true
	}
	release, err := s.checks.acquire(ctx, client)
	if err != nil {
		return nil, err
	}
	ok, _ := comparePassword(hash, password)
	release()
	s.checksRun.Add(1)
	if real {
		s.timing.observe(hash, start)
	}
	if !real || !ok {
		// Only failures are padded: a caller who got in learns nothing
		// from the time it took.
		s.timing.pad(ctx, start)
		return nil, ErrBadCredentials
	}
	if sub.blocked {
		return nil, ErrUserBlocked
	}
	return sub.identity, nil
}

// newDummyHash returns the hash compared against for unknown users and
// users without a password: a random password at bcrypt's least cost. It
// is cheap on purpose: checkTiming's padding makes up the time a real
// check takes, so a flood of guesses at unknown names costs little CPU.
func newDummyHash() []byte {
	h, _ := bcrypt.GenerateFromPassword(tokens.NewSecret()[:16], bcrypt.MinCost)
	return h
}

// PasswordChecks is how many password comparisons logins have run, the
// dummy ones included: what a flood of guesses cost.
func (s *Service) PasswordChecks() uint64 { return s.checksRun.Load() }
