package integration

// Issue 14, findings 3 and 5, through a real Caddy: forged tokens learn
// nothing of their subject and are throttled per client; other sites'
// pages can neither use up their visitors' budget nor log them out.

import (
	"net/http"
	"strconv"
	"testing"
)

// Forged tokens are "tokenInvalid" whatever their subject's state;
// genuine ones still say "tokenRevoked" and "userBlocked"; a client that
// keeps sending forgeries is refused with 429 before they are checked.
func TestNoOracleForForgedTokens(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, bruteSite)
	base := c.site(0)
	genuine := c.mintTemporary(t, base, "alice", alicePassword, 600)
	claims := jwtClaims(t, genuine)
	bobs := c.mintTemporary(t, base, "bob", bobPassword, 600)
	c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil)
	c.adminWant(t, http.MethodPost, "/tokengate/users/bob/block", nil, http.StatusOK)
	gate := func(ip, tok string) *response {
		return c.do(t, http.MethodGet, base+"/app", fromIP(ip, hdr{"X-Auth-Token": tok}), nil)
	}
	for _, tc := range []struct {
		name, tok, want string
	}{
		{"forged, unknown user", signHS256(t, withClaims(claims, map[string]any{"sub": "nobody"}), randomKey(t)), "tokenInvalid"},
		{"forged, existing user", signHS256(t, withClaims(claims, map[string]any{"gen": 2}), randomKey(t)), "tokenInvalid"},
		{"forged, revoked generation", signHS256(t, withClaims(claims, map[string]any{"jti": "forged"}), randomKey(t)), "tokenInvalid"},
		{"forged, blocked user", signHS256(t, withClaims(claims, map[string]any{"sub": "bob"}), randomKey(t)), "tokenInvalid"},
		{"genuine, revoked generation", genuine, "tokenRevoked"},
		{"genuine, blocked user", bobs, "userBlocked"},
	} {
		r := gate("198.51.100.60", tc.tok)
		if tc.want == "userBlocked" {
			if r.Status != http.StatusForbidden && r.Status != http.StatusUnauthorized || authErrorID(r.JSON) != "userBlocked" && errorID(r.JSON) != "userBlocked" {
				t.Errorf("%s: %s, want userBlocked", tc.name, r)
			}
			continue
		}
		wantRefused(t, r, tc.want)
	}
	// 100 failed token checks per window per client (failure_budget ×
	// 10); the four forgeries above counted.
	forged := signHS256(t, withClaims(claims, map[string]any{"sub": "nobody"}), randomKey(t))
	for i := 4; i < 100; i++ {
		if r := gate("198.51.100.60", forged+strconv.Itoa(i%10)); r.Status != http.StatusUnauthorized {
			t.Fatalf("forgery %d: %s", i, r)
		}
	}
	if r := gate("198.51.100.60", forged); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("past the token budget: %s, want 429 with Retry-After", r)
	}
	wantRefused(t, gate("198.51.100.61", forged), "tokenInvalid")
}

// A page on another site that makes its visitors' browsers fetch the
// reset-token endpoint with bad tokens (an <img> per guess) costs the
// visitor nothing: the budget its address shares with its password
// logins stays whole. The same requests sent directly still count. (That
// such requests leave the visitor's session alone is tested at the
// package, api/unleash TestOtherSitesCostNothing.)
func TestOtherSitesCostVisitorsNothing(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, bruteSite)
	base := c.site(0)
	const visitor = "198.51.100.70"
	for i := range 2 * bruteBudget {
		h := fromIP(visitor, hdr{"Sec-Fetch-Site": "cross-site", "Referer": "http://evil.test/"})
		if r := c.do(t, http.MethodGet, base+validatePath+"?token=guess-"+strconv.Itoa(i), h, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("cross-site guess %d: %s", i, r)
		}
	}
	onezoneLogin.refused(t, onezoneLogin.attempt(t, c, visitor, "alice", "wrong"))
	if r := onezoneLogin.attempt(t, c, visitor, "alice", alicePassword); r.Status != onezoneLogin.ok {
		t.Fatalf("the visitor's login after a page's guesses: %s", r)
	}
	for i := range bruteBudget {
		c.do(t, http.MethodGet, base+validatePath+"?token=direct-"+strconv.Itoa(i), fromIP(visitor, nil), nil)
	}
	onezoneLogin.banned(t, onezoneLogin.attempt(t, c, visitor, "alice", alicePassword))
}
