// Package authtest builds what the front doors' tests stand on: a real
// auth.Service over a bolt store in a temporary directory, holding two
// users, and a caller.Authenticator over it. It is the one place those
// tests reach the store directly (to seed users with cheap hashes, and to
// read what only the store shows).
package authtest

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

// The fixture's users. Alice has a full profile, Bob none.
const (
	Alice    = "alice"
	Bob      = "bob"
	Password = "alice-password" // both users'
)

// Alice's profile.
const (
	AliceName  = "Alice Example"
	AliceEmail = "alice@example.com"
	AliceRole  = "Editor"
)

// SessionCookie is the Authenticator's session cookie name.
const SessionCookie = "sid"

// ClientIP is every request's client address.
var ClientIP = netip.MustParseAddr("192.0.2.1")

// Fixture is a Service and an Authenticator over a fresh store.
type Fixture struct {
	Auth    *auth.Service
	Callers *caller.Authenticator
	st      store.Store
}

// New returns a Fixture whose Service has the options opts (after the
// fixture's own: the cheapest bcrypt cost for the users', the dummy and
// new passwords). Everything is closed when the test ends.
func New(tb testing.TB, opts ...auth.Option) *Fixture {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "tokengate.db"), time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	// The cheapest cost keeps the tests fast; the policy's bcrypt slots
	// and the comparison are the same at any cost.
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range []store.User{
		{ID: Alice, Username: Alice, PasswordHash: string(hash), Name: AliceName, Email: AliceEmail, Role: AliceRole},
		{ID: Bob, Username: Bob, PasswordHash: string(hash)},
	} {
		u.CreatedAt = time.Now().UTC()
		if err := st.CreateUser(tb.Context(), u); err != nil {
			tb.Fatal(err)
		}
	}
	a, err := auth.New(st, tokens.NewServerKey(), append([]auth.Option{
		auth.WithDummyPasswordHash(string(hash)), auth.WithPasswordCost(bcrypt.MinCost)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	c := &caller.Authenticator{
		Auth:          a,
		ClientIP:      func(*http.Request) netip.Addr { return ClientIP },
		SessionCookie: SessionCookie,
		SessionTTL:    time.Hour,
	}
	return &Fixture{Auth: a, Callers: c, st: st}
}

// PasswordHash returns the user's stored password hash, which no auth
// call shows.
func (f *Fixture) PasswordHash(tb testing.TB, id string) string {
	tb.Helper()
	u, err := f.st.User(tb.Context(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return u.PasswordHash
}

// Basic is an Authorization header value with Basic credentials.
func Basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Temporary issues the subject a temporary access token valid for an
// hour.
func (f *Fixture) Temporary(tb testing.TB, subject string) string {
	tb.Helper()
	tok, err := f.Auth.IssueTemporary(tb.Context(), subject, tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: f.Auth.Now().Add(time.Hour).Unix()}})
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// Session signs the subject in and returns the Cookie header value of
// the session and the verified session token.
func (f *Fixture) Session(tb testing.TB, subject string) (string, *auth.Token) {
	tb.Helper()
	raw, err := f.Auth.StartSession(tb.Context(), subject, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := f.Auth.Authenticate(tb.Context(), raw, tokens.Request{})
	if err != nil {
		tb.Fatal(err)
	}
	return SessionCookie + "=" + raw, tok
}

// Request is a request for target with the headers hdr and, unless
// body is "", the body.
func Request(method, target, body string, hdr http.Header) *http.Request {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	}
	for k, v := range hdr {
		r.Header[k] = v
	}
	return r
}

// Do serves a Request and returns the response.
func Do(h http.Handler, method, target, body string, hdr http.Header) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, Request(method, target, body, hdr))
	return w
}

// Gone returns r as it is once its client has gone away: its context is
// canceled.
func Gone(r *http.Request) *http.Request {
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	return r.WithContext(ctx)
}

// WantHeaders checks the answer's headers: those of a JSON body sent as
// the seed APIs send one (if jsonBody), then the extra ones.
func WantHeaders(tb testing.TB, w *httptest.ResponseRecorder, jsonBody bool, extra map[string]string) {
	tb.Helper()
	want := map[string]string{}
	if jsonBody {
		want["Content-Type"], want["Cache-Control"] = "application/json; charset=utf-8", "no-store"
	}
	for k, v := range extra {
		want[k] = v
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			tb.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}
