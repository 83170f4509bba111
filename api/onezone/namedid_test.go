package onezone_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/internal/authtest"
	"github.com/tokengate/tokengate/tokens"
)

const byID = onezone.Prefix + "/tokens/named/"

// TestNamedByID: /tokens/named/{id} and its /status, for the token's
// owner and a holder of the tokens admin role; another user gets 403, an
// unknown id 404 (oz-worker's token_named_temp_api_test_SUITE:
// get_named_token, update_named_token, delete_named_token,
// get_named_token_status).
func TestNamedByID(t *testing.T) {
	h, f := newHandler(t)
	h.TokensAdminRole = authtest.AliceRole // alice is an admin, bob is not
	alice := http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Alice)}}
	bob := http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Bob)}}
	aliceJSON := in("X-Auth-Token", alice.Get("X-Auth-Token"))
	bobJSON := in("X-Auth-Token", bob.Get("X-Auth-Token"))
	aliceTok, bobTok := create(t, f, authtest.Alice), create(t, f, authtest.Bob)
	aliceID, bobID := aliceTok.id, bobTok.id
	isRecord := func(id, subject string) func(*testing.T, []byte) {
		return func(t *testing.T, body []byte) {
			var got struct {
				ID      string
				Subject struct{ ID string }
			}
			if err := json.Unmarshal(body, &got); err != nil || got.ID != id || got.Subject.ID != subject || strings.Contains(string(body), "secret") {
				t.Errorf("%v: %s", err, body)
			}
		}
	}
	run(t, h, []exchange{
		{name: "own", method: "GET", path: byID + bobID, hdr: bob, status: 200, check: isRecord(bobID, "bob")},
		{name: "own, trailing slash", method: "GET", path: byID + bobID + "/", hdr: bob, status: 200, check: isRecord(bobID, "bob")},
		{name: "own status", method: "GET", path: byID + bobID + "/status", hdr: bob, status: 200, want: `{"revoked":false}`},
		{name: "another's", method: "GET", path: byID + aliceID, hdr: bob, status: 403, want: forbidden},
		{name: "another's, by the alias", method: "GET", path: named + "/" + aliceID, hdr: bob, status: 403, want: forbidden},
		{name: "another's status", method: "GET", path: byID + aliceID + "/status/", hdr: bob, status: 403, want: forbidden},
		{name: "patch another's", method: "PATCH", path: byID + aliceID, hdr: bobJSON, body: `{"revoked":true}`, status: 403, want: forbidden},
		{name: "patch another's, bad values", method: "PATCH", path: byID + aliceID, hdr: bobJSON, body: `{"revoked":"yes"}`, status: 403, want: forbidden},
		{name: "delete another's", method: "DELETE", path: byID + aliceID, hdr: bob, status: 403, want: forbidden},
		{name: "alice's still valid", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {aliceTok.token}}, status: 200, want: `{"generation":1}`},
		{name: "unknown", method: "GET", path: byID + "nope", hdr: bob, status: 404, want: notFound},
		{name: "unknown status", method: "GET", path: byID + "nope/status", hdr: bob, status: 404, want: notFound},
		{name: "unknown, admin", method: "DELETE", path: byID + "nope", hdr: alice, status: 404, want: notFound},
		{name: "anonymous", method: "GET", path: byID + bobID, status: 401, want: noAuth},
		{name: "anonymous status", method: "GET", path: byID + bobID + "/status", status: 401, want: noAuth},
		{name: "status, POST", method: "POST", path: byID + bobID + "/status", hdr: bob, status: 405, header: map[string]string{"Allow": "GET"}},
		{name: "admin reads bob's", method: "GET", path: byID + bobID, hdr: alice, status: 200, check: isRecord(bobID, "bob")},
		{name: "admin revokes bob's", method: "PATCH", path: byID + bobID, hdr: aliceJSON, body: `{"revoked":true}`, status: 204},
		{name: "bob's status", method: "GET", path: byID + bobID + "/status", hdr: bob, status: 200, want: `{"revoked":true}`},
		{name: "bob's token revoked", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {bobTok.token}}, status: 401,
			want: authError(`{"id":"tokenRevoked","description":"Provided token has been revoked."}`)},
		{name: "admin renames bob's", method: "PATCH", path: byID + bobID, hdr: aliceJSON, body: `{"name":"renamed"}`, status: 204},
		{name: "bob's renamed", method: "GET", path: onezone.Prefix + "/user/tokens/named/name/renamed", hdr: bob, status: 200, check: isRecord(bobID, "bob")},
		{name: "admin deletes bob's", method: "DELETE", path: byID + bobID, hdr: alice, status: 204},
		{name: "bob's gone", method: "GET", path: byID + bobID, hdr: bob, status: 404, want: notFound},
		{name: "own delete", method: "DELETE", path: byID + aliceID + "/", hdr: alice, status: 204},
		{name: "alice's gone", method: "GET", path: byID + aliceID + "/status", hdr: alice, status: 404, want: notFound},
	})
}

// namedToken is a created named token: its id and its serialization.
type namedToken struct{ id, token string }

// create issues a named token "ci" for subject.
func create(t *testing.T, f *authtest.Fixture, subject string) namedToken {
	t.Helper()
	rec, tok, err := f.Auth.IssueNamed(t.Context(), subject, "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	return namedToken{rec.ID, tok}
}
