package integration

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Onezone's public token endpoints, ported from oz-worker
// test_distributed/token_misc_api_test_SUITE.erl (examine, confine,
// infer_access_token_scope) with tokengate's differences: a token is
// examined only once its tag shows this server minted it, confined only
// while it verifies, and the scope names paths, not spaces.
const (
	examinePath = "/api/v3/onezone/tokens/examine"
	confinePath = "/api/v3/onezone/tokens/confine"
	inferPath   = "/api/v3/onezone/tokens/infer_access_token_scope"
	namedPath   = "/api/v3/onezone/user/tokens/named"
)

// wantBadToken checks Onezone's ?ERROR_BAD_VALUE_TOKEN(Key, TokenError).
func wantBadToken(t *testing.T, r *response, key, tokenError string) {
	t.Helper()
	wantError(t, r, http.StatusBadRequest, "badValueToken")
	d := errorDetails(r.JSON)
	inner, _ := d["tokenError"].(map[string]any)
	if d["key"] != key || inner["id"] != tokenError {
		t.Errorf("details %v, want key %q and tokenError %q", d, key, tokenError)
	}
}

// badTokenValues are the suite's bad values of a "token" member.
var badTokenValues = []any{"1234", 1234, map[string]any{"a": "b"}}

func TestExamine(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caveatSites)
	base := c.site(0)
	host, _ := url.Parse(base)
	until := time.Now().Unix() + 3600
	timeCav := map[string]any{"type": "time", "validUntil": until}

	// examine: TokenAlpha, a temporary access token with a time caveat,
	// examined by anybody, nobody included.
	alpha := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": []any{timeCav}})
	r := c.do(t, http.MethodPost, base+examinePath, nil, map[string]any{"token": alpha})
	if r.Status != http.StatusOK {
		t.Fatalf("examine: got %s, want 200", r)
	}
	id, _ := r.JSON["id"].(string)
	want := `{"onezoneDomain":"` + host.Hostname() + `","id":"` + id + `","persistence":"temporary",` +
		`"subject":{"type":"user","id":"alice"},"type":{"accessToken":{}},` +
		`"caveats":[{"type":"time","validUntil":` + itoa(until) + `}]}`
	if id == "" || !jsonEqual(t, r.JSON, want) {
		t.Errorf("examine: got %s, want %s", r.Body, want)
	}

	// TokenBeta's part tokengate has: a named token with consumer and ip
	// caveats, examined as named under its id.
	beta := []any{map[string]any{"type": "consumer", "whitelist": []string{"usr-123456789"}},
		map[string]any{"type": "ip", "whitelist": []string{"181.115.16.8/32", "181.115.16.9"}}}
	r = c.do(t, http.MethodPost, base+namedPath, hdr{"Authorization": basic("alice", alicePassword)},
		map[string]any{"name": "beta", "caveats": beta})
	if r.Status != http.StatusCreated {
		t.Fatalf("creating the named token: %s", r)
	}
	namedID, namedTok := r.JSON["tokenId"].(string), r.JSON["token"].(string)
	r = c.do(t, http.MethodPost, base+examinePath, nil, map[string]any{"token": namedTok})
	want = `{"onezoneDomain":"` + host.Hostname() + `","id":"` + namedID + `","persistence":"named",` +
		`"subject":{"type":"user","id":"alice"},"type":{"accessToken":{}},` +
		`"caveats":[{"type":"consumer","whitelist":["usr-123456789"]},{"type":"ip","whitelist":["181.115.16.8/32","181.115.16.9"]}]}`
	if r.Status != http.StatusOK || !jsonEqual(t, r.JSON, want) {
		t.Errorf("examine named: got %s, want %s", r, want)
	}

	// A revoked token is still examined, as Onezone examines without
	// verifying; a forged one is not.
	if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking: %s", r)
	}
	if r := c.do(t, http.MethodPost, base+examinePath, nil, map[string]any{"token": alpha}); r.Status != http.StatusOK || r.JSON["id"] != id {
		t.Errorf("examining a revoked token: got %s, want 200 with its id", r)
	}
	wantBadToken(t, c.do(t, http.MethodPost, base+examinePath, nil, map[string]any{"token": forgeTag(t, alpha)}), "token", "tokenInvalid")

	for _, v := range badTokenValues {
		wantBadToken(t, c.do(t, http.MethodPost, base+examinePath, nil, map[string]any{"token": v}), "token", "badToken")
	}
	wantError(t, c.do(t, http.MethodPost, base+examinePath, nil, map[string]any{}), http.StatusBadRequest, "missingRequiredValue")
}

// forgeTag returns tok with its claims' subject changed: the tag no
// longer matches.
func forgeTag(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(b), `"sub":"alice"`, `"sub":"bob"`, 1)))
	return strings.Join(parts, ".")
}

func TestConfine(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caveatSites)
	wiki, grafana := c.site(0), c.site(1)
	aliceAuth := hdr{"Authorization": basic("alice", alicePassword)}
	until := time.Now().Unix() + 3600
	timeCav := `{"type":"time","validUntil":` + itoa(until) + `}`
	parent := c.mintWith(t, wiki, "alice", alicePassword, map[string]any{"caveats": []any{map[string]any{"type": "time", "validUntil": until}}})

	confine := func(tok any, caveats any) *response {
		return c.do(t, http.MethodPost, wiki+confinePath, nil, map[string]any{"token": tok, "caveats": caveats})
	}
	examineCaveats := func(tok string) any {
		r := c.do(t, http.MethodPost, wiki+examinePath, nil, map[string]any{"token": tok})
		if r.Status != http.StatusOK {
			t.Fatalf("examine: %s", r)
		}
		return r.JSON["caveats"]
	}

	// confine_combinations: every prefix of the caveats to add, each
	// giving the initial caveats followed by those added, in order.
	toAdd := []string{
		`{"type":"service","whitelist":["wiki"]}`,
		`{"type":"interface","interface":"rest"}`,
		`{"type":"api","whitelist":["wiki/get/*"]}`,
		`{"type":"data.readonly"}`,
		`{"type":"data.path","whitelist":["L2EvYi9jL2Q="]}`,
	}
	for n := 1; n <= len(toAdd); n++ {
		added := "[" + strings.Join(toAdd[:n], ",") + "]"
		r := c.do(t, http.MethodPost, wiki+confinePath, nil, `{"token":"`+parent+`","caveats":`+added+`}`)
		tok, _ := r.JSON["token"].(string)
		if r.Status != http.StatusOK || tok == "" {
			t.Fatalf("confining by %s: got %s, want 200 with a token", added, r)
		}
		if want := "[" + timeCav + "," + strings.Join(toAdd[:n], ",") + "]"; !jsonEqual(t, examineCaveats(tok), want) {
			t.Errorf("confined by %s: caveats %v, want %s", added, examineCaveats(tok), want)
		}
	}

	// The confined token only narrows, at the gate: the parent may write
	// anywhere, the confined one only read, and only on the wiki.
	r := confine(parent, []any{map[string]any{"type": "data.readonly"}, map[string]any{"type": "service", "whitelist": []string{"wiki"}}})
	confined, _ := r.JSON["token"].(string)
	if confined == "" {
		t.Fatalf("confining: %s", r)
	}
	twice, _ := confine(confined, []any{map[string]any{"type": "data.path", "whitelist": []string{"L2RvY3M="}}}).JSON["token"].(string)
	for _, tc := range []struct {
		name, token, method, url, refusedBy string
	}{
		{"parent writes", parent, http.MethodPost, wiki + "/page", ""},
		{"parent on grafana", parent, http.MethodGet, grafana + "/d/1", ""},
		{"confined reads", confined, http.MethodGet, wiki + "/page", ""},
		{"confined does not write", confined, http.MethodPost, wiki + "/page", "data.readonly"},
		{"confined not on grafana", confined, http.MethodGet, grafana + "/d/1", "service"},
		{"confined twice, under /docs", twice, http.MethodGet, wiki + "/docs/a", ""},
		{"confined twice, elsewhere", twice, http.MethodGet, wiki + "/page", "data.path"},
		{"confined twice keeps the first confinement", twice, http.MethodPost, wiki + "/docs/a", "data.readonly"},
	} {
		r := c.do(t, tc.method, tc.url, hdr{"X-Auth-Token": tc.token}, nil)
		if tc.refusedBy == "" {
			if r.Status != http.StatusOK {
				t.Errorf("%s: got %s, want 200", tc.name, r)
			}
			continue
		}
		wantRefused(t, r, "tokenCaveatUnverified")
		a, _ := errorDetails(r.JSON)["authError"].(map[string]any)
		d, _ := a["details"].(map[string]any)
		cav, _ := d["caveat"].(map[string]any)
		if cav["type"] != tc.refusedBy {
			t.Errorf("%s: refused by %v, want %s", tc.name, d["caveat"], tc.refusedBy)
		}
	}

	// The suite's bad values, and tokengate's: a caveat no route matches
	// (as at creation), a parent that no longer verifies.
	for _, v := range badTokenValues {
		wantBadToken(t, confine(v, []any{}), "token", "badToken")
	}
	for _, tc := range []struct {
		caveats any
		id      string
	}{
		{"1234", "badData"},
		{1234, "badData"},
		{[]any{map[string]any{"a": "b"}}, "badValueCaveat"},
		{[]any{map[string]any{"type": "unknownCaveat"}}, "badValueCaveat"},
		{[]any{map[string]any{"type": "service", "whitelist": []string{"gitlab"}}}, "tokenServiceForbidden"},
	} {
		wantError(t, confine(parent, tc.caveats), http.StatusBadRequest, tc.id)
	}
	wantError(t, c.do(t, http.MethodPost, wiki+confinePath, nil, map[string]any{"token": parent}), http.StatusBadRequest, "missingRequiredValue")

	// A confined token dies with its parent: temporary by generation…
	if r := c.do(t, http.MethodDelete, wiki+tempPath, aliceAuth, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking: %s", r)
	}
	for _, tok := range []string{parent, confined, twice} {
		wantRefused(t, c.do(t, http.MethodGet, wiki+"/docs/a", hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
	}
	wantBadToken(t, confine(confined, []any{}), "token", "tokenRevoked")

	// …named by its record.
	r = c.do(t, http.MethodPost, wiki+namedPath, aliceAuth, map[string]any{"name": "ci"})
	namedID, named := r.JSON["tokenId"].(string), r.JSON["token"].(string)
	namedConfined, _ := confine(named, []any{map[string]any{"type": "data.readonly"}}).JSON["token"].(string)
	if r := c.do(t, http.MethodGet, wiki+"/page", hdr{"X-Auth-Token": namedConfined}, nil); r.Status != http.StatusOK {
		t.Fatalf("confined named token: got %s, want 200", r)
	}
	if r := c.do(t, http.MethodPatch, wiki+namedPath+"/"+namedID, aliceAuth, map[string]any{"revoked": true}); r.Status != http.StatusNoContent {
		t.Fatalf("revoking the named token: %s", r)
	}
	wantRefused(t, c.do(t, http.MethodGet, wiki+"/page", hdr{"X-Auth-Token": namedConfined}, nil), "tokenRevoked")
}

func TestInferAccessTokenScope(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caveatSites)
	base := c.site(0)
	until := time.Now().Unix() + 600
	timeCav := map[string]any{"type": "time", "validUntil": until}
	mint := func(cavs ...any) string {
		return c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": append([]any{timeCav}, cavs...)})
	}
	infer := func(body map[string]any) *response { return c.do(t, http.MethodPost, base+inferPath, nil, body) }
	bobTok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	b64 := base64.StdEncoding.EncodeToString

	for _, tc := range []struct {
		name string
		body map[string]any
		want string // the 200 body; "" when an error is wanted
		err  string // the bare error id
	}{
		{"no data caveats", map[string]any{"token": mint()},
			`{"validUntil":` + itoa(until) + `,"dataAccessScope":{"readonly":false,"paths":null,"spaces":{},"providers":{}}}`, ""},
		// Service, interface and api caveats are ignored; data caveats
		// are the scope.
		{"data caveats", map[string]any{"token": mint(
			map[string]any{"type": "data.readonly"},
			map[string]any{"type": "data.path", "whitelist": []string{b64([]byte("/docs")), b64([]byte("/img"))}},
			map[string]any{"type": "data.path", "whitelist": []string{b64([]byte("/docs/public"))}},
			map[string]any{"type": "service", "whitelist": []string{"grafana-eu"}},
			map[string]any{"type": "interface", "interface": "oneclient"},
			map[string]any{"type": "api", "whitelist": []string{"grafana-eu/get/*"}},
		)}, `{"validUntil":` + itoa(until) + `,"dataAccessScope":{"readonly":true,"paths":["/docs/public"],"spaces":{},"providers":{}}}`, ""},
		// The ip caveat is checked against the caller's address.
		{"ip of the caller", map[string]any{"token": mint(map[string]any{"type": "ip", "whitelist": []string{"127.0.0.0/8", "::1"}})},
			`{"validUntil":` + itoa(until) + `,"dataAccessScope":{"readonly":false,"paths":null,"spaces":{},"providers":{}}}`, ""},
		{"ip of another", map[string]any{"token": mint(map[string]any{"type": "ip", "whitelist": []string{"134.93.0.0/16"}})}, "", "tokenCaveatUnverified"},
		// The consumer is the token's subject unless consumerToken says
		// otherwise; null is nobody.
		{"consumer: the subject", map[string]any{"token": mint(map[string]any{"type": "consumer", "whitelist": []string{"usr-alice"}})},
			`{"validUntil":` + itoa(until) + `,"dataAccessScope":{"readonly":false,"paths":null,"spaces":{},"providers":{}}}`, ""},
		{"consumer: not the subject", map[string]any{"token": mint(map[string]any{"type": "consumer", "whitelist": []string{"usr-bob"}})}, "", "tokenCaveatUnverified"},
		{"consumer: bob's token", map[string]any{"token": mint(map[string]any{"type": "consumer", "whitelist": []string{"usr-bob"}}), "consumerToken": bobTok},
			`{"validUntil":` + itoa(until) + `,"dataAccessScope":{"readonly":false,"paths":null,"spaces":{},"providers":{}}}`, ""},
		{"consumer: null", map[string]any{"token": mint(map[string]any{"type": "consumer", "whitelist": []string{"usr-alice"}}), "consumerToken": nil}, "", "tokenCaveatUnverified"},
		{"revoked", map[string]any{"token": "REVOKED"}, "", "tokenRevoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body["token"] == "REVOKED" {
				// Last: bob's tokens, bobTok among them, die here.
				tc.body["token"] = c.mintTemporary(t, base, "bob", bobPassword, 600)
				if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("bob", bobPassword)}, nil); r.Status != http.StatusNoContent {
					t.Fatalf("revoking: %s", r)
				}
			}
			r := infer(tc.body)
			if tc.want != "" {
				if r.Status != http.StatusOK || !jsonEqual(t, r.JSON, tc.want) {
					t.Errorf("got %s, want 200 %s", r, tc.want)
				}
				return
			}
			wantError(t, r, http.StatusBadRequest, tc.err)
		})
	}
	for _, v := range badTokenValues {
		wantBadToken(t, infer(map[string]any{"token": v}), "token", "badToken")
		wantBadToken(t, infer(map[string]any{"token": mint(), "consumerToken": v}), "consumerToken", "badToken")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestVerifyAccessTokenConsumer: a consumer caveat holds at
// verify_access_token for the user the consumerToken proves
// (token_misc_api_test_SUITE verify_access_token's consumer contexts);
// absent or null, nobody is the consumer.
func TestVerifyAccessTokenConsumer(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caveatSites)
	base := c.site(0)
	tok := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": []any{
		map[string]any{"type": "time", "validUntil": time.Now().Unix() + 600},
		map[string]any{"type": "consumer", "whitelist": []string{"usr-bob"}},
	}})
	bobTok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	aliceTok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	for _, tc := range []struct {
		name     string
		consumer any // nil: absent
		status   int
		id       string
	}{
		{"bob's token", bobTok, http.StatusOK, ""},
		{"alice's own token", aliceTok, http.StatusBadRequest, "tokenCaveatUnverified"},
		{"absent", nil, http.StatusBadRequest, "tokenCaveatUnverified"},
		{"null", "NULL", http.StatusBadRequest, "tokenCaveatUnverified"},
		{"a forged token", bobTok[:len(bobTok)-2] + "AA", http.StatusBadRequest, "tokenCaveatUnverified"},
		{"not a token", "1234", http.StatusBadRequest, "badValueToken"},
	} {
		body := map[string]any{"token": tok}
		switch tc.consumer {
		case nil:
		case "NULL":
			body["consumerToken"] = nil
		default:
			body["consumerToken"] = tc.consumer
		}
		r := c.do(t, http.MethodPost, base+verifyPath, nil, body)
		if tc.status == http.StatusOK {
			if r.Status != http.StatusOK {
				t.Errorf("%s: got %s, want 200", tc.name, r)
			}
			continue
		}
		wantError(t, r, tc.status, tc.id)
	}
}
