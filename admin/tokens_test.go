package admin_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// named is a named token as the API shows it.
type named struct {
	ID, Name string
	Revoked  bool
	Caveats  []map[string]any
}

// issued is the answer to a token creation.
type issued struct {
	Token   string
	TokenID string `json:"token_id"`
}

// temporaryIs checks that the answer's temporary token authenticates as
// alice and expires within d.
func temporaryIs(d time.Duration) check {
	return func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
		t.Helper()
		tok := decode[issued](t, w).Token
		got, err := e.svc.Authenticate(context.Background(), tok, tokens.Request{Interface: "rest"})
		if err != nil || got.Identity.ID != "alice" {
			t.Fatalf("token: %v", err)
		}
		if left := time.Until(time.Unix(got.ValidUntil, 0)); left > d || left < d-time.Minute {
			t.Fatalf("token valid for %s more, want %s", left, d)
		}
	}
}

func TestTemporaryRoutes(t *testing.T) {
	run(t, []routeCase{
		{name: "generation", method: "GET", path: "/tokengate/users/alice/tokens/temporary", status: 200,
			check: func(t *testing.T, _ *env, w *httptest.ResponseRecorder) {
				if w.Body.String() != `{"generation":1}`+"\n" {
					t.Fatalf("answer %q", w.Body)
				}
			}},
		{name: "generation of unknown", method: "GET", path: "/tokengate/users/nobody/tokens/temporary", status: 404, msg: `user "nobody" not found`},
		{name: "issue", method: "POST", path: "/tokengate/users/alice/tokens/temporary", status: 201, check: temporaryIs(time.Hour)},
		{name: "issue for 2 days", method: "POST", path: "/tokengate/users/alice/tokens/temporary", body: `{"ttl":"2d"}`,
			status: 201, check: temporaryIs(48 * time.Hour)},
		{name: "issue with caveats", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"ttl":"5m","caveats":[{"type":"interface","interface":"rest"}]}`, status: 201, check: temporaryIs(5 * time.Minute)},
		{name: "issue over the limit", method: "POST", path: "/tokengate/users/alice/tokens/temporary", body: `{"ttl":"721h"}`,
			status: 400, msg: "exceeds temporary_max_ttl"},
		{name: "issue with a bad ttl", method: "POST", path: "/tokengate/users/alice/tokens/temporary", body: `{"ttl":"soon"}`,
			status: 400, msg: `invalid ttl "soon"`},
		{name: "issue with a bad caveat", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"caveats":[{"type":"interface","interface":"ftp"}]}`, status: 400},
		{name: "issue with caveats not a list", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"caveats":{}}`, status: 400},
		// Issue 14, finding 1: no ttl or caveat wraps past the maximum.
		{name: "issue with a ttl past time.Duration", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"ttl":"9999999999h"}`, status: 400, msg: `invalid ttl "9999999999h"`},
		{name: "issue with the longest time.Duration", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"ttl":"9223372036854775807ns"}`, status: 400, msg: "exceeds temporary_max_ttl"},
		{name: "issue with days past time.Duration", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"ttl":"1e300d"}`, status: 400, msg: `invalid ttl "1e300d"`},
		{name: "issue with a never-ending caveat", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"caveats":[{"type":"time","validUntil":9223372036854775807}]}`, status: 400, msg: "invalid caveat"},
		{name: "issue with a caveat where time.Unix wraps", method: "POST", path: "/tokengate/users/alice/tokens/temporary",
			body: `{"caveats":[{"type":"time","validUntil":9223371974719179008}]}`, status: 400, msg: "invalid caveat"},
		{name: "issue for unknown", method: "POST", path: "/tokengate/users/nobody/tokens/temporary", status: 404, msg: "not found"},
		{name: "issue for orphaned", method: "POST", path: "/tokengate/users/olga/tokens/temporary", status: 409, msg: `user "olga" is blocked`},
		{name: "revoke", method: "DELETE", path: "/tokengate/users/alice/tokens/temporary", status: 200,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				gen := decode[struct{ Generation uint64 }](t, w).Generation
				if now, _ := e.svc.Generation(context.Background(), "alice"); gen == 0 || now != gen {
					t.Fatalf("answer %q, generation now %d", w.Body, now)
				}
			}},
		{name: "revoke of unknown", method: "DELETE", path: "/tokengate/users/nobody/tokens/temporary", status: 404, msg: "not found"},
	})
}

func TestTemporaryRevokeAndBlock(t *testing.T) {
	e := newEnv(t)
	tok := decode[issued](t, e.want("POST", "/tokengate/users/alice/tokens/temporary", "", 201, "")).Token
	e.want("POST", "/tokengate/users/alice/block", "", 200, "")
	if err := authenticate(e, tok); !errors.Is(err, auth.ErrUserBlocked) {
		t.Fatalf("token of a blocked user: %v", err)
	}
	e.want("POST", "/tokengate/users/alice/tokens/temporary", "", 409, "unblock it before issuing tokens")
	e.want("POST", "/tokengate/users/alice/unblock", "", 200, "")
	if err := authenticate(e, tok); err != nil {
		t.Fatalf("token after unblocking: %v", err)
	}
	e.want("DELETE", "/tokengate/users/alice/tokens/temporary", "", 200, "")
	if err := authenticate(e, tok); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("token after revoking: %v", err)
	}
	e.want("DELETE", "/tokengate/users/alice", "", 204, "")
	if err := authenticate(e, tok); !errors.Is(err, tokens.ErrSubjectGone) {
		t.Fatalf("token of a deleted user: %v", err)
	}
}

// withNamed creates alice's named token "laptop", revoked if asked, and
// returns its id.
func withNamed(t *testing.T, e *env, revoked bool) string {
	t.Helper()
	rec, _, err := e.svc.IssueNamed(context.Background(), "alice", "laptop", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	if revoked {
		e.want("PATCH", "/tokengate/users/alice/tokens/named/"+rec.ID, `{"revoked":true}`, 200, "")
	}
	return rec.ID
}

func TestNamedRoutes(t *testing.T) {
	const base = "/tokengate/users/alice/tokens/named"
	for _, tc := range []struct {
		routeCase
		revoked bool // alice's "laptop" starts revoked
	}{
		{routeCase: routeCase{name: "list", method: "GET", path: base, status: 200,
			check: func(t *testing.T, _ *env, w *httptest.ResponseRecorder) {
				if l := decode[[]named](t, w); len(l) != 1 || l[0].Name != "laptop" || l[0].Revoked {
					t.Fatalf("list %s", w.Body)
				}
				wantNoSecrets(t, w)
			}}},
		{routeCase: routeCase{name: "list of unknown", method: "GET", path: "/tokengate/users/nobody/tokens/named", status: 404, msg: `user "nobody" not found`}},
		{routeCase: routeCase{name: "create", method: "POST", path: base, body: `{"name":"ci"}`, status: 201,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				r := decode[issued](t, w)
				if loc := w.Header().Get("Location"); loc != base+"/"+r.TokenID {
					t.Fatalf("Location %q", loc)
				}
				if err := authenticate(e, r.Token); err != nil {
					t.Fatalf("named token: %v", err)
				}
			}}},
		{routeCase: routeCase{name: "create with caveats", method: "POST", path: base,
			body: `{"name":"ci","caveats":[{"type":"interface","interface":"rest"}]}`, status: 201}},
		{routeCase: routeCase{name: "create a taken name", method: "POST", path: base, body: `{"name":"laptop"}`,
			status: 409, msg: `user "alice" already has a named token called "laptop"`}},
		{routeCase: routeCase{name: "create without a name", method: "POST", path: base, body: `{}`, status: 400, msg: "name is required"}},
		{routeCase: routeCase{name: "create for unknown", method: "POST", path: "/tokengate/users/nobody/tokens/named",
			body: `{"name":"ci"}`, status: 404, msg: "not found"}},
		{routeCase: routeCase{name: "create for orphaned", method: "POST", path: "/tokengate/users/olga/tokens/named",
			body: `{"name":"ci"}`, status: 409, msg: "is blocked"}},
		{routeCase: routeCase{name: "get", method: "GET", path: base + "/{tid}", status: 200,
			check: func(t *testing.T, _ *env, w *httptest.ResponseRecorder) {
				if r := decode[named](t, w); r.Name != "laptop" {
					t.Fatalf("record %s", w.Body)
				}
			}}},
		{routeCase: routeCase{name: "get unknown", method: "GET", path: base + "/nope", status: 404,
			msg: `named token "nope" of user "alice" not found`}},
		{routeCase: routeCase{name: "get of unknown user", method: "GET", path: "/tokengate/users/nobody/tokens/named/{tid}", status: 404,
			msg: `user "nobody" not found`}},
		{routeCase: routeCase{name: "revoke", method: "PATCH", path: base + "/{tid}", body: `{"revoked":true}`, status: 200,
			check: revokedIs(true)}},
		{routeCase: routeCase{name: "restore", method: "PATCH", path: base + "/{tid}", body: `{"revoked":false}`, status: 200,
			check: revokedIs(false)}, revoked: true},
		// Bug 6: a null is no change, not false.
		{routeCase: routeCase{name: "revoked null changes nothing", method: "PATCH", path: base + "/{tid}", body: `{"revoked":null}`,
			status: 400, msg: "nothing to change", check: revokedIs(true)}, revoked: true},
		{routeCase: routeCase{name: "rename with revoked null stays revoked", method: "PATCH", path: base + "/{tid}",
			body: `{"name":"old laptop","revoked":null}`, status: 200, check: revokedIs(true)}, revoked: true},
		{routeCase: routeCase{name: "rename", method: "PATCH", path: base + "/{tid}", body: `{"name":"desktop"}`, status: 200,
			check: func(t *testing.T, _ *env, w *httptest.ResponseRecorder) {
				if r := decode[named](t, w); r.Name != "desktop" || r.Revoked {
					t.Fatalf("record %s", w.Body)
				}
			}}},
		{routeCase: routeCase{name: "rename to 51 characters", method: "PATCH", path: base + "/{tid}",
			body: `{"name":"` + strings.Repeat("n", 129) + `"}`, status: 400, msg: "token name must be 2-128 characters long"}},
		{routeCase: routeCase{name: "patch nothing", method: "PATCH", path: base + "/{tid}", body: `{}`, status: 400, msg: "nothing to change"}},
		{routeCase: routeCase{name: "patch unknown", method: "PATCH", path: base + "/nope", body: `{"revoked":true}`, status: 404, msg: "not found"}},
		{routeCase: routeCase{name: "delete", method: "DELETE", path: base + "/{tid}", status: 204,
			check: func(t *testing.T, e *env, _ *httptest.ResponseRecorder) {
				if l, _ := e.svc.NamedTokens(context.Background(), "alice"); len(l) != 0 {
					t.Fatalf("named tokens left: %+v", l)
				}
			}}},
		{routeCase: routeCase{name: "delete unknown", method: "DELETE", path: base + "/nope", status: 404, msg: "not found"}},
		{routeCase: routeCase{name: "delete of unknown user", method: "DELETE", path: "/tokengate/users/nobody/tokens/named/x", status: 404,
			msg: `user "nobody" not found`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tid := withNamed(t, e, tc.revoked)
			w := e.want(tc.method, strings.ReplaceAll(tc.path, "{tid}", tid), tc.body, tc.status, tc.msg)
			if tc.check != nil {
				tc.check(t, e, w)
			}
		})
	}
}

// revokedIs checks alice's "laptop" in the store, whatever the answer.
func revokedIs(want bool) check {
	return func(t *testing.T, e *env, _ *httptest.ResponseRecorder) {
		t.Helper()
		l, err := e.svc.NamedTokens(context.Background(), "alice")
		if err != nil || len(l) != 1 || l[0].Revoked != want {
			t.Fatalf("named tokens %+v, %v; want revoked %v", l, err, want)
		}
	}
}
