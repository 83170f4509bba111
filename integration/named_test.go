package integration

// Issue 15 through a real Caddy: named tokens and their errors as Onezone
// has them (oz-worker's test_distributed/token_named_temp_api_test_SUITE).

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	namedAPI = "/api/v3/onezone/user/tokens/named"
	// ctool's errors:to_json(?ERROR_BAD_VALUE_NAME), the error of
	// token_logic_plugin's {binary, name} check.
	badValueNameJSON = `{"error":{"id":"badValueName","description":"Bad value: Name must be 2-128 characters long and composed only of UTF-8 letters, digits, brackets and underscores. Dashes, spaces and dots are allowed (but not at the beginning or the end)."}}`
	// ctool's errors:to_json(?ERROR_BAD_VALUE_IDENTIFIER_OCCUPIED(<<"name">>)).
	nameOccupiedJSON = `{"error":{"id":"badValueIdentifierOccupied","description":"Bad value: provided identifier (\"name\") is already occupied.","details":{"key":"name"}}}`
	// ctool's errors:to_json(?ERROR_BAD_VALUE_JSON(<<"customMetadata">>)).
	badMetadataJSON = `{"error":{"id":"badValueJSON","description":"Bad value: provided \"customMetadata\" must be a valid JSON.","details":{"key":"customMetadata"}}}`
	// The rule as the admin API and the account page say it.
	tokenNameRule = "must be 2-128 characters long and composed only of UTF-8 letters, digits, brackets and underscores. Dashes, spaces and dots are allowed (but not at the beginning or the end)."
)

// badTokenNames are names ctool's validate_name refuses, as the suite's
// ?BAD_VALUES_NAME feeds them to create_user_named_token and
// update_named_token, and a few more.
var badTokenNames = map[string]string{
	"empty":              "",
	"one character":      "a",
	"129 characters":     strings.Repeat("n", 129),
	"a leading dash":     "-ci",
	"a trailing dot":     "ci.",
	"a leading space":    " ci",
	"a trailing space":   "ci ",
	"a slash":            "c/i",
	"a colon":            "c:i",
	"square brackets":    "[ci]",
	"a trailing newline": "ci\n",
}

// TestNamedTokenNames: every door that names a named token applies
// ctool's name rule (2-128 characters; letters, digits, brackets,
// underscores; dashes, spaces and dots inside) and answers in its own
// format: Onezone's exact badValueName on create and rename
// (create_user_named_token, update_named_token: ?BAD_VALUES_NAME), the
// admin API's 400 message, the account page's 400 page.
func TestNamedTokenNames(t *testing.T) {
	c := newCaddy(t, pagesSite)
	base := c.site(0)
	alice := hdr{"X-Auth-Token": c.mintTemporary(t, base, "alice", alicePassword, 600)}
	r := c.do(t, http.MethodPost, base+namedAPI, alice, map[string]any{"name": "ci"})
	id, _ := r.JSON["tokenId"].(string)
	if r.Status != http.StatusCreated || id == "" {
		t.Fatalf("create ci: %s", r)
	}
	session := c.signInHTTP(t, "alice", alicePassword)
	m := csrfRE.FindSubmatch(c.do(t, http.MethodGet, base+"/account", session, nil).Body)
	if m == nil {
		t.Fatal("no CSRF token on the account page")
	}
	page := func(v url.Values) *response {
		v.Set("csrf", string(m[1]))
		return c.do(t, http.MethodPost, base+"/account",
			hdr{"Cookie": session["Cookie"], "Content-Type": "application/x-www-form-urlencoded"}, v.Encode())
	}
	for what, name := range badTokenNames {
		t.Run(what, func(t *testing.T) {
			if r := c.do(t, http.MethodPost, base+namedAPI, alice, map[string]any{"name": name}); r.Status != http.StatusBadRequest || !jsonEqual(t, r.JSON, badValueNameJSON) {
				t.Errorf("Onezone create: got %s, want 400 %s", r, badValueNameJSON)
			}
			if r := c.do(t, http.MethodPatch, base+namedAPI+"/"+id, alice, map[string]any{"name": name}); r.Status != http.StatusBadRequest || !jsonEqual(t, r.JSON, badValueNameJSON) {
				t.Errorf("Onezone rename: got %s, want 400 %s", r, badValueNameJSON)
			}
			wantAdminError(t, c.adminReq(t, http.MethodPost, "/tokengate/users/alice/tokens/named", map[string]any{"name": name}),
				http.StatusBadRequest, "token name "+tokenNameRule)
			if strings.TrimSpace(name) != name || name == "" {
				// The page trims what a form field carries around the name,
				// and asks for one when none is left.
				return
			}
			for _, v := range []url.Values{{"action": {"create"}, "name": {name}}, {"action": {"rename"}, "id": {id}, "name": {name}}} {
				if r := page(v); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "Token name "+tokenNameRule) {
					t.Errorf("account page %s: got %d, want 400 saying the rule: %s", v.Get("action"), r.Status, r.Body)
				}
			}
		})
	}
	// What the rule lets through, at every door.
	good := []string{"my (ci) box-2.0", "Zażółć_42", strings.Repeat("é", 128), "ab"}
	if r := c.do(t, http.MethodPost, base+namedAPI, alice, map[string]any{"name": good[0]}); r.Status != http.StatusCreated {
		t.Errorf("Onezone create %q: %s", good[0], r)
	}
	if r := c.do(t, http.MethodPatch, base+namedAPI+"/"+id, alice, map[string]any{"name": good[1]}); r.Status != http.StatusNoContent {
		t.Errorf("Onezone rename to %q: %s", good[1], r)
	}
	c.adminWant(t, http.MethodPost, "/tokengate/users/alice/tokens/named", map[string]any{"name": good[2]}, http.StatusCreated)
	if r := page(url.Values{"action": {"create"}, "name": {good[3]}}); r.Status != http.StatusOK {
		t.Errorf("account page create %q: %s", good[3], r)
	}
	for _, name := range good {
		if r := c.do(t, http.MethodGet, base+namedAPI+"/name/"+url.PathEscape(name), alice, nil); r.Status != http.StatusOK || r.JSON["name"] != name {
			t.Errorf("token %q: %s", name, r)
		}
	}
}

// TestNamedTokenNameOccupied: a name the user already has is Onezone's
// badValueIdentifierOccupied with details.key "name", on create and on
// rename (create_user_named_token, update_named_token: {<<"name">>,
// AlreadyExistingName, ?ERROR_BAD_VALUE_IDENTIFIER_OCCUPIED(<<"name">>)}),
// and another user's name is free.
func TestNamedTokenNameOccupied(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"X-Auth-Token": c.mintTemporary(t, base, "alice", alicePassword, 600)}
	bob := hdr{"X-Auth-Token": c.mintTemporary(t, base, "bob", bobPassword, 600)}
	for _, name := range []string{"ci", "deploy"} {
		if r := c.do(t, http.MethodPost, base+namedAPI, alice, map[string]any{"name": name}); r.Status != http.StatusCreated {
			t.Fatalf("create %s: %s", name, r)
		}
	}
	r := c.do(t, http.MethodGet, base+namedAPI+"/name/deploy", alice, nil)
	id, _ := r.JSON["id"].(string)
	if r := c.do(t, http.MethodPost, base+namedAPI, alice, map[string]any{"name": "ci"}); r.Status != http.StatusBadRequest || !jsonEqual(t, r.JSON, nameOccupiedJSON) {
		t.Errorf("create a taken name: got %s, want 400 %s", r, nameOccupiedJSON)
	}
	if r := c.do(t, http.MethodPatch, base+namedAPI+"/"+id, alice, map[string]any{"name": "ci"}); r.Status != http.StatusBadRequest || !jsonEqual(t, r.JSON, nameOccupiedJSON) {
		t.Errorf("rename to a taken name: got %s, want 400 %s", r, nameOccupiedJSON)
	}
	if r := c.do(t, http.MethodGet, base+namedAPI+"/"+id, alice, nil); r.JSON["name"] != "deploy" {
		t.Errorf("after a refused rename: %s", r)
	}
	if r := c.do(t, http.MethodPost, base+namedAPI, bob, map[string]any{"name": "ci"}); r.Status != http.StatusCreated {
		t.Errorf("bob creating alice's name: %s", r)
	}
}

// TestNamedTokenMetadata: the record carries metadata.custom, {} until
// PATCH customMetadata sets it (update_named_token); anything but an
// object is badValueJSON (?BAD_CUSTOM_METADATA_VALUES), over 4 KiB
// badValueTooHigh; the metadata is stored with the token and survives a
// restart.
func TestNamedTokenMetadata(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"X-Auth-Token": c.mintTemporary(t, base, "alice", alicePassword, 600)}
	r := c.do(t, http.MethodPost, base+namedAPI, alice, map[string]any{"name": "ci"})
	id, _ := r.JSON["tokenId"].(string)
	if r.Status != http.StatusCreated || id == "" {
		t.Fatalf("create: %s", r)
	}
	custom := func(want string) {
		t.Helper()
		r := c.do(t, http.MethodGet, base+namedAPI+"/"+id, alice, nil)
		meta, _ := r.JSON["metadata"].(map[string]any)
		if _, ok := meta["creationTime"].(float64); r.Status != http.StatusOK || !ok || !jsonEqual(t, meta["custom"], want) {
			t.Errorf("record: got %s, want metadata.custom %s and a creationTime", r, want)
		}
	}
	custom(`{}`)
	if r := c.do(t, http.MethodPatch, base+namedAPI+"/"+id, alice, `{"customMetadata": {"owner": "ci", "n": [1, 2]}}`); r.Status != http.StatusNoContent {
		t.Fatalf("PATCH customMetadata: %s", r)
	}
	custom(`{"owner":"ci","n":[1,2]}`)
	for _, bad := range []string{`""`, `345345`, `1.56`, `"string literal"`, `null`, `[]`} {
		if r := c.do(t, http.MethodPatch, base+namedAPI+"/"+id, alice, `{"customMetadata":`+bad+`}`); r.Status != http.StatusBadRequest || !jsonEqual(t, r.JSON, badMetadataJSON) {
			t.Errorf("customMetadata %s: got %s, want 400 %s", bad, r, badMetadataJSON)
		}
	}
	big := `{"customMetadata":{"k":"` + strings.Repeat("v", 4096) + `"}}`
	if r := c.do(t, http.MethodPatch, base+namedAPI+"/"+id, alice, big); r.Status != http.StatusBadRequest || !jsonEqual(t, r.JSON,
		`{"error":{"id":"badValueTooHigh","description":"Bad value: provided \"customMetadata\" must not exceed 4096.","details":{"key":"customMetadata","limit":4096}}}`) {
		t.Errorf("customMetadata over 4 KiB: %s", r)
	}
	custom(`{"owner":"ci","n":[1,2]}`)
	c.restart()
	custom(`{"owner":"ci","n":[1,2]}`)
	if r := c.do(t, http.MethodGet, base+namedAPI+"/name/ci", alice, nil); !jsonEqual(t, r.JSON["metadata"].(map[string]any)["custom"], `{"owner":"ci","n":[1,2]}`) {
		t.Errorf("by name after restart: %s", r)
	}
}

// TestNamedTokenByName: GET …/user/tokens/named/name/{name} answers the
// caller's token of that name, the record GET …/named/{id} answers
// (get_user_named_token_by_name); a name the caller has not is notFound,
// whoever else has it.
func TestNamedTokenByName(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"X-Auth-Token": c.mintTemporary(t, base, "alice", alicePassword, 600)}
	bob := hdr{"X-Auth-Token": c.mintTemporary(t, base, "bob", bobPassword, 600)}
	const name = "my ci (2.0)"
	r := c.do(t, http.MethodPost, base+namedAPI, alice, map[string]any{"name": name})
	id, _ := r.JSON["tokenId"].(string)
	tok, _ := r.JSON["token"].(string)
	if r.Status != http.StatusCreated || id == "" {
		t.Fatalf("create: %s", r)
	}
	byID := c.do(t, http.MethodGet, base+namedAPI+"/"+id, alice, nil)
	r = c.do(t, http.MethodGet, base+namedAPI+"/name/"+url.PathEscape(name), alice, nil)
	if r.Status != http.StatusOK || r.JSON["id"] != id || !jsonEqual(t, r.JSON, string(byID.Body)) {
		t.Errorf("by name: got %s, want %s", r, byID)
	}
	if r.JSON["token"] != tok {
		t.Errorf("by name: the record's token is not the one created: %s", r)
	}
	wantNoSecrets(t, r.Body)
	// The caller's own token authenticates the look-up too.
	if r := c.do(t, http.MethodGet, base+namedAPI+"/name/"+url.PathEscape(name)+"/", hdr{"X-Auth-Token": tok}, nil); r.Status != http.StatusOK || r.JSON["id"] != id {
		t.Errorf("by name with the token itself, trailing slash: %s", r)
	}
	wantError(t, c.do(t, http.MethodGet, base+namedAPI+"/name/other", alice, nil), http.StatusNotFound, "notFound")
	wantError(t, c.do(t, http.MethodGet, base+namedAPI+"/name/"+url.PathEscape(name), bob, nil), http.StatusNotFound, "notFound")
	wantError(t, c.do(t, http.MethodGet, base+namedAPI+"/name/"+url.PathEscape(name), nil, nil), http.StatusUnauthorized, "unauthorized")
	if r := c.do(t, http.MethodDelete, base+namedAPI+"/"+id, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %s", r)
	}
	wantError(t, c.do(t, http.MethodGet, base+namedAPI+"/name/"+url.PathEscape(name), alice, nil), http.StatusNotFound, "notFound")
}
