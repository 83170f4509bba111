package pages_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
	"github.com/tokengate/tokengate/pages"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

const alicePassword = authtest.Password

var paths = pages.Paths{Login: pages.DefaultLogin, Account: pages.DefaultAccount, Reset: pages.DefaultReset}

// fixture is a Handler over the shared fixture's Service. No test may
// make a page log an error: each answer here is the client's doing.
type fixture struct {
	*authtest.Fixture
	h       *pages.Handler
	auth    *auth.Service
	callers *caller.Authenticator
}

func newFixture(t *testing.T, templateDir string, opts ...auth.Option) *fixture {
	t.Helper()
	af := authtest.New(t, opts...)
	core, logs := observer.New(zap.ErrorLevel)
	tmpl, err := pages.LoadTemplates(templateDir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pages.New(af.Auth, af.Callers, paths, tmpl, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, e := range logs.All() {
			t.Errorf("logged at %s: %s %v", e.Level, e.Message, e.ContextMap())
		}
	})
	return &fixture{Fixture: af, h: h, auth: af.Auth, callers: af.Callers}
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
	cookie, tok := f.Session(t, authtest.Alice)
	return http.Header{"Cookie": {cookie}}, tok
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

// stopped is a clock that does not move, for exact Retry-After values.
func stopped() auth.Option {
	now := time.Now()
	return auth.WithClock(func() time.Time { return now })
}

func TestPagesSignInBudget(t *testing.T) {
	f := newFixture(t, "", stopped())
	wrong := url.Values{"username": {"alice"}, "password": {"nope"}}
	for range auth.DefaultBudget.Max {
		if w := f.serve("POST", "/login", wrong, nil); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure: %d", w.Code)
		}
	}
	w := f.serve("POST", "/login", url.Values{"username": {"alice"}, "password": {alicePassword}}, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "300" ||
		!strings.Contains(w.Body.String(), "Too many failed sign-in attempts. Try again in 300 seconds.") {
		t.Fatalf("past the budget: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestPagesResetBudget(t *testing.T) {
	f := newFixture(t, "", stopped())
	tok, err := f.auth.IssueReset(t.Context(), authtest.Alice, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range auth.DefaultBudget.Max {
		if w := f.serve("GET", "/reset-password?token=guess", nil, nil); w.Code != http.StatusNotFound {
			t.Fatalf("a guess: %d", w.Code)
		}
	}
	w := f.serve("GET", "/reset-password?token="+tok, nil, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "300" ||
		!strings.Contains(w.Body.String(), "Too many invalid reset links were tried from here. Try again in 300 seconds.") {
		t.Fatalf("past the budget: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestPagesMethods(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct{ method, target, allow string }{
		{"PUT", "/login", "GET, HEAD, POST"},
		{"DELETE", "/account", "GET, HEAD, POST"},
		{"PATCH", "/reset-password", "GET, HEAD, POST"},
		{"POST", pages.StylePath, "GET, HEAD"},
	} {
		w := f.serve(tc.method, tc.target, nil, nil)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405, %q", tc.method, tc.target, w.Code, w.Header().Get("Allow"), tc.allow)
		}
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
			_, err := pages.LoadTemplates(dir)
			if tc.bad {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Fatalf("LoadTemplates = %v, want an error (%v)", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, dir)
			if w := f.serve("GET", "/login", nil, nil); !strings.Contains(w.Body.String(), tc.page) {
				t.Errorf("sign-in page lacks %q: %s", tc.page, w.Body)
			}
			w := f.serve("GET", pages.StylePath, nil, nil)
			if w.Code != 200 || w.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(w.Body.String(), tc.style) {
				t.Errorf("stylesheet: %d %q lacks %q", w.Code, w.Header().Get("Content-Type"), tc.style)
			}
		})
	}
	if _, err := pages.LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
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
	before := f.PasswordHash(t, authtest.Alice)
	if w := f.serve("GET", "/reset-password?token="+url.QueryEscape(tok), nil, nil); w.Code != 200 ||
		!strings.Contains(w.Body.String(), "Alice Example") || !strings.Contains(w.Body.String(), "alice@example.com") {
		t.Fatalf("reset form: %d %s", w.Code, w.Body)
	}
	const good = "DtUYwi&l5I1KX4@Le"
	long := strings.Repeat("Aa1!", 19)
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
		// Bug 4: the form again, with the reason, not 503.
		{"over 72 bytes", url.Values{"token": {tok}, "password": {long}, "confirm": {long}}, nil, 400,
			"<li>The password must be at most 72 bytes long.</li>", false},
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
	if f.PasswordHash(t, authtest.Alice) == before {
		t.Fatal("the password hash did not change")
	}
	if _, err := f.auth.Login(t.Context(), testClient, authtest.Alice, good); err != nil {
		t.Errorf("signing in with the new password: %v", err)
	}
}

func TestPagesPaths(t *testing.T) {
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
			err := tc.p.Check()
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, pages.ErrPaths)) {
				t.Errorf("Check(%+v) = %v", tc.p, err)
			}
		})
	}
}

// TestPagesAccountTokenNames: the account page names tokens by auth's one
// rule, as the Onezone and admin APIs do, and says what is wrong with a
// name rather than failing (bug 5).
func TestPagesAccountTokenNames(t *testing.T) {
	f := newFixture(t, "")
	cookie, sess := f.session(t)
	csrf := f.auth.CSRFToken(sess)
	rec, _, err := f.auth.IssueNamed(t.Context(), authtest.Alice, "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The page shows auth's rule, HTML-escaped by its template.
	const rule = "Token name must be 2-128 characters long and composed only of UTF-8 letters, digits, brackets and underscores. Dashes, spaces and dots are allowed (but not at the beginning or the end)."
	tooLong, control := rule, rule
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"create, 200 characters", url.Values{"action": {"create"}, "name": {strings.Repeat("n", 200)}}, 400, tooLong},
		{"create, 129 characters", url.Values{"action": {"create"}, "name": {strings.Repeat("é", 129)}}, 400, tooLong},
		{"create, 1 character", url.Values{"action": {"create"}, "name": {"n"}}, 400, tooLong},
		{"create, a trailing dot", url.Values{"action": {"create"}, "name": {"laptop."}}, 400, rule},
		{"create, a slash", url.Values{"action": {"create"}, "name": {"lap/top"}}, 400, rule},
		{"create, a NUL", url.Values{"action": {"create"}, "name": {"a\x00b"}}, 400, control},
		{"create, a DEL", url.Values{"action": {"create"}, "name": {"a\x7fb"}}, 400, control},
		{"create, invalid UTF-8", url.Values{"action": {"create"}, "name": {"a\xffb"}}, 400, rule},
		{"rename, 200 characters", url.Values{"action": {"rename"}, "id": {rec.ID}, "name": {strings.Repeat("n", 200)}}, 400, tooLong},
		{"rename, a leading dash", url.Values{"action": {"rename"}, "id": {rec.ID}, "name": {"-ci"}}, 400, rule},
		{"rename, a NUL", url.Values{"action": {"rename"}, "id": {rec.ID}, "name": {"c\x00i"}}, 400, control},
		{"create, 128 characters", url.Values{"action": {"create"}, "name": {strings.Repeat("é", 128)}}, 200, strings.Repeat("é", 128)},
		{"create, dashes, spaces and dots inside", url.Values{"action": {"create"}, "name": {"my (ci) box-2.0"}}, 200, "my (ci) box-2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", csrf)
			w := f.serve("POST", "http://example.com/account", tc.form, cookie)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.says) {
				t.Fatalf("got %d, want %d saying %q: %s", w.Code, tc.status, tc.says, w.Body)
			}
		})
	}
	list, err := f.auth.NamedTokens(t.Context(), authtest.Alice)
	if err != nil || len(list) != 3 || !slices.ContainsFunc(list, func(t store.NamedToken) bool { return t.Name == "ci" }) {
		t.Errorf("named tokens now %+v (%v)", list, err)
	}
}

// TestPagesCallerGone: a client that went away while its password was
// being checked or hashed is answered 499 and nothing is logged as an
// error (bug 4; the fixture fails on any error logged).
func TestPagesCallerGone(t *testing.T) {
	f := newFixture(t, "")
	tok, err := f.auth.IssueReset(t.Context(), authtest.Alice, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const good = "DtUYwi&l5I1KX4@Le"
	for _, tc := range []struct {
		name, target string
		form         url.Values
	}{
		{"sign-in", "/login", url.Values{"username": {authtest.Alice}, "password": {alicePassword}}},
		{"reset", "/reset-password", url.Values{"token": {tok}, "password": {good}, "confirm": {good}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := authtest.Gone(authtest.Request("POST", "http://example.com"+tc.target, tc.form.Encode(),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}))
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			if w.Code != 499 || w.Header().Get("Set-Cookie") != "" {
				t.Fatalf("got %d %v, want 499 and no cookie", w.Code, w.Header())
			}
		})
	}
}
