package auth

import (
	"crypto/hmac"
	"encoding/base64"

	"github.com/tokengate/tokengate/tokens"
)

// csrfKind separates CSRF tokens from every token signing key derived
// from the same server key.
const csrfKind tokens.Kind = "csrf"

// CSRFToken returns the anti-forgery token of a session's forms: an HMAC
// of the session id under a key derived from the server key the
// session's token is of (so a rotation leaves open forms working). It needs no
// state, dies with the session, and another site can neither read nor
// compute it.
func (s *Service) CSRFToken(t *Token) string {
	return base64.RawURLEncoding.EncodeToString(s.csrfKey(t).SigningKey(csrfKind, t.Identity.ID, []byte(t.ID)))
}

// CheckCSRF reports whether v is the session's CSRF token, in constant time.
func (s *Service) CheckCSRF(t *Token, v string) bool {
	got, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && hmac.Equal(got, s.csrfKey(t).SigningKey(csrfKind, t.Identity.ID, []byte(t.ID)))
}

// csrfKey is the server key t is of, or for a Token not verified by the
// Service, the ring's newest.
func (s *Service) csrfKey(t *Token) tokens.ServerKey {
	if !t.key.IsZero() {
		return t.key
	}
	_, k := s.ring.Load().Newest()
	return k
}
