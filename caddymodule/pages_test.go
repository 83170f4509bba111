package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLoginRedirect: a browser without credentials goes to the sign-in
// page, except a request for that page itself when the route does not
// serve it (login_redirect without pages), which would loop.
func TestLoginRedirect(t *testing.T) {
	app := newTestApp(t)
	for _, tc := range []struct {
		name     string
		pages    bool
		path     string
		accept   string
		status   int
		location string
	}{
		{"browser", false, "/app", "text/html", http.StatusFound, "/login?redirect=%2Fapp"},
		{"API client", false, "/app", "application/json", http.StatusUnauthorized, ""},
		{"the sign-in path, not served here", false, "/login", "text/html", http.StatusUnauthorized, ""},
		{"the sign-in path, served here", true, "/login", "text/html", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{LoginRedirect: "/login"}
			if tc.pages {
				h.Pages = new(PagesConfig)
			}
			if err := h.setup(app); err != nil {
				t.Fatal(err)
			}
			r := gateRequest("")
			r.Header.Del("X-Auth-Token")
			r.URL.Path = tc.path
			r.Header.Set("Accept", tc.accept)
			w := httptest.NewRecorder()
			if err := h.ServeHTTP(w, r, nextOK); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || w.Header().Get("Location") != tc.location {
				t.Fatalf("%d Location %q, want %d %q", w.Code, w.Header().Get("Location"), tc.status, tc.location)
			}
		})
	}
}

// TestLoginRedirectOtherHost: with session_cookie_domain, login_redirect
// may be the sign-in page of another host under the domain, which is
// sent the whole URL to lead back to; the sign-in page's own URL is not
// redirected (it would loop); a URL outside the domain, or without one,
// is refused at setup.
func TestLoginRedirectOtherHost(t *testing.T) {
	app := newTestApp(t)
	app.SessionCookieDomain = "example.com"
	const login = "https://auth.example.com/login"
	for _, tc := range []struct {
		name, host, path string
		secure           bool
		status           int
		location         string
	}{
		{"app host", "app.example.com", "/app?x=1", false, http.StatusFound,
			login + "?redirect=http%3A%2F%2Fapp.example.com%2Fapp%3Fx%3D1"},
		{"app host over HTTPS, with port", "app.example.com:8443", "/app", true, http.StatusFound,
			login + "?redirect=https%3A%2F%2Fapp.example.com%3A8443%2Fapp"},
		{"the sign-in page itself", "AUTH.example.com", "/login", false, http.StatusUnauthorized, ""},
		{"the sign-in path on another host", "app.example.com", "/login", false, http.StatusFound,
			login + "?redirect=http%3A%2F%2Fapp.example.com%2Flogin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{LoginRedirect: login}
			if tc.secure {
				h.SessionCookieSecure = secureAlways
			}
			if err := h.setup(app); err != nil {
				t.Fatal(err)
			}
			r := gateRequest("")
			r.Header.Del("X-Auth-Token")
			r.Host = tc.host
			r.URL.Path, r.URL.RawQuery, _ = strings.Cut(tc.path, "?")
			r.Header.Set("Accept", "text/html")
			w := httptest.NewRecorder()
			if err := h.ServeHTTP(w, r, nextOK); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || w.Header().Get("Location") != tc.location {
				t.Fatalf("%d Location %q, want %d %q", w.Code, w.Header().Get("Location"), tc.status, tc.location)
			}
		})
	}

	for _, tc := range []struct{ name, domain, target, want string }{
		{"no session_cookie_domain", "", login, "needs the app's session_cookie_domain"},
		{"host outside the domain", "example.com", "https://auth.example.org/login", "needs the app's session_cookie_domain"},
		{"lookalike host", "example.com", "https://evilexample.com/login", "needs the app's session_cookie_domain"},
		{"query", "example.com", login + "?x=1", "without query"},
		{"protocol-relative", "example.com", "//auth.example.com/login", "want a path on the site"},
		{"other scheme", "example.com", "ftp://auth.example.com/login", "want a path on the site"},
		{"user info", "example.com", "https://u@auth.example.com/login", "want a path on the site"},
		{"relative", "example.com", "login", "want a path on the site"},
	} {
		t.Run("setup/"+tc.name, func(t *testing.T) {
			app.SessionCookieDomain = tc.domain
			err := (&Handler{LoginRedirect: tc.target}).setup(app)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("setup: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
