package caller_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
	"github.com/tokengate/tokengate/tokens"
)

// FuzzAuthenticate: any Authorization, X-Auth-Token and Cookie headers
// (the session cookie among them). However mangled, the answer is a
// refusal of the credential (what every door answers with a 4xx), never
// an error the doors would answer 5xx; and a caller is accepted only
// with a credential it was given: a token issued in the setup, or a
// user's password.
func FuzzAuthenticate(f *testing.F) {
	fx := authtest.New(f, auth.WithBudget(auth.Budget{Max: 1 << 30, Window: auth.DefaultBudget.Window, UserFactor: 1}))
	tok := fx.Temporary(f, authtest.Alice)
	cookie, _ := fx.Session(f, authtest.Bob)
	session := strings.TrimPrefix(cookie, authtest.SessionCookie+"=")
	for _, s := range []struct{ authz, token, cookie string }{
		{"", tok, ""},
		{"Bearer " + tok, "", ""},
		{"bearer  " + tok[:len(tok)-1] + "A", "", ""},
		{authtest.Basic(authtest.Alice, authtest.Password), "", ""},
		{authtest.Basic(authtest.Bob, "wrong"), "", ""},
		{"Basic !!", "", cookie},
		{"", "", cookie},
		{"", "", authtest.SessionCookie + "=" + session + "x; " + authtest.SessionCookie + "=" + session},
		{"", "", authtest.SessionCookie + `="` + session + `"`},
		{"", "eyJhbGciOiJub25lIn0.e30.", ""},
		{"", strings.Replace(tok, ".", "..", 1), ""},
	} {
		f.Add(s.authz, s.token, s.cookie)
	}
	refusals := []error{caller.ErrNone, caller.ErrCrossSite, auth.ErrBadCredentials, auth.ErrUserBlocked,
		tokens.ErrMalformed, tokens.ErrInvalid, tokens.ErrRevoked, tokens.ErrSessionInvalid, tokens.ErrSubjectInvalid, tokens.ErrSubjectGone,
		tokens.ErrCaveatUnverified, tokens.ErrNotAccessToken}
	f.Fuzz(func(t *testing.T, authz, token, cookie string) {
		r := authtest.Request("GET", "http://example.com/", "", http.Header{
			"Authorization": {authz}, "X-Auth-Token": {token}, "Cookie": {cookie}})
		id, err := fx.Callers.Authenticate(r)
		if err != nil {
			for _, e := range refusals {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("Authorization %q, X-Auth-Token %q, Cookie %q: %v, which is no refusal", authz, token, cookie, err)
		}
		all := authz + "\n" + token + "\n" + cookie
		given := strings.Contains(all, tok) && id.ID == authtest.Alice ||
			strings.Contains(all, session) && id.ID == authtest.Bob ||
			basicPassword(authz)
		if !given {
			t.Fatalf("Authorization %q, X-Auth-Token %q, Cookie %q: accepted as %s", authz, token, cookie, id.ID)
		}
	})
}

// basicPassword reports whether h holds Basic credentials with a user's
// password.
func basicPassword(h string) bool {
	if len(h) <= 6 || !strings.EqualFold(h[:6], "Basic ") {
		return false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	_, pass, _ := strings.Cut(string(dec), ":")
	return err == nil && pass == authtest.Password
}
