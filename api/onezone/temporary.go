package onezone

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// GET /user/tokens/temporary, /users/{id}/tokens/temporary → 200
// {"generation": N}
func (h *Handler) getGeneration(w http.ResponseWriter, r *http.Request, a args) {
	id, e := h.callerFor(r, a.user)
	if e != nil {
		WriteError(w, e)
		return
	}
	gen, err := h.Auth.Generation(r.Context(), target(id, a))
	if err != nil {
		WriteError(w, userError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"generation": gen})
}

// POST /user/tokens/temporary, /users/{id}/tokens/temporary {"type"?,
// "caveats"} → 201 {"token": "..."}, a token of that user.
func (h *Handler) createTemporary(w http.ResponseWriter, r *http.Request, a args) {
	var req struct {
		Type    json.RawMessage `json:"type"`
		Caveats json.RawMessage `json:"caveats"`
	}
	id, ok := h.callerWithBody(w, r, a.user, &req)
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
	tok, err := h.Auth.IssueTemporary(r.Context(), target(id, a), typ, caveats)
	switch e := badCaveat(err); {
	case e != nil:
		WriteError(w, e)
	case errors.Is(err, tokens.ErrTimeCaveatRequired):
		maxTTL := int64(h.Auth.MaxTemporaryTTL().Seconds())
		WriteError(w, newError(http.StatusBadRequest, "tokenTimeCaveatRequired",
			"You must specify a time caveat with maximum TTL of "+itoa(maxTTL)+" seconds.",
			map[string]any{"maxTtl": maxTTL}))
	case err != nil:
		WriteError(w, userError(err))
	default:
		writeJSON(w, http.StatusCreated, map[string]string{"token": tok})
	}
}

// DELETE /user/tokens/temporary, /users/{id}/tokens/temporary → 204;
// every earlier temporary token of that user is revoked once this
// answers.
func (h *Handler) revokeTemporary(w http.ResponseWriter, r *http.Request, a args) {
	id, e := h.callerFor(r, a.user)
	if e != nil {
		WriteError(w, e)
		return
	}
	if _, err := h.Auth.RevokeTemporary(r.Context(), target(id, a)); err != nil {
		WriteError(w, userError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// userError answers a failed operation on a user's temporary tokens: a
// user that does not exist (one an admin named in the path) is 404
// notFound, a blocked one 400 userBlocked (the caller's credentials are
// fine: no 401), anything else what AuthError says.
func userError(err error) *Error {
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return errNotFound
	case errors.Is(err, auth.ErrUserBlocked):
		return tokenError(err)
	}
	return AuthError(err)
}
