package admin_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
)

func TestBanRoutes(t *testing.T) {
	const ip = "ip:203.0.113.7"
	for _, tc := range []struct {
		name, method, path string
		failures           int // of ip, before the request
		status             int
		msg                string // of an error; of a lift, the key lifted
		left               int    // bans after the request
	}{
		{"list none", "GET", "/tokengate/bans", 0, 200, "", 0},
		{"list under the budget", "GET", "/tokengate/bans", 1, 200, "", 0},
		{"list", "GET", "/tokengate/bans", 2, 200, "", 1},
		{"lift", "DELETE", "/tokengate/bans/" + ip, 2, 200, ip, 0},
		{"lift under the budget", "DELETE", "/tokengate/bans/" + ip, 1, 200, ip, 0},
		// Issue 14, finding 3: every spelling of the key lifts the ban,
		// and a key with nothing to lift says so.
		{"lift a bare address", "DELETE", "/tokengate/bans/203.0.113.7", 2, 200, ip, 0},
		{"lift a mapped address", "DELETE", "/tokengate/bans/::ffff:203.0.113.7", 2, 200, ip, 0},
		{"lift a mapped address, escaped", "DELETE", "/tokengate/bans/ip%3A%3A%3Affff%3Acb00%3A7107", 2, 200, ip, 0},
		{"lift a user with no failures", "DELETE", "/tokengate/bans/user:alice", 2, 404, "no failures counted for user:alice: nothing to lift", 1},
		{"lift an unknown address", "DELETE", "/tokengate/bans/2001:db8:0:0::1", 2, 404, "no failures counted for ip:2001:db8::/64: nothing to lift", 1},
		{"lift a bad key", "DELETE", "/tokengate/bans/alice", 2, 400, "ban key must be ip:<address>, an address or user:<name>", 1},
		{"lift an empty user", "DELETE", "/tokengate/bans/user:", 2, 400, "ban key user:<name> needs a name", 1},
		{"wrong method", "POST", "/tokengate/bans", 0, 405, "method POST not allowed on /tokengate/bans (allowed: GET)", 0},
		{"too deep", "DELETE", "/tokengate/bans/" + ip + "/x", 0, 404, "resource not found", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, auth.WithBudget(auth.Budget{Max: 2, Window: time.Minute, UserFactor: 10}))
			for range tc.failures {
				if _, err := e.svc.Failed(context.Background(), ip); err != nil {
					t.Fatal(err)
				}
			}
			msg := tc.msg
			if tc.status == 200 {
				msg = ""
			}
			w := e.want(tc.method, tc.path, "", tc.status, msg)
			switch {
			case tc.method == "GET" && tc.status == 200:
				checkBans(t, w, tc.left)
			case tc.status == 200:
				if got := decode[struct{ Key string }](t, w).Key; got != tc.msg {
					t.Fatalf("lifted %q, want %q", got, tc.msg)
				}
			}
			checkBans(t, e.want("GET", "/tokengate/bans", "", 200, ""), tc.left)
		})
	}
}

// checkBans checks a ban list: n bans of the ip, and [] rather than null
// for none.
func checkBans(t *testing.T, w *httptest.ResponseRecorder, n int) {
	t.Helper()
	if n == 0 {
		if w.Body.String() != "[]\n" {
			t.Fatalf("bans %q, want []", w.Body)
		}
		return
	}
	bans := decode[[]admin.Ban](t, w)
	if len(bans) != n || bans[0].Key != "ip:203.0.113.7" || bans[0].Count != 2 || time.Until(bans[0].Until) <= 0 {
		t.Fatalf("bans %s", w.Body)
	}
}
