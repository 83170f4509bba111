package tokens

import (
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// KeyFunc is called with the token's unverified claims and returns the key
// to check its signature with, or the error that decides the token's fate
// before any signature check (Onezone compares generations first).
type KeyFunc func(c *Claims) ([]byte, error)

// Verifier checks token signatures. The algorithm is pinned to HS256:
// "none" and every other algorithm are refused before any key is looked up.
type Verifier struct {
	parser *jwt.Parser
}

// NewVerifier returns a Verifier. It is safe for concurrent use.
func NewVerifier() *Verifier {
	return &Verifier{parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		// Time is a caveat, checked by Check with the caller's clock.
		jwt.WithoutClaimsValidation(),
	)}
}

// Verify decodes raw, asks key for the signing key and checks the
// signature. Caveats are left to Check so that a cached token can be
// re-checked per request without verifying it again.
func (v *Verifier) Verify(raw string, key KeyFunc) (*Claims, error) {
	c := new(Claims)
	var keyErr error
	_, err := v.parser.ParseWithClaims(raw, c, func(*jwt.Token) (any, error) {
		if c.Subject == "" || c.Kind == "" || c.ID == "" {
			keyErr = fmt.Errorf("%w: missing claims", ErrMalformed)
			return nil, keyErr
		}
		if c.Type != Access && c.Type != Identity {
			keyErr = fmt.Errorf("%w: unknown type", ErrMalformed)
			return nil, keyErr
		}
		for i := range c.Caveats {
			if err := c.Caveats[i].compile(); err != nil {
				keyErr = fmt.Errorf("%w: %v", ErrMalformed, err)
				return nil, keyErr
			}
		}
		k, err := key(c)
		if err == nil && len(k) == 0 {
			err = fmt.Errorf("%w: no signing key", ErrInvalid)
		}
		keyErr = err
		return k, err
	})
	switch {
	case keyErr != nil:
		return nil, keyErr
	case err == nil:
		return c, nil
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	default: // signature invalid, algorithm refused
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
}

// CheckGeneration compares a temporary token's generation with its
// subject's current one, as Onezone does: older is revoked, newer can only
// be forged.
func CheckGeneration(token, current uint64) error {
	switch {
	case token < current:
		return fmt.Errorf("%w: generation %d < %d", ErrRevoked, token, current)
	case token > current:
		return fmt.Errorf("%w: generation %d > %d", ErrInvalid, token, current)
	}
	return nil
}
