package onezone

import (
	"encoding/json"
	"net"
	"net/http"

	"github.com/tokengate/tokengate/tokens"
)

// The public token endpoints: examine, confine, infer_access_token_scope.
// The token in the body is the credential; none is asked of the caller.

// readTokenBody decodes a public endpoint's body into v and returns the
// required token from its member *token (tokenValue's rules), answering
// the request itself when either is bad.
func readTokenBody(w http.ResponseWriter, r *http.Request, v any, token *json.RawMessage) (string, bool) {
	if e := readJSON(r, v); e != nil {
		WriteError(w, e)
		return "", false
	}
	raw, e := tokenValue(*token)
	if e != nil {
		WriteError(w, e)
		return "", false
	}
	return raw, true
}

// verifyError is the answer to a token that failed verification on a
// public endpoint: Onezone's bare token error (400), badValueToken for
// one that cannot be decoded, else what AuthError says (503, 429…).
func verifyError(err error) *Error {
	e := tokenError(err)
	switch {
	case e == nil:
		return AuthError(err)
	case e.ID == "badToken":
		return badTokenValue("token")
	}
	return e
}

// POST /tokens/examine {"token"} → 200 {"onezoneDomain","id",
// "persistence","subject","type","caveats"}: what the token says, even
// if revoked or expired (oz-worker token_logic_plugin's examine), once
// its tag shows this server minted it.
func (h *Handler) examine(w http.ResponseWriter, r *http.Request, _ args) {
	var req struct {
		Token json.RawMessage `json:"token"`
	}
	raw, ok := readTokenBody(w, r, &req, &req.Token)
	if !ok {
		return
	}
	c, err := h.Auth.Examine(r.Context(), raw)
	if err != nil {
		WriteError(w, tokenArgError("token", err))
		return
	}
	persistence := "temporary" // session tokens too: Onezone's GUI tokens are temporary
	if c.Kind == tokens.Named {
		persistence = "named"
	}
	caveats := c.Caveats
	if caveats == nil {
		caveats = []tokens.Caveat{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"onezoneDomain": domain(r),
		"id":            c.ID,
		"persistence":   persistence,
		"subject":       map[string]string{"type": "user", "id": c.Subject},
		"type":          c.Type.OnezoneJSON(),
		"caveats":       caveats,
	})
}

// POST /tokens/confine {"token","caveats"} → 200 {"token"}: the token
// with the caveats added to its own (auth.Service.Confine: it can only
// narrow, and dies with its parent). A parent that does not verify is
// badValueToken with the reason in details.tokenError; a service caveat
// no route matches is tokenServiceForbidden, as at creation.
func (h *Handler) confine(w http.ResponseWriter, r *http.Request, _ args) {
	var req struct {
		Token   json.RawMessage `json:"token"`
		Caveats json.RawMessage `json:"caveats"`
	}
	raw, ok := readTokenBody(w, r, &req, &req.Token)
	if !ok {
		return
	}
	if req.Caveats == nil {
		WriteError(w, newError(http.StatusBadRequest, "missingRequiredValue",
			"Missing required value: caveats.", map[string]any{"key": "caveats"}))
		return
	}
	caveats, ok := parseCaveats(w, req.Caveats)
	if !ok {
		return
	}
	if e := h.forbiddenService(caveats); e != nil {
		WriteError(w, e)
		return
	}
	tok, err := h.Auth.Confine(r.Context(), raw, caveats)
	if err != nil {
		if e := badCaveat(err); e != nil {
			WriteError(w, e)
			return
		}
		WriteError(w, tokenArgError("token", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// POST /tokens/infer_access_token_scope {"token","consumerToken"?} → 200
// {"validUntil","dataAccessScope"}. The token must verify for the
// caller's IP, its service, interface and api caveats ignored (they
// depend on where it is used) and its data caveats reported, not
// checked. Without consumerToken the consumer is the token's own
// subject; null is nobody (token_logic_plugin's infer_access_token_scope).
// Onezone's scope lists the spaces and providers the data caveats leave;
// tokengate has neither, so those are empty, and "paths" (tokengate's)
// holds the decoded data.path prefixes, null when unlimited.
func (h *Handler) inferScope(w http.ResponseWriter, r *http.Request, _ args) {
	var req struct {
		Token         json.RawMessage `json:"token"`
		ConsumerToken json.RawMessage `json:"consumerToken"`
	}
	raw, ok := readTokenBody(w, r, &req, &req.Token)
	if !ok {
		return
	}
	tr := tokens.Request{ClientIP: h.clientIP(r), Interface: "rest"}
	given := req.ConsumerToken != nil
	if given && string(req.ConsumerToken) != "null" {
		err := json.Unmarshal(req.ConsumerToken, &tr.ConsumerToken)
		if err == nil {
			err = tokens.Decodable(tr.ConsumerToken)
		}
		if err != nil {
			WriteError(w, badTokenValue("consumerToken"))
			return
		}
	}
	t, err := h.Auth.InferScope(r.Context(), raw, tr, given)
	if err != nil {
		WriteError(w, verifyError(err))
		return
	}
	var until *int64
	if t.ValidUntil > 0 {
		until = &t.ValidUntil
	}
	scope := tokens.ScopeOf(t.Caveats)
	writeJSON(w, http.StatusOK, map[string]any{
		"validUntil": until,
		"dataAccessScope": map[string]any{
			"readonly":  scope.Readonly,
			"paths":     scope.Paths,
			"spaces":    map[string]any{},
			"providers": map[string]any{},
		},
	})
}

// tokenArgError is badValueToken for a token argument that is not one
// this server can use, with why in details.tokenError (Onezone's
// ?ERROR_BAD_VALUE_TOKEN(Key, TokenError)); a store that cannot answer
// is still 503.
func tokenArgError(key string, err error) *Error {
	inner := tokenError(err)
	if inner == nil {
		return AuthError(err)
	}
	e := badValue("badValueToken", key, "is not a valid token (see details)")
	e.Details["tokenError"] = inner
	return e
}

// domain is the host the request was sent to: Onezone's examine
// reports its own domain, and tokengate's is wherever it is reached.
func domain(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		return host
	}
	return r.Host
}
