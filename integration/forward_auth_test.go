package integration

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// forwardAuthSites: site 0 is a forward-auth endpoint with the defaults
// (X-Forwarded-Method, X-Forwarded-Uri), site 1 the app behind Caddy's
// own forward_auth, which sends those headers.
var forwardAuthSites = caddyfile{
	App: []string{"temporary_max_ttl 1h"},
	Sites: []site{
		{Gate: []string{"verify"}, Body: []string{}},
		{NoGate: true, Body: []string{`forward_auth {{index .Site 0}} {
	uri /_tokengate/verify
	copy_headers X-Auth-User-Id X-Auth-User-Email X-Auth-User-Name X-Auth-User-Role
}`, proxyToUpstream}},
	},
}

// TestVerifyBehindForwardAuth: tokengate verify with its defaults behind
// Caddy's forward_auth: the upstream sees the user; the refusals reach
// the client in Onezone's envelope, a read-only token's POST among them.
func TestVerifyBehindForwardAuth(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, forwardAuthSites)
	app := c.site(1)
	alice := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	readonly := c.mintWith(t, c.site(0), "alice", alicePassword, map[string]any{"caveats": append(timeCaveats(600),
		map[string]any{"type": "data.readonly"})})

	for _, tc := range []struct {
		name   string
		method string
		h      hdr
	}{
		{"valid token", http.MethodPost, hdr{"X-Auth-Token": alice, "X-Auth-User-Id": "admin"}},
		{"read-only token, GET", http.MethodGet, hdr{"Authorization": "Bearer " + readonly}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := upstreamSaw(t, c.do(t, tc.method, app+"/app/x?q=1", tc.h, nil))
			if id, keys := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
				t.Errorf("upstream saw user id %q (as %q), want alice", id, keys)
			}
			if role, _ := s.header("X-Auth-User-Role"); len(role) != 1 || role[0] != "Editor" {
				t.Errorf("upstream saw role %q, want Editor", role)
			}
			if s.Method != tc.method || s.Path != "/app/x" || s.RawQuery != "q=1" {
				t.Errorf("upstream saw %s %s?%s", s.Method, s.Path, s.RawQuery)
			}
		})
	}

	hits := c.up.hits.Load()
	wantError(t, c.do(t, http.MethodGet, app+"/app/x", hdr{"X-Auth-User-Id": "admin"}, nil), http.StatusUnauthorized, "unauthorized")
	wantRefused(t, c.do(t, http.MethodGet, app+"/app/x", hdr{"X-Auth-Token": "garbage"}, nil), "badToken")
	wantRefused(t, c.do(t, http.MethodPost, app+"/app/x", hdr{"X-Auth-Token": readonly, "X-Forwarded-Method": "GET"}, nil),
		"tokenCaveatUnverified")
	if n := c.up.hits.Load() - hits; n != 0 {
		t.Errorf("upstream saw %d requests tokengate refused", n)
	}
}

// TestVerifyAnswersAssertion: with assertion on, tokengate verify answers
// the assertion beside the identity headers, for the proxy to copy.
func TestVerifyAnswersAssertion(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caddyfile{
		App: []string{"temporary_max_ttl 1h"},
		Sites: []site{
			{Gate: []string{"verify", "service wiki", "assertion"}, Body: []string{}},
			{NoGate: true, Body: []string{`forward_auth {{index .Site 0}} {
	uri /_tokengate/verify
	copy_headers X-Auth-User-Id X-Auth-Assertion
}`, proxyToUpstream}},
		},
	})
	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	s := upstreamSaw(t, c.do(t, http.MethodGet, c.site(1)+"/app/x", hdr{"X-Auth-Token": tok}, nil))
	vals, _ := s.header("X-Auth-Assertion")
	if len(vals) != 1 {
		t.Fatalf("upstream saw assertions %q, want one", vals)
	}
	parts := strings.Split(vals[0], ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a compact JWS", vals[0])
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Sub string   `json:"sub"`
		Aud []string `json:"aud"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims.Sub != "alice" || len(claims.Aud) != 1 || claims.Aud[0] != "wiki" {
		t.Errorf("assertion claims %s (%v), want sub alice, aud [wiki]", payload, err)
	}
}
