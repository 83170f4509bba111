package integration

// The pages for people (part 7): sign-in, account and password reset,
// through the real Caddy, in a real headless Chromium driven with
// chromedp, plus the HTTP-level checks a browser cannot make. The browser
// tests take a screenshot of each page; with TOKENGATE_SCREENSHOTS=1 they
// save them under docs/screenshots for the README (otherwise a test run
// leaves the work tree as it was).

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pagesSite: site 0 gated with the pages and login_redirect on; site 1 is
// another origin whose page posts a form to site 0's account page.
var pagesSite = caddyfile{
	App: []string{"temporary_max_ttl 1h"},
	Sites: []site{
		{Gate: []string{"pages", "login_redirect"}},
		{NoGate: true, Body: []string{`header Content-Type "text/html; charset=utf-8"`, `respond <<HTML
	<!doctype html>
	<html lang="en"><title>Prize</title>
	<form method="post" action="{{index .Site 0}}/account">
	<input type="hidden" name="action" value="create">
	<input type="hidden" name="name" value="planted">
	<button id="win">Win a prize</button>
	</form>
	HTML 200`}},
	},
}

// intranetSite (bug 10): the pages on a plain-HTTP site whose host is
// neither localhost nor 127.0.0.1, like an intranet name, where Chromium
// sends no Sec-Fetch-Site (it is no secure context); and a site on
// another name whose page posts forms to it: as a page of that site
// (/plain), and sent with Referrer-Policy no-referrer (/no-referrer), which
// makes Chromium send Origin: null. The browser resolves both names to
// loopback (newBrowser's host-resolver rule).
var intranetSite = caddyfile{
	App: []string{"temporary_max_ttl 1h"},
	Sites: []site{
		{Host: "intranet.test", Gate: []string{"pages", "login_redirect"}},
		{Host: "elsewhere.test", NoGate: true, Body: []string{
			`header Content-Type "text/html; charset=utf-8"`,
			`header /no-referrer Referrer-Policy no-referrer`,
			`respond <<HTML
	<!doctype html>
	<html lang="en"><title>Prize</title>
	<form method="post" action="{{index .Site 0}}/login">
	<input type="hidden" name="username" value="alice">
	<input type="hidden" name="password" value="` + alicePassword + `">
	<button id="sign-in">Sign in</button>
	</form>
	<form method="post" action="{{index .Site 0}}/account">
	<input type="hidden" name="action" value="create">
	<input type="hidden" name="name" value="planted">
	<button id="win">Win a prize</button>
	</form>
	HTML 200`,
		}},
	},
}

// browserAccept is what Chromium sends when it navigates.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"

// pageCSP is the policy every page is sent with.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInHTTP signs in through the sign-in form with a Go client and
// returns the session cookie header.
func (c *caddyProc) signInHTTP(t *testing.T, user, pass string) hdr {
	t.Helper()
	r := c.do(t, http.MethodPost, c.site(0)+"/login", hdr{"Content-Type": "application/x-www-form-urlencoded"},
		url.Values{"username": {user}, "password": {pass}}.Encode())
	if r.Status != http.StatusSeeOther {
		t.Fatalf("signing in: got %s, want 303", r)
	}
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == defaultSessionCk && ck.Value != "" {
			return hdr{"Cookie": ck.Name + "=" + ck.Value}
		}
	}
	t.Fatalf("signing in: no session cookie in %v", r.Header)
	return nil
}

// TestPagesLoginRedirect: with login_redirect, browsers navigating
// without valid credentials go to the sign-in page carrying where they
// were going; API clients keep Onezone's 401.
func TestPagesLoginRedirect(t *testing.T) {
	c := newCaddy(t, pagesSite)
	base := c.site(0)
	for _, tc := range []struct {
		name, method, path string
		h                  hdr
		status             int
		location           string
	}{
		{"browser", "GET", "/app/page?x=1&y=%2F", hdr{"Accept": browserAccept}, 302, "/login?redirect=%2Fapp%2Fpage%3Fx%3D1%26y%3D%252F"},
		{"browser, HEAD", "HEAD", "/app", hdr{"Accept": "text/html"}, 302, "/login?redirect=%2Fapp"},
		{"browser with a bad token", "GET", "/app", hdr{"Accept": browserAccept, "X-Auth-Token": "not-a-token"}, 302, "/login?redirect=%2Fapp"},
		{"browser with an ended session", "GET", "/app", hdr{"Accept": browserAccept, "Cookie": defaultSessionCk + "=x.y.z"}, 302, "/login?redirect=%2Fapp"},
		{"API client", "GET", "/app", hdr{"Accept": "application/json"}, 401, ""},
		{"curl", "GET", "/app", hdr{"Accept": "*/*"}, 401, ""},
		{"no Accept", "GET", "/app", nil, 401, ""},
		{"JSON preferred", "GET", "/app", hdr{"Accept": "application/json, text/html;q=0.9"}, 401, ""},
		{"form post", "POST", "/app", hdr{"Accept": browserAccept}, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, tc.method, base+tc.path, tc.h, nil)
			if r.Status != tc.status || r.Header.Get("Location") != tc.location {
				t.Fatalf("got %s to %q, want %d to %q", r, r.Header.Get("Location"), tc.status, tc.location)
			}
			if tc.status == http.StatusUnauthorized && tc.method != "HEAD" {
				wantError(t, r, http.StatusUnauthorized, "unauthorized")
			}
			if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Accept") {
				t.Errorf("Vary %q lacks Accept", r.Header.Values("Vary"))
			}
		})
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("the upstream was reached %d times", n)
	}
}

// TestPagesSecurityHeaders: every page, whatever it answers, is sent with
// the policy, Referrer-Policy same-origin (a reset link's token reaches no
// other site; the pages' own forms carry their Origin), no-store and
// nosniff; pages are HTML in English; the stylesheet is served.
func TestPagesSecurityHeaders(t *testing.T) {
	c := newCaddy(t, pagesSite)
	base := c.site(0)
	session := c.signInHTTP(t, "alice", alicePassword)
	form := hdr{"Content-Type": "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name, method, path string
		h                  hdr
		body               any
		status             int
	}{
		{"sign-in", "GET", "/login", nil, nil, 200},
		{"sign-in failed", "POST", "/login", form, "username=alice&password=wrong", 401},
		{"signed in", "POST", "/login", form, "username=alice&password=" + url.QueryEscape(alicePassword), 303},
		{"account, anonymous", "GET", "/account", nil, nil, 303},
		{"account", "GET", "/account", session, nil, 200},
		{"account, no CSRF token", "POST", "/account", hdr{"Cookie": session["Cookie"], "Content-Type": form["Content-Type"]}, "action=sign-out", 403},
		{"reset link not valid", "GET", "/reset-password?token=nope", nil, nil, 404},
		{"method not allowed", "DELETE", "/account", nil, nil, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, tc.method, base+tc.path, tc.h, tc.body)
			if r.Status != tc.status {
				t.Fatalf("got %s, want %d", r, tc.status)
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": pageCSP,
				"Referrer-Policy":         "same-origin",
				"Cache-Control":           "no-store",
				"X-Content-Type-Options":  "nosniff",
			} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if tc.status != http.StatusSeeOther {
				if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(string(r.Body), `<html lang="en">`) {
					t.Errorf("Content-Type %q, body %s", ct, r.Body)
				}
			}
		})
	}
	r := c.do(t, "GET", base+"/_tokengate/style.css", nil, nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("stylesheet: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
}

// TestPagesRefuseOtherSites: a form posted from another site is refused,
// whatever it carries: sign-in (login CSRF) and account actions, even
// with the right CSRF token.
func TestPagesRefuseOtherSites(t *testing.T) {
	c := newCaddy(t, pagesSite)
	base := c.site(0)
	session := c.signInHTTP(t, "alice", alicePassword)
	m := csrfRE.FindSubmatch(c.do(t, "GET", base+"/account", session, nil).Body)
	if m == nil {
		t.Fatal("no CSRF token on the account page")
	}
	csrf := string(m[1])
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, path, body string
		h                hdr
		status           int
	}{
		{"sign-in from another origin", "/login", "username=alice&password=" + url.QueryEscape(alicePassword),
			hdr{"Origin": "http://evil.example"}, 403},
		{"sign-in from another site", "/login", "username=alice&password=" + url.QueryEscape(alicePassword),
			hdr{"Sec-Fetch-Site": "cross-site"}, 403},
		// What a no-referrer page of another site posts where browsers send
		// no Sec-Fetch-Site (plain HTTP on a host other than localhost).
		{"sign-in with Origin null and no Sec-Fetch-Site", "/login", "username=alice&password=" + url.QueryEscape(alicePassword),
			hdr{"Origin": "null"}, 403},
		{"account action from another origin", "/account", "action=create&name=planted&csrf=" + csrf,
			hdr{"Origin": "http://evil.example", "Cookie": session["Cookie"]}, 403},
		{"account action with a forged CSRF token", "/account", "action=create&name=planted&csrf=AAAA",
			hdr{"Cookie": session["Cookie"]}, 403},
		{"reset from another origin", "/reset-password", "token=x&password=x&confirm=x",
			hdr{"Origin": "http://evil.example"}, 403},
		{"account action from this site", "/account", "action=create&name=mine&csrf=" + csrf,
			hdr{"Origin": base, "Sec-Fetch-Site": "same-origin", "Cookie": session["Cookie"]}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h["Content-Type"] = form
			r := c.do(t, http.MethodPost, base+tc.path, tc.h, tc.body)
			if r.Status != tc.status {
				t.Fatalf("got %s, want %d", r, tc.status)
			}
			if r.Header.Get("Set-Cookie") != "" {
				t.Errorf("a refused form set a cookie: %q", r.Header.Get("Set-Cookie"))
			}
		})
	}
	if names := c.namedTokenNames(t, "alice"); strings.Join(names, ",") != "mine" {
		t.Errorf("alice's named tokens: %v, want only mine", names)
	}
}

// TestPagesOpenRedirect: the redirect after sign-in stays on the site.
func TestPagesOpenRedirect(t *testing.T) {
	c := newCaddy(t, pagesSite)
	for _, tc := range []struct{ redirect, want string }{
		{"/app?x=1", "/app?x=1"},
		{"https://evil.example/", "/"},
		{"//evil.example/", "/"},
		{`/\evil.example/`, "/"},
		{"/%2F%2Fevil.example/", "/"},
		{"/\t/evil.example/", "/"},
		{"javascript:alert(1)", "/"},
	} {
		t.Run(tc.redirect, func(t *testing.T) {
			r := c.do(t, http.MethodPost, c.site(0)+"/login", hdr{"Content-Type": "application/x-www-form-urlencoded"},
				url.Values{"username": {"alice"}, "password": {alicePassword}, "redirect": {tc.redirect}}.Encode())
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != tc.want {
				t.Fatalf("got %s to %q, want 303 to %q", r, r.Header.Get("Location"), tc.want)
			}
		})
	}
}

// namedTokenNames lists a user's named tokens through the admin API.
func (c *caddyProc) namedTokenNames(t *testing.T, id string) []string {
	t.Helper()
	r := c.adminWant(t, http.MethodGet, "/tokengate/users/"+id+"/tokens/named", nil, http.StatusOK)
	var list []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatalf("named tokens of %s: %v in %s", id, err, r.Body)
	}
	var names []string
	for _, n := range list {
		names = append(names, n.Name)
	}
	return names
}

// ---------------------------------------------------------------------------
// In the browser.

// TestPagesBrowser runs the people's flows in one headless Chromium; each
// flow gets its own Caddy and its own browser contexts (cookie jars).
func TestPagesBrowser(t *testing.T) {
	browser := newBrowser(t)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, c *caddyProc, browser context.Context)
		cfg  caddyfile
	}{
		{"SignInAndBack", browserSignInAndBack, pagesSite},
		{"NamedToken", browserNamedToken, pagesSite},
		{"SignOutEverywhere", browserSignOutEverywhere, pagesSite},
		{"Reset", browserReset, pagesSite},
		{"OpenRedirect", browserOpenRedirect, pagesSite},
		{"CrossSiteForm", browserCrossSiteForm, pagesSite},
		{"IntranetHost", browserIntranetHost, intranetSite},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newCaddy(t, tc.cfg), browser) })
	}
}

// browserSignInAndBack: an anonymous visit to the app goes to sign-in; a
// wrong password shows the message; signing in with the keyboard alone
// lands on the original path, and the app sees who signed in.
func browserSignInAndBack(t *testing.T, c *caddyProc, browser context.Context) {
	b := newTab(t, browser)
	b.do(chromedp.Navigate(c.site(0)+"/app/page?x=1"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if u := b.location(); u.Path != "/login" || u.Query().Get("redirect") != "/app/page?x=1" {
		t.Fatalf("sent to %s, want the sign-in page leading back to /app/page?x=1", u)
	}
	// The stylesheet applies despite the policy: it is 'self'.
	if font := b.eval("getComputedStyle(document.body).fontFamily"); !strings.Contains(font, "system-ui") {
		t.Errorf("stylesheet not applied: body font %q", font)
	}
	b.shot("sign-in")

	b.do(chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "wrong password\r"),
		chromedp.WaitVisible(chromedp.CSS(".error")))
	if msg := b.text(".error"); msg != "Wrong username or password." {
		t.Errorf("error message %q", msg)
	}
	b.shot("sign-in-error")

	// The form keeps the username and where to go; Enter submits.
	b.do(chromedp.SendKeys(chromedp.CSS("#password"), alicePassword+"\r"), chromedp.WaitVisible(chromedp.CSS("pre")))
	if u := b.location(); u.Host != strings.TrimPrefix(c.site(0), "http://") || u.RequestURI() != "/app/page?x=1" {
		t.Fatalf("landed on %s, want /app/page?x=1 on the site", u)
	}
	s := b.upstreamSaw()
	if ids, _ := s.header("X-Auth-User-Id"); len(ids) != 1 || ids[0] != "alice" {
		t.Errorf("upstream saw X-Auth-User-Id %v, want alice", ids)
	}
	if names, _ := s.header("X-Auth-User-Name"); len(names) != 1 || names[0] != "Alice Example" {
		t.Errorf("upstream saw X-Auth-User-Name %v", names)
	}
	if cookies, _ := s.header("Cookie"); len(cookies) != 0 {
		t.Errorf("the session cookie reached the upstream: %v", cookies)
	}
}

// browserNamedToken: a named token created on the account page is shown
// once and works from an HTTP client; revoking and un-revoking it on the
// page take effect.
func browserNamedToken(t *testing.T, c *caddyProc, browser context.Context) {
	b := newTab(t, browser)
	b.signIn(c.site(0)+"/account", "alice", alicePassword)
	b.do(chromedp.WaitVisible(chromedp.CSS("#new-token")),
		chromedp.SendKeys(chromedp.CSS("#new-token"), "ci-deploy\r"),
		chromedp.WaitVisible(chromedp.CSS("#token")))
	tok := b.value("#token")
	b.shot("token-created")
	api := func(want int) {
		t.Helper()
		r := c.gate(t, tok)
		if r.Status != want {
			t.Fatalf("the token at the gate: got %s, want %d", r, want)
		}
		if want == http.StatusOK {
			c.gateAs(t, tok, "alice")
		}
	}
	api(http.StatusOK)

	b.do(chromedp.Click(chromedp.CSS("a.button")), chromedp.WaitVisible(chromedp.CSS(`button[value="revoke"]`)))
	if main := b.text("main"); !strings.Contains(main, "ci-deploy") || !strings.Contains(main, "This browser") ||
		!strings.Contains(main, "alice@example.com") || strings.Contains(main, tok) {
		t.Errorf("account page: %s", main)
	}
	b.shot("account")
	b.do(chromedp.Click(chromedp.CSS(`button[value="revoke"]`)), chromedp.WaitVisible(chromedp.CSS(".badge.revoked")))
	api(http.StatusUnauthorized)
	b.do(chromedp.Click(chromedp.CSS(`button[value="restore"]`)), chromedp.WaitVisible(chromedp.CSS(`button[value="revoke"]`)))
	api(http.StatusOK)
}

// browserSignOutEverywhere: "sign out everywhere" in one browser ends the
// session of another.
func browserSignOutEverywhere(t *testing.T, c *caddyProc, browser context.Context) {
	one, two := newTab(t, browser), newTab(t, browser)
	one.signIn(c.site(0)+"/account", "alice", alicePassword)
	two.signIn(c.site(0)+"/account", "alice", alicePassword)
	for _, b := range []*tab{one, two} {
		b.do(chromedp.Navigate(c.site(0)+"/account"), chromedp.WaitVisible(chromedp.CSS("#sessions")))
		if n := strings.Count(b.text("#sessions + table tbody"), "UTC"); n != 4 {
			t.Fatalf("the sessions table shows %d dates, want 4: two sessions", n)
		}
	}
	one.do(chromedp.Click(chromedp.CSS(`button[value="sign-out-everywhere"]`)), chromedp.WaitVisible(chromedp.CSS("#username")))
	two.do(chromedp.Navigate(c.site(0)+"/account"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if u := two.location(); u.Path != "/login" || u.Query().Get("redirect") != "/account" {
		t.Fatalf("the other browser's account page: at %s, want sign-in", u)
	}
	two.do(chromedp.Navigate(c.site(0)+"/app"), chromedp.WaitVisible(chromedp.CSS("#username")))
}

// browserReset: from an admin-issued link (reset_url's default leads to
// the page) through a policy error to signing in with the new password;
// the link works once.
func browserReset(t *testing.T, c *caddyProc, browser context.Context) {
	c.addUser(t, "carol", "carol-old-password", "Viewer")
	_, link := c.issueReset(t, "carol")
	if !strings.HasPrefix(link, "/reset-password?token=") {
		t.Fatalf("reset link %q does not lead to the page", link)
	}
	b := newTab(t, browser)
	b.do(chromedp.Navigate(c.site(0)+link), chromedp.WaitVisible(chromedp.CSS("#password")))
	if main := b.text("main"); !strings.Contains(main, "User carol") || !strings.Contains(main, "carol@example.com") {
		t.Errorf("reset form does not show the user: %s", main)
	}
	b.shot("reset")
	b.do(chromedp.SendKeys(chromedp.CSS("#password"), "short"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "short\r"),
		chromedp.WaitVisible(chromedp.CSS("#reasons")))
	if reasons := b.text("#reasons"); !strings.Contains(reasons, "at least 10 characters") {
		t.Errorf("policy reasons: %q", reasons)
	}
	b.shot("reset-error")
	b.do(chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#confirm"), newPassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS("a.button")))
	if h1 := b.text("h1"); h1 != "Password changed" {
		t.Fatalf("after the reset: %q", h1)
	}
	b.shot("reset-done")
	b.do(chromedp.Click(chromedp.CSS("a.button")), chromedp.WaitVisible(chromedp.CSS("#username")))
	b.do(chromedp.SendKeys(chromedp.CSS("#username"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#password"), newPassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS("pre")))
	if ids, _ := b.upstreamSaw().header("X-Auth-User-Id"); len(ids) != 1 || ids[0] != "carol" {
		t.Errorf("upstream saw X-Auth-User-Id %v, want carol", ids)
	}
	b.do(chromedp.Navigate(c.site(0)+link), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h1 := b.text("h1"); h1 != "This reset link is not valid" {
		t.Errorf("the link used again: %q", h1)
	}
}

// browserOpenRedirect: a sign-in link leading to another site leads home.
func browserOpenRedirect(t *testing.T, c *caddyProc, browser context.Context) {
	b := newTab(t, browser)
	b.signIn(c.site(0)+"/login?redirect="+url.QueryEscape("https://evil.example/steal"), "alice", alicePassword)
	b.do(chromedp.WaitVisible(chromedp.CSS("pre")))
	if u := b.location(); u.Host != strings.TrimPrefix(c.site(0), "http://") || u.Path != "/" {
		t.Fatalf("landed on %s, want / on the site", u)
	}
}

// browserCrossSiteForm: a page of another origin that gets a signed-in
// browser to post a form to the account page is refused.
func browserCrossSiteForm(t *testing.T, c *caddyProc, browser context.Context) {
	b := newTab(t, browser)
	b.signIn(c.site(0)+"/account", "alice", alicePassword)
	b.do(chromedp.WaitVisible(chromedp.CSS("#new-token")))
	b.do(chromedp.Navigate(c.site(1)), chromedp.Click(chromedp.CSS("#win")), chromedp.WaitVisible(chromedp.CSS("h1")))
	if u, main := b.location(), b.text("main"); u.Path != "/account" || !strings.Contains(main, "sent from another site") {
		t.Errorf("at %s: %s", u, main)
	}
	if names := c.namedTokenNames(t, "alice"); len(names) != 0 {
		t.Errorf("the other site created tokens: %v", names)
	}
}

// browserIntranetHost (bug 10): on a plain-HTTP site named like an
// intranet host, signing in and the account page's forms work; a form
// another site posts to the sign-in or account page is refused, with its
// Origin and with Origin: null alike.
func browserIntranetHost(t *testing.T, c *caddyProc, browser context.Context) {
	site, other := c.site(0), c.site(1)
	host := strings.TrimPrefix(site, "http://")
	b := newTab(t, browser)
	b.signIn(site+"/app/page", "alice", alicePassword)
	if u := b.location(); u.Host != host || u.Path != "/app/page" {
		t.Fatalf("signing in on %s: at %s: %s", site, u, b.text("body"))
	}
	if ids, _ := b.upstreamSaw().header("X-Auth-User-Id"); len(ids) != 1 || ids[0] != "alice" {
		t.Errorf("upstream saw X-Auth-User-Id %v, want alice", ids)
	}
	b.do(chromedp.Navigate(site+"/account"), chromedp.WaitVisible(chromedp.CSS("#new-token")),
		chromedp.SendKeys(chromedp.CSS("#new-token"), "intranet\r"), chromedp.WaitNotPresent(chromedp.CSS("#new-token")))
	if b.eval("String(document.querySelector('#token') !== null)") != "true" {
		t.Fatalf("creating a named token on %s: %s", site, b.text("body"))
	}

	for _, page := range []string{"/plain", "/no-referrer"} {
		t.Run("account form from "+page, func(t *testing.T) {
			b.do(chromedp.Navigate(other+page), chromedp.Click(chromedp.CSS("#win")), chromedp.WaitNotPresent(chromedp.CSS("#win")))
			if u, body := b.location(), b.text("body"); u.Host != host || u.Path != "/account" || !strings.Contains(body, "sent from another site") {
				t.Errorf("at %s: %s", u, body)
			}
		})
		t.Run("sign-in form from "+page, func(t *testing.T) {
			f := newTab(t, browser)
			f.do(chromedp.Navigate(other+page), chromedp.Click(chromedp.CSS("#sign-in")), chromedp.WaitNotPresent(chromedp.CSS("#sign-in")))
			if u, body := f.location(), f.text("body"); u.Host != host || u.Path != "/login" || !strings.Contains(body, "sent from another site") {
				t.Errorf("at %s: %s", u, body)
			}
			// No session was started: the account page sends this browser
			// to sign in.
			f.do(chromedp.Navigate(site + "/account"))
			if u := f.location(); u.Path != "/login" {
				t.Errorf("the other site's sign-in form started a session: /account led to %s", u)
			}
		})
	}
	if names := c.namedTokenNames(t, "alice"); strings.Join(names, ",") != "intranet" {
		t.Errorf("alice's named tokens: %v, want only intranet", names)
	}
}

// ---------------------------------------------------------------------------
// Browser helpers.

// newBrowser starts one headless Chromium for the test and its subtests.
// A missing Chromium fails the test, as a missing redis-server does:
// .ci/run installs both.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed; .ci/run installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// Site names ending in .test (intranetSite) reach the test's sites.
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.WindowSize(1000, 700),
		// chromedp makes a fresh user-data-dir and removes it at the end.
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser: no timeout, it would stop it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// tab is a browser tab in a browser context of its own: its own cookies.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// browserTimeout bounds one test's browsing.
const browserTimeout = 45 * time.Second

func newTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return &tab{t: t, ctx: ctx}
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// text is the visible text of the element css selects.
func (b *tab) text(css string) string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(css)))
}

// value is the value of the form field css selects.
func (b *tab) value(css string) string {
	b.t.Helper()
	return run(b, chromedp.Value(chromedp.CSS(css)))
}

// eval evaluates a JavaScript expression as the DevTools do, whatever
// the page's policy.
func (b *tab) eval(js string) string {
	b.t.Helper()
	return run(b, chromedp.Evaluate[string](js))
}

func (b *tab) location() *url.URL {
	b.t.Helper()
	u, err := url.Parse(run(b, chromedp.Location()))
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// signIn opens target, which must lead to the sign-in page, and signs in.
func (b *tab) signIn(target, user, pass string) {
	b.t.Helper()
	b.do(chromedp.Navigate(target), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), pass+"\r"),
		chromedp.WaitNotPresent(chromedp.CSS("#username")))
}

// upstreamSaw reads the upstream's echo, which Chromium shows as text.
func (b *tab) upstreamSaw() seen {
	b.t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(b.text("pre")), &s); err != nil || s.Headers == nil {
		b.t.Fatalf("the page is not the upstream's echo (%v): %s", err, b.text("body"))
	}
	return s
}

// shot takes a screenshot of the whole page and, with
// TOKENGATE_SCREENSHOTS=1, saves it as docs/screenshots/<name>.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	png := run(b, chromedp.FullScreenshot(100))
	if os.Getenv("TOKENGATE_SCREENSHOTS") != "1" {
		return
	}
	dir := filepath.Join(modRoot, "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
