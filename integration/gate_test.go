package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ---------------------------------------------------------------------------
// Crafting tokens. tokengate tokens are HS256 JWTs; their claims are
// readable without the key.

// jwtClaims decodes a token's claims, numbers kept exact.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	for _, k := range []string{"sub", "knd", "typ", "gen", "jti", "iat", "exp", "cav"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("token claims %s lack %q", b, k)
		}
	}
	return m
}

func signWith(t *testing.T, m jwt.SigningMethod, claims map[string]any, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, jwt.MapClaims(claims)).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signHS256(t *testing.T, claims map[string]any, key []byte) string {
	t.Helper()
	return signWith(t, jwt.SigningMethodHS256, claims, key)
}

func signNone(t *testing.T, claims map[string]any) string {
	t.Helper()
	return signWith(t, jwt.SigningMethodNone, claims, jwt.UnsafeAllowNoneSignatureType)
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// withClaims returns a copy of claims changed by set.
func withClaims(claims map[string]any, set map[string]any) map[string]any {
	c := maps.Clone(claims)
	maps.Copy(c, set)
	return c
}

// resign keeps tok's header and signature and replaces its claims.
func resign(t *testing.T, tok string, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// ---------------------------------------------------------------------------

func TestGateWithoutToken(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	for _, tc := range []struct {
		name   string
		method string
		h      hdr
		body   any
	}{
		{"GET", http.MethodGet, nil, nil},
		{"POST with body", http.MethodPost, nil, `{"a":1}`},
		{"DELETE", http.MethodDelete, nil, nil},
		{"empty x-auth-token", http.MethodGet, hdr{"X-Auth-Token": ""}, nil},
		{"empty bearer", http.MethodGet, hdr{"Authorization": "Bearer "}, nil},
		// Basic credentials are for the token endpoints; they are not a
		// token and do not pass the gate.
		{"basic credentials", http.MethodGet, hdr{"Authorization": basic("alice", alicePassword)}, nil},
		{"token in another header", http.MethodGet, hdr{"X-Token": "x"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, tc.method, base+"/app/x", tc.h, tc.body)
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			e, _ := r.JSON["error"].(map[string]any)
			if want := "You must authenticate yourself to perform this operation."; e["description"] != want {
				t.Errorf("description %q, want %q", e["description"], want)
			}
			if wa := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", wa)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
		})
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests without a token, want 0", n)
	}
}

func TestGateTokenHeaders(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	for _, h := range []hdr{
		{"X-Auth-Token": tok},
		{"x-auth-token": tok},
		{"Authorization": "Bearer " + tok},
		{"authorization": "bearer " + tok},
	} {
		s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/app/x?q=1", h, nil))
		if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
			t.Errorf("%v: upstream saw user id %q, want alice", h, id)
		}
		if s.Path != "/app/x" || s.RawQuery != "q=1" || s.Method != http.MethodGet {
			t.Errorf("%v: upstream saw %s %s?%s", h, s.Method, s.Path, s.RawQuery)
		}
	}
}

func TestGateRefusedTokens(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	// Another instance: its own data directory, hence its own server key
	// and secrets, with the same users.
	other := newCaddy(t, gatedSite)
	base := c.site(0)
	now := time.Now().Unix()

	real := c.mintTemporary(t, base, "alice", alicePassword, 600)
	claims := jwtClaims(t, real)
	caveats := func(cav ...map[string]any) map[string]any { return map[string]any{"caveats": cav} }
	timeCav := map[string]any{"type": "time", "validUntil": now + 600}

	for _, tc := range []struct {
		name   string
		token  string
		want   string
		caveat string // details.authError.details.caveat, if any
	}{
		{"garbage", "this-is-a-bad-token-that-cannot-be-decoded", "badToken", ""},
		{"three garbage segments", "x.y.z", "badToken", ""},
		{"expired", c.mintWith(t, base, "alice", alicePassword, caveats(map[string]any{"type": "time", "validUntil": now - 60})),
			"tokenCaveatUnverified", `{"type":"time","validUntil":` + jsonNum(now-60) + `}`},
		{"signed with another key", signHS256(t, claims, randomKey(t)), "tokenInvalid", ""},
		{"alg none", signNone(t, claims), "tokenInvalid", ""},
		{"HS512 with another key", signWith(t, jwt.SigningMethodHS512, claims, randomKey(t)), "tokenInvalid", ""},
		{"future generation", signHS256(t, withClaims(claims, map[string]any{"gen": 857346}), randomKey(t)), "tokenInvalid", ""},
		{"future generation, real signature", resign(t, real, withClaims(claims, map[string]any{"gen": 857346})), "tokenInvalid", ""},
		{"extended time caveat, real signature",
			resign(t, real, withClaims(claims, map[string]any{"cav": []any{map[string]any{"type": "time", "validUntil": now + 3000}}})),
			"tokenInvalid", ""},
		{"subject changed to bob, real signature", resign(t, real, withClaims(claims, map[string]any{"sub": "bob"})), "tokenInvalid", ""},
		// Forged tokens are invalid whatever their subject's state: no
		// answer tells a forger whether a user exists (issue 14).
		{"unknown subject", signHS256(t, withClaims(claims, map[string]any{"sub": "mallory"}), randomKey(t)), "tokenInvalid", ""},
		{"forged, tag removed", signHS256(t, withClaims(claims, map[string]any{"sub": "mallory", "aut": ""}), randomKey(t)), "tokenInvalid", ""},
		{"from another instance", other.mintTemporary(t, other.site(0), "alice", alicePassword, 600), "tokenInvalid", ""},
		{"ip caveat not matching", c.mintWith(t, base, "alice", alicePassword,
			caveats(timeCav, map[string]any{"type": "ip", "whitelist": []string{"10.1.2.3", "192.168.0.0/16"}})),
			"tokenCaveatUnverified", `{"type":"ip","whitelist":["10.1.2.3","192.168.0.0/16"]}`},
		{"interface caveat oneclient", c.mintWith(t, base, "alice", alicePassword,
			caveats(timeCav, map[string]any{"type": "interface", "interface": "oneclient"})),
			"tokenCaveatUnverified", `{"type":"interface","interface":"oneclient"}`},
		{"identity token", c.mintWith(t, base, "alice", alicePassword, map[string]any{
			"type": map[string]any{"identityToken": map[string]any{}}, "caveats": []any{timeCav}}),
			"notAnAccessToken", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, h := range []hdr{{"X-Auth-Token": tc.token}, {"Authorization": "Bearer " + tc.token}} {
				r := c.do(t, http.MethodGet, base+"/app", h, nil)
				wantRefused(t, r, tc.want)
				if wa := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge", wa)
				}
				if tc.caveat != "" {
					a, _ := errorDetails(r.JSON)["authError"].(map[string]any)
					d, _ := a["details"].(map[string]any)
					if !jsonEqual(t, d["caveat"], tc.caveat) {
						t.Errorf("authError.details.caveat = %v, want %s", d["caveat"], tc.caveat)
					}
				}
			}
		})
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d refused requests, want 0", n)
	}

	// Without trusted_proxies, forwarding headers do not change the client
	// address an ip caveat is checked against.
	t.Run("ip caveat with spoofed forwarding headers", func(t *testing.T) {
		tok := c.mintWith(t, base, "alice", alicePassword,
			caveats(timeCav, map[string]any{"type": "ip", "whitelist": []string{"10.1.2.3"}}))
		r := c.do(t, http.MethodGet, base+"/app", hdr{
			"X-Auth-Token":    tok,
			"X-Forwarded-For": "10.1.2.3",
			"X-Real-IP":       "10.1.2.3",
			"Forwarded":       "for=10.1.2.3",
		}, nil)
		wantRefused(t, r, "tokenCaveatUnverified")
	})

	// The genuine token and tokens whose caveats hold do pass.
	for name, tok := range map[string]string{
		"genuine": real,
		"ip caveat 127.0.0.1": c.mintWith(t, base, "alice", alicePassword,
			caveats(timeCav, map[string]any{"type": "ip", "whitelist": []string{"127.0.0.1"}})),
		"ip caveat 127.0.0.0/8": c.mintWith(t, base, "alice", alicePassword,
			caveats(timeCav, map[string]any{"type": "ip", "whitelist": []string{"10.0.0.0/8", "127.0.0.0/8"}})),
		"interface caveat rest": c.mintWith(t, base, "alice", alicePassword,
			caveats(timeCav, map[string]any{"type": "interface", "interface": "rest"})),
	} {
		s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/ok", hdr{"X-Auth-Token": tok}, nil))
		if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
			t.Errorf("%s: upstream saw user id %q", name, id)
		}
	}
}

func jsonNum(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// aliceOnlySite is gatedSite without bob. (What a reload to it does to
// bob is TestReloadOrphansRemovedUser's.)
var aliceOnlySite = gatedSite.withUsers(aliceUser)

// A token verified once and cached is still refused once its time caveat
// passes.
func TestGateCachedTokenExpires(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	until := time.Now().Unix() + 2
	tok := c.mintWith(t, base, "alice", alicePassword, map[string]any{
		"caveats": []any{map[string]any{"type": "time", "validUntil": until}},
	})
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))
	var last *response
	eventually(t, 6*time.Second, "the cached token to expire", func() bool {
		sent := time.Now()
		last = c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil)
		if last.Status == http.StatusOK && sent.Unix() >= until {
			t.Fatalf("token with validUntil %d accepted in a request sent at %s", until, sent)
		}
		return last.Status != http.StatusOK
	})
	wantRefused(t, last, "tokenCaveatUnverified")
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil), "tokenCaveatUnverified")
	r := c.do(t, http.MethodPost, base+verifyPath, nil, map[string]any{"token": tok})
	wantError(t, r, http.StatusBadRequest, "tokenCaveatUnverified")
}

// identitySite declares carol, who has no name, e-mail or role, and a
// second site that forwards the token.
var identitySite = caddyfile{
	Users: []string{aliceUser, bobUser, "user carol {\n\tpassword {{.AliceHash}}\n}"},
	Sites: []site{{}, {Gate: []string{"forward_token"}}},
}

func TestGateIdentityHeaders(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, identitySite)
	aliceTok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	carolTok := c.mintTemporary(t, c.site(0), "carol", alicePassword, 600)

	spoofed := hdr{
		"X-Auth-User-Id":     "mallory",
		"x-auth-user-role":   "admin",
		"X_Auth_User_Id":     "mallory",
		"X-AUTH-USER-EMAIL":  "m@evil",
		"x_auth_user_name":   "Mallory",
		"X-Auth-User-Name_":  "Mallory",
		"X_AUTH_USER_ROLE":   "admin",
		"x-Auth_User-Email":  "m@evil",
		"X-Auth-User-Groups": "admins",
	}
	evil := []string{"mallory", "admin", "m@evil", "Mallory", "admins"}

	for _, tc := range []struct {
		user string
		tok  string
		want map[string]string // canonical header → value; absent: must not reach
	}{
		{"alice", aliceTok, map[string]string{
			"X-Auth-User-Id": "alice", "X-Auth-User-Email": "alice@example.com",
			"X-Auth-User-Name": "Alice Example", "X-Auth-User-Role": "Editor",
		}},
		{"carol", carolTok, map[string]string{"X-Auth-User-Id": "carol"}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			h := maps.Clone(spoofed)
			h["X-Auth-Token"] = tc.tok
			s := upstreamSaw(t, c.do(t, http.MethodGet, c.site(0)+"/x", h, nil))
			for k, vals := range s.Headers {
				n := normHeader(k)
				for _, v := range vals {
					for _, e := range evil {
						if v == e {
							t.Errorf("spoofed value reached the upstream: %s: %q", k, v)
						}
					}
				}
				if !strings.HasPrefix(n, "x-auth-user") {
					continue
				}
				want, ok := tc.want[http.CanonicalHeaderKey(n)]
				if !ok || k != http.CanonicalHeaderKey(n) || len(vals) != 1 || vals[0] != want {
					t.Errorf("upstream saw %s: %q; want only the verified identity %v", k, vals, tc.want)
				}
			}
			for name, want := range tc.want {
				if got, _ := s.header(name); len(got) != 1 || got[0] != want {
					t.Errorf("upstream saw %s = %q, want %q", name, got, want)
				}
			}
		})
	}

	t.Run("token not forwarded by default", func(t *testing.T) {
		for _, h := range []hdr{{"X-Auth-Token": aliceTok}, {"Authorization": "Bearer " + aliceTok}} {
			s := upstreamSaw(t, c.do(t, http.MethodGet, c.site(0)+"/x", h, nil))
			for k, vals := range s.Headers {
				for _, v := range vals {
					if strings.Contains(v, aliceTok) {
						t.Errorf("token reached the upstream in %s", k)
					}
				}
			}
		}
	})
	t.Run("forward_token", func(t *testing.T) {
		s := upstreamSaw(t, c.do(t, http.MethodGet, c.site(1)+"/x", hdr{"X-Auth-Token": aliceTok}, nil))
		if got, _ := s.header("X-Auth-Token"); len(got) != 1 || got[0] != aliceTok {
			t.Errorf("with forward_token, upstream saw X-Auth-Token %q, want the token", got)
		}
		s = upstreamSaw(t, c.do(t, http.MethodGet, c.site(1)+"/x", hdr{"Authorization": "Bearer " + aliceTok}, nil))
		if got, _ := s.header("Authorization"); len(got) != 1 || got[0] != "Bearer "+aliceTok {
			t.Errorf("with forward_token, upstream saw Authorization %q, want the bearer token", got)
		}
	})
}

// Request trailers are fields too: Caddy's reverse_proxy forwards the
// ones the client declared, so a spoofed identity must not arrive that
// way either.
func TestGateIdentityTrailers(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, gatedSite)
	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	raw := "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: " + tok + "\r\n" +
		"Transfer-Encoding: chunked\r\nTrailer: X-Auth-User-Id, X_Auth_User_Role\r\nConnection: close\r\n\r\n" +
		"3\r\nabc\r\n0\r\nX-Auth-User-Id: mallory\r\nX_Auth_User_Role: admin\r\n\r\n"
	r := rawRequest(t, c.site(0), raw)
	s := upstreamSaw(t, r)
	if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
		t.Errorf("upstream saw user id %q, want alice", id)
	}
	for k, v := range s.Trailers {
		if strings.HasPrefix(normHeader(k), "x-auth-user") {
			t.Errorf("spoofed identity reached the upstream as a trailer: %s: %q", k, v)
		}
	}
}

// A client must not be able to remove the verified identity either:
// Caddy's reverse_proxy deletes every header the request's Connection
// header names (hop-by-hop), after the gate has set them.
func TestGateIdentityHeadersSurviveConnectionHeader(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, gatedSite)
	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	want := map[string]string{
		"X-Auth-User-Id": "alice", "X-Auth-User-Email": "alice@example.com",
		"X-Auth-User-Name": "Alice Example", "X-Auth-User-Role": "Editor",
	}
	for _, conn := range []string{
		"X-Auth-User-Id",
		"keep-alive, x-auth-user-role",
		"X-Auth-User-Id, X-Auth-User-Email, X-Auth-User-Name, X-Auth-User-Role",
	} {
		t.Run(conn, func(t *testing.T) {
			s := upstreamSaw(t, c.do(t, http.MethodGet, c.site(0)+"/x", hdr{"X-Auth-Token": tok, "Connection": conn}, nil))
			for name, v := range want {
				if got, _ := s.header(name); len(got) != 1 || got[0] != v {
					t.Errorf("Connection: %s; upstream saw %s = %q, want %q", conn, name, got, v)
				}
			}
		})
	}
}

// rawRequest writes raw to the site and reads one response.
func rawRequest(t *testing.T, base, raw string) *response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		r.JSON = m
	}
	return r
}

// querySite takes tokens from the access_token query parameter; site 1
// forwards the token.
var querySite = caddyfile{Sites: []site{
	{Gate: []string{"token_source query access_token"}},
	{Gate: []string{"token_source query access_token", "forward_token"}},
}}

func TestQueryTokenSource(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, querySite)
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)

	s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/x?access_token="+url.QueryEscape(tok)+"&a=1", nil, nil))
	if s.RawQuery != "a=1" || s.Path != "/x" {
		t.Errorf("upstream saw %s?%s, want /x?a=1", s.Path, s.RawQuery)
	}
	if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
		t.Errorf("upstream saw user id %q", id)
	}
	s = upstreamSaw(t, c.do(t, http.MethodGet, base+"/x?access_token="+tok, nil, nil))
	if s.RawQuery != "" {
		t.Errorf("upstream saw query %q, want none", s.RawQuery)
	}
	// A query token goes even with forward_token: URIs end up in logs.
	s = upstreamSaw(t, c.do(t, http.MethodGet, c.site(1)+"/x?a=1&access_token="+tok, nil, nil))
	if s.RawQuery != "a=1" {
		t.Errorf("with forward_token, upstream saw query %q, want a=1", s.RawQuery)
	}

	// Only the configured source counts.
	hits := c.up.hits.Load()
	wantError(t, c.do(t, http.MethodGet, base+"/x?a=1", hdr{"X-Auth-Token": tok}, nil), http.StatusUnauthorized, "unauthorized")
	wantError(t, c.do(t, http.MethodGet, base+"/x?a=1", hdr{"Authorization": "Bearer " + tok}, nil), http.StatusUnauthorized, "unauthorized")
	wantError(t, c.do(t, http.MethodGet, base+"/x?my_access_token="+tok, nil, nil), http.StatusUnauthorized, "unauthorized")
	wantRefused(t, c.do(t, http.MethodGet, base+"/x?access_token=garbage&a=1", nil, nil), "badToken")
	if n := c.up.hits.Load(); n != hits {
		t.Errorf("upstream saw %d refused requests", n-hits)
	}
}

// The gate must take its parameter out of the query and leave the rest
// as the client sent it: order, encoding, valueless keys and pairs Go's
// url.ParseQuery refuses (such as ones with ';') all matter to some apps
// (signed URLs, for one).
func TestQueryTokenSourceKeepsOtherParameters(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, querySite)
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	for _, tc := range []struct{ query, want string }{
		{"z=9&access_token=TOK&a=1", "z=9&a=1"},
		{"access_token=TOK&b=x%20y", "b=x%20y"},
		{"flag&access_token=TOK", "flag"},
		{"a=1;b=2&access_token=TOK", "a=1;b=2"},
		{"a=1&a=0&access_token=TOK&a=2", "a=1&a=0&a=2"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/x?"+strings.ReplaceAll(tc.query, "TOK", tok), nil, nil))
			if s.RawQuery != tc.want {
				t.Errorf("client sent ?%s; upstream saw ?%s, want ?%s", tc.query, s.RawQuery, tc.want)
			}
		})
	}
}

func TestCookieTokenSource(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, caddyfile{Sites: []site{{Gate: []string{"token_source cookie tg_token"}}}})
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)

	s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"Cookie": "a=1; tg_token=" + tok + "; b=2"}, nil))
	if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
		t.Errorf("upstream saw user id %q", id)
	}
	cookies, _ := s.header("Cookie")
	joined := strings.Join(cookies, "; ")
	if strings.Contains(joined, tok) || !strings.Contains(joined, "a=1") || !strings.Contains(joined, "b=2") {
		t.Errorf("upstream saw Cookie %q, want a=1 and b=2 without the token", cookies)
	}

	hits := c.up.hits.Load()
	wantError(t, c.do(t, http.MethodGet, base+"/x", hdr{"Cookie": "a=1"}, nil), http.StatusUnauthorized, "unauthorized")
	wantError(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil), http.StatusUnauthorized, "unauthorized")
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"Cookie": "tg_token=garbage"}, nil), "badToken")
	if n := c.up.hits.Load(); n != hits {
		t.Errorf("upstream saw %d refused requests", n-hits)
	}
}

func TestHandleErrorsOption(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, caddyfile{Sites: []site{{
		Gate: []string{"handle_errors"},
		Body: []string{proxyToUpstream, "handle_errors {\n\trespond \"custom {err.status_code}\"\n}"},
	}}})
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	revoked := c.mintTemporary(t, base, "bob", bobPassword, 600)
	if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("bob", bobPassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking bob: %s", r)
	}

	for name, h := range map[string]hdr{
		"no token": nil,
		"garbage":  {"X-Auth-Token": "garbage"},
		"revoked":  {"X-Auth-Token": revoked},
	} {
		r := c.do(t, http.MethodGet, base+"/x", h, nil)
		if r.Status != http.StatusUnauthorized || string(r.Body) != "custom 401" {
			t.Errorf("%s: got %s, want 401 from handle_errors (\"custom 401\")", name, r)
		}
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d refused requests", n)
	}
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))

	// The token endpoints still answer in Onezone's envelope.
	r := c.do(t, http.MethodPost, base+verifyPath, nil, map[string]any{"token": "garbage"})
	wantError(t, r, http.StatusBadRequest, "badValueToken")
}

func TestGateCoversHandleBlocks(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, caddyfile{Sites: []site{{Body: []string{
		"handle /app/* {\n\treverse_proxy {{.Upstream}}\n}",
		"handle {\n\trespond \"fallback\" 200\n}",
	}}}})
	base := c.site(0)
	for _, p := range []string{"/app/x", "/other"} {
		wantError(t, c.do(t, http.MethodGet, base+p, nil, nil), http.StatusUnauthorized, "unauthorized")
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests without a token", n)
	}
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/app/x", hdr{"X-Auth-Token": tok}, nil))
	if s.Path != "/app/x" {
		t.Errorf("upstream saw path %q", s.Path)
	}
	if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
		t.Errorf("upstream saw user id %q", id)
	}
	if r := c.do(t, http.MethodGet, base+"/other", hdr{"X-Auth-Token": tok}, nil); r.Status != 200 || string(r.Body) != "fallback" {
		t.Errorf("/other with a token: got %s, want 200 fallback", r)
	}
}

func TestIdentityPlaceholders(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, caddyfile{Sites: []site{{Body: []string{`handle /whoami {
	respond "{http.auth.user.id}|{http.auth.user.email}|{http.auth.user.name}|{http.auth.user.role}"
}`, `handle {
	reverse_proxy {{.Upstream}} {
		header_up X-App-User {http.auth.user.id}
	}
}`}}}})
	base := c.site(0)
	tok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	r := c.do(t, http.MethodGet, base+"/whoami", hdr{"X-Auth-Token": tok, "X-Auth-User-Id": "mallory"}, nil)
	if want := "bob|bob@example.com|Bob Builder|Viewer"; r.Status != 200 || string(r.Body) != want {
		t.Errorf("placeholders: got %s, want 200 %s", r, want)
	}
	s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok, "X-App-User": "mallory"}, nil))
	if got, _ := s.header("X-App-User"); len(got) != 1 || got[0] != "bob" {
		t.Errorf("header_up from {http.auth.user.id}: upstream saw %q, want bob", got)
	}
}

// Once DELETE has answered 204, no request sent afterwards passes with a
// token of the old generation, however hot the cache is.
func TestRevocationIsImmediateUnderLoad(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/warm", hdr{"X-Auth-Token": tok}, nil))

	type result struct {
		sent   time.Time
		status int
	}
	const workers = 4
	var (
		results = make(chan result, 1<<16)
		stop    = make(chan struct{})
		done    = make(chan struct{})
		// When DELETE answered, and how many requests were sent since.
		revokedAt atomic.Pointer[time.Time]
		sentAfter atomic.Int64
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, base+"/load", nil)
				req.Header.Set("X-Auth-Token", tok)
				sent := time.Now()
				if a := revokedAt.Load(); a != nil && sent.After(*a) {
					sentAfter.Add(1)
				}
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				results <- result{sent, resp.StatusCode}
			}
		}()
	}
	// Let the load run with the token accepted, then revoke mid-load.
	eventually(t, 5*time.Second, "accepted requests under load", func() bool { return c.up.hits.Load() > 50 })
	r := c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil)
	answered := time.Now()
	revokedAt.Store(&answered)
	if r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %s", r)
	}
	eventually(t, 5*time.Second, "refused requests after the revocation", func() bool {
		return c.do(t, http.MethodGet, base+"/probe", hdr{"X-Auth-Token": tok}, nil).Status == http.StatusUnauthorized
	})
	// Keep the load on until plenty of requests were sent after the 204.
	eventually(t, 5*time.Second, "load after the revocation", func() bool { return sentAfter.Load() >= 100 })
	close(stop)
	for range workers {
		<-done
	}
	close(results)
	var accepted, refused, late int
	for res := range results {
		switch {
		case res.status == http.StatusOK && res.sent.After(answered):
			late++
		case res.status == http.StatusOK:
			accepted++
		case res.status == http.StatusUnauthorized:
			refused++
		}
	}
	t.Logf("%d accepted before the 204, %d refused, %d accepted after it", accepted, refused, late)
	if late > 0 {
		t.Errorf("%d requests sent after DELETE answered 204 passed with the revoked token", late)
	}
	if refused == 0 {
		t.Error("no request was refused after the revocation: the load did not overlap it")
	}
}

// With trusted_proxies, the client address Caddy derives from
// X-Forwarded-For is the one ip caveats are checked against.
func TestIPCaveatBehindTrustedProxy(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, caddyfile{Global: []string{trustLoopbackProxy}})
	base := c.site(0)
	tok := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": []any{
		map[string]any{"type": "time", "validUntil": time.Now().Unix() + 600},
		map[string]any{"type": "ip", "whitelist": []string{"10.1.2.0/24"}},
	}})
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok, "X-Forwarded-For": "10.1.2.3"}, nil))
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok, "X-Forwarded-For": "10.9.9.9"}, nil), "tokenCaveatUnverified")
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil), "tokenCaveatUnverified")
	// The token endpoints use the same address.
	r := c.do(t, http.MethodGet, base+tempPath, hdr{"X-Auth-Token": tok, "X-Forwarded-For": "10.1.2.3"}, nil)
	if !jsonEqual(t, r.JSON, `{"generation":1}`) {
		t.Errorf("GET generation through the trusted proxy: %s", r)
	}
}

// Onezone's deprecated macaroon header is a default token source, after
// x-auth-token and Bearer (seed-apis.md §1.1; oz-worker token_auth.erl):
// the endpoints and the gate take it, and it does not reach the upstream.
func TestMacaroonHeader(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	if r := c.do(t, http.MethodGet, base+tempPath, hdr{"Macaroon": tok}, nil); r.Status != http.StatusOK || !jsonEqual(t, r.JSON, `{"generation":1}`) {
		t.Fatalf("generation with a macaroon header: %s", r)
	}
	s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/app", hdr{"macaroon": tok}, nil))
	if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
		t.Errorf("upstream saw user id %q, want alice", id)
	}
	if m, _ := s.header("Macaroon"); len(m) != 0 {
		t.Errorf("the macaroon header reached the upstream: %q", m)
	}
}
