package unleash_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tokengate/tokengate/api/unleash"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
)

// FuzzReset: any reset token to validate, and any body and content type
// to reset a password with. Every answer is Unleash's: a JSON error
// with a name and a message, never a 5xx (the store is up); and only
// the token issued in the setup is accepted.
func FuzzReset(f *testing.F) {
	fx := authtest.New(f, auth.WithBudget(auth.Budget{Max: 1 << 30, Window: auth.DefaultBudget.Window, UserFactor: 1}))
	h := &unleash.Handler{Auth: fx.Auth, Callers: fx.Callers}
	tok, err := fx.Auth.IssueReset(f.Context(), authtest.Alice, "admin", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct{ token, body, contentType string }{
		{tok, `{"token":"` + tok + `","password":"a-new-password-1"}`, "application/json"},
		{tok + "x", `{"token":"` + tok + `x","password":"a-new-password-1"}`, "application/json; charset=utf-8"},
		{"", `{"token":"","password":""}`, "application/json"},
		{"%zz", `{"token":null,"password":"x"}`, "text/plain"},
		{"a\x00b", `{"token":"` + tok + `","password":"short"}`, "application/json"},
		{"../../etc", `{"token":"t","password":"p","extra":1}`, "application/json"},
		{"\xff", `{"token":"t","password":"a-new-password-1"} {}`, "application/json"},
		{"", `[]`, ""},
	} {
		f.Add(s.token, []byte(s.body), s.contentType)
	}
	f.Fuzz(func(t *testing.T, token string, body []byte, contentType string) {
		w := authtest.Do(h, "GET", unleash.ValidatePath+"?token="+url.QueryEscape(token), "", nil)
		check(t, w.Code, w.Body.Bytes(), token == tok)
		var req struct{ Token string }
		_ = json.Unmarshal(body, &req)
		w = authtest.Do(h, "POST", unleash.PasswordPath, string(body), http.Header{"Content-Type": {contentType}})
		check(t, w.Code, w.Body.Bytes(), req.Token == tok)
	})
}

// check judges one answer: 200 only for the issued token, else a 4xx
// error body of Unleash's.
func check(t *testing.T, status int, body []byte, issued bool) {
	t.Helper()
	if status == http.StatusOK {
		if !issued {
			t.Fatalf("200 for a token never issued: %s", body)
		}
		return
	}
	var e struct{ Name, Message string }
	if status < 400 || status >= 500 || json.Unmarshal(body, &e) != nil || e.Name == "" || e.Message == "" {
		t.Fatalf("status %d, body %q", status, body)
	}
}
