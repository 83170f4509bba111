package integration

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
)

// partlyGatedSite is the README's partly gated site: /public/* and
// /whoami behind `tokengate optional`, everything else gated. Site 1 is
// optional throughout.
var partlyGatedSite = caddyfile{
	App: []string{"temporary_max_ttl 1h"},
	Sites: []site{
		{NoGate: true, Body: []string{
			"handle /public/* {\n\ttokengate optional\n\treverse_proxy {{.Upstream}}\n}",
			"handle /whoami {\n\ttokengate optional\n\trespond \"[{http.auth.user.id}|{http.auth.user.email}|{http.auth.user.name}|{http.auth.user.role}]\"\n}",
			"handle {\n\ttokengate\n\treverse_proxy {{.Upstream}}\n}",
		}},
		{Gate: []string{"optional"}},
	},
}

// spoofedIdentity is every spelling of an identity header a client may
// try to hand the upstream.
var spoofedIdentity = hdr{
	"X-Auth-User-Id":    "admin",
	"X_Auth_User_Id":    "admin",
	"x-auth-user-role":  "admin",
	"X_AUTH_USER_EMAIL": "admin@evil",
	"x-Auth_User-Name":  "admin",
	"X-Auth-User-Group": "admin",
}

// wantNoSpoofedIdentity fails if any identity header other than the
// verified ones in want (canonical name → value) reached the upstream.
func wantNoSpoofedIdentity(t *testing.T, s seen, want map[string]string) {
	t.Helper()
	for k, vals := range s.Headers {
		for _, v := range vals {
			if strings.HasPrefix(v, "admin") {
				t.Errorf("spoofed value reached the upstream: %s: %q", k, v)
			}
		}
		n := normHeader(k)
		if !strings.HasPrefix(n, "x-auth-user") {
			continue
		}
		if w, ok := want[k]; !ok || len(vals) != 1 || vals[0] != w {
			t.Errorf("upstream saw %s: %q; want only %v", k, vals, want)
		}
	}
	for k, v := range want {
		if got, _ := s.header(k); len(got) != 1 || got[0] != v {
			t.Errorf("upstream saw %s = %q, want %q", k, got, v)
		}
	}
}

// TestOptionalGate: `tokengate optional` passes a request without a
// token anonymously and one with a valid token as its user, strips
// every client-sent identity header from both, and refuses a bad,
// revoked or caveat-forbidden token as a gate does.
func TestOptionalGate(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, partlyGatedSite)
	base := c.site(0)
	alice := c.mintTemporary(t, base, "alice", alicePassword, 600)
	revoked := c.mintTemporary(t, base, "bob", bobPassword, 600)
	if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("bob", bobPassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking bob's tokens: %s", r)
	}
	readonly := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": append(timeCaveats(600),
		map[string]any{"type": "data.readonly"})})
	aliceIdentity := map[string]string{
		"X-Auth-User-Id": "alice", "X-Auth-User-Email": "alice@example.com",
		"X-Auth-User-Name": "Alice Example", "X-Auth-User-Role": "Editor",
	}

	for _, b := range []struct{ name, base, path string }{
		{"public path", base, "/public/page"},
		{"optional site", c.site(1), "/any"},
	} {
		t.Run(b.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				s := upstreamSaw(t, c.do(t, method, b.base+b.path, spoofedIdentity, nil))
				wantNoSpoofedIdentity(t, s, nil)
				if s.Path != b.path || s.Method != method {
					t.Errorf("upstream saw %s %s", s.Method, s.Path)
				}
			}
			h := maps.Clone(spoofedIdentity)
			h["X-Auth-Token"] = alice
			wantNoSpoofedIdentity(t, upstreamSaw(t, c.do(t, http.MethodPost, b.base+b.path, h, nil)), aliceIdentity)
			s := upstreamSaw(t, c.do(t, http.MethodGet, b.base+b.path, hdr{"Authorization": "Bearer " + readonly}, nil))
			wantNoSpoofedIdentity(t, s, aliceIdentity)

			hits := c.up.hits.Load()
			for _, tc := range []struct {
				name, method, token, want string
			}{
				{"bad token", http.MethodGet, "garbage", "badToken"},
				{"revoked token", http.MethodGet, revoked, "tokenRevoked"},
				{"read-only token, POST", http.MethodPost, readonly, "tokenCaveatUnverified"},
			} {
				h := maps.Clone(spoofedIdentity)
				h["X-Auth-Token"] = tc.token
				r := c.do(t, tc.method, b.base+b.path, h, nil)
				if r.Status != http.StatusUnauthorized || authErrorID(r.JSON) != tc.want {
					t.Errorf("%s: got %s, want 401 %s", tc.name, r, tc.want)
				}
			}
			if n := c.up.hits.Load() - hits; n != 0 {
				t.Errorf("upstream saw %d refused requests", n)
			}
		})
	}

	t.Run("placeholders", func(t *testing.T) {
		r := c.do(t, http.MethodGet, base+"/whoami", spoofedIdentity, nil)
		if r.Status != http.StatusOK || string(r.Body) != "[|||]" {
			t.Errorf("anonymous: got %s, want 200 [|||]", r)
		}
		r = c.do(t, http.MethodGet, base+"/whoami", hdr{"X-Auth-Token": alice, "X-Auth-User-Id": "admin"}, nil)
		if want := "[alice|alice@example.com|Alice Example|Editor]"; r.Status != http.StatusOK || string(r.Body) != want {
			t.Errorf("with a token: got %s, want 200 %s", r, want)
		}
	})

	// Every path of site 0 passes through a gate: no warning that the
	// upstream is reached around one.
	for _, e := range logLines(t, c.logPath) {
		if e["logger"] == "tokengate" && e["level"] == "warn" && strings.Contains(fmt.Sprint(e["where"]), "reached through tokengate") {
			t.Errorf("warned of a partly gated upstream: %v", e)
		}
	}

	// The rest of the site is gated as ever.
	t.Run("gated path", func(t *testing.T) {
		hits := c.up.hits.Load()
		wantError(t, c.do(t, http.MethodGet, base+"/private", spoofedIdentity, nil), http.StatusUnauthorized, "unauthorized")
		if n := c.up.hits.Load() - hits; n != 0 {
			t.Errorf("upstream saw %d requests without a token on a gated path", n)
		}
		h := maps.Clone(spoofedIdentity)
		h["X-Auth-Token"] = alice
		wantNoSpoofedIdentity(t, upstreamSaw(t, c.do(t, http.MethodGet, base+"/private", h, nil)), aliceIdentity)
	})
}
