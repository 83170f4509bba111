package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// GET /tokengate/users/{id}/tokens/temporary
func (rq *request) getGeneration(args []string) error {
	gen, err := rq.svc.Generation(rq.r.Context(), args[0])
	if err != nil {
		return serviceError(err, userWhat(args[0]))
	}
	return rq.reply(http.StatusOK, map[string]uint64{"generation": gen})
}

// DELETE /tokengate/users/{id}/tokens/temporary
func (rq *request) revokeTemporary(args []string) error {
	gen, err := rq.svc.RevokeTemporary(rq.r.Context(), args[0])
	if err != nil {
		return serviceError(err, userWhat(args[0]))
	}
	return rq.reply(http.StatusOK, map[string]uint64{"generation": gen})
}

type temporaryRequest struct {
	TTL     string          `json:"ttl"`
	Caveats json.RawMessage `json:"caveats"`
}

// parseTTL returns the lifetime a request asks for: default 1h (or limit,
// if shorter), at most limit.
func parseTTL(parse func(string) (time.Duration, error), s string, limit time.Duration) (time.Duration, error) {
	if s == "" {
		return min(defaultTTL, limit), nil
	}
	if parse == nil {
		parse = time.ParseDuration
	}
	d, err := parse(s)
	switch {
	case err != nil:
		return 0, errorf(http.StatusBadRequest, err, "invalid ttl %q: %v", s, err)
	case d <= 0:
		return 0, errorf(http.StatusBadRequest, nil, "ttl must be positive")
	case d > limit:
		return 0, errorf(http.StatusBadRequest, nil, "ttl %s exceeds temporary_max_ttl %s", d, limit)
	}
	return d, nil
}

// parseCaveats decodes optional caveats in Onezone's form.
func parseCaveats(raw json.RawMessage) ([]tokens.Caveat, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	c, err := tokens.ParseCaveats(raw)
	if err != nil {
		return nil, serviceError(err, "caveats")
	}
	return c, nil
}

// POST /tokengate/users/{id}/tokens/temporary {"ttl"?, "caveats"?} →
// 201 {"token","expires_at"}
func (rq *request) issueTemporary(args []string) error {
	id := args[0]
	var req temporaryRequest
	if err := rq.decode(&req); err != nil {
		return err
	}
	ttl, err := parseTTL(rq.h.ParseDuration, req.TTL, rq.svc.MaxTemporaryTTL())
	if err != nil {
		return err
	}
	caveats, err := parseCaveats(req.Caveats)
	if err != nil {
		return err
	}
	until := rq.svc.Now().Add(ttl).Unix()
	caveats = append(caveats, tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: until})
	tok, err := rq.svc.IssueTemporary(rq.r.Context(), id, tokens.Access, caveats)
	if err != nil {
		return serviceError(err, userWhat(id))
	}
	return rq.reply(http.StatusCreated, map[string]any{"token": tok, "expires_at": time.Unix(until, 0).UTC()})
}

// GET /tokengate/users/{id}/tokens/named
func (rq *request) listNamed(args []string) error {
	id := args[0]
	if _, err := rq.user(id); err != nil {
		return err
	}
	list, err := rq.svc.NamedTokens(rq.r.Context(), id)
	if err != nil {
		return serviceError(err, fmt.Sprintf("named tokens of user %q", id))
	}
	out := make([]NamedToken, len(list))
	for i, t := range list {
		out[i] = newNamedToken(t)
	}
	return rq.reply(http.StatusOK, out)
}

type namedCreate struct {
	Name    *string         `json:"name"`
	Caveats json.RawMessage `json:"caveats"`
}

// POST /tokengate/users/{id}/tokens/named {"name", "caveats"?}
func (rq *request) createNamed(args []string) error {
	id := args[0]
	var req namedCreate
	if err := rq.decode(&req); err != nil {
		return err
	}
	if req.Name == nil {
		return errorf(http.StatusBadRequest, nil, "name is required")
	}
	caveats, err := parseCaveats(req.Caveats)
	if err != nil {
		return err
	}
	if _, err := rq.user(id); err != nil {
		return err
	}
	rec, tok, err := rq.svc.IssueNamed(rq.r.Context(), id, *req.Name, tokens.Access, caveats)
	if err != nil {
		return namedError(err, id, *req.Name, userWhat(id))
	}
	rq.w.Header().Set("Location", Prefix+"users/"+url.PathEscape(id)+"/tokens/named/"+url.PathEscape(rec.ID))
	return rq.reply(http.StatusCreated, map[string]string{"token_id": rec.ID, "token": tok})
}

func namedWhat(id, tid string) string { return fmt.Sprintf("named token %q of user %q", tid, id) }

// named reads one named token for a request: an unknown user is told
// apart from an unknown token.
func (rq *request) named(id, tid string) (store.NamedToken, error) {
	if _, err := rq.user(id); err != nil {
		return store.NamedToken{}, err
	}
	t, err := rq.svc.NamedToken(rq.r.Context(), id, tid)
	if err != nil {
		return t, serviceError(err, namedWhat(id, tid))
	}
	return t, nil
}

// GET /tokengate/users/{id}/tokens/named/{tid}
func (rq *request) getNamed(args []string) error {
	t, err := rq.named(args[0], args[1])
	if err != nil {
		return err
	}
	return rq.reply(http.StatusOK, newNamedToken(t))
}

// namedPatch is a change of a named token. A null member is absent: in
// particular {"revoked": null} leaves a revoked token revoked.
type namedPatch struct {
	Name    *string `json:"name"`
	Revoked *bool   `json:"revoked"`
}

// PATCH /tokengate/users/{id}/tokens/named/{tid} {"name"?, "revoked"?}
func (rq *request) patchNamed(args []string) error {
	id, tid := args[0], args[1]
	var req namedPatch
	if err := rq.decode(&req); err != nil {
		return err
	}
	if req.Name == nil && req.Revoked == nil {
		return errorf(http.StatusBadRequest, nil, "nothing to change: give name or revoked")
	}
	if _, err := rq.named(id, tid); err != nil {
		return err
	}
	u := store.NamedUpdate{Name: req.Name, Revoked: req.Revoked}
	if err := rq.svc.UpdateNamed(rq.r.Context(), id, tid, u); err != nil {
		return namedError(err, id, deref(req.Name), namedWhat(id, tid))
	}
	t, err := rq.named(id, tid)
	if err != nil {
		return err
	}
	return rq.reply(http.StatusOK, newNamedToken(t))
}

// DELETE /tokengate/users/{id}/tokens/named/{tid}
func (rq *request) deleteNamed(args []string) error {
	id, tid := args[0], args[1]
	if _, err := rq.user(id); err != nil {
		return err
	}
	if err := rq.svc.DeleteNamed(rq.r.Context(), id, tid); err != nil {
		return serviceError(err, namedWhat(id, tid))
	}
	return rq.noContent()
}

// NamedToken is a named token as the admin API shows it: snake_case like
// every admin answer (Onezone's API has its own camelCase record), never
// the token or its secret.
type NamedToken struct {
	ID             string          `json:"id"`
	User           string          `json:"user"`
	Name           string          `json:"name"`
	Type           string          `json:"type"` // "access" or "identity"
	Caveats        json.RawMessage `json:"caveats"`
	Revoked        bool            `json:"revoked"`
	CreatedAt      time.Time       `json:"created_at"`
	CustomMetadata json.RawMessage `json:"custom_metadata"`
}

func newNamedToken(t store.NamedToken) NamedToken {
	typ := "access"
	if tokens.Type(t.Type) == tokens.Identity {
		typ = "identity"
	}
	n := NamedToken{ID: t.ID, User: t.Subject, Name: t.Name, Type: typ, Caveats: t.Caveats, Revoked: t.Revoked,
		CreatedAt: t.CreatedAt.UTC(), CustomMetadata: t.Metadata}
	if n.Caveats == nil {
		n.Caveats = json.RawMessage("[]")
	}
	if n.CustomMetadata == nil {
		n.CustomMetadata = json.RawMessage("{}")
	}
	return n
}
