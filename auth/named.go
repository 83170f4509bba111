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
// (without the secret) and the serialized token. The name must follow
// CheckTokenName and be unique among the subject's named tokens
// (ErrExists), the caveats well-formed (tokens.CheckCaveats); a blocked
// subject gets ErrUserBlocked.
func (s *Service) IssueNamed(ctx context.Context, subject, name string, typ tokens.Type, caveats []tokens.Caveat) (rec store.NamedToken, _ string, err error) {
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventTokenIssued, Kind: kindNamed, Target: rec.ID, User: subject,
			Name: name, Detail: typeName(typ)}, "", err)
	}()
	if err := CheckTokenName(name); err != nil {
		return store.NamedToken{}, "", err
	}
	// Before the record is stored: Mint would refuse them after.
	if err := tokens.CheckCaveats(caveats); err != nil {
		return store.NamedToken{}, "", err
	}
	sub, _, err := s.subject(ctx, subject)
	switch {
	case errors.Is(err, tokens.ErrSubjectInvalid):
		return store.NamedToken{}, "", ErrNotFound
	case err != nil:
		return store.NamedToken{}, "", err
	case sub.blocked:
		return store.NamedToken{}, "", ErrUserBlocked
	}
	rec = store.NamedToken{
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
		return store.NamedToken{}, "", s.opErr(err)
	}
	tok, err := s.mintNamed(rec, caveats)
	rec.Secret = nil
	s.issued(ctx, IssuedNamed, err)
	return rec, tok, err
}

// mintNamed serializes the token of a named token record. Minting is
// deterministic, so the token of a record is the same string while the
// ring's newest key is: after a rotation it is minted anew with the new
// key, and the string issued before stays good while its key is in the
// ring.
func (s *Service) mintNamed(rec store.NamedToken, caveats []tokens.Caveat) (string, error) {
	ring := s.ring.Load()
	_, newest := ring.Newest()
	return ring.Mint(&tokens.Claims{
		Subject:  rec.Subject,
		Kind:     tokens.Named,
		Type:     tokens.Type(rec.Type),
		ID:       rec.ID,
		IssuedAt: rec.CreatedAt.Unix(),
		Caveats:  caveats,
	}, newest.SigningKey(tokens.Named, rec.Subject, rec.Secret))
}

// NamedTokenString returns the serialized token of one of the subject's
// named tokens, the string IssueNamed returned, as Onezone's named token
// record carries it for its owner ("token"); ErrNotFound if the subject
// has no such token. Callers decide who may see it.
func (s *Service) NamedTokenString(ctx context.Context, subject, id string) (string, error) {
	rec, err := s.store.Named(ctx, subject, id)
	if err != nil {
		return "", s.opErr(err)
	}
	var caveats []tokens.Caveat
	if len(rec.Caveats) > 0 {
		if err := json.Unmarshal(rec.Caveats, &caveats); err != nil {
			return "", fmt.Errorf("named token %s: stored caveats: %w", id, err)
		}
	}
	return s.mintNamed(rec, caveats)
}

// namedKey returns the signing key of a named token after checking its
// record: unknown tokens are invalid, revoked ones revoked. The record is
// read from the store on every cold verification; verified tokens are
// cached like any other, under the subject's stamp, which every change
// to the subject's named tokens invalidates.
func (s *Service) namedKey(ctx context.Context, c *tokens.Claims, sk tokens.ServerKey) ([]byte, error) {
	rec, err := s.store.Named(ctx, c.Subject, c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: no named token %s", tokens.ErrInvalid, c.ID)
	case err != nil:
		return nil, s.storeErr(err)
	case rec.Revoked:
		return nil, fmt.Errorf("%w: named token %s", tokens.ErrRevoked, c.ID)
	}
	return sk.SigningKey(tokens.Named, c.Subject, rec.Secret), nil
}

// NamedTokens lists the subject's named tokens, without their secrets,
// ordered by id.
func (s *Service) NamedTokens(ctx context.Context, subject string) ([]store.NamedToken, error) {
	list, err := s.store.NamedTokens(ctx, subject)
	if err != nil {
		return nil, s.storeErr(err)
	}
	for i := range list {
		list[i].Secret = nil
	}
	return list, nil
}

// NamedToken returns one of the subject's named tokens, without its
// secret; ErrNotFound if the subject has no such token.
func (s *Service) NamedToken(ctx context.Context, subject, id string) (store.NamedToken, error) {
	t, err := s.store.Named(ctx, subject, id)
	t.Secret = nil
	return t, s.opErr(err)
}

// NamedTokenFor returns the named token id, without its secret, as the
// caller may see it: their own, or (admin: the caller may manage every
// user's tokens) anyone's. Another user's token is ErrForbidden, not
// ErrNotFound, as Onezone answers; an unknown id is ErrNotFound. The
// owner of a token not the caller's comes from the store's NamedOwner
// index, which is only a hint: the token is then read from its owner's
// records, so a stale hint is ErrNotFound.
func (s *Service) NamedTokenFor(ctx context.Context, caller *Identity, id string, admin bool) (store.NamedToken, error) {
	if id == "" {
		return store.NamedToken{}, ErrNotFound
	}
	t, err := s.NamedToken(ctx, caller.ID, id)
	if !errors.Is(err, ErrNotFound) {
		return t, err
	}
	owner, err := s.store.NamedOwner(ctx, id)
	if err != nil {
		return store.NamedToken{}, s.opErr(err)
	}
	if owner == caller.ID {
		return store.NamedToken{}, ErrNotFound // the hint is stale
	}
	if t, err = s.NamedToken(ctx, owner, id); err != nil {
		return store.NamedToken{}, err
	}
	if !admin {
		return store.NamedToken{}, ErrForbidden
	}
	return t, nil
}

// NamedTokenByName returns the subject's named token called name,
// without its secret; ErrNotFound if it has none. Names are unique per
// subject, so there is at most one.
func (s *Service) NamedTokenByName(ctx context.Context, subject, name string) (store.NamedToken, error) {
	// A scan of the subject's tokens: the stores index names, but keep
	// that index to themselves, and a subject has few named tokens.
	list, err := s.NamedTokens(ctx, subject)
	if err != nil {
		return store.NamedToken{}, err
	}
	for _, t := range list {
		if t.Name == name {
			return t, nil
		}
	}
	return store.NamedToken{}, ErrNotFound
}

// UpdateNamed renames, revokes or restores one of the subject's named
// tokens, or replaces its custom metadata. A new name follows
// CheckTokenName and must be free (ErrExists); metadata follows
// CheckTokenMetadata and is stored compact.
func (s *Service) UpdateNamed(ctx context.Context, subject, id string, u store.NamedUpdate) (err error) {
	defer func() {
		ev := EventTokenUpdated
		switch {
		case u.Revoked != nil && *u.Revoked:
			ev = EventTokenRevoked
		case u.Revoked != nil:
			ev = EventTokenUnrevoked
		}
		s.emit(ctx, AuditEvent{Event: ev, Kind: kindNamed, Target: id, User: subject, Name: deref(u.Name)}, "", err)
	}()
	if u.Name != nil {
		if err := CheckTokenName(*u.Name); err != nil {
			return err
		}
	}
	if u.Metadata != nil {
		m, err := CheckTokenMetadata(u.Metadata)
		if err != nil {
			return err
		}
		u.Metadata = m
	}
	if id == "" {
		return ErrNotFound
	}
	return s.opErr(s.store.UpdateNamed(ctx, subject, id, u))
}

// DeleteNamed deletes one of the subject's named tokens; ErrNotFound if
// it has no such token (an empty id is none: DeleteAllNamed deletes all).
func (s *Service) DeleteNamed(ctx context.Context, subject, id string) (err error) {
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventTokenDeleted, Kind: kindNamed, Target: id, User: subject}, "", err)
	}()
	if id == "" {
		return ErrNotFound
	}
	return s.opErr(s.store.DeleteNamed(ctx, subject, id))
}

// DeleteAllNamed deletes every named token of the subject.
func (s *Service) DeleteAllNamed(ctx context.Context, subject string) error {
	err := s.opErr(s.store.DeleteNamed(ctx, subject, ""))
	s.emit(ctx, AuditEvent{Event: EventNamedTokensDeleted, Kind: kindNamed, Target: subject}, "", err)
	return err
}
