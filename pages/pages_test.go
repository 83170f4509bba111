package pages_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/pages"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

const alicePassword = "alice-password"

var paths = pages.Paths{Login: pages.DefaultLogin, Account: pages.DefaultAccount, Reset: pages.DefaultReset}

// fixture is a Handler over a fresh bolt store holding alice and bob.
type fixture struct {
	h       *pages.Handler
	auth    *auth.Service
	callers *caller.Authenticator
	st      store.Store // to read what only the store shows: password hashes
}

func newFixture(t *testing.T, templateDir string) *fixture {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "tg.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, _ := bcrypt.GenerateFromPassword([]byte(alicePassword), bcrypt.MinCost)
	if err := st.PutUser(t.Context(), store.User{ID: "alice", Username: "alice", PasswordHash: string(hash),
		Name: "Alice Example", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUser(t.Context(), store.User{ID: "bob", Username: "bob", PasswordHash: string(hash)}); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(st, tokens.NewServerKey(), auth.WithDummyPasswordHash(string(hash)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	c := &caller.Authenticator{Auth: a, SessionCookie: "sid", SessionTTL: time.Hour, Logger: zap.NewNop(),
		ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr("192.0.2.1") }}
	h, err := pages.New(a, c, paths, templateDir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, auth: a, callers: c, st: st}
}

// serve sends a request; form, if not nil, is POSTed.
func (f *fixture) serve(method, target string, form url.Values, hdr http.Header) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// session signs alice in and returns the cookie header and its token.
func (f *fixture) session(t *testing.T) (http.Header, *auth.Token) {
	t.Helper()
	raw, err := f.auth.StartSession(t.Context(), "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.auth.Authenticate(t.Context(), raw, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Cookie": {"sid=" + raw}}, tok
}

func TestPagesSecurityHeaders(t *testing.T) {
	f := newFixture(t, "")
	cookie, sess := f.session(t)
	resetTok, err := f.auth.IssueReset(t.Context(), "alice", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, target string
		form                 url.Values
		hdr                  http.Header
		status               int
	}{
		{"sign-in", "GET", "/login?redirect=/app", nil, nil, 200},
		{"sign-in failed", "POST", "/login", url.Values{"username": {"alice"}, "password": {"wrong"}}, nil, 401},
		{"signed in", "POST", "/login", url.Values{"username": {"alice"}, "password": {alicePassword}}, nil, 303},
		{"account, anonymous", "GET", "/account", nil, nil, 303},
		{"account", "GET", "/account", nil, cookie, 200},
		{"account, bad CSRF", "POST", "/account", url.Values{"action": {"create"}, "name": {"x"}, "csrf": {"no"}}, cookie, 403},
		{"token created", "POST", "/account", url.Values{"action": {"create"}, "name": {"ci"}, "csrf": {f.auth.CSRFToken(sess)}}, cookie, 200},
		{"reset form", "GET", "/reset-password?token=" + resetTok, nil, nil, 200},
		{"reset link not valid", "GET", "/reset-password?token=nope", nil, nil, 404},
		{"method not allowed", "PUT", "/login", nil, nil, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.serve(tc.method, tc.target, tc.form, tc.hdr)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			h := w.Header()
			for k, want := range map[string]string{
				"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
				"Referrer-Policy":         "same-origin",
				"Cache-Control":           "no-store",
				"X-Content-Type-Options":  "nosniff",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if tc.status == http.StatusSeeOther {
				return
			}
			if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			body := w.Body.String()
			if !strings.Contains(body, `<html lang="en">`) || strings.Contains(body, "<script") || strings.Contains(body, " style=") {
				t.Errorf("page wants lang, no script and no inline style: %s", body)
			}
		})
	}
}

// TestPagesLabels: every visible input of every form has a label.
func TestPagesLabels(t *testing.T) {
	f := newFixture(t, "")
	cookie, sess := f.session(t)
	if _, _, err := f.auth.IssueNamed(t.Context(), "alice", "ci", tokens.Access, nil); err != nil {
		t.Fatal(err)
	}
	resetTok, _ := f.auth.IssueReset(t.Context(), "alice", "test", time.Hour)
	for _, tc := range []struct {
		name string
		w    *httptest.ResponseRecorder
	}{
		{"sign-in", f.serve("GET", "/login", nil, nil)},
		{"account", f.serve("GET", "/account", nil, cookie)},
		{"token", f.serve("POST", "/account", url.Values{"action": {"create"}, "name": {"new"}, "csrf": {f.auth.CSRFToken(sess)}}, cookie)},
		{"reset", f.serve("GET", "/reset-password?token="+resetTok, nil, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.w.Body.String()
			for _, tag := range strings.Split(body, "<")[1:] {
				if !(strings.HasPrefix(tag, "input") || strings.HasPrefix(tag, "textarea")) || strings.Contains(tag, `type="hidden"`) {
					continue
				}
				_, rest, ok := strings.Cut(tag, `id="`)
				id, _, _ := strings.Cut(rest, `"`)
				if !ok || !strings.Contains(body, `<label for="`+id+`"`) {
					t.Errorf("no label for <%s", tag)
				}
			}
		})
	}
}

func TestPagesSignIn(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct {
		name     string
		form     url.Values
		hdr      http.Header
		status   int
		location string
		cookie   bool
		says     string
	}{
		{"back where it was going", url.Values{"username": {"alice"}, "password": {alicePassword}, "redirect": {"/app?x=1"}}, nil,
			303, "/app?x=1", true, ""},
		{"never elsewhere", url.Values{"username": {"alice"}, "password": {alicePassword}, "redirect": {"//evil.example/"}}, nil,
			303, "/", true, ""},
		{"same origin", url.Values{"username": {"alice"}, "password": {alicePassword}}, http.Header{"Origin": {"http://example.com"}, "Sec-Fetch-Site": {"same-origin"}},
			303, "/", true, ""},
		{"same origin under no-referrer", url.Values{"username": {"alice"}, "password": {alicePassword}}, http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"same-origin"}},
			303, "/", true, ""},
		{"opaque origin", url.Values{"username": {"alice"}, "password": {alicePassword}}, http.Header{"Origin": {"null"}},
			403, "", false, "another site"},
		{"wrong password", url.Values{"username": {"alice"}, "password": {"nope"}, "redirect": {"/app"}}, nil,
			401, "", false, "Wrong username or password."},
		{"unknown user", url.Values{"username": {"mallory"}, "password": {"nope"}}, nil,
			401, "", false, "Wrong username or password."},
		{"cross-site", url.Values{"username": {"alice"}, "password": {alicePassword}}, http.Header{"Origin": {"http://evil.example"}},
			403, "", false, "another site"},
		{"cross-site by fetch metadata", url.Values{"username": {"alice"}, "password": {alicePassword}}, http.Header{"Sec-Fetch-Site": {"cross-site"}},
			403, "", false, "another site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.serve("POST", "http://example.com/login", tc.form, tc.hdr)
			if w.Code != tc.status || w.Header().Get("Location") != tc.location {
				t.Fatalf("got %d to %q, want %d to %q: %s", w.Code, w.Header().Get("Location"), tc.status, tc.location, w.Body)
			}
			if got := strings.Contains(w.Header().Get("Set-Cookie"), "sid="); got != tc.cookie {
				t.Errorf("session cookie set: %v, want %v", got, tc.cookie)
			}
			if !strings.Contains(w.Body.String(), tc.says) {
				t.Errorf("page does not say %q: %s", tc.says, w.Body)
			}
		})
	}
}

func TestPagesSignInBlocked(t *testing.T) {
	f := newFixture(t, "")
	if _, err := f.auth.SetBlocked(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	w := f.serve("POST", "/login", url.Values{"username": {"alice"}, "password": {alicePassword}}, nil)
	if w.Code != http.StatusForbidden || w.Header().Get("Set-Cookie") != "" || !strings.Contains(w.Body.String(), "This account is blocked.") {
		t.Fatalf("blocked user: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestPagesSignInBudget(t *testing.T) {
	f := newFixture(t, "")
	wrong := url.Values{"username": {"alice"}, "password": {"nope"}}
	for range auth.DefaultBudget.Max {
		if w := f.serve("POST", "/login", wrong, nil); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure: %d", w.Code)
		}
	}
	w := f.serve("POST", "/login", url.Values{"username": {"alice"}, "password": {alicePassword}}, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Too many failed sign-in attempts") {
		t.Fatalf("past the budget: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

// TestPagesAccountActions: each action needs the session's CSRF token
// and a same-site request, and changes what it says.
func TestPagesAccountActions(t *testing.T) {
	f := newFixture(t, "")
	cookie, sess := f.session(t)
	csrf := f.auth.CSRFToken(sess)
	rec, _, err := f.auth.IssueNamed(t.Context(), "alice", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	named := func() store.NamedToken {
		list, _ := f.auth.NamedTokens(t.Context(), "alice")
		if len(list) != 1 {
			return store.NamedToken{}
		}
		return list[0]
	}
	post := func(form url.Values, hdr http.Header) *httptest.ResponseRecorder {
		h := cookie.Clone()
		for k, v := range hdr {
			h[k] = v
		}
		return f.serve("POST", "http://example.com/account", form, h)
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		hdr    http.Header
		status int
		check  func() bool
	}{
		{"no CSRF token", url.Values{"action": {"revoke"}, "id": {rec.ID}}, nil, 403, func() bool { return !named().Revoked }},
		{"another session's CSRF token", url.Values{"action": {"revoke"}, "id": {rec.ID},
			"csrf": {f.auth.CSRFToken(&auth.Token{Identity: sess.Identity, ID: "other"})}}, nil, 403, func() bool { return !named().Revoked }},
		{"cross-site", url.Values{"action": {"revoke"}, "id": {rec.ID}, "csrf": {csrf}},
			http.Header{"Origin": {"http://evil.example"}}, 403, func() bool { return !named().Revoked }},
		{"revoke", url.Values{"action": {"revoke"}, "id": {rec.ID}, "csrf": {csrf}}, nil, 303, func() bool { return named().Revoked }},
		{"un-revoke", url.Values{"action": {"restore"}, "id": {rec.ID}, "csrf": {csrf}}, nil, 303, func() bool { return !named().Revoked }},
		{"rename", url.Values{"action": {"rename"}, "id": {rec.ID}, "name": {"deploy"}, "csrf": {csrf}}, nil, 303, func() bool { return named().Name == "deploy" }},
		{"rename to nothing", url.Values{"action": {"rename"}, "id": {rec.ID}, "name": {" "}, "csrf": {csrf}}, nil, 400, func() bool { return named().Name == "deploy" }},
		{"create a taken name", url.Values{"action": {"create"}, "name": {"deploy"}, "csrf": {csrf}}, nil, 409, func() bool { return named().ID == rec.ID }},
		{"delete without id", url.Values{"action": {"delete"}, "csrf": {csrf}}, nil, 404, func() bool { return named().ID == rec.ID }},
		{"unknown action", url.Values{"action": {"explode"}, "csrf": {csrf}}, nil, 400, func() bool { return true }},
		{"delete", url.Values{"action": {"delete"}, "id": {rec.ID}, "csrf": {csrf}}, nil, 303, func() bool { return named().ID == "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(tc.form, tc.hdr)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == http.StatusSeeOther && w.Header().Get("Location") != "/account" {
				t.Errorf("redirected to %q, want /account", w.Header().Get("Location"))
			}
			if !tc.check() {
				t.Errorf("token now %+v", named())
			}
		})
	}
	t.Run("end another session", func(t *testing.T) {
		other, otherTok := f.session(t)
		theirs, _ := f.auth.StartSession(t.Context(), "bob", time.Hour)
		bobs, err := f.auth.Authenticate(t.Context(), theirs, tokens.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if w := post(url.Values{"action": {"end-session"}, "id": {bobs.ID}, "csrf": {csrf}}, nil); w.Code != http.StatusNotFound {
			t.Errorf("ending another user's session: %d", w.Code)
		}
		if w := post(url.Values{"action": {"end-session"}, "id": {otherTok.ID}, "csrf": {csrf}}, nil); w.Code != http.StatusSeeOther {
			t.Fatalf("ending another session: %d %s", w.Code, w.Body)
		}
		if w := f.serve("GET", "/account", nil, other); w.Code != http.StatusSeeOther {
			t.Errorf("the ended session still shows the account page: %d", w.Code)
		}
		if _, err := f.auth.Authenticate(t.Context(), theirs, tokens.Request{}); err != nil {
			t.Errorf("bob's session: %v", err)
		}
	})
	t.Run("sign out everywhere", func(t *testing.T) {
		other, _ := f.session(t)
		w := post(url.Values{"action": {"sign-out-everywhere"}, "csrf": {csrf}}, nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
			t.Fatalf("got %d to %q", w.Code, w.Header().Get("Location"))
		}
		for _, c := range []http.Header{cookie, other} {
			if w := f.serve("GET", "/account", nil, c); w.Code != http.StatusSeeOther {
				t.Errorf("a session after sign-out everywhere: %d", w.Code)
			}
		}
	})
}

func TestPagesTemplateOverride(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		err   error  // from New; nil: none wanted
		bad   bool   // New must fail, whatever the error
		page  string // what GET /login must then contain
		style string // what the stylesheet must then contain
	}{
		{"none", nil, nil, false, "<h1>Sign in</h1>", "system-ui"},
		{"one page", map[string]string{"login.html": `{{define "title"}}Welcome{{end}}{{define "content"}}<p>Custom sign-in</p>{{end}}`},
			nil, false, "<p>Custom sign-in</p>", "system-ui"},
		{"the layout", map[string]string{"layout.html": `{{define "layout"}}<html lang="en"><b>{{template "title" .}}</b>{{end}}`},
			nil, false, "<b>Sign in</b>", "system-ui"},
		{"the stylesheet", map[string]string{"style.css": "body{color:red}"}, nil, false, "<h1>Sign in</h1>", "color:red"},
		{"other files ignored", map[string]string{"README.txt": "x"}, nil, false, "<h1>Sign in</h1>", "system-ui"},
		{"misspelt", map[string]string{"logn.html": "x"}, pages.ErrUnknownTemplate, true, "", ""},
		{"broken", map[string]string{"account.html": `{{define "content"}}{{.Nope`}, nil, true, "", ""},
		{"layout without layout", map[string]string{"layout.html": `<p>hi</p>`}, nil, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f := newFixture(t, "")
			_, err := pages.New(f.auth, f.callers, paths, dir, zap.NewNop())
			if tc.bad {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Fatalf("New = %v, want an error (%v)", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f = newFixture(t, dir)
			if w := f.serve("GET", "/login", nil, nil); !strings.Contains(w.Body.String(), tc.page) {
				t.Errorf("sign-in page lacks %q: %s", tc.page, w.Body)
			}
			w := f.serve("GET", pages.StylePath, nil, nil)
			if w.Code != 200 || w.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(w.Body.String(), tc.style) {
				t.Errorf("stylesheet: %d %q lacks %q", w.Code, w.Header().Get("Content-Type"), tc.style)
			}
		})
	}
	if _, err := pages.New(nil, nil, paths, filepath.Join(t.TempDir(), "missing"), zap.NewNop()); err == nil {
		t.Error("a missing template directory was accepted")
	}
}

func TestPagesReset(t *testing.T) {
	f := newFixture(t, "")
	tok, err := f.auth.IssueReset(t.Context(), "alice", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := f.session(t)
	before, err := f.st.User(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if w := f.serve("GET", "/reset-password?token="+url.QueryEscape(tok), nil, nil); w.Code != 200 ||
		!strings.Contains(w.Body.String(), "Alice Example") || !strings.Contains(w.Body.String(), "alice@example.com") {
		t.Fatalf("reset form: %d %s", w.Code, w.Body)
	}
	const good = "DtUYwi&l5I1KX4@Le"
	for _, tc := range []struct {
		name    string
		form    url.Values
		hdr     http.Header
		status  int
		says    string
		cleared bool // the caller's session cookie is cleared
	}{
		{"cross-site", url.Values{"token": {tok}, "password": {good}, "confirm": {good}}, http.Header{"Origin": {"http://evil.example"}}, 403, "another site", false},
		{"no password", url.Values{"token": {tok}}, nil, 400, "Enter a new password.", false},
		{"weak", url.Values{"token": {tok}, "password": {"short"}, "confirm": {"short"}}, nil, 400, "at least 10 characters", false},
		{"passwords differ", url.Values{"token": {tok}, "password": {good}, "confirm": {good + "x"}}, nil, 400, "The two passwords differ.", false},
		{"token not valid", url.Values{"token": {"nope"}, "password": {good}, "confirm": {good}}, nil, 404, "This reset link is not valid", false},
		{"reset", url.Values{"token": {tok}, "password": {good}, "confirm": {good}}, cookie, 200, "Password changed", true},
		{"used", url.Values{"token": {tok}, "password": {good}, "confirm": {good}}, nil, 404, "This reset link is not valid", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.serve("POST", "http://example.com/reset-password", tc.form, tc.hdr)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.says) {
				t.Fatalf("got %d, want %d saying %q: %s", w.Code, tc.status, tc.says, w.Body)
			}
			if got := strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0"); got != tc.cleared {
				t.Errorf("session cookie cleared: %v, want %v", got, tc.cleared)
			}
		})
	}
	// Signing in with it costs another cost-14 bcrypt check, which the
	// browser test makes; here, the hash changed.
	if u, err := f.st.User(t.Context(), "alice"); err != nil || u.PasswordHash == before.PasswordHash {
		t.Fatalf("the password hash did not change (%v)", err)
	}
}

func TestPagesPaths(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct {
		name string
		p    pages.Paths
		ok   bool
	}{
		{"defaults", paths, true},
		{"others", pages.Paths{Login: "/auth/in", Account: "/me", Reset: "/auth/reset"}, true},
		{"empty", pages.Paths{Login: "", Account: "/me", Reset: "/r"}, false},
		{"root", pages.Paths{Login: "/", Account: "/me", Reset: "/r"}, false},
		{"relative", pages.Paths{Login: "login", Account: "/me", Reset: "/r"}, false},
		{"the stylesheet's", pages.Paths{Login: pages.StylePath, Account: "/me", Reset: "/r"}, false},
		{"twice the same", pages.Paths{Login: "/a", Account: "/a", Reset: "/r"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pages.New(f.auth, f.callers, tc.p, "", zap.NewNop())
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, pages.ErrPaths)) {
				t.Errorf("New(%+v) = %v", tc.p, err)
			}
		})
	}
}
