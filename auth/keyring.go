package auth

import "github.com/tokengate/tokengate/tokens"

// KeyRing returns the server keys the Service accepts tokens of, newest
// first; new tokens are signed with the newest.
func (s *Service) KeyRing() *tokens.KeyRing { return s.ring.Load() }

// SetKeyRing replaces the server keys. When it returns, new tokens are
// signed with r's newest key, and no token of a key r lacks is accepted,
// cached or not: every cached token is dropped (tokens of the keys that
// stay verify again on their next use), and a verification that read the
// old ring and finishes later does not cache its answer (see verify).
func (s *Service) SetKeyRing(r *tokens.KeyRing) {
	if r == nil {
		return
	}
	s.ring.Store(r)
	s.epochs.InvalidateAll()
}
