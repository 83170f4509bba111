// Package onezone serves Onezone's token REST API (temporary tokens and
// token verification) with Onezone's paths, status codes and error bodies.
package onezone

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// Prefix is Onezone's REST prefix.
const Prefix = "/api/v3/onezone"

// maxBody bounds request bodies.
const maxBody = 64 << 10

// Handler serves the endpoints. It is safe for concurrent use.
type Handler struct {
	Auth *auth.Service
	// ClientIP returns the request's client address as the server
	// determines it (trusted proxies respected).
	ClientIP func(*http.Request) netip.Addr
}

type route map[string]func(*Handler, http.ResponseWriter, *http.Request, string)

const namedPath = Prefix + "/user/tokens/named"

var routes = map[string]route{
	Prefix + "/user/tokens/temporary": {
		http.MethodGet:    (*Handler).getGeneration,
		http.MethodPost:   (*Handler).createTemporary,
		http.MethodDelete: (*Handler).revokeTemporary,
	},
	Prefix + "/tokens/verify_access_token": {
		http.MethodPost: (*Handler).verifyAccessToken,
	},
	namedPath: {
		http.MethodGet:    (*Handler).listNamed,
		http.MethodPost:   (*Handler).createNamed,
		http.MethodDelete: (*Handler).deleteNamedTokens,
	},
	namedPath + "/{id}": {
		http.MethodGet:    (*Handler).getNamed,
		http.MethodPatch:  (*Handler).updateNamed,
		http.MethodDelete: (*Handler).deleteNamedTokens,
	},
}

// lookup finds the route for path and its {id}, if it has one. Like
// Onezone's router, it treats a trailing slash as absent.
func lookup(path string) (route, string, bool) {
	path = strings.TrimSuffix(path, "/")
	if rt, ok := routes[path]; ok {
		return rt, "", true
	}
	if id, ok := strings.CutPrefix(path, namedPath+"/"); ok && id != "" && !strings.Contains(id, "/") {
		return routes[namedPath+"/{id}"], id, true
	}
	return nil, "", false
}

// Match reports whether path is one of the endpoints.
func Match(path string) bool {
	_, _, ok := lookup(path)
	return ok
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, id, ok := lookup(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	fn, ok := rt[r.Method]
	if !ok {
		allow := make([]string, 0, len(rt))
		for m := range rt {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	fn(h, w, r, id)
}

// caller authenticates the request the way Onezone does: x-auth-token,
// then a Bearer token, then Basic credentials.
func (h *Handler) caller(r *http.Request) (*auth.Identity, *Error) {
	raw, user, pass, basic := Credentials(r)
	switch {
	case raw != "":
		t, err := h.Auth.Authenticate(r.Context(), raw, tokens.Request{ClientIP: h.ClientIP(r), Interface: "rest"})
		if err != nil {
			return nil, AuthError(err)
		}
		return t.Identity, nil
	case basic:
		id, err := h.Auth.Password(r.Context(), user, pass)
		if err != nil {
			return nil, AuthError(err)
		}
		return id, nil
	}
	return nil, errNoAuth
}

// Credentials extracts what a request authenticates with, in Onezone's
// order: a token from x-auth-token or Authorization: Bearer, else Basic
// user and password.
func Credentials(r *http.Request) (token, user, pass string, basic bool) {
	if t := r.Header.Get("X-Auth-Token"); t != "" {
		return t, "", "", false
	}
	a := r.Header.Get("Authorization")
	if t, ok := cutPrefixFold(a, "Bearer "); ok && t != "" {
		return t, "", "", false
	}
	if b, ok := cutPrefixFold(a, "Basic "); ok {
		if dec, err := base64.StdEncoding.DecodeString(b); err == nil {
			if u, p, ok := strings.Cut(string(dec), ":"); ok {
				return "", u, p, true
			}
		}
		// Undecodable Basic credentials are bad credentials, not none.
		return "", "", "", true
	}
	return "", "", "", false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return strings.TrimSpace(s[len(prefix):]), true
	}
	return s, false
}

// readJSON decodes the request body into v. Like Onezone, an empty body
// counts as {} and a body needs Content-Type: application/json.
func readJSON(w http.ResponseWriter, r *http.Request, v any) *Error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return errTooLarge
	case err != nil:
		return errMalformed
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	} else if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return errMediaType
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errMalformed
	}
	return nil
}
