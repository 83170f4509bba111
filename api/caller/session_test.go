package caller_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/internal/authtest"
)

// TestSessionCookieSecure: the session cookie is Secure and __Host-
// prefixed exactly when the request came over HTTPS as Secure says (by
// default: TLS terminated here), and is read and cleared under the name
// it was set with.
func TestSessionCookieSecure(t *testing.T) {
	secure := func(v bool) func(*http.Request) bool { return func(*http.Request) bool { return v } }
	for _, tc := range []struct {
		name   string
		secure func(*http.Request) bool
		tls    bool
		want   bool
	}{
		{"default, plain HTTP", nil, false, false},
		{"default, TLS here", nil, true, true},
		{"HTTPS at a proxy", secure(true), false, true},
		{"Secure says no", secure(false), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := authtest.New(t)
			f.Callers.Secure = tc.secure
			name := authtest.SessionCookie
			if tc.want {
				name = caller.HostPrefix + authtest.SessionCookie
			}
			req := func(method string, cookie *http.Cookie) *http.Request {
				r := authtest.Request(method, "http://example.com/x", "", nil)
				if tc.tls {
					r.TLS = &tls.ConnectionState{}
				}
				if cookie != nil {
					r.AddCookie(cookie)
				}
				return r
			}

			r := req(http.MethodGet, nil)
			if got := f.Callers.SessionCookieName(r); got != name {
				t.Errorf("SessionCookieName = %q, want %q", got, name)
			}
			w := httptest.NewRecorder()
			if err := f.Callers.StartSession(w, r, authtest.Alice); err != nil {
				t.Fatal(err)
			}
			set := w.Result().Cookies()
			if len(set) != 1 || set[0].Name != name || set[0].Secure != tc.want || set[0].Path != "/" || set[0].Domain != "" {
				t.Fatalf("Set-Cookie %q, want one %s with Secure %v, Path=/, no Domain", w.Header().Values("Set-Cookie"), name, tc.want)
			}
			sess := &http.Cookie{Name: name, Value: set[0].Value}
			if id, err := f.Callers.Authenticate(req(http.MethodGet, sess)); err != nil || id.ID != authtest.Alice {
				t.Errorf("Authenticate with the cookie set: %v, %v; want alice", id, err)
			}
			// Under the other name the value is not read.
			other := &http.Cookie{Name: caller.HostPrefix + authtest.SessionCookie, Value: set[0].Value}
			if tc.want {
				other.Name = authtest.SessionCookie
			}
			if _, err := f.Callers.Authenticate(req(http.MethodGet, other)); err != caller.ErrNone {
				t.Errorf("Authenticate with the cookie as %s: %v, want ErrNone", other.Name, err)
			}

			w = httptest.NewRecorder()
			if err := f.Callers.EndSession(w, req(http.MethodPost, sess)); err != nil {
				t.Fatal(err)
			}
			cleared := w.Result().Cookies()
			if len(cleared) != 1 || cleared[0].Name != name || cleared[0].MaxAge >= 0 || cleared[0].Secure != tc.want {
				t.Errorf("clearing Set-Cookie %q, want %s with Max-Age=0 and Secure %v", w.Header().Values("Set-Cookie"), name, tc.want)
			}
			if f.Callers.Session(req(http.MethodGet, sess)) != nil {
				t.Error("the session outlived EndSession")
			}
		})
	}
}

func TestSessionCookieNames(t *testing.T) {
	if got := caller.SessionCookieNames("sid"); got != [2]string{"sid", "__Host-sid"} {
		t.Errorf("SessionCookieNames(sid) = %q", got)
	}
}
