package auth

import (
	"context"
	"errors"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/tokens"
)

// Password checks a user's password and returns the identity. Unknown
// users and wrong passwords are indistinguishable to the caller, and both
// cost a bcrypt comparison so that timing does not tell them apart.
func (s *Service) Password(ctx context.Context, id, password string) (*Identity, error) {
	sub, _, err := s.subject(ctx, id)
	switch {
	case errors.Is(err, tokens.ErrSubjectInvalid):
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return nil, ErrBadCredentials
	case err != nil:
		return nil, err
	}
	if sub.passwordHash == "" || bcrypt.CompareHashAndPassword([]byte(sub.passwordHash), []byte(password)) != nil {
		return nil, ErrBadCredentials
	}
	return sub.identity, nil
}

// defaultDummyHash is compared against for unknown users. Cost 14 matches
// what `caddy hash-password` produces by default.
const defaultDummyHash = "$2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9tK"
