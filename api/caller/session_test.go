package caller_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/internal/authtest"
)

// TestSessionCookieSecure: the session cookie is Secure exactly when the
// request came over HTTPS as Secure says (by default: TLS terminated
// here), and then __Host- prefixed, or __Secure- prefixed when it has
// the Domain that CookieDomain gives the hosts under it; it is read and
// cleared under the name, and with the Domain, it was set with.
func TestSessionCookieSecure(t *testing.T) {
	secure := func(v bool) func(*http.Request) bool { return func(*http.Request) bool { return v } }
	for _, tc := range []struct {
		name         string
		secure       func(*http.Request) bool
		tls          bool
		domain, host string
		want         bool
		prefix       string
		wantDomain   string
	}{
		{"default, plain HTTP", nil, false, "", "", false, "", ""},
		{"default, TLS here", nil, true, "", "", true, caller.HostPrefix, ""},
		{"HTTPS at a proxy", secure(true), false, "", "", true, caller.HostPrefix, ""},
		{"Secure says no", secure(false), true, "", "", false, "", ""},
		{"domain, plain HTTP", nil, false, "example.com", "app.example.com", false, "", "example.com"},
		{"domain, TLS", nil, true, "example.com", "app.example.com", true, caller.SecurePrefix, "example.com"},
		{"domain itself, with port", nil, true, "example.com", "EXAMPLE.com:8443", true, caller.SecurePrefix, "example.com"},
		{"deeper host", nil, true, "example.com", "a.b.example.com", true, caller.SecurePrefix, "example.com"},
		{"host outside the domain", nil, true, "example.com", "evilexample.com", true, caller.HostPrefix, ""},
		{"IP address", nil, false, "example.com", "127.0.0.1:80", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := authtest.New(t)
			f.Callers.Secure = tc.secure
			f.Callers.CookieDomain = tc.domain
			name := tc.prefix + authtest.SessionCookie
			host := tc.host
			if host == "" {
				host = "example.com"
			}
			req := func(method string, cookie *http.Cookie) *http.Request {
				r := authtest.Request(method, "http://"+host+"/x", "", nil)
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
			if len(set) != 1 || set[0].Name != name || set[0].Secure != tc.want || set[0].Path != "/" || set[0].Domain != tc.wantDomain {
				t.Fatalf("Set-Cookie %q, want one %s with Secure %v, Path=/, Domain %q", w.Header().Values("Set-Cookie"), name, tc.want, tc.wantDomain)
			}
			sess := &http.Cookie{Name: name, Value: set[0].Value}
			if id, err := f.Callers.Authenticate(req(http.MethodGet, sess)); err != nil || id.ID != authtest.Alice {
				t.Errorf("Authenticate with the cookie set: %v, %v; want alice", id, err)
			}
			// Under the other names the value is not read.
			for _, n := range caller.SessionCookieNames(authtest.SessionCookie) {
				if n == name {
					continue
				}
				other := &http.Cookie{Name: n, Value: set[0].Value}
				if _, err := f.Callers.Authenticate(req(http.MethodGet, other)); err != caller.ErrNone {
					t.Errorf("Authenticate with the cookie as %s: %v, want ErrNone", other.Name, err)
				}
			}

			w = httptest.NewRecorder()
			if err := f.Callers.EndSession(w, req(http.MethodPost, sess)); err != nil {
				t.Fatal(err)
			}
			cleared := w.Result().Cookies()
			if len(cleared) != 1 || cleared[0].Name != name || cleared[0].MaxAge >= 0 || cleared[0].Secure != tc.want ||
				cleared[0].Domain != tc.wantDomain || cleared[0].Path != "/" {
				t.Errorf("clearing Set-Cookie %q, want %s with Max-Age=0, Secure %v, Path=/, Domain %q",
					w.Header().Values("Set-Cookie"), name, tc.want, tc.wantDomain)
			}
			if f.Callers.Session(req(http.MethodGet, sess)) != nil {
				t.Error("the session outlived EndSession")
			}
		})
	}
}

func TestSessionCookieNames(t *testing.T) {
	if got := caller.SessionCookieNames("sid"); got != [3]string{"sid", "__Host-sid", "__Secure-sid"} {
		t.Errorf("SessionCookieNames(sid) = %q", got)
	}
}

func TestInDomain(t *testing.T) {
	for _, tc := range []struct {
		host, domain string
		want         bool
	}{
		{"example.com", "example.com", true},
		{"EXAMPLE.COM", "example.com", true},
		{"app.example.com", "example.com", true},
		{"a.b.example.com", "example.com", true},
		{"evilexample.com", "example.com", false},
		{"example.com.evil.com", "example.com", false},
		{"com", "example.com", false},
		{"", "example.com", false},
	} {
		if got := caller.InDomain(tc.host, tc.domain); got != tc.want {
			t.Errorf("InDomain(%q, %q) = %v, want %v", tc.host, tc.domain, got, tc.want)
		}
	}
}

// TestSessionCookieDomainReplacesHostOnly: signing in on a host under
// CookieDomain while the browser still sends a cookie of the same name
// (a host-only one from before the domain was set) sets the shared
// cookie and clears the host-only one, which would otherwise be sent
// first and shadow it.
func TestSessionCookieDomainReplacesHostOnly(t *testing.T) {
	f := authtest.New(t)
	f.Callers.CookieDomain = "example.com"
	for _, tc := range []struct {
		name  string
		stale bool
		want  []string // Domain of each Set-Cookie, in order; "-" for none
	}{
		{"fresh browser", false, []string{"example.com"}},
		{"stale host-only cookie", true, []string{"example.com", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := authtest.Request(http.MethodPost, "http://app.example.com/login", "", nil)
			if tc.stale {
				r.AddCookie(&http.Cookie{Name: authtest.SessionCookie, Value: "stale"})
			}
			w := httptest.NewRecorder()
			if err := f.Callers.StartSession(w, r, authtest.Alice); err != nil {
				t.Fatal(err)
			}
			set := w.Result().Cookies()
			if len(set) != len(tc.want) {
				t.Fatalf("Set-Cookie %q, want %d", w.Header().Values("Set-Cookie"), len(tc.want))
			}
			for i, c := range set {
				domain := c.Domain
				if domain == "" {
					domain = "-"
				}
				cleared := c.MaxAge < 0
				if c.Name != authtest.SessionCookie || domain != tc.want[i] || cleared != (i > 0) || c.Path != "/" {
					t.Errorf("Set-Cookie %q: want %s with Domain %s, cleared %v", c.Raw, authtest.SessionCookie, tc.want[i], i > 0)
				}
			}
		})
	}
}
