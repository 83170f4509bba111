// Package onezone serves Onezone's token REST API (temporary tokens and
// token verification) with Onezone's paths, status codes and error bodies.
package onezone

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
)

// Prefix is Onezone's REST prefix.
const Prefix = "/api/v3/onezone"

// maxBody bounds request bodies.
const maxBody = 64 << 10

// Handler serves the endpoints. It is safe for concurrent use.
type Handler struct {
	Auth    *auth.Service
	Callers *caller.Authenticator
	// ServiceExists reports whether any gated route has a service the
	// service caveat pattern matches; a token whose service caveat
	// matches none is refused at creation with tokenServiceForbidden.
	// nil: every service exists.
	ServiceExists func(pattern string) bool
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
	Prefix + "/tokens/examine": {
		http.MethodPost: (*Handler).examine,
	},
	Prefix + "/tokens/confine": {
		http.MethodPost: (*Handler).confine,
	},
	Prefix + "/tokens/infer_access_token_scope": {
		http.MethodPost: (*Handler).inferScope,
	},
	namedPath: {
		http.MethodGet:    (*Handler).listNamed,
		http.MethodPost:   (*Handler).createNamed,
		http.MethodDelete: (*Handler).deleteNamedTokens,
	},
	namedPath + "/name/{name}": {
		http.MethodGet: (*Handler).getNamedByName,
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
	// Names have no '/' (auth.CheckTokenName), ids never are "name".
	if name, ok := strings.CutPrefix(path, namedPath+"/name/"); ok && name != "" && !strings.Contains(name, "/") {
		return routes[namedPath+"/name/{name}"], name, true
	}
	if id, ok := strings.CutPrefix(path, namedPath+"/"); ok && id != "" && !strings.Contains(id, "/") {
		return routes[namedPath+"/{id}"], id, true
	}
	return nil, "", false
}

// Match reports whether path is one of the endpoints. The gate asks for
// every request, so a path outside the API costs one prefix compare.
func Match(path string) bool {
	if !strings.HasPrefix(path, Prefix+"/") {
		return false
	}
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
		httpx.Allow(w, slices.Collect(maps.Keys(rt))...)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	fn(h, w, r, id)
}

// caller authenticates the request the way Onezone does (x-auth-token,
// Bearer, Basic), or by tokengate's session cookie.
func (h *Handler) caller(r *http.Request) (*auth.Identity, *Error) {
	id, err := h.Callers.Authenticate(r)
	switch {
	case errors.Is(err, caller.ErrNone):
		return nil, errNoAuth
	case errors.Is(err, caller.ErrCrossSite):
		return nil, errForbidden
	case err != nil:
		return nil, AuthError(err)
	}
	return id, nil
}

// callerWithBody authenticates the request, then decodes its JSON body
// into v, answering the request itself on failure.
func (h *Handler) callerWithBody(w http.ResponseWriter, r *http.Request, v any) (*auth.Identity, bool) {
	id, e := h.caller(r)
	if e == nil {
		e = readJSON(r, v)
	}
	if e != nil {
		WriteError(w, e)
		return nil, false
	}
	return id, true
}

// readJSON decodes the request body into v. Like Onezone, an empty body
// counts as {} and a body needs Content-Type: application/json.
func readJSON(r *http.Request, v any) *Error {
	body, err := httpx.ReadBody(r, maxBody)
	if err == nil {
		err = httpx.DecodeJSON(r.Header.Get("Content-Type"), body, v, httpx.Decoding{EmptyIsObject: true})
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, httpx.ErrTooLarge):
		return errTooLarge
	case errors.Is(err, httpx.ErrMediaType):
		return errMediaType
	}
	return errMalformed
}
