package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/tokengate/tokengate/tokens"
)

// Examine returns what a token says: its claims, checked to be this
// server's by their tag and nothing else, so that a revoked or expired
// token can still be read, as Onezone's examine reads it. A forged
// token is tokens.ErrInvalid; a token minted before tags existed is
// examined only if it still verifies.
func (s *Service) Examine(ctx context.Context, raw string) (*tokens.Claims, error) {
	ring := s.ring.Load()
	c, err := ring.Examine(raw)
	if errors.Is(err, tokens.ErrUntagged) {
		v, err := s.verifyClaims(ctx, ring, raw)
		return v.claims, err
	}
	return c, err
}

// Confine returns the token with more caveats: the parent's, then
// extra. It can only narrow: a request must satisfy every caveat of the
// confined token, the parent's among them. The confined token keeps the
// parent's subject, kind, type, generation and id and is signed with the
// parent's key, so it dies with the parent: a temporary token with its
// generation, a named token with its record, a session token with its
// session.
//
// Only a token that verifies now, against its subject's state, is
// confined: re-signing a revoked one with its subject's current key
// would bring it back. Its caveats are not checked against any request
// (a token for one service is confined from anywhere); they stay in the
// confined token. extra must be well-formed (tokens.CheckCaveats).
//
// A confined token is audited as issued (token_issued, detail
// "confined"), by its subject unless the request proved another, once
// the parent verified: a refused parent is a guess, not an issue.
func (s *Service) Confine(ctx context.Context, raw string, extra []tokens.Caveat) (_ string, err error) {
	if err := tokens.CheckCaveats(extra); err != nil {
		return "", err
	}
	v, err := s.verifyClaims(ctx, s.ring.Load(), raw)
	if err != nil {
		return "", err
	}
	c := *v.claims
	defer func() {
		target := c.ID // a temporary token has none: its subject is the target
		if target == "" {
			target = c.Subject
		}
		s.emit(ctx, AuditEvent{Event: EventTokenIssued, Kind: kindName(c.Kind), Target: target, User: c.Subject,
			Detail: "confined"}, c.Subject, err)
	}()
	c.Caveats = append(slices.Clip(c.Caveats), extra...)
	c.ExpiresAt = 0 // Mint sets it from the earliest time caveat
	return v.serverKey.MintWithID(&c, v.key)
}

// InferScope verifies a token for Onezone's infer_access_token_scope:
// every caveat but service, interface and api (which depend on where it
// is used) and the data caveats (which are the scope it reports, see
// tokens.ScopeOf) must hold for r. As Onezone, the consumer is the token's own
// subject unless the request names one: with consumerGiven, it is the
// user r.ConsumerToken proves, or nobody when that is empty.
func (s *Service) InferScope(ctx context.Context, raw string, r tokens.Request, consumerGiven bool) (*Token, error) {
	r.Now = s.now()
	t, err := s.verify(ctx, raw, r.Now, r.ClientIP)
	if err != nil {
		return nil, err
	}
	r.Consumer = t.Identity.ID
	if consumerGiven {
		r.Consumer = ""
		if r.ConsumerToken != "" {
			if r.Consumer, err = s.consumer(ctx, r, r.ClientIP); err != nil {
				return nil, err
			}
		}
	}
	if err := tokens.CheckIgnoring(t.Caveats, &r, tokens.CaveatService, tokens.CaveatInterface, tokens.CaveatAPI,
		tokens.CaveatReadonly, tokens.CaveatPath); err != nil {
		return nil, err
	}
	if t.Type != tokens.Access {
		return nil, tokens.ErrNotAccessToken
	}
	return t, nil
}
