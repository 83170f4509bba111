package integration

// Issue 14 through a real Caddy: a time caveat no token can carry, a
// duration or a password hash past tokengate's bounds are refused, each
// in its door's own format (findings 1 and 2); lifting a ban takes any
// spelling of its key and says when there is nothing to lift (finding 3).

import (
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// costlyHash is an argon2id hash whose check would take 4 TiB.
const costlyHash = "$argon2id$v=19$m=4294967295,t=1,p=1$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw"

// A temporary token that never expires is refused, by Onezone's API
// with its own error and by the admin API; the maximum TTL holds, and
// verify reports a TTL within it.
func TestNeverEndingTokenRefused(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, gatedSite)
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	create := func(until int64) *response {
		return c.do(t, http.MethodPost, c.site(0)+tempPath, alice,
			map[string]any{"caveats": []map[string]any{{"type": "time", "validUntil": until}}})
	}
	for _, until := range []int64{math.MaxInt64, 9223371974719179008, 253402300800, -1} {
		if r := create(until); r.Status != http.StatusBadRequest || errorID(r.JSON) != "badValueCaveat" {
			t.Errorf("validUntil %d: got %s, want 400 badValueCaveat", until, r)
		}
	}
	r := create(253402300799) // a caveat a token may carry, years past the maximum TTL
	if r.Status != http.StatusBadRequest || errorID(r.JSON) != "tokenTimeCaveatRequired" || errorDetails(r.JSON)["maxTtl"] != float64(3600) {
		t.Errorf("year 9999: got %s, want 400 tokenTimeCaveatRequired with maxTtl 3600", r)
	}
	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 3600)
	r = c.do(t, http.MethodPost, c.site(0)+verifyPath, nil, map[string]any{"token": tok})
	if ttl, _ := r.JSON["ttl"].(float64); r.Status != http.StatusOK || ttl <= 3500 || ttl > 3600 {
		t.Errorf("verify: got %s, want a TTL of at most 3600", r)
	}
	const issue = "/tokengate/users/alice/tokens/temporary"
	wantAdminError(t, c.adminReq(t, http.MethodPost, issue, map[string]any{"ttl": "9999999999h"}),
		http.StatusBadRequest, `invalid ttl "9999999999h"`)
	wantAdminError(t, c.adminReq(t, http.MethodPost, issue,
		map[string]any{"caveats": []map[string]any{{"type": "time", "validUntil": int64(math.MaxInt64)}}}),
		http.StatusBadRequest, "invalid caveat")
}

// A config past the bounds does not start, and says which option or
// user is wrong; the admin API refuses a costly hash with 400.
func TestConfigBoundsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  caddyfile
		want string
	}{
		// The log is JSON: the option's quotes come escaped.
		{"duration past time.Duration", caddyfile{App: []string{"temporary_max_ttl 99999999999h"}},
			`bad temporary_max_ttl \"99999999999h\": want a positive duration of at most 876000h0m0s (100 years)`},
		{"costly hash", caddyfile{}.withUsers("user alice {\n\tpassword " + costlyHash + "\n}"),
			"user alice: password hash costs too much to check: argon2id m=4294967295,t=1,p=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if logs := runFails(t, tc.cfg); !strings.Contains(logs, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, logs)
			}
		})
	}
	c := newCaddy(t, gatedSite)
	wantAdminError(t, c.adminReq(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "mallory", "password_hash": costlyHash}),
		http.StatusBadRequest, "password_hash costs too much to check")
	c.adminWant(t, http.MethodGet, "/tokengate/users/mallory", nil, http.StatusNotFound)
}

// A ban is lifted by any spelling of its client's address or by its key
// exactly as listed; a key with nothing to lift is 404 from the admin
// API and a failure of the CLI, not "lifted".
func TestBansLiftAnySpelling(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, bruteSite)

	// An IPv6 client counts per /64: an address of it lifts the /64.
	const v6, v6Key = "2001:db8:7:7::1", "ip:2001:db8:7:7::/64"
	c.exhaust(t, v6, bruteBudget)
	wantOnezoneBanned(t, onezoneLogin.attempt(t, c, v6, "alice", alicePassword))
	if _, ok := c.bans(t)[v6Key]; !ok {
		t.Fatalf("bans %v lack %s", c.bans(t), v6Key)
	}
	if out := c.cliOK(t, "", "bans", "lift", "2001:db8:7:7:0:0:0:9"); out != "lifted "+v6Key+"\n" {
		t.Errorf("bans lift printed %q", out)
	}
	if r := onezoneLogin.attempt(t, c, v6, "alice", alicePassword); r.Status != http.StatusCreated {
		t.Errorf("right password after bans lift: got %s, want 201", r)
	}
	c.cliFails(t, "no failures counted for "+v6Key+": nothing to lift", "bans", "lift", v6, "--address", c.admin)

	// A mapped IPv4 address counts as the IPv4 one, and lifts it.
	const mapped, v4Key = "::ffff:198.51.100.77", "ip:198.51.100.77"
	c.exhaust(t, mapped, bruteBudget)
	if _, ok := c.bans(t)[v4Key]; !ok {
		t.Fatalf("bans %v lack %s", c.bans(t), v4Key)
	}
	r := c.adminWant(t, http.MethodDelete, "/tokengate/bans/"+url.PathEscape(mapped), nil, http.StatusOK)
	if r.JSON["key"] != v4Key {
		t.Errorf("lifted %s, want %s", r.Body, v4Key)
	}

	// Exactly as bans list prints it.
	c.exhaust(t, "198.51.100.78", bruteBudget)
	c.adminWant(t, http.MethodDelete, "/tokengate/bans/"+url.PathEscape("ip:198.51.100.78"), nil, http.StatusOK)
	if len(c.bans(t)) != 0 {
		t.Errorf("bans left: %v", c.bans(t))
	}

	wantAdminError(t, c.adminReq(t, http.MethodDelete, "/tokengate/bans/user:nobody", nil), http.StatusNotFound,
		"no failures counted for user:nobody: nothing to lift")
	wantAdminError(t, c.adminReq(t, http.MethodDelete, "/tokengate/bans/"+url.PathEscape(v4Key), nil), http.StatusNotFound,
		"nothing to lift")
	wantAdminError(t, c.adminReq(t, http.MethodDelete, "/tokengate/bans/nonsense", nil), http.StatusBadRequest,
		"ban key must be ip:<address>, an address or user:<name>")
}
