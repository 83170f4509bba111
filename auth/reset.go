package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/store"
)

// DefaultResetTTL is how long a password-reset token stays valid.
const DefaultResetTTL = 24 * time.Hour

// ErrInvalidResetToken: unknown, expired, superseded or used.
var ErrInvalidResetToken = errors.New("reset token is not valid")

// IssueReset creates a password-reset token for the user: 256 random bits,
// URL-safe, stored only as a digest. It supersedes the user's older ones.
// A config-managed user's password comes from the config, which would
// write it back: ErrConfigManaged.
func (s *Service) IssueReset(ctx context.Context, subject, createdBy string, ttl time.Duration) (_ string, err error) {
	defer func() { s.emit(ctx, AuditEvent{Event: EventTokenIssued, Kind: kindReset, Target: subject}, "", err) }()
	switch u, err := s.store.User(ctx, subject); {
	case err != nil:
		return "", s.opErr(err)
	case u.ConfigManaged:
		return "", fmt.Errorf("%w: %q", ErrConfigManaged, subject)
	}
	tok := newResetSecret()
	now := s.now().UTC()
	err = s.store.CreateReset(ctx, store.ResetToken{
		Digest:    digest(tok),
		Subject:   subject,
		CreatedBy: createdBy,
		CreatedAt: now,
		ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		return "", s.storeErr(err)
	}
	s.issued(ctx, IssuedReset, nil)
	return tok, nil
}

// newResetSecret is a reset token's value: 256 random bits, URL-safe.
func newResetSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ResetUser returns the user an active reset token belongs to.
func (s *Service) ResetUser(ctx context.Context, tok string) (store.User, store.ResetToken, error) {
	t, err := s.store.Reset(ctx, digest(tok), s.now())
	if err != nil {
		return store.User{}, t, s.resetErr(err)
	}
	u, err := s.store.User(ctx, t.Subject)
	return withoutHash(u), t, s.resetErr(err)
}

// Reset sets a new password with a reset token, consuming it. It also
// expires the user's other reset tokens and ends every session and
// temporary token of the user.
//
// The audit trail hears of a reset with a valid token, done or refused
// (password_reset, by the token's user unless the request proved
// another); a token that is not valid is a guess, not a change, and is
// counted against the client's budget by the front door instead.
func (s *Service) Reset(ctx context.Context, tok, password string) error {
	// Check the token before spending a bcrypt hash on a guess;
	// ConsumeReset checks it again atomically with the change.
	t, err := s.store.Reset(ctx, digest(tok), s.now())
	if err != nil {
		return s.resetErr(err)
	}
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventPasswordReset, Target: t.Subject, Kind: kindReset}, t.Subject, err)
	}()
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.store.ConsumeReset(ctx, digest(tok), hash, s.now())
	err = s.resetErr(err)
	return err
}

// SetPassword changes a user's password, with the effects of a reset.
func (s *Service) SetPassword(ctx context.Context, id, password string) (err error) {
	defer func() { s.emit(ctx, AuditEvent{Event: EventPasswordChanged, Target: id}, "", err) }()
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.setPasswordHash(ctx, id, hash)
}

// SetPasswordHash is SetPassword with an already hashed password.
func (s *Service) SetPasswordHash(ctx context.Context, id, hash string) (err error) {
	defer func() { s.emit(ctx, AuditEvent{Event: EventPasswordChanged, Target: id}, "", err) }()
	return s.setPasswordHash(ctx, id, hash)
}

// setPasswordHash is SetPasswordHash without its audit event.
func (s *Service) setPasswordHash(ctx context.Context, id, hash string) error {
	if err := CheckHash(hash); err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, id, hash, s.now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return s.storeErr(err)
	}
	return nil
}

func (s *Service) resetErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return ErrInvalidResetToken
	}
	return s.storeErr(err)
}
