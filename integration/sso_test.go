package integration

// Single sign-on across hosts (issue 17): three sites on loopback names
// under one parent share the session cookie (session_cookie_domain
// sso.localhost); the apps send browsers to the sign-in page on auth,
// which leads back only to hosts it allows. Chromium resolves every
// *.localhost name to loopback by itself; the harness's clients do so in
// dialLoopback. A browser refuses a cookie with Domain=localhost itself,
// hence the parent sso.localhost.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// ssoDomain is the parent of the three sites' names.
const ssoDomain = "sso.localhost"

// secureSessionCk is the default session cookie's name over HTTPS with
// session_cookie_domain.
const secureSessionCk = "__Secure-" + defaultSessionCk

// ssoSites: app1 (site 0) and app2 (site 1, which also serves the account
// page) send browsers to sign in on auth (site 2), whose sign-in page
// leads back to any host under sso.localhost. 127.0.0.1 is a trusted
// proxy, so that a test can say a request came over HTTPS.
var ssoSites = caddyfile{
	App:    []string{"temporary_max_ttl 1h", "session_cookie_domain " + ssoDomain},
	Global: []string{trustLoopbackProxy},
	Sites: []site{
		{Host: "app1." + ssoDomain, Gate: []string{"login_redirect {{index .Site 2}}/login"}},
		{Host: "app2." + ssoDomain, Gate: []string{"pages", "login_redirect {{index .Site 2}}/login"}},
		{Host: "auth." + ssoDomain, Gate: []string{"pages {\n\tallowed_redirect_hosts *." + ssoDomain + "\n}"}},
	},
}

// ssoSignIn posts the sign-in form on auth with redirect, and returns the
// answer.
func ssoSignIn(t *testing.T, c *caddyProc, redirect string, h hdr) *response {
	t.Helper()
	return c.do(t, http.MethodPost, c.site(2)+"/login", withHdr(h, hdr{"Content-Type": "application/x-www-form-urlencoded"}),
		url.Values{"username": {"alice"}, "password": {alicePassword}, "redirect": {redirect}}.Encode())
}

// TestSSOCookieDomain: at the HTTP level, signing in on auth sets one
// cookie with Domain=sso.localhost (plain name over HTTP, __Secure- over
// HTTPS, never __Host-, which forbids a Domain), that cookie passes both
// apps' gates, and a sign-out on app2 clears it with the same Domain and
// ends the session on every host, as revoking every temporary token on
// app1 does. The sign-in page leads back to hosts under the domain and
// nowhere else.
func TestSSOCookieDomain(t *testing.T) {
	c := newCaddy(t, ssoSites)
	app1, app2 := c.site(0), c.site(1)
	for _, tc := range []struct {
		name string
		h    hdr // the proxy's
		ck   string
	}{
		{"http", hdr{}, defaultSessionCk},
		{"https", hdr{"X-Forwarded-Proto": "https"}, secureSessionCk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ssoSignIn(t, c, app1+"/page?x=1", tc.h)
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != app1+"/page?x=1" {
				t.Fatalf("signing in: got %s, Location %q; want 303 to app1", r, r.Header.Get("Location"))
			}
			ck := respCookie(t, r, tc.ck)
			switch {
			case ck == nil:
				t.Fatalf("no Set-Cookie %s; Set-Cookie %q", tc.ck, r.Header.Values("Set-Cookie"))
			case ck.Domain != ssoDomain || ck.Path != "/" || !ck.HttpOnly || ck.Secure != (tc.ck == secureSessionCk):
				t.Errorf("Set-Cookie %q: want Domain=%s, Path=/, HttpOnly, Secure only over HTTPS", ck.Raw, ssoDomain)
			}
			for _, other := range []string{defaultSessionCk, hostSessionCk, secureSessionCk} {
				if other != tc.ck && respCookie(t, r, other) != nil {
					t.Errorf("Set-Cookie %s as well: %q", other, r.Header.Values("Set-Cookie"))
				}
			}
			sess := withHdr(tc.h, cookieHdr(tc.ck, ck.Value))
			for _, app := range []string{app1, app2} {
				s := wantGateUser(t, c.do(t, http.MethodGet, app+"/page", sess, nil), "alice")
				if cookies, _ := s.header("Cookie"); len(cookies) != 0 {
					t.Errorf("the session cookie reached %s's upstream: %v", app, cookies)
				}
			}

			r = c.do(t, http.MethodPost, app2+"/logout", sess, nil)
			if r.Status != http.StatusNoContent {
				t.Fatalf("logout on app2: got %s, want 204", r)
			}
			wantClearedCookie(t, r, tc.ck)
			if cl := respCookie(t, r, tc.ck); cl != nil && cl.Domain != ssoDomain {
				t.Errorf("clearing Set-Cookie %q: want Domain=%s, or the browser keeps the shared cookie", cl.Raw, ssoDomain)
			}
			for _, app := range []string{app1, app2, c.site(2)} {
				wantRefused(t, c.do(t, http.MethodGet, app+"/page", sess, nil), "tokenSessionInvalid")
			}
		})
	}

	t.Run("revoke all on app1", func(t *testing.T) {
		r := ssoSignIn(t, c, "/", nil)
		ck := respCookie(t, r, defaultSessionCk)
		if ck == nil {
			t.Fatalf("signing in: no Set-Cookie %s: %s", defaultSessionCk, r)
		}
		sess := cookieHdr(defaultSessionCk, ck.Value)
		wantGateUser(t, c.do(t, http.MethodGet, app2+"/page", sess, nil), "alice")
		if r := c.do(t, http.MethodDelete, app1+tempPath, sess, nil); r.Status != http.StatusNoContent {
			t.Fatalf("revoking every temporary token on app1: got %s, want 204", r)
		}
		for _, app := range []string{app1, app2, c.site(2)} {
			wantRefused(t, c.do(t, http.MethodGet, app+"/page", sess, nil), "tokenRevoked")
		}
	})

	t.Run("redirects", func(t *testing.T) {
		port := strings.TrimPrefix(app1, "http://app1."+ssoDomain)
		for _, tc := range []struct{ target, want string }{
			{app2 + "/x", app2 + "/x"},
			{"http://deep.app3." + ssoDomain + port + "/", "http://deep.app3." + ssoDomain + port + "/"},
			{"/account", "/account"},
			{"http://" + ssoDomain + port + "/", "/"},
			{"http://evil.localhost" + port + "/", "/"},
			{"http://app1." + ssoDomain + ".evil.localhost" + port + "/", "/"},
			{"http://evil.localhost" + port + "@app1." + ssoDomain + port + "/", "/"},
			{"//evil.localhost" + port + "/", "/"},
			{"https:evil.localhost", "/"},
		} {
			r := ssoSignIn(t, c, tc.target, nil)
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != tc.want {
				t.Errorf("signing in with redirect %q: got %s, Location %q; want 303 to %q", tc.target, r, r.Header.Get("Location"), tc.want)
			}
		}
	})
}

// TestSSOBrowser: in Chromium, signing in once on auth reaches both apps;
// signing out on app2 ends the session on both. Chromium takes the
// Domain=sso.localhost cookie on plain HTTP as it is: no flag is needed.
// It does apply the sign-in page's form-action policy to the redirect
// after the form is sent, which is why that page allows the origin it
// leads back to (pages.allowFormRedirect).
func TestSSOBrowser(t *testing.T) {
	browser := newBrowser(t)
	c := newCaddy(t, ssoSites)
	app1, app2, auth := c.site(0), c.site(1), c.site(2)
	host := func(base string) string { return strings.TrimPrefix(base, "http://") }
	b := newTab(t, browser)

	// app1 sends the browser to sign in on auth, which leads back.
	b.do(chromedp.Navigate(app1+"/page?x=1"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if u := b.location(); u.Host != host(auth) || u.Path != "/login" || u.Query().Get("redirect") != app1+"/page?x=1" {
		t.Fatalf("app1 sent the browser to %s, want auth's sign-in page leading back to app1", u)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), alicePassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS("pre")))
	if u := b.location(); u.Host != host(app1) || u.RequestURI() != "/page?x=1" {
		t.Fatalf("signed in: landed on %s, want app1's /page?x=1", u)
	}
	if ids, _ := b.upstreamSaw().header("X-Auth-User-Id"); len(ids) != 1 || ids[0] != "alice" {
		t.Fatalf("app1's upstream saw X-Auth-User-Id %v, want alice", ids)
	}

	// app2 and auth know the browser without another sign-in.
	for _, site := range []string{app2, auth} {
		b.do(chromedp.Navigate(site+"/other"), chromedp.WaitVisible(chromedp.CSS("pre")))
		if u := b.location(); u.Host != host(site) || u.Path != "/other" {
			t.Fatalf("at %s, want %s/other", u, site)
		}
		if ids, _ := b.upstreamSaw().header("X-Auth-User-Id"); len(ids) != 1 || ids[0] != "alice" {
			t.Errorf("%s's upstream saw X-Auth-User-Id %v, want alice", site, ids)
		}
	}

	// Sign out on app2's account page.
	b.do(chromedp.Navigate(app2+"/account"), chromedp.WaitVisible(chromedp.CSS(`button[value="sign-out"]`)))
	b.shot("sso-account-app2")
	b.do(chromedp.Click(chromedp.CSS(`button[value="sign-out"]`)), chromedp.WaitVisible(chromedp.CSS("#username")))

	// Both apps refuse now: they send the browser to sign in again.
	for _, site := range []string{app1, app2} {
		b.do(chromedp.Navigate(site+"/page"), chromedp.WaitVisible(chromedp.CSS("#username")))
		if u := b.location(); u.Host != host(auth) || u.Path != "/login" || u.Query().Get("redirect") != site+"/page" {
			t.Errorf("after signing out, %s/page led to %s, want auth's sign-in page", site, u)
		}
	}
}
