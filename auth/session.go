package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// StartSession opens a browser session for the subject and returns the
// token for its cookie.
func (s *Service) StartSession(ctx context.Context, subject string, ttl time.Duration) (_ string, err error) {
	var sessID string
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventSessionStarted, Kind: kindSession, Target: sessID, User: subject}, subject, err)
	}()
	sub, _, err := s.subject(ctx, subject)
	if err != nil {
		return "", err
	}
	if sub.blocked {
		return "", ErrUserBlocked
	}
	now := s.now()
	sess := store.Session{ID: tokens.NewID(), Subject: subject, CreatedAt: now.UTC(), ExpiresAt: now.Add(ttl).UTC(),
		Generation: sub.generation}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", s.storeErr(err)
	}
	sessID = sess.ID
	if err := s.stillUnblocked(ctx, sess); err != nil {
		return "", err
	}
	ring := s.ring.Load()
	_, newest := ring.Newest()
	_, sessionKey := sub.signingKeys(newest)
	tok, err := ring.Mint(&tokens.Claims{
		Subject:    subject,
		Kind:       tokens.Session,
		Type:       tokens.Access,
		Generation: sub.generation,
		ID:         sess.ID,
		IssuedAt:   now.Unix(),
		Caveats:    []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: sess.ExpiresAt.Unix()}},
	}, sessionKey)
	s.issued(ctx, IssuedSession, err)
	return tok, err
}

// stillUnblocked checks, after a session was created, that its user was
// not blocked meanwhile: SetBlocked writes the block, then ends the
// user's sessions, so a session created after that sweep began would
// survive the block and work again after an unblock. The store itself is
// asked, not the cache, which hears of another instance's block late. A
// blocked user's session is ended at once: ErrUserBlocked.
func (s *Service) stillUnblocked(ctx context.Context, sess store.Session) error {
	u, err := s.store.User(ctx, sess.Subject)
	if err == nil && !u.Blocked {
		return nil
	}
	if derr := s.store.DeleteSession(ctx, sess.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) && err == nil {
		err = derr
	}
	if err != nil {
		return s.storeErr(err)
	}
	return ErrUserBlocked
}

// EndSession ends the session a verified session token belongs to; a
// copy of its cookie no longer works once this returns.
func (s *Service) EndSession(ctx context.Context, t *Token) (err error) {
	var user string
	if t.Identity != nil {
		user = t.Identity.ID
	}
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventSessionEnded, Kind: kindSession, Target: t.ID, User: user}, user, err)
	}()
	if t.Kind != tokens.Session {
		return fmt.Errorf("%w: not a session token", tokens.ErrInvalid)
	}
	if err := s.store.DeleteSession(ctx, t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return s.storeErr(err)
	}
	return nil
}

// Sessions lists the subject's live sessions: not ended, not expired,
// and of its current generation (revoking all temporary tokens ended the
// older ones, whose records stay until they expire).
func (s *Service) Sessions(ctx context.Context, subject string) ([]store.Session, error) {
	gen, err := s.Generation(ctx, subject)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Sessions(ctx, subject, s.now())
	if err != nil {
		return nil, s.storeErr(err)
	}
	live := all[:0]
	for _, sess := range all {
		if sess.Generation == gen {
			live = append(live, sess)
		}
	}
	return live, nil
}

// EndSessionOf ends one of the subject's sessions by id; store.ErrNotFound
// if the subject has no such session.
func (s *Service) EndSessionOf(ctx context.Context, subject, id string) (err error) {
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventSessionEnded, Kind: kindSession, Target: id, User: subject}, "", err)
	}()
	sess, err := s.store.Session(ctx, id)
	if err == nil && sess.Subject != subject {
		err = store.ErrNotFound
	}
	if err == nil {
		err = s.store.DeleteSession(ctx, id)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return s.storeErr(err)
	}
	return err
}

// sessionKey checks that the session still exists and belongs to the
// token's subject. An ended session's token is ErrSessionInvalid, as
// Onezone answers a session token whose session is gone
// (tokenSessionInvalid); it is not a guess, since only a genuine token
// reaches this check.
func (s *Service) sessionKey(ctx context.Context, c *tokens.Claims, sk tokens.ServerKey, sub *subject) ([]byte, error) {
	sess, err := s.store.Session(ctx, c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: session ended", tokens.ErrSessionInvalid)
	case err != nil:
		return nil, s.storeErr(err)
	case sess.Subject != c.Subject:
		return nil, fmt.Errorf("%w: session of another subject", tokens.ErrInvalid)
	}
	_, key := sub.signingKeys(sk)
	return key, nil
}

// IssueHandoff creates an OpenPaaS-style authentication token: a random
// UUID v4 that resolves to the subject until it expires. Only its digest
// is stored.
func (s *Service) IssueHandoff(ctx context.Context, subject string, ttl time.Duration) (_ string, _ store.Handoff, err error) {
	defer func() { s.emit(ctx, AuditEvent{Event: EventTokenIssued, Kind: kindHandoff, Target: subject}, "", err) }()
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	tok := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	sub, _, err := s.subject(ctx, subject)
	if err != nil {
		return "", store.Handoff{}, err
	}
	now := s.now().UTC()
	h := store.Handoff{Digest: digest(tok), Subject: subject, CreatedAt: now, ExpiresAt: now.Add(ttl), Generation: sub.generation}
	if err := s.store.CreateHandoff(ctx, h); err != nil {
		return "", h, s.storeErr(err)
	}
	s.issued(ctx, IssuedHandoff, nil)
	return tok, h, nil
}

// Handoff resolves a handoff token. Expiry is exact: a token stops
// working at its creation time plus its TTL, whenever it is purged.
// Unknown, expired and revoked (older generation) tokens are
// store.ErrNotFound.
func (s *Service) Handoff(ctx context.Context, tok string) (store.Handoff, error) {
	h, err := s.store.Handoff(ctx, digest(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return h, err
	case err != nil:
		return h, s.storeErr(err)
	case !s.now().Before(h.ExpiresAt):
		return h, store.ErrNotFound
	}
	sub, _, err := s.subject(ctx, h.Subject)
	switch {
	case errors.Is(err, tokens.ErrSubjectInvalid):
		return h, nil // the caller reports the user as gone
	case err != nil:
		return h, err
	case sub.generation != h.Generation:
		return h, store.ErrNotFound
	}
	return h, nil
}

func digest(tok string) string {
	d := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(d[:])
}
