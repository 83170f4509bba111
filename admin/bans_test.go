package admin_test

import (
	"context"
	"net/http/httptest"
	"net/url"
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
		{"wrong method", "PUT", "/tokengate/bans", 0, 405, "method PUT not allowed on /tokengate/bans (allowed: GET, POST)", 0},
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

// TestAddBan: an operator's ban uses up a key's budget for its duration
// (logins refused), shows in the list, and lifts like any other.
func TestAddBan(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		msg, key   string
	}{
		{"an address", `{"ip":"203.0.113.7","duration":"2h","reason":"scanner"}`, 201, "", "ip:203.0.113.7"},
		{"a user", `{"user":"alice","duration":"30m"}`, 201, "", "user:alice"},
		{"an IPv6 address, by its /64", `{"ip":"2001:db8::1","duration":"1h"}`, 201, "", "ip:2001:db8::/64"},
		{"a key as listed", `{"key":"user:bob","duration":"1h"}`, 201, "", "user:bob"},
		{"two targets", `{"ip":"203.0.113.7","user":"alice","duration":"1h"}`, 400, "give exactly one of ip, user, key", ""},
		{"no target", `{"duration":"1h"}`, 400, "give exactly one of ip, user, key", ""},
		{"no duration", `{"ip":"203.0.113.7"}`, 400, `invalid duration "": want a Go duration such as 1h`, ""},
		{"a negative duration", `{"ip":"203.0.113.7","duration":"-1h"}`, 400, "ban duration must be positive and at most 8760h0m0s", ""},
		{"a year and a day", `{"ip":"203.0.113.7","duration":"8784h"}`, 400, "ban duration must be positive and at most 8760h0m0s", ""},
		{"a bad address", `{"ip":"nonsense","duration":"1h"}`, 400, "ban key must be ip:<address>, an address or user:<name>", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, auth.WithBudget(auth.Budget{Max: 2, Window: time.Minute, UserFactor: 10}))
			w := e.want("POST", "/tokengate/bans", tc.body, tc.status, tc.msg)
			if tc.status != 201 {
				checkBans(t, e.want("GET", "/tokengate/bans", "", 200, ""), 0)
				return
			}
			got := decode[admin.Ban](t, w)
			if got.Key != tc.key || time.Until(got.Until) < 29*time.Minute {
				t.Fatalf("ban %+v, want %s for its duration", got, tc.key)
			}
			if list := decode[[]admin.Ban](t, e.want("GET", "/tokengate/bans", "", 200, "")); len(list) != 1 || list[0].Key != tc.key {
				t.Fatalf("bans %+v, want only %s", list, tc.key)
			}
			if err := e.svc.Admit(context.Background(), tc.key); err == nil {
				t.Fatalf("Admit(%s) passed a banned key", tc.key)
			}
			e.want("DELETE", "/tokengate/bans/"+url.PathEscape(tc.key), "", 200, "")
			checkBans(t, e.want("GET", "/tokengate/bans", "", 200, ""), 0)
		})
	}
}
