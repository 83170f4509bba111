package integration

// Several Caddy instances on one Redis (`store redis`): what one instance
// changes, the others enforce, within bounds, and a Redis that fails
// makes the gate fail closed.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// namedTokensPath is Onezone's collection of the caller's named tokens.
const namedTokensPath = "/api/v3/onezone/user/tokens/named"

// propagationDeadline bounds how long a change made on one instance may
// take to be enforced by another whose subscription is healthy.
const propagationDeadline = 2 * time.Second

// A shared store without an explicit key would let every instance
// generate its own server key, so that tokens work only where they were
// minted: Caddy must refuse to start, before touching the store.
func TestSharedStoreRequiresKey(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	noKey := slices.DeleteFunc(slices.Clone(cfg.App), func(o string) bool { return o == "key {env.TOKENGATE_KEY}" })
	if len(noKey) != len(cfg.App)-1 {
		t.Fatal("sharedSite no longer sets the key")
	}
	cfg.App = noKey

	c := prepareCaddy(t, cfg)
	for attempt := 0; ; attempt++ {
		c.writeConfig(cfg)
		if err := c.spawn("run", "--config", c.cfgPath, "--adapter", "caddyfile"); err != nil {
			t.Fatal(err)
		}
		// waitReady returns nil once a config is loaded, an error once the
		// process has exited or after startTimeout.
		if err := c.waitReady(0); err == nil {
			t.Fatalf("caddy started with a shared store and no key:\n%s", c.logs())
		}
		select {
		case <-c.done:
		default:
			c.kill()
			t.Fatalf("caddy run with a shared store and no key still running after %s:\n%s", startTimeout, c.logs())
		}
		// A port picked as free may have been taken meanwhile: retry.
		if attempt == 2 || !strings.Contains(c.logs(), "address already in use") {
			break
		}
		if err := os.Remove(c.logPath); err != nil {
			t.Fatal(err)
		}
		c.pickPorts()
	}
	out := c.logs()
	if c.exitErr() == nil {
		t.Errorf("caddy run exited 0:\n%s", out)
	}
	// The error Caddy exits with (its last error-level log entry, or an
	// "Error:" line) names the key.
	var errLine string
	for _, l := range strings.Split(out, "\n") {
		var entry struct{ Level, Msg string }
		if json.Unmarshal([]byte(l), &entry) == nil && entry.Level == "error" {
			errLine = entry.Msg
		} else if strings.HasPrefix(l, "Error:") {
			errLine = l
		}
	}
	if !regexp.MustCompile(`\bkey\b`).MatchString(errLine) || !strings.Contains(errLine, "tokengate") {
		t.Errorf("exit error %q does not mention key; output:\n%s", errLine, out)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "tokengate", "server.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a server key was generated for a shared store (stat: %v)", err)
	}
	if n := rs.must("DBSIZE"); n != int64(0) {
		t.Errorf("the refused config wrote %v keys to the shared store, want 0", n)
	}
}

// A temporary token minted on A passes on B; once A has revoked it, B
// refuses it within a bound, and never passes it again.
func TestInstancesShareTemporaryRevocation(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	fast := keepAlive(t)

	const runs = 20
	lat := make([]time.Duration, 0, runs)
	for i := range runs {
		tok := a.mintTemporary(t, a.site(0), "alice", alicePassword, 600)
		for range 2 { // the second request is served from B's cache
			s := upstreamSaw(t, b.gateVia(t, fast, tok))
			if got, _ := s.header("X-Auth-User-Id"); !slices.Equal(got, []string{"alice"}) {
				t.Fatalf("run %d: upstream behind B saw X-Auth-User-Id %q, want alice", i, got)
			}
		}
		r := a.do(t, http.MethodDelete, a.site(0)+tempPath, alice, nil)
		answered := time.Now()
		if r.Status != http.StatusNoContent {
			t.Fatalf("run %d: DELETE on A: got %s, want 204", i, r)
		}
		lat = append(lat, untilRefused(t, fmt.Sprintf("run %d: B with the token A revoked", i),
			answered, 3*time.Second, 0,
			func() *response { return b.gateVia(t, fast, tok) }, refusedAs("tokenRevoked")))
	}
	if r := b.do(t, http.MethodGet, b.site(0)+tempPath, alice, nil); !jsonEqual(t, r.JSON, `{"generation":`+strconv.Itoa(runs+1)+`}`) {
		t.Errorf("generation on B after %d revocations on A: %s", runs, r)
	}

	slices.Sort(lat)
	rank := func(p float64) time.Duration { return lat[int(math.Ceil(p*float64(len(lat))))-1] }
	p50, p99 := rank(0.50), rank(0.99)
	t.Logf("revocation on A to refusal on B (from A's 204 to B's first refusal), %d runs: p50 %s, p99 %s, min %s, max %s",
		len(lat), p50, p99, lat[0], lat[len(lat)-1])
	if p99 > 250*time.Millisecond {
		t.Errorf("p99 of the revocation propagation %s, want ≤ 250ms (p50 %s)", p99, p50)
	}

	// The metrics tell the same story: A made the revocations, B heard
	// them from Redis and measured their lag.
	rev := `tokengate_revocations_total{kind="temporary"}`
	if ma, mb := a.scrape(t), b.scrape(t); ma[rev] != runs || mb[rev] != 0 ||
		mb[`tokengate_invalidation_events_total{store="redis"}`] < runs || mb[`tokengate_invalidation_lag_seconds_count{store="redis"}`] < runs {
		t.Errorf("metrics: A %s %v, B %s %v, B invalidation events %v (lag samples %v); want %d, 0, ≥ %d",
			rev, ma[rev], rev, mb[rev], mb[`tokengate_invalidation_events_total{store="redis"}`],
			mb[`tokengate_invalidation_lag_seconds_count{store="redis"}`], runs, runs)
	}
}

// A named token created on A and revoked on B is refused by A, which had
// it cached.
func TestInstancesShareNamedRevocation(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	r := a.do(t, http.MethodPost, a.site(0)+namedTokensPath, alice, map[string]any{"name": "deploy"})
	id, _ := r.JSON["tokenId"].(string)
	tok, _ := r.JSON["token"].(string)
	if r.Status != http.StatusCreated || id == "" || tok == "" {
		t.Fatalf("creating a named token on A: %s", r)
	}
	a.gateAs(t, tok, "alice")
	a.gateAs(t, tok, "alice")
	b.gateAs(t, tok, "alice")

	r = b.do(t, http.MethodPatch, b.site(0)+namedTokensPath+"/"+id, alice, map[string]any{"revoked": true})
	revoked := time.Now()
	if r.Status != http.StatusNoContent {
		t.Fatalf("revoking on B: got %s, want 204", r)
	}
	wantRefused(t, b.gate(t, tok), "tokenRevoked")
	d := untilRefused(t, "A with the named token B revoked", revoked, propagationDeadline, 5*time.Millisecond,
		func() *response { return a.gate(t, tok) }, refusedAs("tokenRevoked"))
	t.Logf("named-token revocation on B refused on A after %s", d)
	if r := a.do(t, http.MethodGet, a.site(0)+namedTokensPath+"/"+id, alice, nil); r.Status != http.StatusOK || r.JSON["revoked"] != true {
		t.Errorf("the record as A reads it: %s, want revoked", r)
	}

	// Un-revoked on A, it passes on B again.
	if r := a.do(t, http.MethodPatch, a.site(0)+namedTokensPath+"/"+id, alice, map[string]any{"revoked": false}); r.Status != http.StatusNoContent {
		t.Fatalf("un-revoking on A: got %s, want 204", r)
	}
	untilPasses(t, propagationDeadline, "B to pass the un-revoked named token", func() *response { return b.gate(t, tok) }, refusedAs("tokenRevoked"))
}

// The brute-force budget is counted in the store: failures on A use up
// the client's budget on B too.
func TestInstancesShareFailureBudget(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil, "failure_budget 3 1m")
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	attempt := func(c *caddyProc, pw string) *response {
		return c.do(t, http.MethodGet, c.site(0)+tempPath, hdr{"Authorization": basic("alice", pw)}, nil)
	}
	for i := range 3 {
		wantRefused(t, attempt(a, "wrong-password-"+strconv.Itoa(i)), "badBasicCredentials")
	}
	wantBanned := func(what string, r *response) {
		t.Helper()
		ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != http.StatusTooManyRequests || errorID(r.JSON) != "tooManyRequests" || err != nil || ra < 1 || ra > 60 {
			t.Errorf("%s: got %s with Retry-After %q, want 429 tooManyRequests with Retry-After 1-60",
				what, r, r.Header.Get("Retry-After"))
		}
	}
	wantBanned("fourth bad password, on B", attempt(b, "wrong-password-3"))
	// Banned is banned: the right password from this client too, on both.
	wantBanned("right password on B", attempt(b, alicePassword))
	wantBanned("right password on A", attempt(a, alicePassword))
}

// A user created through A's admin API logs in on B; blocking it on B
// makes A refuse its tokens, and unblocking on A lets B pass them again.
func TestInstancesShareAdminUsers(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	const carolPW = "carol-pw-Lm42zT"

	a.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{
		"id": "carol", "name": "Carol", "password_hash": hash4(t, carolPW),
	}, http.StatusCreated)
	if u := decodeInto[adminUserJSON](t, b.adminWant(t, http.MethodGet, "/tokengate/users/carol", nil, http.StatusOK).Body); u.Name != "Carol" {
		t.Errorf("carol as B's admin API shows her: %+v", u)
	}
	tok := b.mintTemporary(t, b.site(0), "carol", carolPW, 600)
	a.gateAs(t, tok, "carol")
	b.gateAs(t, tok, "carol")

	b.adminWant(t, http.MethodPost, "/tokengate/users/carol/block", nil, http.StatusOK)
	blocked := time.Now()
	wantRefused(t, b.gate(t, tok), "userBlocked")
	d := untilRefused(t, "A with the token of a user B blocked", blocked, propagationDeadline, 5*time.Millisecond,
		func() *response { return a.gate(t, tok) }, refusedAs("userBlocked"))
	t.Logf("block on B refused on A after %s", d)
	wantRefused(t, a.do(t, http.MethodGet, a.site(0)+tempPath, hdr{"Authorization": basic("carol", carolPW)}, nil), "userBlocked")

	a.adminWant(t, http.MethodPost, "/tokengate/users/carol/unblock", nil, http.StatusOK)
	untilPasses(t, propagationDeadline, "B to pass the unblocked user's token", func() *response { return b.gate(t, tok) }, refusedAs("userBlocked"))
}

// A browser session started on one instance (with a handoff token made
// on the other) works on both; logging out on A ends it on B.
func TestInstancesShareSessions(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]

	h := a.newHandoff(t, a.site(0), hdr{"Authorization": basic("alice", alicePassword)})
	r := b.handoffUser(t, b.site(0), h.Token, nil)
	if r.Status != http.StatusOK || r.JSON["_id"] != "alice" {
		t.Fatalf("B resolving A's handoff token: got %s, want 200 with _id alice", r)
	}
	sess := wantSessionCookie(t, r, defaultSessionCk, defaultSessionTTL)
	for range 2 {
		wantGateUser(t, a.do(t, http.MethodGet, a.site(0)+"/app", cookieHdr(defaultSessionCk, sess), nil), "alice")
		wantGateUser(t, b.do(t, http.MethodGet, b.site(0)+"/app", cookieHdr(defaultSessionCk, sess), nil), "alice")
	}

	if r := a.do(t, http.MethodPost, a.site(0)+"/logout", cookieHdr(defaultSessionCk, sess), nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout on A: got %s, want 204", r)
	}
	ended := time.Now()
	wantRefused(t, a.do(t, http.MethodGet, a.site(0)+"/app", cookieHdr(defaultSessionCk, sess), nil), "tokenSessionInvalid")
	d := untilRefused(t, "B with the session ended on A", ended, propagationDeadline, 5*time.Millisecond,
		func() *response {
			return b.do(t, http.MethodGet, b.site(0)+"/app", cookieHdr(defaultSessionCk, sess), nil)
		},
		refusedAs("tokenSessionInvalid"))
	t.Logf("logout on A refused on B after %s", d)
}

// With Redis down, the gate fails closed: 503 for what it has not cached,
// and for what it has once max_staleness has passed. With Redis back, it
// recovers on its own.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	const maxStale = time.Second
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil, "max_staleness 1s")
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	fast := keepAlive(t)

	// B has never seen bob: his token comes from A.
	bobTok := a.mintTemporary(t, a.site(0), "bob", bobPassword, 600)
	// alice logs in on B and uses her token there: B has her cached.
	aliceTok := b.mintTemporary(t, b.site(0), "alice", alicePassword, 600)
	b.gateAs(t, aliceTok, "alice")
	b.gateAs(t, aliceTok, "alice")

	killed := time.Now()
	rs.kill()
	if r := b.gateVia(t, fast, bobTok); !isUnavailable(r) {
		t.Fatalf("B with an uncached user's token right after the kill: got %s, want 503 temporaryFailure", r)
	}
	// A password login fails closed too, not as bad credentials.
	if r := b.do(t, http.MethodPost, b.site(0)+tempPath, hdr{"Authorization": basic("alice", alicePassword)},
		map[string]any{"caveats": timeCaveats(600)}); !isUnavailable(r) {
		t.Errorf("Basic login on B during the outage: got %s, want 503 temporaryFailure", r)
	}
	d := untilRefused(t, "B with the cached token during the outage", killed, maxStale+1500*time.Millisecond, 20*time.Millisecond,
		func() *response {
			if r := b.gateVia(t, fast, bobTok); !isUnavailable(r) {
				t.Fatalf("B with an uncached user's token %s after the kill: got %s, want 503 temporaryFailure",
					time.Since(killed), r)
			}
			return b.gateVia(t, fast, aliceTok)
		}, isUnavailable)
	t.Logf("with Redis killed, B refused the cached token %s after the kill (max_staleness %s)", d, maxStale)

	rs.restart()
	restarted := time.Now()
	for _, p := range []struct {
		name string
		c    *caddyProc
		tok  string
	}{{"A, bob", a, bobTok}, {"A, alice", a, aliceTok}, {"B, bob", b, bobTok}, {"B, alice", b, aliceTok}} {
		untilPasses(t, 15*time.Second, p.name+" to pass again after Redis restarted", func() *response { return p.c.gateVia(t, fast, p.tok) }, isUnavailable)
	}
	t.Logf("both instances passed both tokens %s after Redis restarted", time.Since(restarted))
	// Both subscriptions come back, and events flow again.
	eventually(t, 5*time.Second, "both instances to resubscribe", func() bool { return len(rs.pubsubClients("default")) == 2 })
	b.gateAs(t, aliceTok, "alice") // cached again: only the event can make B refuse it
	b.gateAs(t, aliceTok, "alice")
	if r := a.do(t, http.MethodDelete, a.site(0)+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE on A after the restart: %s", r)
	}
	untilRefused(t, "B with a token A revoked after the restart", time.Now(), propagationDeadline, 5*time.Millisecond,
		func() *response { return b.gateVia(t, fast, aliceTok) }, refusedAs("tokenRevoked"))
}

// Redis with an append-only file fsynced on every write keeps what the
// instances wrote across a crash: users, generations, secrets.
func TestRedisRestartKeepsState(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	const davePW = "dave-pw-Rt93kW"
	daveTemp := "/tokengate/users/dave/tokens/temporary"

	a.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "dave", "password_hash": hash4(t, davePW)}, http.StatusCreated)
	old, _ := a.adminWant(t, http.MethodPost, daveTemp, nil, http.StatusCreated).JSON["token"].(string)
	a.gateAs(t, old, "dave")
	if r := a.adminWant(t, http.MethodDelete, daveTemp, nil, http.StatusOK); !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Fatalf("revoke: %s, want generation 2", r)
	}
	wantRefused(t, a.gate(t, old), "tokenRevoked")
	live := a.mintTemporary(t, a.site(0), "dave", davePW, 600)
	a.gateAs(t, live, "dave")

	rs.kill()
	rs.restart()

	// B has never read dave, so what it answers comes from the replayed
	// AOF. Its first requests may meet connections to the dead server.
	var r *response
	eventually(t, 15*time.Second, "B's admin API to read dave after the restart", func() bool {
		r = b.adminReq(t, http.MethodGet, daveTemp, nil)
		if r.Status != http.StatusOK && r.Status < 500 {
			t.Fatalf("GET %s on B after the restart: %s", daveTemp, r)
		}
		return r.Status == http.StatusOK
	})
	if !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Errorf("generation on B after the restart: %s, want 2", r)
	}
	if r := b.do(t, http.MethodGet, b.site(0)+tempPath, hdr{"Authorization": basic("dave", davePW)}, nil); !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Errorf("generation with dave's password on B after the restart: %s, want 2", r)
	}
	wantRefused(t, b.gate(t, old), "tokenRevoked")
	b.gateAs(t, live, "dave")
	untilPasses(t, 15*time.Second, "A to answer after the restart", func() *response { return a.gate(t, live) }, isUnavailable)
	wantRefused(t, a.gate(t, old), "tokenRevoked")

	// The restarted server has no scripts cached: revoking runs anyway,
	// and its event reaches A, which has the token cached again.
	eventually(t, 5*time.Second, "both instances to resubscribe", func() bool { return len(rs.pubsubClients("default")) == 2 })
	a.gateAs(t, live, "dave")
	a.gateAs(t, live, "dave")
	if r := b.adminWant(t, http.MethodDelete, daveTemp, nil, http.StatusOK); !jsonEqual(t, r.JSON, `{"generation":3}`) {
		t.Errorf("revoke on B after the restart: %s, want generation 3", r)
	}
	untilRefused(t, "A with a token B revoked after the restart", time.Now(), propagationDeadline, 5*time.Millisecond,
		func() *response { return a.gate(t, live) }, refusedAs("tokenRevoked"))
}

// When only B's Pub/Sub subscription breaks, B must not trust its cache
// longer than max_staleness: a revocation whose event it never got is
// enforced anyway, and still after the subscription is back.
func TestRedisSubscriptionLoss(t *testing.T) {
	t.Parallel()
	const (
		maxStale = time.Second
		margin   = time.Second
		bUser    = "tokengate-b"
		bPW      = "redis-b-pw-Vq28nX"
	)
	rs := newRedis(t)
	// B connects as an ACL user of its own, so that its subscription alone
	// can be cut, and kept down, while its other commands keep working.
	rs.must("ACL", "SETUSER", bUser, "on", ">"+bPW, "~*", "&*", "+@all")
	env := append(sharedKeyEnv(t), "TOKENGATE_REDIS_PASSWORD="+bPW)
	cfgA := sharedSite(rs.addr(), nil, "max_staleness 1s")
	cfgB := sharedSite(rs.addr(), []string{"username " + bUser, "password {env.TOKENGATE_REDIS_PASSWORD}"}, "max_staleness 1s")
	cs := startInstances(t, env, cfgA, cfgB)
	a, b := cs[0], cs[1]
	fast := keepAlive(t)
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	revoke := func(t *testing.T) {
		t.Helper()
		if r := a.do(t, http.MethodDelete, a.site(0)+tempPath, alice, nil); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE on A: %s", r)
		}
	}
	subs := rs.pubsubClients(bUser)
	if len(subs) != 1 {
		t.Fatalf("B's Pub/Sub connections: %v, want one", subs)
	}

	t.Run("killed", func(t *testing.T) {
		tok := a.mintTemporary(t, a.site(0), "alice", alicePassword, 600)
		b.gateAs(t, tok, "alice")
		if n := rs.must("CLIENT", "KILL", "TYPE", "pubsub", "USER", bUser); n != int64(1) {
			t.Fatalf("CLIENT KILL killed %v connections, want 1", n)
		}
		eventually(t, 5*time.Second, "B to resubscribe", func() bool {
			ids := rs.pubsubClients(bUser)
			return len(ids) == 1 && ids[0] != subs[0]
		})
		// B caches the token again, so only the event can make it refuse.
		b.gateAs(t, tok, "alice")
		b.gateAs(t, tok, "alice")
		revoke(t)
		untilRefused(t, "B with a token revoked after it resubscribed", time.Now(), propagationDeadline, 5*time.Millisecond,
			func() *response { return b.gateVia(t, fast, tok) }, refusedAs("tokenRevoked"))
	})

	t.Run("kept down", func(t *testing.T) {
		tok := a.mintTemporary(t, a.site(0), "alice", alicePassword, 600)
		b.gateAs(t, tok, "alice")
		b.gateAs(t, tok, "alice")
		// B's user loses its channels: Redis drops its subscription and
		// refuses it again, so the revocation's event never reaches B.
		cut := time.Now()
		rs.must("ACL", "SETUSER", bUser, "resetchannels")
		eventually(t, 2*time.Second, "B's subscription to be cut", func() bool { return len(rs.pubsubClients(bUser)) == 0 })
		revoke(t)
		d := untilRefused(t, "B with a token revoked while its subscription is down", cut, maxStale+margin, 10*time.Millisecond,
			func() *response { return b.gateVia(t, fast, tok) }, refusedAs("tokenRevoked"))
		t.Logf("with its subscription down, B refused the revoked token %s after the cut (max_staleness %s)", d, maxStale)
		if ids := rs.pubsubClients(bUser); len(ids) != 0 {
			t.Fatalf("B resubscribed (%v) although its user has no channels: the refusal did not test max_staleness", ids)
		}
		// Without the subscription B still serves, from the store.
		fresh := a.mintTemporary(t, a.site(0), "alice", alicePassword, 600)
		b.gateAs(t, fresh, "alice")

		rs.must("ACL", "SETUSER", bUser, "allchannels")
		eventually(t, 5*time.Second, "B to resubscribe", func() bool { return len(rs.pubsubClients(bUser)) == 1 })
		for range 5 {
			wantRefused(t, b.gateVia(t, fast, tok), "tokenRevoked")
		}
		b.gateAs(t, fresh, "alice")
		// Events reach B again.
		revoke(t)
		untilRefused(t, "B with a token revoked after the subscription came back", time.Now(), propagationDeadline, 5*time.Millisecond,
			func() *response { return b.gateVia(t, fast, fresh) }, refusedAs("tokenRevoked"))
	})
}

// Rotating the Redis password with a config reload: once the old password
// is removed and the connections are dropped, the instance must connect
// with the password of the config it runs now.
func TestRedisPasswordRotationByReload(t *testing.T) {
	t.Parallel()
	const (
		user     = "tokengate-rot"
		pw1, pw2 = "redis-old-pw-Hx71aQ", "redis-new-pw-Jc44pL"
	)
	rs := newRedis(t)
	rs.must("ACL", "SETUSER", user, "on", ">"+pw1, "~*", "&*", "+@all")
	site := func(pw string) caddyfile {
		return sharedSite(rs.addr(), []string{"username " + user, "password " + pw})
	}
	c := startInstances(t, sharedKeyEnv(t), site(pw1))[0]
	t.Cleanup(func() {
		if t.Failed() {
			entries, err := rs.do("ACL", "LOG", "5")
			t.Logf("Redis ACL LOG (err %v): %v", err, entries)
		}
	})
	c.gateAs(t, c.mintTemporary(t, c.site(0), "alice", alicePassword, 600), "alice")

	// The operator adds the new password, reloads, removes the old one.
	rs.must("ACL", "SETUSER", user, ">"+pw2)
	c.reload(site(pw2))
	rs.must("ACL", "SETUSER", user, "<"+pw1)
	// Connections made with the old password live on until they break.
	if n, _ := rs.must("CLIENT", "KILL", "USER", user).(int64); n < 1 {
		t.Fatalf("CLIENT KILL USER %s killed %d connections, want at least 1", user, n)
	}
	eventually(t, 5*time.Second, "the reloaded instance to reach Redis with the new password", func() bool {
		r, err := tryWith(c.client, http.MethodPost, c.site(0)+tempPath, hdr{"Authorization": basic("bob", bobPassword)},
			map[string]any{"caveats": timeCaveats(600)})
		if err != nil {
			// Taken by the previous config's server, whose Redis client
			// cannot log in any more, and cut at the end of its grace
			// period.
			return false
		}
		if r.Status != http.StatusCreated && !isUnavailable(r) {
			t.Fatalf("minting after the rotation: %s", r)
		}
		return r.Status == http.StatusCreated
	})
	eventually(t, 5*time.Second, "the reloaded instance to resubscribe", func() bool { return len(rs.pubsubClients(user)) == 1 })
}

// Two deployments on one Redis, told apart by key_prefix and db, do not
// see each other: not their users' secrets, not their revocations, and
// every key each writes carries its own prefix in its own database.
func TestRedisKeyPrefixAndDB(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cs := startInstances(t, sharedKeyEnv(t),
		sharedSite(rs.addr(), nil),
		sharedSite(rs.addr(), []string{"key_prefix two:", "db 3"}))
	a, b := cs[0], cs[1]
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	onA := a.mintTemporary(t, a.site(0), "alice", alicePassword, 600)
	onB := b.mintTemporary(t, b.site(0), "alice", alicePassword, 600)
	a.gateAs(t, onA, "alice")
	b.gateAs(t, onB, "alice")
	// Same key, same user id, but each deployment has its own secrets.
	wantRefused(t, b.gate(t, onA), "tokenInvalid")
	wantRefused(t, a.gate(t, onB), "tokenInvalid")
	if r := a.do(t, http.MethodDelete, a.site(0)+tempPath, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE on A: %s", r)
	}
	wantRefused(t, a.gate(t, onA), "tokenRevoked")
	b.gateAs(t, onB, "alice")
	if r := b.do(t, http.MethodGet, b.site(0)+tempPath, alice, nil); !jsonEqual(t, r.JSON, `{"generation":1}`) {
		t.Errorf("generation on B after a revocation on A: %s, want 1", r)
	}

	for _, tc := range []struct {
		db     int
		prefix string
	}{{0, "tokengate:"}, {3, "two:"}} {
		keys := redisKeys(t, rs, tc.db)
		if len(keys) == 0 {
			t.Errorf("db %d: no keys", tc.db)
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, tc.prefix) {
				t.Errorf("db %d: key %q lacks the prefix %q", tc.db, k, tc.prefix)
			}
		}
	}
}

// redisKeys lists the keys of database db.
func redisKeys(t *testing.T, rs *redisProc, db int) []string {
	t.Helper()
	v, err := rs.doIn(db, "KEYS", "*")
	if err != nil {
		t.Fatalf("KEYS * in db %d: %v", db, err)
	}
	list, _ := v.([]any)
	keys := make([]string, 0, len(list))
	for _, k := range list {
		s, _ := k.(string)
		keys = append(keys, s)
	}
	slices.Sort(keys)
	return keys
}
