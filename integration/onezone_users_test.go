package integration

// Issue 15 through a real Caddy: the rest of Onezone's named and
// temporary token endpoints — /users/{id}/tokens/..., /tokens/named/{id}
// and its /status — and verify_access_token's values, as oz-worker's
// test_distributed/token_named_temp_api_test_SUITE.erl and
// token_misc_api_test_SUITE.erl have them. Alice's role (Editor) is the
// tokens admin role (Onezone's oz_tokens_manage); bob's (Viewer) is not.

import (
	"encoding/base64"
	"net/http"
	"slices"
	"testing"
)

const (
	usersAPI = "/api/v3/onezone/users/"
	byIDAPI  = "/api/v3/onezone/tokens/named/"
)

// adminSite makes alice a tokens admin.
var adminSite = gatedSite.withApp("tokens_admin_role Editor")

// TestUsersTemporaryTokens: get_user_temporary_token_generation,
// create_user_temporary_token and revoke_all_user_temporary_tokens on
// /users/{id}/tokens/temporary/: allowed for the user and the admin,
// 401 for nobody, 403 for another user; a forbidden revocation leaves the
// tokens valid. The callers authenticate with Basic credentials, which
// revoking temporary tokens does not end (the suite uses named tokens
// for the same reason).
func TestUsersTemporaryTokens(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, adminSite)
	base := c.site(0)
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	bob := hdr{"Authorization": basic("bob", bobPassword)}
	bobs := base + usersAPI + "bob/tokens/temporary/"
	alices := base + usersAPI + "alice/tokens/temporary/"

	// get_user_temporary_token_generation: C, then C+N after N revocations.
	r := c.do(t, http.MethodGet, bobs, bob, nil)
	gen, _ := r.JSON["generation"].(float64)
	if r.Status != http.StatusOK || gen < 1 {
		t.Fatalf("bob's generation: %s", r)
	}
	for n := 1; n <= 3; n++ {
		if r := c.do(t, http.MethodDelete, bobs, bob, nil); r.Status != http.StatusNoContent {
			t.Fatalf("revoke %d: %s", n, r)
		}
		for who, h := range map[string]hdr{"bob": bob, "the admin": alice} {
			if r := c.do(t, http.MethodGet, bobs, h, nil); r.Status != http.StatusOK || r.JSON["generation"] != gen+float64(n) {
				t.Errorf("after %d revocations, %s reads %s, want generation %v", n, who, r, gen+float64(n))
			}
		}
	}
	// The same for the user on /user/tokens/temporary/.
	if r := c.do(t, http.MethodGet, base+tempPath+"/", bob, nil); r.JSON["generation"] != gen+3 {
		t.Errorf("/user/tokens/temporary/: %s, want generation %v", r, gen+3)
	}
	wantError(t, c.do(t, http.MethodGet, bobs, nil, nil), http.StatusUnauthorized, "unauthorized")
	wantError(t, c.do(t, http.MethodGet, alices, bob, nil), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodGet, base+usersAPI+"nobody/tokens/temporary", alice, nil), http.StatusNotFound, "notFound")

	// create_user_temporary_token: the token is the path's user's.
	caveats := map[string]any{"caveats": timeCaveats(600)}
	for who, h := range map[string]hdr{"bob": bob, "the admin": alice} {
		r := c.do(t, http.MethodPost, bobs, h, caveats)
		tok, _ := r.JSON["token"].(string)
		if r.Status != http.StatusCreated || tok == "" || r.Header.Get("Location") != "" {
			t.Fatalf("%s creates bob's token: %s", who, r)
		}
		c.gateAs(t, tok, "bob")
	}
	wantError(t, c.do(t, http.MethodPost, alices, bob, caveats), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodPost, alices, nil, caveats), http.StatusUnauthorized, "unauthorized")
	wantError(t, c.do(t, http.MethodPost, bobs, bob, map[string]any{"caveats": []any{}}), http.StatusBadRequest, "tokenTimeCaveatRequired")

	// revoke_all_user_temporary_tokens: a forbidden DELETE leaves alice's
	// tokens valid, the admin's revokes bob's.
	aliceTok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	bobTok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	wantError(t, c.do(t, http.MethodDelete, alices, bob, nil), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodDelete, alices, nil, nil), http.StatusUnauthorized, "unauthorized")
	c.gateAs(t, aliceTok, "alice")
	if r := c.do(t, http.MethodDelete, bobs, alice, nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("the admin revokes bob's: %s", r)
	}
	wantRefused(t, c.gate(t, bobTok), "tokenRevoked")
	c.gateAs(t, aliceTok, "alice")
	// Onezone's deprecated macaroon header authenticates these paths too.
	r = c.do(t, http.MethodGet, alices, hdr{"Macaroon": aliceTok}, nil)
	if r.Status != http.StatusOK {
		t.Errorf("macaroon header: %s", r)
	}
}

// TestUsersNamedTokens: create_user_named_token, list_user_named_tokens,
// get_user_named_token_by_name and delete_all_user_named_tokens on
// /users/{id}/tokens/named/: the user's and the admin's, nobody's 401,
// another user's 403. A named token's Location is /tokens/named/{id}.
func TestUsersNamedTokens(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, adminSite)
	base := c.site(0)
	alice := hdr{"X-Auth-Token": c.mintTemporary(t, base, "alice", alicePassword, 600)}
	bob := hdr{"X-Auth-Token": c.mintTemporary(t, base, "bob", bobPassword, 600)}
	bobs := base + usersAPI + "bob/tokens/named"

	ids := map[string]string{}
	for who, h := range map[string]hdr{"bob": bob, "admin": alice} {
		r := c.do(t, http.MethodPost, bobs+"/", h, map[string]any{"name": "by-" + who})
		id, _ := r.JSON["tokenId"].(string)
		tok, _ := r.JSON["token"].(string)
		if r.Status != http.StatusCreated || id == "" || r.Header.Get("Location") != byIDAPI+id {
			t.Fatalf("%s creates bob's named token: %s, Location %q", who, r, r.Header.Get("Location"))
		}
		c.gateAs(t, tok, "bob")
		ids[who] = id
	}
	wantError(t, c.do(t, http.MethodPost, base+usersAPI+"alice/tokens/named", bob, map[string]any{"name": "x1"}), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodPost, bobs, nil, map[string]any{"name": "x1"}), http.StatusUnauthorized, "unauthorized")
	wantError(t, c.do(t, http.MethodPost, bobs, alice, map[string]any{"name": "by-bob"}), http.StatusBadRequest, "badValueIdentifierOccupied")

	// list_user_named_tokens
	for who, h := range map[string]hdr{"bob": bob, "the admin": alice} {
		r := c.do(t, http.MethodGet, bobs+"/", h, nil)
		list, _ := r.JSON["tokens"].([]any)
		if r.Status != http.StatusOK || len(list) != 2 || !slices.Contains(list, any(ids["bob"])) || !slices.Contains(list, any(ids["admin"])) {
			t.Errorf("%s lists bob's: %s", who, r)
		}
	}
	wantError(t, c.do(t, http.MethodGet, base+usersAPI+"alice/tokens/named", bob, nil), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodGet, bobs, nil, nil), http.StatusUnauthorized, "unauthorized")

	// get_user_named_token_by_name
	for who, h := range map[string]hdr{"bob": bob, "the admin": alice} {
		r := c.do(t, http.MethodGet, bobs+"/name/by-admin", h, nil)
		if r.Status != http.StatusOK || r.JSON["id"] != ids["admin"] || !jsonEqual(t, r.JSON["subject"], `{"type":"user","id":"bob"}`) {
			t.Errorf("%s gets bob's by name: %s", who, r)
		}
	}
	wantError(t, c.do(t, http.MethodGet, bobs+"/name/nope", bob, nil), http.StatusNotFound, "notFound")
	wantError(t, c.do(t, http.MethodGet, base+usersAPI+"alice/tokens/named/name/by-bob", bob, nil), http.StatusForbidden, "forbidden")

	// delete_all_user_named_tokens: forbidden to another, the admin's works.
	wantError(t, c.do(t, http.MethodDelete, bobs, nil, nil), http.StatusUnauthorized, "unauthorized")
	if r := c.do(t, http.MethodPost, base+usersAPI+"alice/tokens/named", alice, map[string]any{"name": "mine"}); r.Status != http.StatusCreated {
		t.Fatalf("alice's own: %s", r)
	}
	wantError(t, c.do(t, http.MethodDelete, base+usersAPI+"alice/tokens/named", bob, nil), http.StatusForbidden, "forbidden")
	if r := c.do(t, http.MethodGet, base+namedAPI, alice, nil); len(r.JSON["tokens"].([]any)) != 1 {
		t.Errorf("a forbidden delete changed alice's tokens: %s", r)
	}
	if r := c.do(t, http.MethodDelete, bobs, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("the admin deletes bob's: %s", r)
	}
	if r := c.do(t, http.MethodGet, bobs, bob, nil); r.Status != http.StatusOK || !jsonEqual(t, r.JSON, `{"tokens":[]}`) {
		t.Errorf("bob's after deleting all: %s", r)
	}
}

// TestNamedTokenByID: get_named_token, get_named_token_status,
// update_named_token and delete_named_token on /tokens/named/{id}: the
// owner's and the admin's; another user's 403 (not 404), an unknown id
// 404, nobody 401. /user/tokens/named/{id} is the same.
func TestNamedTokenByID(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, adminSite)
	base := c.site(0)
	alice := hdr{"X-Auth-Token": c.mintTemporary(t, base, "alice", alicePassword, 600)}
	bob := hdr{"X-Auth-Token": c.mintTemporary(t, base, "bob", bobPassword, 600)}
	r := c.do(t, http.MethodPost, base+namedAPI, bob, map[string]any{"name": "ci"})
	id, _ := r.JSON["tokenId"].(string)
	tok, _ := r.JSON["token"].(string)
	if r.Status != http.StatusCreated || id == "" {
		t.Fatalf("create: %s", r)
	}
	one := base + byIDAPI + id

	for who, h := range map[string]hdr{"bob": bob, "the admin": alice} {
		// get_named_token
		r := c.do(t, http.MethodGet, one, h, nil)
		if r.Status != http.StatusOK || r.JSON["id"] != id || r.JSON["name"] != "ci" || !jsonEqual(t, r.JSON["subject"], `{"type":"user","id":"bob"}`) {
			t.Errorf("%s gets it: %s", who, r)
		}
		// Onezone's record carries the token (named_token_reply), for an
		// admin of tokens too.
		if r.JSON["token"] != tok {
			t.Errorf("%s gets another token than the one created: %s", who, r)
		}
		wantNoSecrets(t, r.Body)
		// get_named_token_status
		if r := c.do(t, http.MethodGet, one+"/status/", h, nil); r.Status != http.StatusOK || !jsonEqual(t, r.JSON, `{"revoked":false}`) {
			t.Errorf("%s gets its status: %s", who, r)
		}
	}
	// Carol, who is neither, and nobody.
	c.addUser(t, "carol", "carol-pw-Lm42", "Viewer")
	carol := hdr{"X-Auth-Token": c.mintTemporary(t, base, "carol", "carol-pw-Lm42", 600)}
	for _, p := range []string{one, one + "/status", base + namedAPI + "/" + id} {
		wantError(t, c.do(t, http.MethodGet, p, carol, nil), http.StatusForbidden, "forbidden")
		wantError(t, c.do(t, http.MethodGet, p, nil, nil), http.StatusUnauthorized, "unauthorized")
	}
	wantError(t, c.do(t, http.MethodPatch, one, carol, map[string]any{"revoked": true}), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodDelete, one, carol, nil), http.StatusForbidden, "forbidden")
	c.gateAs(t, tok, "bob")
	for _, p := range []string{base + byIDAPI + "nope", base + byIDAPI + "nope/status"} {
		wantError(t, c.do(t, http.MethodGet, p, carol, nil), http.StatusNotFound, "notFound")
	}

	// update_named_token: the admin revokes, the owner sees it and restores.
	if r := c.do(t, http.MethodPatch, one, alice, map[string]any{"revoked": true}); r.Status != http.StatusNoContent {
		t.Fatalf("the admin revokes: %s", r)
	}
	wantRefused(t, c.gate(t, tok), "tokenRevoked")
	if r := c.do(t, http.MethodGet, one+"/status", bob, nil); !jsonEqual(t, r.JSON, `{"revoked":true}`) {
		t.Errorf("status after revoking: %s", r)
	}
	if r := c.do(t, http.MethodPatch, one, bob, map[string]any{"revoked": false, "name": "ci-2", "customMetadata": map[string]any{"k": "v"}}); r.Status != http.StatusNoContent {
		t.Fatalf("bob restores: %s", r)
	}
	c.gateAs(t, tok, "bob")
	if r := c.do(t, http.MethodGet, base+namedAPI+"/name/ci-2", bob, nil); r.JSON["id"] != id || !jsonEqual(t, r.JSON["metadata"].(map[string]any)["custom"], `{"k":"v"}`) {
		t.Errorf("after the update: %s", r)
	}

	// delete_named_token: the admin's works; afterwards 404 for all.
	if r := c.do(t, http.MethodDelete, one+"/", alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("the admin deletes: %s", r)
	}
	wantRefused(t, c.gate(t, tok), "tokenInvalid")
	for _, h := range []hdr{bob, alice, carol} {
		wantError(t, c.do(t, http.MethodGet, one, h, nil), http.StatusNotFound, "notFound")
	}
}

// TestNoTokensAdmin: without tokens_admin_role nobody manages another's
// tokens, whatever their role.
func TestNoTokensAdmin(t *testing.T) {
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"X-Auth-Token": c.mintTemporary(t, base, "alice", alicePassword, 600)}
	bob := hdr{"X-Auth-Token": c.mintTemporary(t, base, "bob", bobPassword, 600)}
	r := c.do(t, http.MethodPost, base+namedAPI, bob, map[string]any{"name": "ci"})
	id, _ := r.JSON["tokenId"].(string)
	wantError(t, c.do(t, http.MethodGet, base+usersAPI+"bob/tokens/temporary", alice, nil), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodGet, base+usersAPI+"bob/tokens/named", alice, nil), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodGet, base+byIDAPI+id, alice, nil), http.StatusForbidden, "forbidden")
	if r := c.do(t, http.MethodGet, base+byIDAPI+id, bob, nil); r.Status != http.StatusOK {
		t.Errorf("bob's own: %s", r)
	}
}

// TestVerifyAccessTokenValues: token_misc_api_test_SUITE's
// verify_access_token through Caddy: bad values of each key get their
// error, the peer defaults to the client's address as Caddy determines
// it, and data-access caveats need allowDataAccessCaveats.
func TestVerifyAccessTokenValues(t *testing.T) {
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	loopback := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": []map[string]any{
		timeCaveats(600)[0], {"type": "ip", "whitelist": []string{"127.0.0.1"}}}})
	readonly := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": []map[string]any{
		timeCaveats(600)[0], {"type": "data.readonly"}, {"type": "data.path", "whitelist": []string{base64.StdEncoding.EncodeToString([]byte("/a"))}}}})
	verify := func(body map[string]any) *response { return c.do(t, http.MethodPost, base+verifyPath, nil, body) }
	ok := func(what string, r *response) {
		t.Helper()
		if r.Status != http.StatusOK || !jsonEqual(t, r.JSON["subject"], `{"type":"user","id":"alice"}`) {
			t.Errorf("%s: %s", what, r)
		}
	}
	ok("no peerIp: the client's, 127.0.0.1", verify(map[string]any{"token": loopback}))
	wantError(t, verify(map[string]any{"token": loopback, "peerIp": "10.1.2.3"}), http.StatusBadRequest, "tokenCaveatUnverified")
	for key, bad := range map[string]struct {
		value any
		id    string
	}{
		"peerIp":                 {1234, "badValueIPv4Address"},
		"interface":              {map[string]any{}, "badValueString"},
		"allowDataAccessCaveats": {"1234", "badValueBoolean"},
		"serviceToken":           {"1234", "badValueToken"},
		"consumerToken":          {1234, "badValueToken"},
	} {
		r := verify(map[string]any{"token": loopback, key: bad.value})
		wantError(t, r, http.StatusBadRequest, bad.id)
		if errorDetails(r.JSON)["key"] != key {
			t.Errorf("%s: details %v, want key %s", key, errorDetails(r.JSON), key)
		}
	}
	r := verify(map[string]any{"token": readonly})
	wantError(t, r, http.StatusBadRequest, "tokenCaveatUnverified")
	if !jsonEqual(t, errorDetails(r.JSON)["caveat"], `{"type":"data.readonly"}`) {
		t.Errorf("data caveats refused naming %v, want data.readonly", errorDetails(r.JSON)["caveat"])
	}
	ok("data caveats allowed", verify(map[string]any{"token": readonly, "allowDataAccessCaveats": true}))
}
