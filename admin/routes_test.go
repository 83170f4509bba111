package admin

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"
)

// statusOf returns the status of an error answer, 0 for nil.
func statusOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var e *apiError
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an answer", err)
	}
	return e.status
}

// routingCase is a path and the route it must reach.
type routingCase struct {
	name, path string
	route      string // "" for none
	methods    []string
	args       []string
	status     int
}

// routingCases hold every route of the admin API, and paths that reach
// none; TestOpenAPI checks docs/admin-openapi.json against them.
var routingCases = []routingCase{
	{"users", "/tokengate/users", "users", []string{"GET", "POST"}, nil, 0},
	{"users trailing slash", "/tokengate/users/", "users", []string{"GET", "POST"}, nil, 0},
	{"user", "/tokengate/users/alice", "user", []string{"DELETE", "GET", "PATCH"}, []string{"alice"}, 0},
	{"escaped slash in id", "/tokengate/users/a%2Fb", "user", []string{"DELETE", "GET", "PATCH"}, []string{"a/b"}, 0},
	{"id named like a route", "/tokengate/users/bans", "user", []string{"DELETE", "GET", "PATCH"}, []string{"bans"}, 0},
	{"block", "/tokengate/users/alice/block", "block", []string{"POST"}, []string{"alice"}, 0},
	{"unblock", "/tokengate/users/alice/unblock", "unblock", []string{"POST"}, []string{"alice"}, 0},
	{"reset", "/tokengate/users/alice/reset-token", "reset", []string{"POST"}, []string{"alice"}, 0},
	{"revoke everything", "/tokengate/users/alice/revoke-everything", "revoke everything", []string{"POST"}, []string{"alice"}, 0},
	{"temporary", "/tokengate/users/alice/tokens/temporary", "temporary", []string{"DELETE", "GET", "POST"}, []string{"alice"}, 0},
	{"named list", "/tokengate/users/alice/tokens/named", "named list", []string{"GET", "POST"}, []string{"alice"}, 0},
	{"named one", "/tokengate/users/alice/tokens/named/t1", "named", []string{"DELETE", "GET", "PATCH"}, []string{"alice", "t1"}, 0},
	{"bans", "/tokengate/bans", "bans", []string{"GET", "POST"}, nil, 0},
	{"keys", "/tokengate/keys", "keys", []string{"GET", "POST"}, nil, 0},
	{"key", "/tokengate/keys/HjePUZLwH9Gx", "key", []string{"DELETE"}, []string{"HjePUZLwH9Gx"}, 0},
	{"keys too deep", "/tokengate/keys/a/b", "", nil, nil, 0},
	{"ban", "/tokengate/bans/ip:%3A%3A1", "ban", []string{"DELETE"}, []string{"ip:::1"}, 0},
	{"root", "/tokengate/", "", nil, nil, 0},
	{"unknown", "/tokengate/groups", "", nil, nil, 0},
	{"unknown user action", "/tokengate/users/alice/frobnicate", "", nil, nil, 0},
	{"unknown token kind", "/tokengate/users/alice/tokens/other", "", nil, nil, 0},
	{"tokens alone", "/tokengate/users/alice/tokens", "", nil, nil, 0},
	{"too deep", "/tokengate/users/alice/tokens/named/t1/x", "", nil, nil, 0},
	{"bans too deep", "/tokengate/bans/a/b", "", nil, nil, 0},
	{"empty segment", "/tokengate/users//block", "", nil, nil, http.StatusNotFound},
	{"bad escape", "/tokengate/users/%zz", "", nil, nil, http.StatusNotFound},
	{"outside the prefix", "/config/", "", nil, nil, http.StatusNotFound},
}

func TestRouting(t *testing.T) {
	for _, tc := range routingCases {
		t.Run(tc.name, func(t *testing.T) {
			segs, err := segments(tc.path)
			if got := statusOf(t, err); got != tc.status {
				t.Fatalf("status %d, want %d (%v)", got, tc.status, err)
			}
			if err != nil {
				return
			}
			rt, args := match(segs)
			methods := slices.Sorted(maps.Keys(rt.methods))
			if rt.name != tc.route || !slices.Equal(methods, tc.methods) {
				t.Fatalf("route %q %v, want %q %v", rt.name, methods, tc.route, tc.methods)
			}
			if !slices.Equal(args, tc.args) {
				t.Fatalf("args %q, want %q", args, tc.args)
			}
		})
	}
}
