package pages_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/tokengate/tokengate/pages"
)

// TestSafeRedirectTo: the sign-in page sends a browser back only to a
// path on its site, or to a URL of its own host or an allowed one; every
// usual spelling that a browser would take to another host leads home.
func TestSafeRedirectTo(t *testing.T) {
	const own = "auth.example.com:8443"
	allowed := pages.RedirectHosts{"app.example.com", "*.apps.example.com", "*.example.com"}
	only := pages.RedirectHosts{"app.example.com"}
	for _, tc := range []struct {
		name, in string
		hosts    pages.RedirectHosts
		want     string // "" for in itself
	}{
		// Allowed.
		{"path", "/app/page?x=1", allowed, ""},
		{"own host", "https://auth.example.com/account", nil, ""},
		{"own host, other port", "http://auth.example.com:9000/x", nil, ""},
		{"exact host", "https://app.example.com/page?x=1#top", only, ""},
		{"exact host with port", "http://app.example.com:8080/", only, ""},
		{"exact host, no path", "https://app.example.com", only, ""},
		{"wildcard", "https://wiki.example.com/a", allowed, ""},
		{"wildcard, deeper", "https://a.b.apps.example.com/a", allowed, ""},
		{"upper-case host", "https://APP.example.com/", only, ""},
		{"upper-case scheme", "HTTPS://app.example.com/", only, ""},
		{"query holding a URL", "https://app.example.com/?next=https://evil.com/", only, ""},

		// Refused.
		{"host not listed", "https://other.example.com/", only, "/"},
		{"no list: other host", "https://app.example.com/", nil, "/"},
		{"protocol-relative", "//evil.com", allowed, "/"},
		{"protocol-relative to an allowed host", "//app.example.com/", allowed, "/"},
		{"slash backslash", `/\evil.com`, allowed, "/"},
		{"backslashes", `\\evil.com`, allowed, "/"},
		{"backslash after scheme", `https:\\evil.com`, allowed, "/"},
		{"backslash in host", `https://app.example.com\@evil.com`, allowed, "/"},
		{"backslash path", `https://app.example.com/\evil.com`, allowed, "/"},
		{"scheme without slashes", "https:evil.com", allowed, "/"},
		{"scheme without slashes, allowed host", "https:app.example.com", allowed, "/"},
		{"one slash", "https:/evil.com", allowed, "/"},
		{"three slashes", "https:///evil.com", allowed, "/"},
		{"user info before allowed host", "https://evil.com@app.example.com?", allowed, "/"},
		{"allowed host as user info", "https://app.example.com@evil.com/", allowed, "/"},
		{"user and password", "https://app.example.com:pw@evil.com/", allowed, "/"},
		{"port as user info", "https://app.example.com:443@evil.com/", allowed, "/"},
		{"semicolon before at", "https://app.example.com;@evil.com/", allowed, "/"},
		{"hash before at", "https://evil.com#@app.example.com/", allowed, "/"},
		{"question mark before at", "https://evil.com?@app.example.com/", allowed, "/"},
		{"allowed host as a prefix", "https://app.example.com.evil.com/", allowed, "/"},
		{"wildcard suffix without the dot", "https://evilexample.com/", allowed, "/"},
		{"wildcard's own domain", "https://example.com/", pages.RedirectHosts{"*.example.com"}, "/"},
		{"trailing dot", "https://app.example.com./", only, "/"},
		{"tab in host", "https://app.example.com\t.evil.com/", allowed, "/"},
		{"tab in scheme", "ht\ttps://app.example.com/", allowed, "/"},
		{"newline", "https://app.example.com/\nLocation: https://evil.com/", allowed, "/"},
		{"leading space", " https://app.example.com/", allowed, "/"},
		{"space in host", "https://app.example.com /", allowed, "/"},
		{"encoded slashes", "/%2f%2fevil.com", allowed, "/"},
		{"encoded slashes after scheme", "https:%2f%2fevil.com", allowed, "/"},
		{"encoded dot in host", "https://evil%2ecom/", allowed, "/"},
		{"encoded host", "https://%61pp.example.com/", allowed, "/"},
		{"encoded at", "https://evil.com%40app.example.com/", allowed, "/"},
		{"encoded slashes in path", "https://app.example.com/%2F%2Fevil.com", allowed, "/"},
		{"double slash in path", "https://app.example.com//evil.com", allowed, "/"},
		{"upper-case other host", "https://EVIL.COM/", allowed, "/"},
		{"non-numeric port", "https://app.example.com:evil.com/", allowed, "/"},
		{"empty port", "https://app.example.com:/", allowed, "/"},
		{"long port", "https://app.example.com:123456/", allowed, "/"},
		{"two ports", "https://app.example.com:80:80/", allowed, "/"},
		{"IPv6 literal", "https://[::1]/", allowed, "/"},
		{"javascript", "javascript:alert(1)", allowed, "/"},
		{"javascript, upper case", "JavaScript://app.example.com/%0aalert(1)", allowed, "/"},
		{"data", "data:text/html,<script>alert(1)</script>", allowed, "/"},
		{"ftp", "ftp://app.example.com/", allowed, "/"},
		{"non-ASCII host", "https://аpp.example.com/", allowed, "/"},
		{"underscore host", "https://a_b.example.com/", allowed, "/"},
		{"empty label", "https://app..example.com/", allowed, "/"},
		{"empty host", "https:///", allowed, "/"},
		{"empty", "", allowed, "/"},
		{"relative", "app.example.com/x", allowed, "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got := pages.SafeRedirectTo(tc.in, own, tc.hosts); got != want {
				t.Errorf("SafeRedirectTo(%q, %q, %q) = %q, want %q", tc.in, own, tc.hosts, got, want)
			}
		})
	}
}

func TestRedirectHostsCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hosts pages.RedirectHosts
		ok    bool
	}{
		{"none", nil, true},
		{"names and patterns", pages.RedirectHosts{"app.example.com", "*.example.com", "localhost"}, true},
		{"bare star", pages.RedirectHosts{"*"}, false},
		{"star inside", pages.RedirectHosts{"app.*.example.com"}, false},
		{"star without dot", pages.RedirectHosts{"*example.com"}, false},
		{"two stars", pages.RedirectHosts{"*.*.example.com"}, false},
		{"port", pages.RedirectHosts{"app.example.com:443"}, false},
		{"URL", pages.RedirectHosts{"https://app.example.com"}, false},
		{"upper case", pages.RedirectHosts{"App.example.com"}, false},
		{"empty", pages.RedirectHosts{""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.hosts.Check()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, pages.ErrRedirectHost)) {
				t.Errorf("Check(%q) = %v, want ok %v", tc.hosts, err, tc.ok)
			}
		})
	}
}

// TestLoginRedirectOtherHost: the sign-in page of auth.example.com leads
// back to an allowed host, and its policy lets the form follow that
// redirect (form-action governs it) but no other origin; a host not
// allowed leads home, and the policy stays 'self' alone.
func TestLoginRedirectOtherHost(t *testing.T) {
	f := newFixture(t, "")
	if err := f.h.AllowRedirectHosts(pages.RedirectHosts{"*.example.com"}); err != nil {
		t.Fatal(err)
	}
	const base = "http://auth.example.com"
	policy := func(action string) string {
		return "default-src 'none'; style-src 'self'; img-src 'self'; form-action " + action +
			"; frame-ancestors 'none'; base-uri 'none'"
	}
	for _, tc := range []struct {
		name, redirect, location, action string
	}{
		{"allowed host", "https://App.example.com:8443/page?x=1", "https://App.example.com:8443/page?x=1",
			"'self' https://app.example.com:8443"},
		{"own host", base + "/account", base + "/account", "'self' http://auth.example.com"},
		{"path", "/account", "/account", "'self'"},
		{"other host", "https://example.org/", "/", "'self'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.serve(http.MethodGet, base+"/login?redirect="+url.QueryEscape(tc.redirect), nil, nil)
			if got := w.Header().Get("Content-Security-Policy"); w.Code != http.StatusOK || got != policy(tc.action) {
				t.Errorf("GET: %d, policy %q, want 200 with form-action %s", w.Code, got, tc.action)
			}
			w = f.serve(http.MethodPost, base+"/login",
				url.Values{"username": {"alice"}, "password": {alicePassword}, "redirect": {tc.redirect}}, nil)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tc.location {
				t.Errorf("POST: %d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), tc.location)
			}
		})
	}
}
