package onezone_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/internal/authtest"
	"github.com/tokengate/tokengate/tokens"
)

const users = onezone.Prefix + "/users/"

// TestUsersTokens: /users/{id}/tokens/... are for user {id} and for
// holders of the tokens admin role (Onezone's oz_tokens_manage); anyone
// else is forbidden (oz-worker's token_named_temp_api_test_SUITE:
// get_user_temporary_token_generation, create_user_temporary_token,
// revoke_all_user_temporary_tokens, list_named_tokens_of_user).
func TestUsersTokens(t *testing.T) {
	h, f := newHandler(t)
	h.TokensAdminRole = authtest.AliceRole // alice is an admin, bob is not
	alice := http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Alice)}}
	bob := http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Bob)}}
	bobJSON := in("X-Auth-Token", bob.Get("X-Auth-Token"))
	aliceJSON := in("X-Auth-Token", alice.Get("X-Auth-Token"))
	tokenOf := func(subject string) func(*testing.T, []byte) {
		return func(t *testing.T, body []byte) {
			t.Helper()
			var got struct{ Token string }
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			tk, err := f.Auth.Authenticate(t.Context(), got.Token, tokens.Request{Interface: "rest"})
			if err != nil || tk.Identity.ID != subject {
				t.Fatalf("the token does not authenticate %s: %v", subject, err)
			}
		}
	}
	run(t, h, []exchange{
		{name: "own generation", method: "GET", path: users + "bob/tokens/temporary", hdr: bob, status: 200, want: `{"generation":1}`},
		{name: "own generation, trailing slash", method: "GET", path: users + "bob/tokens/temporary/", hdr: bob, status: 200, want: `{"generation":1}`},
		{name: "another's generation", method: "GET", path: users + "alice/tokens/temporary", hdr: bob, status: 403, want: forbidden},
		{name: "anonymous", method: "GET", path: users + "alice/tokens/temporary", status: 401, want: noAuth},
		{name: "admin reads bob's", method: "GET", path: users + "bob/tokens/temporary", hdr: alice, status: 200, want: `{"generation":1}`},
		{name: "admin, no such user", method: "GET", path: users + "carol/tokens/temporary", hdr: alice, status: 404, want: notFound},
		{name: "non-admin, no such user", method: "GET", path: users + "carol/tokens/temporary", hdr: bob, status: 403, want: forbidden},
		{name: "create for another", method: "POST", path: users + "alice/tokens/temporary", hdr: bobJSON, body: caveats(time.Hour), status: 403, want: forbidden},
		{name: "admin creates for bob", method: "POST", path: users + "bob/tokens/temporary", hdr: aliceJSON, body: caveats(time.Hour), status: 201,
			check: tokenOf(authtest.Bob)},
		{name: "own creation", method: "POST", path: users + "bob/tokens/temporary", hdr: bobJSON, body: caveats(time.Hour), status: 201,
			check: tokenOf(authtest.Bob)},
		{name: "revoke another's", method: "DELETE", path: users + "alice/tokens/temporary", hdr: bob, status: 403, want: forbidden},
		{name: "alice's still at 1", method: "GET", path: users + "alice/tokens/temporary", hdr: alice, status: 200, want: `{"generation":1}`},
		{name: "admin revokes bob's", method: "DELETE", path: users + "bob/tokens/temporary", hdr: alice, status: 204},
		{name: "bob's token is revoked", method: "GET", path: users + "bob/tokens/temporary", hdr: bob, status: 401,
			want: authError(`{"id":"tokenRevoked","description":"Provided token has been revoked."}`)},
		{name: "bob's generation 2", method: "GET", path: users + "bob/tokens/temporary", hdr: alice, status: 200, want: `{"generation":2}`},
		{name: "admin, revoke nobody's", method: "DELETE", path: users + "carol/tokens/temporary", hdr: alice, status: 404, want: notFound},
		{name: "admin, create for nobody", method: "POST", path: users + "carol/tokens/temporary", hdr: aliceJSON, body: caveats(time.Hour), status: 404, want: notFound},
		{name: "method", method: "PUT", path: users + "bob/tokens/temporary", hdr: alice, status: 405, header: map[string]string{"Allow": "DELETE, GET, POST"}},
	})

	bob = http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Bob)}}
	bobJSON = in("X-Auth-Token", bob.Get("X-Auth-Token"))
	var bobsID string
	run(t, h, []exchange{
		{name: "create named for another", method: "POST", path: users + "alice/tokens/named", hdr: bobJSON, body: `{"name":"ci"}`, status: 403, want: forbidden},
		{name: "admin creates named for bob", method: "POST", path: users + "bob/tokens/named", hdr: aliceJSON, body: `{"name":"ci"}`, status: 201,
			check: func(t *testing.T, body []byte) {
				var got struct{ TokenID string }
				if err := json.Unmarshal(body, &got); err != nil || got.TokenID == "" {
					t.Fatalf("%v: %s", err, body)
				}
				bobsID = got.TokenID
				tokenOf(authtest.Bob)(t, body)
			}},
		{name: "a taken name", method: "POST", path: users + "bob/tokens/named/", hdr: bobJSON, body: `{"name":"ci"}`, status: 400, want: nameOccupied},
		{name: "admin, named for nobody", method: "POST", path: users + "carol/tokens/named", hdr: aliceJSON, body: `{"name":"ci"}`, status: 404, want: notFound},
		{name: "list another's", method: "GET", path: users + "alice/tokens/named", hdr: bob, status: 403, want: forbidden},
		{name: "admin, list nobody's", method: "GET", path: users + "carol/tokens/named", hdr: alice, status: 404, want: notFound},
		{name: "by name, another's", method: "GET", path: users + "alice/tokens/named/name/ci", hdr: bob, status: 403, want: forbidden},
		{name: "delete another's", method: "DELETE", path: users + "alice/tokens/named", hdr: bob, status: 403, want: forbidden},
		{name: "admin, delete nobody's", method: "DELETE", path: users + "carol/tokens/named", hdr: alice, status: 404, want: notFound},
		{name: "anonymous list", method: "GET", path: users + "bob/tokens/named", status: 401, want: noAuth},
	})
	run(t, h, []exchange{
		{name: "own list", method: "GET", path: users + "bob/tokens/named", hdr: bob, status: 200, want: `{"tokens":["` + bobsID + `"]}`},
		{name: "admin lists bob's", method: "GET", path: users + "bob/tokens/named/", hdr: alice, status: 200, want: `{"tokens":["` + bobsID + `"]}`},
		{name: "own, by name", method: "GET", path: users + "bob/tokens/named/name/ci", hdr: bob, status: 200,
			check: func(t *testing.T, body []byte) {
				if !strings.Contains(string(body), `"id":"`+bobsID+`"`) || !strings.Contains(string(body), `"subject":{"id":"bob","type":"user"}`) {
					t.Errorf("body %s", body)
				}
			}},
		{name: "admin, by name", method: "GET", path: users + "bob/tokens/named/name/ci/", hdr: alice, status: 200,
			check: func(t *testing.T, body []byte) {
				if !strings.Contains(string(body), `"id":"`+bobsID+`"`) {
					t.Errorf("body %s", body)
				}
			}},
		{name: "by an unknown name", method: "GET", path: users + "bob/tokens/named/name/cd", hdr: bob, status: 404, want: notFound},
		{name: "admin deletes bob's", method: "DELETE", path: users + "bob/tokens/named", hdr: alice, status: 204},
		{name: "none left", method: "GET", path: users + "bob/tokens/named", hdr: bob, status: 200, want: `{"tokens":[]}`},
	})
}

// TestBlockedTarget: an admin asking for tokens of a blocked user gets
// 400 userBlocked: the admin's own credentials are fine, so no 401.
func TestBlockedTarget(t *testing.T) {
	h, f := newHandler(t)
	h.TokensAdminRole = authtest.AliceRole
	alice := in("X-Auth-Token", f.Temporary(t, authtest.Alice))
	if _, err := f.Auth.SetBlocked(t.Context(), authtest.Bob, true); err != nil {
		t.Fatal(err)
	}
	blocked := `{"error":{"id":"userBlocked","description":"This user account has been blocked by the administrator and cannot be used unless it is unblocked again."}}`
	run(t, h, []exchange{
		{name: "temporary", method: "POST", path: users + "bob/tokens/temporary", hdr: alice, body: caveats(time.Hour), status: 400, want: blocked},
		{name: "named", method: "POST", path: users + "bob/tokens/named", hdr: alice, body: `{"name":"ci"}`, status: 400, want: blocked},
	})
}

// TestNoTokensAdminRole: by default no role manages others' tokens, not
// even one called like Onezone's privilege or an empty one.
func TestNoTokensAdminRole(t *testing.T) {
	h, f := newHandler(t)
	alice := http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Alice)}}
	bob := http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Bob)}} // bob has no role
	run(t, h, []exchange{
		{name: "alice, bob's", method: "GET", path: users + "bob/tokens/temporary", hdr: alice, status: 403, want: forbidden},
		{name: "bob, alice's", method: "GET", path: users + "alice/tokens/named", hdr: bob, status: 403, want: forbidden},
		// Onezone's deprecated macaroon header is a default source.
		{name: "bob's own, by macaroon header", method: "GET", path: users + "bob/tokens/temporary",
			hdr: http.Header{"Macaroon": bob["X-Auth-Token"]}, status: 200, want: `{"generation":1}`},
	})
}

// TestCreateNamedLocation: a named token's Location is its
// /tokens/named/{id}, on /user/... and /users/{id}/... alike.
func TestCreateNamedLocation(t *testing.T) {
	h, f := newHandler(t)
	tok := f.Temporary(t, authtest.Alice)
	for i, path := range []string{named, users + "alice/tokens/named"} {
		w := authtest.Do(h, "POST", "http://example.com"+path, `{"name":"n`+string(rune('a'+i))+`x"}`, in("X-Auth-Token", tok))
		var got struct{ TokenID string }
		if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 201 || err != nil {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if loc, want := w.Header().Get("Location"), onezone.Prefix+"/tokens/named/"+got.TokenID; loc != want {
			t.Errorf("%s: Location %q, want %q", path, loc, want)
		}
	}
}

// TestMatch: which paths are the API's, and that matching allocates
// nothing: the gate asks for every request.
func TestMatch(t *testing.T) {
	for path, want := range map[string]bool{
		onezone.Prefix + "/user/tokens/temporary":           true,
		onezone.Prefix + "/user/tokens/temporary/":          true,
		onezone.Prefix + "/users/u1/tokens/temporary":       true,
		onezone.Prefix + "/users/u1/tokens/named/":          true,
		onezone.Prefix + "/users/u1/tokens/named/name/ci":   true,
		onezone.Prefix + "/tokens/named/t1":                 true,
		onezone.Prefix + "/tokens/named/t1/status/":         true,
		onezone.Prefix + "/user/tokens/named/t1":            true,
		onezone.Prefix + "/user/tokens/named/name/ci":       true,
		onezone.Prefix + "/tokens/verify_access_token":      true,
		onezone.Prefix + "/users//tokens/temporary":         false,
		onezone.Prefix + "/users/u1/tokens/named/t1":        false,
		onezone.Prefix + "/users/u1/tokens/named/name/":     false,
		onezone.Prefix + "/users/u1/tokens/named/name/a/b":  false,
		onezone.Prefix + "/users/u1/tokens":                 false,
		onezone.Prefix + "/users/u1":                        false,
		onezone.Prefix + "/tokens/named/":                   false,
		onezone.Prefix + "/tokens/named/t1/other":           false,
		onezone.Prefix + "/tokens/named/t1/status/x":        false,
		onezone.Prefix + "/tokens/examine":                  true,
		onezone.Prefix + "/tokens/confine/":                 true,
		onezone.Prefix + "/tokens/infer_access_token_scope": true,
		onezone.Prefix + "/tokens/examine/x":                false,
		onezone.Prefix + "/user/tokens/named/t1/x":          false,
		onezone.Prefix + "/user":                            false,
		onezone.Prefix:                                      false,
		"/app/users/u1/tokens/temporary":                    false,
		"/api/v3/onezonex/user/tokens/temporary":            false,
		onezone.Prefix + "/user/tokens/temporary//":         false,
		onezone.Prefix + "/users/u1/x/tokens/temporary":     false,
		onezone.Prefix + "/users/u1/tokens/temporary/extra": false,
	} {
		if got := onezone.Match(path); got != want {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
		if n := testing.AllocsPerRun(100, func() { onezone.Match(path) }); n != 0 {
			t.Errorf("Match(%q) allocates %v times", path, n)
		}
	}
}
