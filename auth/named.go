package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// IssueNamed creates a named token for the subject and returns its record
// (without the secret) and the serialized token. The name must be unique
// among the subject's named tokens (store.ErrExists).
func (s *Service) IssueNamed(ctx context.Context, subject, name string, typ tokens.Type, caveats []tokens.Caveat) (store.NamedToken, string, error) {
	rec := store.NamedToken{
		ID:        tokens.NewID(),
		Subject:   subject,
		Name:      name,
		Type:      string(typ),
		CreatedAt: s.now().UTC(),
		Secret:    tokens.NewSecret(),
	}
	if len(caveats) > 0 {
		rec.Caveats, _ = json.Marshal(caveats)
	}
	if err := s.store.CreateNamed(ctx, rec); err != nil {
		if errors.Is(err, store.ErrExists) {
			return rec, "", err
		}
		return rec, "", s.storeErr(err)
	}
	tok, err := tokens.Mint(&tokens.Claims{
		Subject:  subject,
		Kind:     tokens.Named,
		Type:     typ,
		ID:       rec.ID,
		IssuedAt: rec.CreatedAt.Unix(),
		Caveats:  caveats,
	}, s.key.SigningKey(tokens.Named, subject, rec.Secret))
	rec.Secret = nil
	return rec, tok, err
}

// namedKey returns the signing key of a named token after checking its
// record: unknown tokens are invalid, revoked ones revoked. The record is
// read from the store on every cold verification; verified tokens are
// cached like any other, under the subject's stamp, which every change
// to the subject's named tokens invalidates.
func (s *Service) namedKey(ctx context.Context, c *tokens.Claims) ([]byte, error) {
	rec, err := s.store.Named(ctx, c.Subject, c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: no named token %s", tokens.ErrInvalid, c.ID)
	case err != nil:
		return nil, s.storeErr(err)
	case rec.Revoked:
		return nil, fmt.Errorf("%w: named token %s", tokens.ErrRevoked, c.ID)
	}
	return s.key.SigningKey(tokens.Named, c.Subject, rec.Secret), nil
}
