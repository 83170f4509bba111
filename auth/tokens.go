package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/tokens"
)

// Authenticate verifies a token presented for a request. A token seen
// before costs one cache lookup: no store round trip, no signature check.
// The Service sets r.Now.
//
// A client whose tokens keep failing as undecodable or forged is refused
// with *ErrTooManyFailures once past its budget (see guesses); stale
// tokens (expired, revoked, of an ended session or a deleted user) do not
// count, as a browser may hold them honestly.
func (s *Service) Authenticate(ctx context.Context, raw string, r tokens.Request) (*Token, error) {
	return s.authenticate(ctx, raw, r.ClientIP, r, false)
}

// VerifyAccessToken is Authenticate for a verifier that asks on behalf of
// a request elsewhere (Onezone's verify_access_token). With
// allowDataCaveats, the token's data-access caveats (data.*) are not
// checked: the asker serves the data and checks them itself, as Onezone's
// data-access caveats are checked lazily, per operation. Without, they
// fail, since r names no method or path (Onezone's
// disallow_data_access_caveats).
//
// client is the asker's address, whose budget a forged token uses up
// (see Authenticate); r.ClientIP is the peer the asker names, which only
// the caveats see: a name the asker chooses must neither escape its own
// budget nor use up another's.
func (s *Service) VerifyAccessToken(ctx context.Context, raw string, client netip.Addr, r tokens.Request, allowDataCaveats bool) (*Token, error) {
	return s.authenticate(ctx, raw, client, r, allowDataCaveats)
}

func (s *Service) authenticate(ctx context.Context, raw string, client netip.Addr, r tokens.Request, allowDataCaveats bool) (*Token, error) {
	r.Now = s.now()
	return s.authenticateAt(ctx, raw, client, r, allowDataCaveats)
}

// authenticateAt is authenticate at r.Now, which the caller has set.
func (s *Service) authenticateAt(ctx context.Context, raw string, client netip.Addr, r tokens.Request, allowDataCaveats bool) (*Token, error) {
	t, err := s.verify(ctx, raw, r.Now, client)
	if err != nil {
		return nil, err
	}
	r.Consumer = ""
	if t.consumer && r.ConsumerToken != "" {
		if r.Consumer, err = s.consumer(ctx, r, client); err != nil {
			return nil, err
		}
	}
	if allowDataCaveats {
		err = tokens.CheckIgnoring(t.Caveats, &r, tokens.CaveatReadonly, tokens.CaveatPath)
	} else {
		err = tokens.Check(t.Caveats, &r)
	}
	if err != nil {
		return nil, err
	}
	if t.Type != tokens.Access {
		return nil, tokens.ErrNotAccessToken
	}
	return t, nil
}

// consumer returns the user the request's consumer token proves to be,
// or "" if it proves nobody: then the consumer caveat fails and says
// so. Only an unanswerable store (fail closed), a canceled request or a
// client past its guess budget is an error. The consumer token is
// verified like any token, cache and guess budget included, and its own
// caveats must hold for the request; it may be an access or an identity
// token, as Onezone's consumer tokens may. client is whose guess budget
// a forged consumer token uses up.
func (s *Service) consumer(ctx context.Context, r tokens.Request, client netip.Addr) (string, error) {
	ct, err := s.verify(ctx, r.ConsumerToken, r.Now, client)
	if err != nil {
		if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrCanceled) {
			return "", err
		}
		if _, ok := IsTooManyFailures(err); ok {
			return "", err
		}
		return "", nil
	}
	// The consumer's own token names no consumer in turn.
	r.ConsumerToken = ""
	if ct.consumer || tokens.Check(ct.Caveats, &r) != nil {
		return "", nil
	}
	return ct.Identity.ID, nil
}

// verify returns the token from the cache, or verifies and caches it.
func (s *Service) verify(ctx context.Context, raw string, now time.Time, addr netip.Addr) (*Token, error) {
	if t, ok := s.tokens.Get(raw); ok && s.fresh(now) {
		return t, nil
	}
	client := s.ClientKey(addr)
	if wait, refused := s.guesses.refused(client, now); refused {
		return nil, &ErrTooManyFailures{Key: client, RetryAfter: wait}
	}
	ring := s.ring.Load()
	t, stamp, err := s.verifyCold(ctx, ring, raw)
	if errors.Is(err, tokens.ErrUnknownKey) && s.refreshKeys(ctx, ring) {
		// Minted by an instance that rotated before this one heard.
		ring = s.ring.Load()
		t, stamp, err = s.verifyCold(ctx, ring, raw)
	}
	if errors.Is(err, tokens.ErrMalformed) || errors.Is(err, tokens.ErrInvalid) {
		s.guesses.failed(client, now)
	}
	if err != nil {
		return nil, err
	}
	if t.ValidUntil > 0 && t.ValidUntil <= now.Unix() {
		return t, nil // expired: Check will say so; nothing worth caching
	}
	// No ristretto TTL: every hit checks the time caveats anyway, and a TTL
	// would make ristretto read the clock a second time on each hit.
	// Expired entries go when the cost budget needs their room.
	// A token verified against a ring SetKeyRing has replaced meanwhile
	// is answered but not cached: its key may be gone, and the stamp may
	// postdate the invalidation that was to drop it.
	if s.ring.Load() == ring {
		cost := t.cost()
		if s.assert.used.Load() {
			cost += mintedCost
		}
		s.tokens.Set(raw, stamp, t, cost, 0)
	}
	return t, nil
}

// cost is the memory a cached token holds beyond its key.
func (t *Token) cost() int64 {
	n := int64(unsafe.Sizeof(*t)) + int64(len(t.ID)) + int64(len(t.Caveats))*int64(unsafe.Sizeof(tokens.Caveat{}))
	for i := range t.Caveats {
		n += int64(len(t.Caveats[i].Whitelist)) * 64 // the string and its compiled prefix
	}
	return n
}

// verifyCold checks a token against its subject's current state. The
// stamp was taken before that state was read; cache the token under it.
//
// A token's tag is checked first, with the server key alone: a forged
// token is refused as invalid before any state is read, so it learns
// nothing of its subject. A tagged token then answers what its state
// says (deleted subject, blocked, revoked generation). A token minted
// before tags existed carries none: it is checked against the current
// state, and any refusal is reported as invalid, since its authenticity
// is known only once its signature has been checked.
func (s *Service) verifyCold(ctx context.Context, ring *tokens.KeyRing, raw string) (*Token, cache.Stamp, error) {
	v, err := s.verifyClaims(ctx, ring, raw)
	if err != nil {
		return nil, v.stamp, err
	}
	c := v.claims
	return &Token{
		Identity:   v.sub.identity,
		Kind:       c.Kind,
		ID:         c.ID,
		Type:       c.Type,
		Caveats:    c.Caveats,
		ValidUntil: tokens.ValidUntil(c.Caveats),
		consumer:   tokens.HasConsumer(c.Caveats),
		key:        v.serverKey,
	}, v.stamp, nil
}

// verified is a token whose tag, state and signature checked out: its
// claims, its subject's state, the key it is signed with and the server
// key that is derived from and tagged it (what re-minting it with more
// caveats needs), and the stamp taken before the state was read.
type verified struct {
	claims    *tokens.Claims
	sub       *subject
	key       []byte
	serverKey tokens.ServerKey
	stamp     cache.Stamp
}

// verifyClaims is verifyCold's check, without building the cached Token.
// The token must be of one of ring's keys.
func (s *Service) verifyClaims(ctx context.Context, ring *tokens.KeyRing, raw string) (verified, error) {
	var v verified
	c, err := ring.Verify(raw, func(c *tokens.Claims, sk tokens.ServerKey) ([]byte, error) {
		untagged := c.Tag == ""
		if !untagged && !sk.CheckTag(c) {
			return nil, fmt.Errorf("%w: tag", tokens.ErrInvalid)
		}
		v.serverKey = sk
		key, err := s.signingKey(ctx, c, sk, &v.sub, &v.stamp)
		if err != nil && untagged && !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrCanceled) {
			return nil, fmt.Errorf("%w: untagged token refused (%v)", tokens.ErrInvalid, err)
		}
		v.key = key
		return key, err
	})
	v.claims = c
	return v, err
}

// signingKey reads the state the token's kind needs, refuses it if that
// state says so, and returns the key its signature must check with.
//
// A deleted subject is tokens.ErrSubjectGone (answered as tokenInvalid,
// as Onezone does, but not counted as a guess); ErrSubjectInvalid stays
// for the callers that ask for a subject by id.
func (s *Service) signingKey(ctx context.Context, c *tokens.Claims, sk tokens.ServerKey, sub **subject, stamp *cache.Stamp) ([]byte, error) {
	var err error
	if *sub, *stamp, err = s.subject(ctx, c.Subject); err != nil {
		if errors.Is(err, tokens.ErrSubjectInvalid) {
			return nil, fmt.Errorf("%w: %q", tokens.ErrSubjectGone, c.Subject)
		}
		return nil, err
	}
	if (*sub).blocked {
		return nil, ErrUserBlocked
	}
	switch c.Kind {
	case tokens.Temporary:
		if err := tokens.CheckGeneration(c.Generation, (*sub).generation); err != nil {
			return nil, err
		}
		temp, _ := (*sub).signingKeys(sk)
		return temp, nil
	case tokens.Named:
		return s.namedKey(ctx, c, sk)
	case tokens.Session:
		if err := tokens.CheckGeneration(c.Generation, (*sub).generation); err != nil {
			return nil, err
		}
		return s.sessionKey(ctx, c, sk, *sub)
	}
	return nil, fmt.Errorf("%w: unknown kind %q", tokens.ErrInvalid, c.Kind)
}

// IssueTemporary mints a temporary token for user id. Its caveats must
// be well-formed (tokens.CheckCaveats) and include a time caveat no
// further away than the maximum TTL.
func (s *Service) IssueTemporary(ctx context.Context, id string, typ tokens.Type, caveats []tokens.Caveat) (_ string, err error) {
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventTokenIssued, Kind: kindTemporary, Target: id, Detail: typeName(typ)}, "", err)
	}()
	if err := tokens.CheckCaveats(caveats); err != nil {
		return "", err
	}
	now := s.now()
	// Well-formed time caveats are positive: 0 is none.
	until := tokens.ValidUntil(caveats)
	if until == 0 || !expiresWithin(until, now, s.maxTempTTL) {
		return "", fmt.Errorf("%w: max TTL %s", tokens.ErrTimeCaveatRequired, s.maxTempTTL)
	}
	sub, _, err := s.subject(ctx, id)
	if err != nil {
		return "", err
	}
	if sub.blocked {
		return "", ErrUserBlocked
	}
	ring := s.ring.Load()
	_, newest := ring.Newest()
	temp, _ := sub.signingKeys(newest)
	tok, err := ring.Mint(&tokens.Claims{
		Subject:    id,
		Kind:       tokens.Temporary,
		Type:       typ,
		Generation: sub.generation,
		IssuedAt:   now.Unix(),
		Caveats:    caveats,
	}, temp)
	s.issued(ctx, IssuedTemporary, err)
	return tok, err
}

// MaxTemporaryTTL is the longest lifetime IssueTemporary accepts.
func (s *Service) MaxTemporaryTTL() time.Duration { return s.maxTempTTL }

// Generation returns the user's current temporary-token generation.
func (s *Service) Generation(ctx context.Context, id string) (uint64, error) {
	sub, _, err := s.subject(ctx, id)
	if err != nil {
		return 0, err
	}
	return sub.generation, nil
}

// RevokeTemporary kills every temporary token of the user and returns the
// new generation. When it returns without error, no token of an older
// generation is accepted by any Service sharing the store in this process.
func (s *Service) RevokeTemporary(ctx context.Context, id string) (_ uint64, err error) {
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventTemporaryTokensRevoked, Kind: kindTemporary, Target: id}, "", err)
	}()
	t, err := s.store.RevokeTemp(ctx, id)
	if err != nil {
		return 0, s.storeErr(err)
	}
	return t.Generation, nil
}

// Now is the Service's clock.
func (s *Service) Now() time.Time { return s.now() }
