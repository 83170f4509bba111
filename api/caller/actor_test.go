package caller_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
)

// TestAuthenticatedActor: whoever a request's credentials prove it to
// be, by token, Basic or session cookie, or signs in as, becomes the
// actor the audit trail names for the request's changes; a refused
// request stays nobody's.
func TestAuthenticatedActor(t *testing.T) {
	f := authtest.New(t)
	cookie, _ := f.Session(t, authtest.Bob)
	for _, tc := range []struct {
		name string
		hdr  http.Header
		want string
	}{
		{"token", http.Header{"X-Auth-Token": {f.Temporary(t, authtest.Alice)}}, authtest.Alice},
		{"Basic", http.Header{"Authorization": {authtest.Basic(authtest.Alice, authtest.Password)}}, authtest.Alice},
		{"session cookie", http.Header{"Cookie": {cookie}}, authtest.Bob},
		{"a wrong password", http.Header{"Authorization": {authtest.Basic(authtest.Alice, "wrong")}}, ""},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := authtest.Request("GET", "http://example.com/", "", tc.hdr)
			r = r.WithContext(auth.WithActor(r.Context(), auth.Actor{ClientIP: "192.0.2.1"}))
			_, _ = f.Callers.Authenticate(r)
			if a := auth.ActorFrom(r.Context()); a.ID != tc.want || a.ClientIP != "192.0.2.1" {
				t.Errorf("actor %+v, want %q from 192.0.2.1", a, tc.want)
			}
		})
	}
	t.Run("signing in", func(t *testing.T) {
		r := authtest.Request("POST", "http://example.com/login", "", nil)
		r = r.WithContext(auth.WithActor(r.Context(), auth.Actor{}))
		if err := f.Callers.StartSession(httptest.NewRecorder(), r, authtest.Alice); err != nil {
			t.Fatal(err)
		}
		if a := auth.ActorFrom(r.Context()); a.ID != authtest.Alice {
			t.Errorf("actor %+v after signing in, want alice", a)
		}
	})
}
