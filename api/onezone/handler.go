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
	// TokensAdminRole is the user role that may manage every user's
	// tokens (/users/{id}/tokens/..., /tokens/named/{id} of another
	// user), as Onezone's oz_tokens_manage privilege does. "" (the
	// default): no role may; each user manages only their own.
	TokensAdminRole string
}

// args are a route's path parameters: the user of /users/{id}/... ("" on
// the /user/... paths: the caller) and the token id or name.
type args struct{ user, id string }

type route map[string]func(*Handler, http.ResponseWriter, *http.Request, args)

var (
	temporaryRoute = route{
		http.MethodGet:    (*Handler).getGeneration,
		http.MethodPost:   (*Handler).createTemporary,
		http.MethodDelete: (*Handler).revokeTemporary,
	}
	verifyRoute = route{
		http.MethodPost: (*Handler).verifyAccessToken,
	}
	examineRoute    = route{http.MethodPost: (*Handler).examine}
	confineRoute    = route{http.MethodPost: (*Handler).confine}
	inferScopeRoute = route{http.MethodPost: (*Handler).inferScope}
	namedListRoute  = route{
		http.MethodGet:    (*Handler).listNamed,
		http.MethodPost:   (*Handler).createNamed,
		http.MethodDelete: (*Handler).deleteAllNamed,
	}
	namedByNameRoute = route{
		http.MethodGet: (*Handler).getNamedByName,
	}
	namedRoute = route{
		http.MethodGet:    (*Handler).getNamed,
		http.MethodPatch:  (*Handler).updateNamed,
		http.MethodDelete: (*Handler).deleteNamed,
	}
	namedStatusRoute = route{
		http.MethodGet: (*Handler).getNamedStatus,
	}
)

// NamedTokenPath is where a named token is addressed by its id alone
// (Onezone's /tokens/named/{id}), and what its creation's Location names.
const NamedTokenPath = Prefix + "/tokens/named/"

// lookup finds the route for path and its parameters. Like Onezone's
// router, it treats a trailing slash as absent. It runs for every request
// the gate sees under Prefix, so it cuts the path in place: no regexp, no
// split, no allocation.
func lookup(path string) (route, args, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), Prefix+"/")
	if !ok {
		return nil, args{}, false
	}
	switch rest {
	case "user/tokens/temporary":
		return temporaryRoute, args{}, true
	case "tokens/verify_access_token":
		return verifyRoute, args{}, true
	case "tokens/examine":
		return examineRoute, args{}, true
	case "tokens/confine":
		return confineRoute, args{}, true
	case "tokens/infer_access_token_scope":
		return inferScopeRoute, args{}, true
	}
	if tail, ok := strings.CutPrefix(rest, "user/"); ok {
		return userTokens(tail, "")
	}
	if tail, ok := strings.CutPrefix(rest, "users/"); ok {
		user, tail, ok := strings.Cut(tail, "/")
		if !ok || user == "" {
			return nil, args{}, false
		}
		return userTokens(tail, user)
	}
	if tail, ok := strings.CutPrefix(rest, "tokens/named/"); ok {
		id, sub, hasSub := strings.Cut(tail, "/")
		switch {
		case id == "":
		case !hasSub:
			return namedRoute, args{id: id}, true
		case sub == "status":
			return namedStatusRoute, args{id: id}, true
		}
	}
	return nil, args{}, false
}

// userTokens routes the tail of /user/... (user "") or /users/{user}/...
func userTokens(tail, user string) (route, args, bool) {
	switch tail {
	case "tokens/temporary":
		return temporaryRoute, args{user: user}, true
	case "tokens/named":
		return namedListRoute, args{user: user}, true
	}
	tail, ok := strings.CutPrefix(tail, "tokens/named/")
	if !ok || tail == "" {
		return nil, args{}, false
	}
	// Names have no '/' (auth.CheckTokenName), ids never are "name".
	if name, ok := strings.CutPrefix(tail, "name/"); ok {
		if name == "" || strings.Contains(name, "/") {
			return nil, args{}, false
		}
		return namedByNameRoute, args{user: user, id: name}, true
	}
	// A token by id is /tokens/named/{id}, not under a user.
	if user != "" || strings.Contains(tail, "/") {
		return nil, args{}, false
	}
	// /user/tokens/named/{id}: the alias of /tokens/named/{id}.
	return namedRoute, args{id: tail}, true
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
	rt, a, ok := lookup(r.URL.Path)
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
	fn(h, w, r, a)
}

// caller authenticates the request the way Onezone does (by default
// x-auth-token, Bearer, the deprecated macaroon header, then Basic), or
// by tokengate's session cookie.
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

// callerFor authenticates the request and checks that the caller may
// manage the tokens of user userID ("": the caller's own, as the /user/...
// paths ask): the user themselves, or a holder of TokensAdminRole; anyone
// else gets 403 forbidden. Every operation on a user's tokens is
// authorized here, so that /user/... and /users/{id}/... cannot differ.
func (h *Handler) callerFor(r *http.Request, userID string) (*auth.Identity, *Error) {
	id, e := h.caller(r)
	if e != nil {
		return nil, e
	}
	if userID != "" && userID != id.ID && !h.isTokensAdmin(id) {
		return nil, errForbidden
	}
	return id, nil
}

// isTokensAdmin reports whether the caller holds TokensAdminRole.
func (h *Handler) isTokensAdmin(id *auth.Identity) bool {
	return h.TokensAdminRole != "" && id.Role == h.TokensAdminRole
}

// target is the user whose tokens a route's operation is on: the path's
// user, else the caller.
func target(id *auth.Identity, a args) string {
	if a.user != "" {
		return a.user
	}
	return id.ID
}

// callerWithBody authorizes the request as callerFor does, then decodes its JSON body
// into v, answering the request itself on failure.
func (h *Handler) callerWithBody(w http.ResponseWriter, r *http.Request, userID string, v any) (*auth.Identity, bool) {
	id, e := h.callerFor(r, userID)
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
