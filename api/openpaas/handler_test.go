package openpaas_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/api/openpaas"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
)

var start = time.Date(2027, 3, 4, 5, 6, 7, 0, time.UTC)

const ttl = 60 * time.Second

// fixture is a Handler whose Service's clock the test moves.
type fixture struct {
	*authtest.Fixture
	h     *openpaas.Handler
	clock atomic.Int64 // nanoseconds since start
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := new(fixture)
	f.Fixture = authtest.New(t, auth.WithClock(func() time.Time { return start.Add(time.Duration(f.clock.Load())) }))
	f.h = &openpaas.Handler{Auth: f.Auth, Callers: f.Callers, TTL: ttl}
	return f
}

// issue gets a handoff token for the caller with the headers.
func (f *fixture) issue(t *testing.T, hdr http.Header) string {
	t.Helper()
	w := authtest.Do(f.h, "GET", openpaas.Prefix, "", hdr)
	var got struct{ Token string }
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || err != nil || got.Token == "" {
		t.Fatalf("issuing: %d %s", w.Code, w.Body)
	}
	return got.Token
}

// OpenPaaS's error bodies.
const (
	loginError   = `{"error":{"code":401,"message":"Login error","details":"Please log in first"}}`
	notFound     = `{"error":{"code":404,"message":"Not found","details":"Token not found or expired"}}`
	userNotFound = `{"error":{"code":404,"message":"Not found","details":"User not found"}}`
	tooMany      = `{"error":{"code":429,"message":"Too Many Requests","details":"Too many failed attempts, try again later"}}`
)

const aliceUser = `{"_id":"alice","accounts":[{"emails":["alice@example.com"],"type":"email"}],"displayName":"Alice Example",` +
	`"emails":["alice@example.com"],"firstname":"Alice","id":"alice","lastname":"Example","objectType":"user",` +
	`"preferredEmail":"alice@example.com","user_type":"openpaas"}`

type exchange struct {
	name, method, path string
	hdr                http.Header
	status             int
	want               string            // the body, byte for byte
	header             map[string]string // "" for absent
}

func (f *fixture) run(t *testing.T, cases []exchange) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := authtest.Do(f.h, tc.method, "http://example.com"+tc.path, "", tc.hdr)
			if w.Code != tc.status || w.Body.String() != tc.want {
				t.Fatalf("got %d\n%s\nwant %d\n%s", w.Code, w.Body, tc.status, tc.want)
			}
			authtest.WantHeaders(t, w, tc.want != "", tc.header)
		})
	}
}

func TestHandoff(t *testing.T) {
	f := newFixture(t)
	alice := http.Header{"Authorization": {authtest.Basic(authtest.Alice, authtest.Password)}}
	bob := http.Header{"Authorization": {authtest.Basic(authtest.Bob, authtest.Password)}}
	tok := f.issue(t, alice)
	view := `{"token":"` + tok + `","ttl":60,"user":"alice","created_at":"2027-03-04T05:06:07.000Z"}`
	cookie, _ := f.Session(t, authtest.Bob)
	f.run(t, []exchange{
		{name: "no credentials", method: "GET", path: openpaas.Prefix, status: 401, want: loginError},
		{name: "wrong password", method: "GET", path: openpaas.Prefix, hdr: http.Header{"Authorization": {authtest.Basic("alice", "nope")}},
			status: 401, want: loginError},
		{name: "undecodable token", method: "GET", path: openpaas.Prefix, hdr: http.Header{"X-Auth-Token": {"garbage"}}, status: 401, want: loginError},
		{name: "read back by its owner", method: "GET", path: openpaas.Prefix + "/" + tok, hdr: alice, status: 200, want: view},
		{name: "read back with a trailing slash", method: "GET", path: openpaas.Prefix + "/" + tok + "/", hdr: alice, status: 200, want: view},
		{name: "not by another user", method: "GET", path: openpaas.Prefix + "/" + tok, hdr: bob, status: 404, want: notFound},
		{name: "not without credentials", method: "GET", path: openpaas.Prefix + "/" + tok, status: 401, want: loginError},
		{name: "an unknown token", method: "GET", path: openpaas.Prefix + "/nope", hdr: alice, status: 404, want: notFound},
		{name: "its user", method: "GET", path: openpaas.Prefix + "/" + tok + "/user", status: 200, want: aliceUser},
		{name: "its user, to a caller with a session", method: "GET", path: openpaas.Prefix + "/" + tok + "/user",
			hdr: http.Header{"Cookie": {cookie}}, status: 200, want: aliceUser, header: map[string]string{"Set-Cookie": ""}},
		{name: "an unknown token's user", method: "GET", path: openpaas.Prefix + "/nope/user", status: 404, want: notFound},
		{name: "another path", method: "GET", path: openpaas.Prefix + "/a/b", status: 404, want: notFound},
		{name: "POST", method: "POST", path: openpaas.Prefix, hdr: alice, status: 405, header: map[string]string{"Allow": "GET, HEAD"}},
	})
	// A caller without a session is signed in as the token's user.
	w := authtest.Do(f.h, "GET", openpaas.Prefix+"/"+tok+"/user", "", nil)
	if c := w.Header().Get("Set-Cookie"); !strings.HasPrefix(c, "sid=") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("session cookie %q", c)
	}

	f.clock.Store(int64(ttl))
	f.run(t, []exchange{
		{name: "expired", method: "GET", path: openpaas.Prefix + "/" + tok, hdr: alice, status: 404, want: notFound},
		{name: "an expired token's user", method: "GET", path: openpaas.Prefix + "/" + tok + "/user", status: 404, want: notFound},
	})

	tok = f.issue(t, alice)
	if _, err := f.Auth.SetBlocked(t.Context(), authtest.Alice, true); err != nil {
		t.Fatal(err)
	}
	f.run(t, []exchange{
		{name: "a blocked user's", method: "GET", path: openpaas.Prefix + "/" + tok + "/user", status: 404, want: userNotFound},
	})
}

// TestHandoffBudget: guessing handoff tokens uses up the client's budget.
func TestHandoffBudget(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, http.Header{"Authorization": {authtest.Basic(authtest.Alice, authtest.Password)}})
	for range auth.DefaultBudget.Max {
		if w := authtest.Do(f.h, "GET", openpaas.Prefix+"/guess/user", "", nil); w.Code != http.StatusNotFound {
			t.Fatalf("a guess: %d %s", w.Code, w.Body)
		}
	}
	f.run(t, []exchange{
		{name: "past the budget", method: "GET", path: openpaas.Prefix + "/" + tok + "/user", status: 429, want: tooMany,
			header: map[string]string{"Retry-After": "300"}},
	})
}

// TestCallerGone: a client that went away while its password was being
// checked is answered 499, as nothing failed (bug 4).
func TestCallerGone(t *testing.T) {
	f := newFixture(t)
	r := authtest.Gone(authtest.Request("GET", "http://example.com"+openpaas.Prefix, "",
		http.Header{"Authorization": {authtest.Basic(authtest.Alice, authtest.Password)}}))
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 499 || w.Body.Len() != 0 {
		t.Fatalf("got %d %s, want 499 and no body", w.Code, w.Body)
	}
}
