package admin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

// bodyRoutes are the routes whose JSON bodies FuzzAdminBodies sends.
var bodyRoutes = []struct{ method, path string }{
	{"POST", "/tokengate/users"},
	{"PATCH", "/tokengate/users/alice"},
	{"POST", "/tokengate/users/alice/tokens/temporary"},
	{"POST", "/tokengate/users/alice/tokens/named"},
}

// FuzzAdminBodies: any JSON body to create or change a user or issue a
// token. Bad input is a 4xx with {"error": message}, never a 5xx (the
// store is up); what is accepted is well-formed: a user that auth's
// rules allow, a temporary token that authenticates and expires within
// temporary_max_ttl.
func FuzzAdminBodies(f *testing.F) {
	st, err := bolt.Open(filepath.Join(f.TempDir(), "tg.db"), time.Second)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h4, _ := bcrypt.GenerateFromPassword([]byte("alice-password-1"), bcrypt.MinCost)
	hash := string(h4)
	svc, err := auth.New(st, tokens.NewServerKey(), auth.WithDummyPasswordHash(hash), auth.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(svc.Close)
	if _, err := svc.CreateUser(context.Background(), auth.NewUser{ID: "alice", Password: auth.Password{Hash: &hash}}); err != nil {
		f.Fatal(err)
	}
	h := &admin.Handler{
		Service: func() (*auth.Service, admin.Settings, error) {
			return svc, admin.Settings{ResetLink: resetLink, ResetTTL: time.Hour}, nil
		},
		ParseDuration: caddy.ParseDuration,
	}
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"id":"bob","password_hash":"` + hash + `","name":"Bob","email":"bob@example.com","role":"Ops"}`},
		{0, `{"id":"carol","username":"c","password":"a-long-password-1"}`},
		{0, `{"id":"d\r\nX-Admin: 1"}`},
		{0, `{"id":"e","password_hash":"$argon2id$v=19$m=4294967295,t=1,p=1$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw"}`},
		{0, `{"id":"f","password":"x","password_hash":"y"}`},
		{1, `{"name":"Alice A","role":null,"username":"ally"}`},
		{1, `{"password_hash":"$2a$31$Yc5wKJ6s6Kk1g3P6Qn9pQe5r5eJ0L7cW2QxYt0H8b1yqI8m2yW9xG"}`},
		{1, `{"email":"` + strings.Repeat("e", 300) + `"}`},
		{2, `{"ttl":"2d","caveats":[{"type":"interface","interface":"rest"}]}`},
		{2, `{"ttl":"9999999999h"}`},
		{2, `{"ttl":"9223372036854775807ns"}`},
		{2, `{"caveats":[{"type":"time","validUntil":9223372036854775807}]}`},
		{2, `{"ttl":"-1s","caveats":null}`},
		{3, `{"name":"ci","caveats":[{"type":"ip","whitelist":["10.0.0.0/8"]}]}`},
		{3, `{"name":"","caveats":[{"type":"time","validUntil":253402300800}]}`},
		{3, `{"name":null}`},
		{0, ``}, {1, `[]`}, {2, `{"ttl":1}`}, {3, `{"name":"x"} trailing`},
	} {
		f.Add(s.route, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		r := httptest.NewRequest(rt.method, rt.path, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		what := rt.method + " " + rt.path + " " + string(body)
		if w.Code >= 500 {
			t.Fatalf("%s: %d %s", what, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e struct{ Error string }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("%s: %d with body %q", what, w.Code, w.Body)
			}
			return
		}
		switch route := int(route) % len(bodyRoutes); route {
		case 0, 1:
			var u admin.User
			if err := json.Unmarshal(w.Body.Bytes(), &u); err != nil {
				t.Fatalf("%s: %v: %s", what, err, w.Body)
			}
			p := auth.Profile{Name: u.Name, Email: u.Email, Role: u.Role}
			if auth.CheckUserID("id", u.ID) != nil || auth.CheckUserID("username", u.Username) != nil || p.Check() != nil {
				t.Fatalf("%s: accepted %+v", what, u)
			}
		case 2, 3:
			var tok struct{ Token string }
			if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
				t.Fatalf("%s: %v: %s", what, err, w.Body)
			}
			// Verified up to its caveats, which may want a client address
			// or interface this request has not.
			_, err := svc.Authenticate(context.Background(), tok.Token, tokens.Request{})
			if err != nil && !errors.Is(err, tokens.ErrCaveatUnverified) {
				t.Fatalf("%s: the token does not verify: %v", what, err)
			}
			c := payload(t, tok.Token)
			if until := tokens.ValidUntil(c.Caveats); route == 2 && (until <= 0 || until > svc.Now().Add(svc.MaxTemporaryTTL()).Unix()) {
				t.Fatalf("%s: token valid until %d, past the maximum TTL", what, until)
			}
		}
	})
}

// payload decodes a token's claims, unverified.
func payload(t *testing.T, raw string) tokens.Claims {
	t.Helper()
	var c tokens.Claims
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[min(1, len(parts)-1)])
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		t.Fatalf("token %q: %v", raw, err)
	}
	return c
}
