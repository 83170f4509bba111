package onezone

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strconv"

	"github.com/tokengate/tokengate/tokens"
)

var interfaces = []string{"rest", "oneclient", "graphsync"}

// POST /tokens/verify_access_token {"token","peerIp"?,"interface"?} →
// 200 {"subject":{"type":"user","id"},"ttl"}. Public: the token is the
// credential. Token errors are 400 with the bare error id.
func (h *Handler) verifyAccessToken(w http.ResponseWriter, r *http.Request, _ args) {
	var req struct {
		Token     json.RawMessage `json:"token"`
		PeerIP    *string         `json:"peerIp"`
		Interface *string         `json:"interface"`
	}
	if e := readJSON(r, &req); e != nil {
		WriteError(w, e)
		return
	}
	var raw string
	if req.Token == nil {
		WriteError(w, newError(http.StatusBadRequest, "missingRequiredValue",
			"Missing required value: token.", map[string]any{"key": "token"}))
		return
	}
	if err := json.Unmarshal(req.Token, &raw); err != nil || raw == "" {
		WriteError(w, badToken())
		return
	}
	var tr tokens.Request
	if req.PeerIP != nil {
		ip, err := netip.ParseAddr(*req.PeerIP)
		if err != nil {
			WriteError(w, badValue("badValueIPv4Address", "peerIp", "is not a valid IPv4 address"))
			return
		}
		tr.ClientIP = ip
	}
	if req.Interface != nil {
		if !slices.Contains(interfaces, *req.Interface) {
			e := badValue("badValueNotAllowed", "interface", "must be one of: rest, oneclient, graphsync")
			e.Details["allowed"] = interfaces
			WriteError(w, e)
			return
		}
		tr.Interface = *req.Interface
	}
	t, err := h.Auth.Authenticate(r.Context(), raw, tr)
	if err != nil {
		e := tokenError(err)
		if e == nil {
			e = AuthError(err)
		} else if e.ID == "badToken" {
			e = badToken()
		}
		WriteError(w, e)
		return
	}
	var ttl *int64
	if t.ValidUntil > 0 {
		s := t.ValidUntil - h.Auth.Now().Unix()
		ttl = &s
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"subject": map[string]string{"type": "user", "id": t.Identity.ID},
		"ttl":     ttl,
	})
}

func badToken() *Error {
	e := badValue("badValueToken", "token", "is not a valid token (see details)")
	e.Details["tokenError"] = tokenError(tokens.ErrMalformed)
	return e
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
