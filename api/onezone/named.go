package onezone

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// parseCaveats decodes a request's optional caveats, answering the
// request itself when they are bad.
func parseCaveats(w http.ResponseWriter, raw json.RawMessage) ([]tokens.Caveat, bool) {
	if raw == nil || string(raw) == "null" {
		return nil, true
	}
	caveats, err := tokens.ParseCaveats(raw)
	switch e := badCaveat(err); {
	case e != nil:
		WriteError(w, e)
		return nil, false
	case err != nil:
		WriteError(w, badData("caveats"))
		return nil, false
	}
	return caveats, true
}

// badCaveat is Onezone's answer to a caveat no token can carry, or nil
// if err is not about one.
func badCaveat(err error) *Error {
	var ce *tokens.CaveatError
	if !errors.As(err, &ce) || !errors.Is(err, tokens.ErrBadCaveat) {
		return nil
	}
	caveat := printedCaveat(ce.Caveat)
	desc := "Provided caveat is invalid: '" + string(caveat) + "'."
	if ce.Unsupported {
		// Onezone accepts these; say why tokengate does not.
		desc += " Not supported: " + ce.Reason + "."
	}
	return newError(http.StatusBadRequest, "badValueCaveat", desc, map[string]any{"caveat": caveat})
}

// printedCaveat is a bad caveat as Onezone's sanitizer reports it
// (entity_logic_sanitizer's JsonableCaveat): an object or a string as
// sent, anything else as the string Erlang prints for it, so [1,2,3]
// reports "1". JSON's compact text is that string for numbers, true,
// false, null and lists of them.
func printedCaveat(raw json.RawMessage) json.RawMessage {
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil {
		return raw // not JSON: cannot come from ParseCaveats
	}
	b := compact.Bytes()
	if len(b) > 0 && (b[0] == '{' || b[0] == '"') {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// tokenSpec decodes a creation request's caveats and type, in Onezone's
// order, answering the request itself when they are bad.
func tokenSpec(w http.ResponseWriter, typeRaw, caveatsRaw json.RawMessage) (tokens.Type, []tokens.Caveat, bool) {
	caveats, ok := parseCaveats(w, caveatsRaw)
	if !ok {
		return "", nil, false
	}
	typ, err := tokens.ParseType(typeRaw)
	var ie *tokens.InviteTargetError
	switch {
	case errors.As(err, &ie):
		WriteError(w, newError(http.StatusBadRequest, "inviteTokenTargetIdInvalid",
			"The target id '"+ie.ID+"' is invalid for this type of invite token.", map[string]any{"id": ie.ID}))
		return "", nil, false
	case err != nil:
		WriteError(w, badValue("badValueTokenType", "type", "is not a valid token type"))
		return "", nil, false
	}
	return typ, caveats, true
}

// forbiddenService is Onezone's tokenServiceForbidden for the first
// service caveat none of whose entries matches a service of the config,
// naming its first entry; nil if there is none. Such a token could pass
// no route, which its creator would only learn from the gate's refusals.
func (h *Handler) forbiddenService(caveats []tokens.Caveat) *Error {
	if h.ServiceExists == nil {
		return nil
	}
	for _, c := range caveats {
		if c.Type != tokens.CaveatService || slices.ContainsFunc(c.Whitelist, h.ServiceExists) {
			continue
		}
		s := c.Whitelist[0]
		return newError(http.StatusBadRequest, "tokenServiceForbidden",
			"The service "+s+" is forbidden for this subject.", map[string]any{"service": s})
	}
	return nil
}

// storeError answers a failed named-token operation: missing → 404,
// another user's → 403, a blocked target → 400 userBlocked, taken name →
// badValueIdentifierOccupied, a name or custom metadata against auth's
// rule → badValueName or badValueJSON/badValueTooHigh, a caveat no token
// can carry → badValueCaveat.
func storeError(w http.ResponseWriter, err error) {
	if e := badCaveat(err); e != nil {
		WriteError(w, e)
		return
	}
	switch {
	case errors.Is(err, auth.ErrBadValue):
		WriteError(w, badValueError(err))
	case errors.Is(err, auth.ErrNotFound):
		WriteError(w, errNotFound)
	case errors.Is(err, auth.ErrForbidden):
		WriteError(w, errForbidden)
	case errors.Is(err, auth.ErrUserBlocked):
		WriteError(w, tokenError(err)) // the target's, not the caller's: 400
	case errors.Is(err, auth.ErrExists):
		WriteError(w, errNameOccupied)
	default:
		WriteError(w, AuthError(err))
	}
}

// badValueError is Onezone's answer to an auth.ErrBadValue of a named
// token: its custom metadata (the only value with a size bound), else its
// name.
func badValueError(err error) *Error {
	var se *auth.SizeError
	var ve *auth.ValueError
	switch {
	case errors.As(err, &se):
		return tooHigh(customMetadataKey, se.Limit)
	case errors.As(err, &ve) && ve.Field == "token metadata":
		return badJSON(customMetadataKey)
	}
	return errBadName
}

// customMetadataKey is the PATCH field of a named token's custom
// metadata.
const customMetadataKey = "customMetadata"

// POST /user/tokens/named, /users/{id}/tokens/named {"name","type"?,
// "caveats"?} → 201 with Location /tokens/named/{tokenId} and
// {"tokenId","token"}.
func (h *Handler) createNamed(w http.ResponseWriter, r *http.Request, a args) {
	var req struct {
		Name    json.RawMessage `json:"name"`
		Type    json.RawMessage `json:"type"`
		Caveats json.RawMessage `json:"caveats"`
	}
	id, ok := h.callerWithBody(w, r, a.user, &req)
	if !ok {
		return
	}
	name, ok := nameValue(w, req.Name, true)
	if !ok {
		return
	}
	typ, caveats, ok := tokenSpec(w, req.Type, req.Caveats)
	if !ok {
		return
	}
	if e := h.forbiddenService(caveats); e != nil {
		WriteError(w, e)
		return
	}
	rec, tok, err := h.Auth.IssueNamed(r.Context(), target(id, a), name, typ, caveats)
	if err != nil {
		storeError(w, err)
		return
	}
	w.Header().Set("Location", NamedTokenPath+rec.ID)
	writeJSON(w, http.StatusCreated, map[string]string{"tokenId": rec.ID, "token": tok})
}

// nameValue checks a token name: a string (badValueString) that follows
// auth.CheckTokenName (badValueName), the rule every door applies.
func nameValue(w http.ResponseWriter, raw json.RawMessage, required bool) (string, bool) {
	if raw == nil {
		if required {
			WriteError(w, newError(http.StatusBadRequest, "missingRequiredValue",
				"Missing required value: name.", map[string]any{"key": "name"}))
		}
		return "", !required
	}
	var name *string // null is no string, though it decodes as ""
	if err := json.Unmarshal(raw, &name); err != nil || name == nil {
		WriteError(w, badValue("badValueString", "name", "must be a string"))
		return "", false
	}
	if err := auth.CheckTokenName(*name); err != nil {
		WriteError(w, errBadName)
		return "", false
	}
	return *name, true
}

// userExists answers 404 if user, another than the caller's own, does
// not exist: an admin listing the tokens of nobody learns that, rather
// than that nobody has none.
func (h *Handler) userExists(w http.ResponseWriter, r *http.Request, id *auth.Identity, user string) bool {
	if user == id.ID {
		return true
	}
	if _, err := h.Auth.User(r.Context(), user); err != nil {
		storeError(w, err)
		return false
	}
	return true
}

// GET /user/tokens/named, /users/{id}/tokens/named → {"tokens": [ids]}
func (h *Handler) listNamed(w http.ResponseWriter, r *http.Request, a args) {
	id, e := h.callerFor(r, a.user)
	if e != nil {
		WriteError(w, e)
		return
	}
	user := target(id, a)
	if !h.userExists(w, r, id, user) {
		return
	}
	list, err := h.Auth.NamedTokens(r.Context(), user)
	if err != nil {
		storeError(w, err)
		return
	}
	ids := make([]string, len(list))
	for i, t := range list {
		ids[i] = t.ID
	}
	writeJSON(w, http.StatusOK, map[string][]string{"tokens": ids})
}

// GET /user/tokens/named/name/{name}, /users/{id}/tokens/named/name/{name}
// → the record of that user's token of that name (oz-worker's "Get named
// token of user by name").
func (h *Handler) getNamedByName(w http.ResponseWriter, r *http.Request, a args) {
	id, e := h.callerFor(r, a.user)
	if e != nil {
		WriteError(w, e)
		return
	}
	t, err := h.Auth.NamedTokenByName(r.Context(), target(id, a), a.id)
	if err != nil {
		storeError(w, err)
		return
	}
	h.writeNamedRecord(w, r, t)
}

// DELETE /user/tokens/named, /users/{id}/tokens/named → 204, every named
// token of that user.
func (h *Handler) deleteAllNamed(w http.ResponseWriter, r *http.Request, a args) {
	id, e := h.callerFor(r, a.user)
	if e != nil {
		WriteError(w, e)
		return
	}
	user := target(id, a)
	if !h.userExists(w, r, id, user) {
		return
	}
	if err := h.Auth.DeleteAllNamed(r.Context(), user); err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// NamedRecord is a named token as Onezone shows it: metadata holds the
// creation time and the custom metadata, {} until set (token_metadata's
// basic_metadata).
//
// token is the serialized token, which Onezone's record carries for
// whoever may read it; "" leaves it out (lists of records).
func NamedRecord(t store.NamedToken, token string) map[string]any {
	caveats := t.Caveats
	if caveats == nil {
		caveats = json.RawMessage("[]")
	}
	custom := t.Metadata
	if custom == nil {
		custom = json.RawMessage("{}")
	}
	rec := map[string]any{
		"id":       t.ID,
		"name":     t.Name,
		"subject":  map[string]string{"type": "user", "id": t.Subject},
		"type":     tokens.Type(t.Type).OnezoneJSON(),
		"caveats":  caveats,
		"revoked":  t.Revoked,
		"metadata": map[string]any{"creationTime": t.CreatedAt.Unix(), "custom": custom},
	}
	if token != "" {
		rec["token"] = token
	}
	return rec
}

// writeNamedRecord answers with the record of t and its token.
func (h *Handler) writeNamedRecord(w http.ResponseWriter, r *http.Request, t store.NamedToken) {
	tok, err := h.Auth.NamedTokenString(r.Context(), t.Subject, t.ID)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, NamedRecord(t, tok))
}
