package integration

// Issue 15 through a real Caddy: sessions that no longer exist answer
// Onezone's tokenSessionInvalid, and blocking a user destroys its sessions
// while its tokens come back with the unblock.

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// sessionInvalidJSON is ctool's errors:to_json(?ERROR_TOKEN_SESSION_INVALID).
const sessionInvalidJSON = `{"id":"tokenSessionInvalid","description":"This token is bound to a session different than presented by the client or no longer existent."}`

// wantSessionInvalid checks the answer to an ended session's cookie on
// the Onezone API: 401 unauthorized, authError exactly Onezone's.
func wantSessionInvalid(t *testing.T, r *response) {
	t.Helper()
	want := `{"error":{"id":"unauthorized","description":"Provided authentication is not valid (see details).","details":{"authError":` + sessionInvalidJSON + `}}}`
	if r.Status != http.StatusUnauthorized || !jsonEqual(t, r.JSON, want) {
		t.Errorf("got %s, want 401 %s", r, want)
	}
}

// TestBlockDestroysSessions: after a block and an unblock, the user's
// named and temporary tokens work again (oz-worker's
// test_distributed/access_and_identity_tokens_test_SUITE.erl,
// check_user_blocking), but the session it had is gone: its cookie answers
// tokenSessionInvalid at the gate and on the Onezone API. A new sign-in
// works.
func TestBlockDestroysSessions(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, pagesSite)
	base := c.site(0)
	cookie := c.signInHTTP(t, "alice", alicePassword)
	temp := c.mintTemporary(t, base, "alice", alicePassword, 600)
	r := c.do(t, http.MethodPost, base+namedAPI, hdr{"X-Auth-Token": temp}, map[string]any{"name": "ci"})
	named, _ := r.JSON["token"].(string)
	if r.Status != http.StatusCreated || named == "" {
		t.Fatalf("creating a named token: %s", r)
	}
	// In use, hence cached, before the block.
	wantGateUser(t, c.do(t, http.MethodGet, base+"/app", cookie, nil), "alice")
	if r := c.do(t, http.MethodGet, base+tempPath, cookie, nil); r.Status != http.StatusOK {
		t.Fatalf("Onezone API by the session cookie: %s", r)
	}
	c.gateAs(t, temp, "alice")
	c.gateAs(t, named, "alice")

	c.adminWant(t, http.MethodPost, "/tokengate/users/alice/block", nil, http.StatusOK)
	wantRefused(t, c.do(t, http.MethodGet, base+"/app", cookie, nil), "userBlocked")
	wantRefused(t, c.gate(t, temp), "userBlocked")
	wantRefused(t, c.gate(t, named), "userBlocked")

	c.adminWant(t, http.MethodPost, "/tokengate/users/alice/unblock", nil, http.StatusOK)
	wantRefused(t, c.do(t, http.MethodGet, base+"/app", cookie, nil), "tokenSessionInvalid")
	wantSessionInvalid(t, c.do(t, http.MethodGet, base+tempPath, cookie, nil))
	c.gateAs(t, temp, "alice")
	c.gateAs(t, named, "alice")
	// The account page sends the dead session to sign in, as before.
	if r := c.do(t, http.MethodGet, base+"/account", cookie, nil); r.Status != http.StatusSeeOther ||
		!strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("account page with the dead session: got %s to %q, want 303 to the sign-in page", r, r.Header.Get("Location"))
	}

	again := c.signInHTTP(t, "alice", alicePassword)
	wantGateUser(t, c.do(t, http.MethodGet, base+"/app", again, nil), "alice")
}

// TestLoggedOutSession: a logged-out session's cookie is tokenSessionInvalid
// at the gate and on the Onezone API, and its token, given to
// verify_access_token, the bare error (oz-worker's
// test_distributed/gui_tokens_test_SUITE.erl,
// gui_tokens_are_invalidated_upon_logout). The user's other session lives
// on.
func TestLoggedOutSession(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, pagesSite)
	base := c.site(0)
	cookie := c.signInHTTP(t, "alice", alicePassword)
	other := c.signInHTTP(t, "alice", alicePassword)
	wantGateUser(t, c.do(t, http.MethodGet, base+"/app", cookie, nil), "alice")

	if r := c.do(t, http.MethodPost, base+"/logout", cookie, nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: got %s, want 204", r)
	}
	wantRefused(t, c.do(t, http.MethodGet, base+"/app", cookie, nil), "tokenSessionInvalid")
	wantSessionInvalid(t, c.do(t, http.MethodGet, base+tempPath, cookie, nil))
	_, raw, _ := strings.Cut(cookie["Cookie"], "=")
	r := c.do(t, http.MethodPost, base+verifyPath, nil, map[string]any{"token": raw})
	if r.Status != http.StatusBadRequest || !jsonEqual(t, r.JSON, `{"error":`+sessionInvalidJSON+`}`) {
		t.Errorf("verify_access_token with the ended session's token: got %s, want 400 tokenSessionInvalid", r)
	}
	wantGateUser(t, c.do(t, http.MethodGet, base+"/app", other, nil), "alice")
}

// TestInstancesBlockEndsSessions: two instances on one Redis, a session
// in use (cached) on both. Blocked on A, B refuses it within the
// propagation deadline; unblocked, B never passes it again but answers
// tokenSessionInvalid, while the user's temporary token passes again.
func TestInstancesBlockEndsSessions(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]

	sess := a.handoffLogin(t, a.site(0), "alice", alicePassword, defaultSessionCk, defaultSessionTTL)
	temp := b.mintTemporary(t, b.site(0), "alice", alicePassword, 600)
	onB := func() *response {
		return b.do(t, http.MethodGet, b.site(0)+"/app", cookieHdr(defaultSessionCk, sess), nil)
	}
	for range 2 {
		wantGateUser(t, a.do(t, http.MethodGet, a.site(0)+"/app", cookieHdr(defaultSessionCk, sess), nil), "alice")
		wantGateUser(t, onB(), "alice")
	}

	a.adminWant(t, http.MethodPost, "/tokengate/users/alice/block", nil, http.StatusOK)
	blocked := time.Now()
	d := untilRefused(t, "B with the session of a user A blocked", blocked, propagationDeadline, 5*time.Millisecond,
		onB, refusedAs("userBlocked"))
	t.Logf("block on A refused on B after %s", d)

	a.adminWant(t, http.MethodPost, "/tokengate/users/alice/unblock", nil, http.StatusOK)
	eventually(t, propagationDeadline, "B to answer tokenSessionInvalid", func() bool {
		r := onB()
		switch {
		case refusedAs("tokenSessionInvalid")(r):
			return true
		case !refusedAs("userBlocked")(r):
			t.Fatalf("B with the session after the unblock: %s, want userBlocked until it hears, then tokenSessionInvalid", r)
		}
		return false
	})
	wantRefused(t, a.do(t, http.MethodGet, a.site(0)+"/app", cookieHdr(defaultSessionCk, sess), nil), "tokenSessionInvalid")
	untilPasses(t, propagationDeadline, "B to pass the unblocked user's temporary token",
		func() *response { return b.gate(t, temp) }, refusedAs("userBlocked"))
}
