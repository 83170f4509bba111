package onezone

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tokengate/tokengate/tokens"
)

// GET /user/tokens/temporary → 200 {"generation": N}
func (h *Handler) getGeneration(w http.ResponseWriter, r *http.Request, _ string) {
	id, e := h.caller(r)
	if e != nil {
		WriteError(w, e)
		return
	}
	gen, err := h.Auth.Generation(r.Context(), id.ID)
	if err != nil {
		WriteError(w, AuthError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"generation": gen})
}

// POST /user/tokens/temporary {"type"?, "caveats"} → 201 {"token": "..."}
func (h *Handler) createTemporary(w http.ResponseWriter, r *http.Request, _ string) {
	var req struct {
		Type    json.RawMessage `json:"type"`
		Caveats json.RawMessage `json:"caveats"`
	}
	id, ok := h.callerWithBody(w, r, &req)
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
	tok, err := h.Auth.IssueTemporary(r.Context(), id.ID, typ, caveats)
	switch e := badCaveat(err); {
	case e != nil:
		WriteError(w, e)
	case errors.Is(err, tokens.ErrTimeCaveatRequired):
		maxTTL := int64(h.Auth.MaxTemporaryTTL().Seconds())
		WriteError(w, newError(http.StatusBadRequest, "tokenTimeCaveatRequired",
			"You must specify a time caveat with maximum TTL of "+itoa(maxTTL)+" seconds.",
			map[string]any{"maxTtl": maxTTL}))
	case err != nil:
		WriteError(w, AuthError(err))
	default:
		writeJSON(w, http.StatusCreated, map[string]string{"token": tok})
	}
}

// DELETE /user/tokens/temporary → 204; every earlier temporary token of
// the caller is revoked once this answers.
func (h *Handler) revokeTemporary(w http.ResponseWriter, r *http.Request, _ string) {
	id, e := h.caller(r)
	if e != nil {
		WriteError(w, e)
		return
	}
	if _, err := h.Auth.RevokeTemporary(r.Context(), id.ID); err != nil {
		WriteError(w, AuthError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
