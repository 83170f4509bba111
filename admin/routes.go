package admin

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/httpx"
)

// handler serves one route; args are the path's arguments (user id,
// token id or ban key).
type handler func(*request, []string) error

// route is one path shape: its name (for tests) and its methods.
type route struct {
	name    string
	methods map[string]handler
}

// lookup finds the handler of a request and its arguments, or the 404 or
// 405 (with Allow set) to answer.
func lookup(w http.ResponseWriter, r *http.Request) (handler, []string, error) {
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return nil, nil, err
	}
	rt, args := match(segs)
	if rt.methods == nil {
		return nil, nil, errorf(http.StatusNotFound, nil, "resource not found: %s", r.URL.Path)
	}
	fn, ok := rt.methods[r.Method]
	if !ok {
		allow := httpx.Allow(w, slices.Collect(maps.Keys(rt.methods))...)
		return nil, nil, errorf(http.StatusMethodNotAllowed, nil, "method %s not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, allow)
	}
	return fn, args, nil
}

// segments splits the escaped path after Prefix into unescaped segments,
// dropping one trailing slash.
func segments(escaped string) ([]string, error) {
	rest, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		return nil, errorf(http.StatusNotFound, nil, "resource not found: %s", escaped)
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return nil, nil
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, errorf(http.StatusNotFound, err, "resource not found: %s", escaped)
		}
		segs[i] = u
	}
	return segs, nil
}

// match returns the route for the segments after Prefix and its
// arguments; a route without methods if there is none. The tables are
// built per request rather than kept in package variables: the admin API
// is not a hot path, and nothing can change them.
func match(segs []string) (route, []string) {
	n := len(segs)
	switch {
	case n == 0:
		return route{}, nil
	case segs[0] == "bans":
		switch n {
		case 1:
			return route{"bans", map[string]handler{http.MethodGet: (*request).listBans, http.MethodPost: (*request).addBan}}, nil
		case 2:
			return route{"ban", map[string]handler{http.MethodDelete: (*request).liftBan}}, segs[1:]
		}
		return route{}, nil
	case segs[0] == "keys":
		switch n {
		case 1:
			return route{"keys", map[string]handler{http.MethodGet: (*request).listKeys, http.MethodPost: (*request).rotateKey}}, nil
		case 2:
			return route{"key", map[string]handler{http.MethodDelete: (*request).removeKey}}, segs[1:]
		}
		return route{}, nil
	case segs[0] != "users":
		return route{}, nil
	case n == 1:
		return route{"users", map[string]handler{
			http.MethodGet:  (*request).listUsers,
			http.MethodPost: (*request).createUser,
		}}, nil
	case n == 2:
		return route{"user", map[string]handler{
			http.MethodGet:    (*request).getUser,
			http.MethodPatch:  (*request).patchUser,
			http.MethodDelete: (*request).deleteUser,
		}}, segs[1:]
	case n == 3 && segs[2] == "block":
		return route{"block", map[string]handler{http.MethodPost: (*request).blockUser}}, segs[1:2]
	case n == 3 && segs[2] == "unblock":
		return route{"unblock", map[string]handler{http.MethodPost: (*request).unblockUser}}, segs[1:2]
	case n == 3 && segs[2] == "revoke-everything":
		return route{"revoke everything", map[string]handler{http.MethodPost: (*request).revokeEverything}}, segs[1:2]
	case n == 3 && segs[2] == "reset-token":
		return route{"reset", map[string]handler{http.MethodPost: (*request).issueReset}}, segs[1:2]
	case n == 4 && segs[2] == "tokens" && segs[3] == "temporary":
		return route{"temporary", map[string]handler{
			http.MethodGet:    (*request).getGeneration,
			http.MethodPost:   (*request).issueTemporary,
			http.MethodDelete: (*request).revokeTemporary,
		}}, segs[1:2]
	case n == 4 && segs[2] == "tokens" && segs[3] == "named":
		return route{"named list", map[string]handler{
			http.MethodGet:  (*request).listNamed,
			http.MethodPost: (*request).createNamed,
		}}, segs[1:2]
	case n == 5 && segs[2] == "tokens" && segs[3] == "named":
		return route{"named", map[string]handler{
			http.MethodGet:    (*request).getNamed,
			http.MethodPatch:  (*request).patchNamed,
			http.MethodDelete: (*request).deleteNamed,
		}}, []string{segs[1], segs[4]}
	}
	return route{}, nil
}
