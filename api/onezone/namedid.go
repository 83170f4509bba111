package onezone

import (
	"encoding/json"
	"net/http"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
)

// Operations on one named token by its id: /tokens/named/{id}, and its
// alias /user/tokens/named/{id}. The token's owner is found from the id.

// namedByID authenticates the request and returns the named token it
// addresses, answering the request itself on failure.
func (h *Handler) namedByID(w http.ResponseWriter, r *http.Request, tokenID string) (store.NamedToken, bool) {
	id, e := h.caller(r)
	if e != nil {
		WriteError(w, e)
		return store.NamedToken{}, false
	}
	return h.namedFor(w, r, id, tokenID)
}

// namedFor returns the named token tokenID if the caller may act on it:
// their own, or anyone's for a holder of TokensAdminRole. Another user's
// token is 403 forbidden (Onezone fetches the token, then authorizes),
// an unknown id 404; the request is answered on failure.
func (h *Handler) namedFor(w http.ResponseWriter, r *http.Request, id *auth.Identity, tokenID string) (store.NamedToken, bool) {
	t, err := h.Auth.NamedTokenFor(r.Context(), id, tokenID, h.isTokensAdmin(id))
	if err != nil {
		storeError(w, err)
		return store.NamedToken{}, false
	}
	return t, true
}

// GET /tokens/named/{id} → the record, its token included, as Onezone's.
func (h *Handler) getNamed(w http.ResponseWriter, r *http.Request, a args) {
	if t, ok := h.namedByID(w, r, a.id); ok {
		h.writeNamedRecord(w, r, t)
	}
}

// GET /tokens/named/{id}/status → {"revoked": bool}: oz-worker's shared
// scope of a named token (token_logic_plugin's get of instance, shared).
func (h *Handler) getNamedStatus(w http.ResponseWriter, r *http.Request, a args) {
	if t, ok := h.namedByID(w, r, a.id); ok {
		writeJSON(w, http.StatusOK, map[string]bool{"revoked": t.Revoked})
	}
}

// PATCH /tokens/named/{id} {"name"?,"customMetadata"?,"revoked"?} → 204.
// customMetadata replaces the token's metadata.custom whole.
func (h *Handler) updateNamed(w http.ResponseWriter, r *http.Request, a args) {
	var req struct {
		Name           json.RawMessage `json:"name"`
		CustomMetadata json.RawMessage `json:"customMetadata"`
		Revoked        json.RawMessage `json:"revoked"`
	}
	id, ok := h.callerWithBody(w, r, "", &req)
	if !ok {
		return
	}
	// As Onezone: the token is fetched and the caller authorized before
	// the values are validated, so that only its owner (or an admin)
	// learns what they say of them.
	t, ok := h.namedFor(w, r, id, a.id)
	if !ok {
		return
	}
	var u store.NamedUpdate
	if req.Name != nil {
		name, ok := nameValue(w, req.Name, false)
		if !ok {
			return
		}
		u.Name = &name
	}
	if req.CustomMetadata != nil {
		// Onezone checks it as {json, any}: an object, else badValueJSON.
		m, err := auth.CheckTokenMetadata(req.CustomMetadata)
		if err != nil {
			WriteError(w, badValueError(err))
			return
		}
		u.Metadata = m
	}
	if req.Revoked != nil {
		// Into a pointer: null is no boolean, though it decodes as false.
		if err := json.Unmarshal(req.Revoked, &u.Revoked); err != nil || u.Revoked == nil {
			WriteError(w, badValue("badValueBoolean", "revoked", "must be a boolean"))
			return
		}
	}
	if u.Name == nil && u.Metadata == nil && u.Revoked == nil {
		// The keys of token_logic_plugin's at_least_one, in its order.
		keys := []string{customMetadataKey, "name", "revoked"}
		e := newError(http.StatusBadRequest, "missingAtLeastOneValue",
			"Missing data, you must provide at least one of: [customMetadata, name, revoked].", map[string]any{"keys": keys})
		WriteError(w, e)
		return
	}
	if err := h.Auth.UpdateNamed(r.Context(), t.Subject, t.ID, u); err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /tokens/named/{id} → 204.
func (h *Handler) deleteNamed(w http.ResponseWriter, r *http.Request, a args) {
	t, ok := h.namedByID(w, r, a.id)
	if !ok {
		return
	}
	if err := h.Auth.DeleteNamed(r.Context(), t.Subject, t.ID); err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
