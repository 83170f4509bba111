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

// verifyRequest is verify_access_token's body. Each value is kept raw so
// that a value of the wrong JSON type gets Onezone's error for its key,
// not malformedData for the whole body.
type verifyRequest struct {
	Token                  json.RawMessage `json:"token"`
	PeerIP                 json.RawMessage `json:"peerIp"`
	Interface              json.RawMessage `json:"interface"`
	ServiceToken           json.RawMessage `json:"serviceToken"`
	ConsumerToken          json.RawMessage `json:"consumerToken"`
	AllowDataAccessCaveats json.RawMessage `json:"allowDataAccessCaveats"`
}

// POST /tokens/verify_access_token {"token","peerIp"?,"interface"?,
// "serviceToken"?,"consumerToken"?,"allowDataAccessCaveats"?} → 200
// {"subject":{"type":"user","id"},"ttl"}. Public: the token is the
// credential. Token errors are 400 with the bare error id. The values
// are checked as oz-worker's token_logic_plugin validates them (its
// entity_logic_sanitizer types). A request that names no peerIp is
// checked against the client address of the request itself.
func (h *Handler) verifyAccessToken(w http.ResponseWriter, r *http.Request, _ args) {
	var req verifyRequest
	if e := readJSON(r, &req); e != nil {
		WriteError(w, e)
		return
	}
	raw, e := tokenValue(req.Token)
	if e != nil {
		WriteError(w, e)
		return
	}
	// Required, then the optional keys in the order of their names, as
	// Onezone's sanitizer walks an Erlang map's keys.
	var allowData bool
	if req.AllowDataAccessCaveats != nil {
		var b *bool // null is no boolean, though it decodes as false
		if err := json.Unmarshal(req.AllowDataAccessCaveats, &b); err != nil || b == nil {
			WriteError(w, badValue("badValueBoolean", "allowDataAccessCaveats", "must be a boolean"))
			return
		}
		allowData = *b
	}
	consumer, e := otherToken("consumerToken", req.ConsumerToken)
	if e != nil {
		WriteError(w, e)
		return
	}
	client := h.clientIP(r)
	tr := tokens.Request{ClientIP: client, ConsumerToken: consumer}
	if req.Interface != nil {
		if tr.Interface, e = interfaceValue(req.Interface); e != nil {
			WriteError(w, e)
			return
		}
	}
	if req.PeerIP != nil {
		if tr.ClientIP, e = peerIP(req.PeerIP); e != nil {
			WriteError(w, e)
			return
		}
	}
	if _, e := otherToken("serviceToken", req.ServiceToken); e != nil {
		WriteError(w, e)
		return
	}
	// The budget for forged tokens is the asker's, whatever peer it names.
	t, err := h.Auth.VerifyAccessToken(r.Context(), raw, client, tr, allowData)
	if err != nil {
		WriteError(w, verifyError(err))
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

// clientIP is the request's client address as the server determines it
// (Caddy's, trusted proxies respected): the peer of a verification that
// names none. Zero if unknown, which fails ip caveats.
func (h *Handler) clientIP(r *http.Request) netip.Addr {
	if h.Callers == nil || h.Callers.ClientIP == nil {
		return netip.Addr{}
	}
	return h.Callers.ClientIP(r)
}

// tokenValue is the required token: missing → missingRequiredValue, ""
// → badValueEmpty, anything but a string → badValueToken.
func tokenValue(raw json.RawMessage) (string, *Error) {
	if raw == nil {
		return "", newError(http.StatusBadRequest, "missingRequiredValue",
			"Missing required value: token.", map[string]any{"key": "token"})
	}
	var s *string // null is no token
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		return "", badTokenValue("token")
	}
	if *s == "" {
		return "", badValue("badValueEmpty", "token", "must not be empty")
	}
	return *s, nil
}

// peerIP is an IP address; null, as Onezone's sanitizer reads it, is
// none (an ip caveat then fails); anything else is badValueIPv4Address.
func peerIP(raw json.RawMessage) (netip.Addr, *Error) {
	if string(raw) == "null" {
		return netip.Addr{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if ip, err := netip.ParseAddr(s); err == nil {
			return ip, nil
		}
	}
	return netip.Addr{}, badValue("badValueIPv4Address", "peerIp", "is not a valid IPv4 address")
}

// interfaceValue is one of interfaces (badValueNotAllowed); a value that
// is no string is badValueString, except null, true and false, which
// Onezone's sanitizer reads as atoms, which are not allowed.
func interfaceValue(raw json.RawMessage) (string, *Error) {
	var s string
	switch err := json.Unmarshal(raw, &s); {
	case slices.Contains([]string{"null", "true", "false"}, string(raw)):
	case err != nil:
		return "", badValue("badValueString", "interface", "must be a string")
	case slices.Contains(interfaces, s):
		return s, nil
	}
	e := badValue("badValueNotAllowed", "interface", "must be one of: rest, oneclient, graphsync")
	e.Details["allowed"] = interfaces
	return "", e
}

// otherToken checks a serviceToken or consumerToken: absent or null (no
// service, an unknown consumer) is none; else it must decode as a token,
// or badValueToken names its key, as Onezone's sanitizer deserializes it.
// A consumer token is then what a consumer caveat checks (verified only
// for a token that has one); tokengate's services are its routes, named
// by configuration, not by tokens, so a service token is only checked
// for its form. Unlike Onezone, an absent consumerToken does not make the
// asker the consumer: the asker of this public endpoint is often nobody.
func otherToken(key string, raw json.RawMessage) (string, *Error) {
	if raw == nil || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || tokens.Decodable(s) != nil {
		return "", badTokenValue(key)
	}
	return s, nil
}

// badTokenValue is ctool's ?ERROR_BAD_VALUE_TOKEN(Key, ?ERROR_BAD_TOKEN).
func badTokenValue(key string) *Error { return tokenArgError(key, tokens.ErrMalformed) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
