package auth

import (
	"context"
	"errors"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// Password checks a user's password and returns the identity. Unknown
// users and wrong passwords are indistinguishable to the caller, and both
// cost a bcrypt comparison so that timing does not tell them apart.
func (s *Service) Password(ctx context.Context, username, password string) (*Identity, error) {
	u, err := s.store.UserByName(ctx, username)
	var sub *subject
	if err == nil {
		sub, _, err = s.subject(ctx, u.ID)
	}
	hash := s.dummyHash
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, tokens.ErrSubjectInvalid):
		sub = nil
	case err != nil:
		return nil, s.storeErr(err)
	default:
		hash = []byte(sub.passwordHash)
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	ok, _ := comparePassword(hash, password)
	s.release()
	if sub == nil || !ok {
		return nil, ErrBadCredentials
	}
	if sub.blocked {
		return nil, ErrUserBlocked
	}
	return sub.identity, nil
}

// defaultDummyHash is compared against for unknown users. Cost 14 matches
// what `caddy hash-password` produces by default.
const defaultDummyHash = "$2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9tK"
