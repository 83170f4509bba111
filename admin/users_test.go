package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// wantUser checks the user an answer shows.
func wantUser(want func(admin.User) bool) check {
	return func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
		t.Helper()
		if u := decode[admin.User](t, w); !want(u) {
			t.Fatalf("answer %s", w.Body)
		}
		wantNoSecrets(t, w)
	}
}

// wantNoSecrets fails if an answer carries a password or its hash.
func wantNoSecrets(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	for _, s := range []string{"password", "$2a$", "$2b$", "secret"} {
		if strings.Contains(w.Body.String(), s) {
			t.Fatalf("answer %s contains %q", w.Body, s)
		}
	}
}

// gone checks that a user no longer exists.
func gone(id string) check {
	return func(t *testing.T, e *env, _ *httptest.ResponseRecorder) {
		t.Helper()
		if _, err := e.svc.User(context.Background(), id); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("user %s: %v, want it gone", id, err)
		}
	}
}

func TestUserRoutes(t *testing.T) {
	hash := hash4(t, "bob-password-1")
	run(t, []routeCase{
		{name: "list", method: "GET", path: "/tokengate/users", status: 200, check: func(t *testing.T, _ *env, w *httptest.ResponseRecorder) {
			users := decode[[]admin.User](t, w)
			if len(users) != 3 || users[0].ID != "alice" || users[1].ID != "carol" || users[2].ID != "olga" {
				t.Fatalf("users %s", w.Body)
			}
			if a := users[0]; a.Username != "alice" || a.Role != "Editor" || a.CreatedBy != "admin-api" || a.ConfigManaged || a.Orphaned {
				t.Fatalf("alice %+v", a)
			}
			if c := users[1]; !c.ConfigManaged || c.Orphaned || c.CreatedBy != "config" {
				t.Fatalf("carol %+v", c)
			}
			if o := users[2]; !o.ConfigManaged || !o.Orphaned {
				t.Fatalf("olga %+v", o)
			}
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("headers %v", w.Header())
			}
			wantNoSecrets(t, w)
		}},
		{name: "list with trailing slash", method: "GET", path: "/tokengate/users/", status: 200},

		{name: "create with a hash", method: "POST", path: "/tokengate/users", status: 201,
			body: `{"id":"bob","password_hash":"` + hash + `","name":"Bob","email":"bob@example.com","role":"Ops"}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				wantUser(func(u admin.User) bool {
					return u.ID == "bob" && u.Username == "bob" && u.Role == "Ops" && u.CreatedBy == "admin-api" &&
						!u.ConfigManaged && u.ResetLink == "" && u.ResetToken == ""
				})(t, e, w)
				if loc := w.Header().Get("Location"); loc != "/tokengate/users/bob" {
					t.Fatalf("Location %q", loc)
				}
				if _, err := e.svc.Login(context.Background(), testClient, "bob", "bob-password-1"); err != nil {
					t.Fatalf("bob's password: %v", err)
				}
			}},
		{name: "create with a username", method: "POST", path: "/tokengate/users", status: 201,
			body:  `{"id":"dave","username":"david","password_hash":"` + hash + `"}`,
			check: wantUser(func(u admin.User) bool { return u.ID == "dave" && u.Username == "david" })},
		{name: "create with an id needing escapes", method: "POST", path: "/tokengate/users", status: 201,
			body: `{"id":"a/b c","password_hash":"` + hash + `"}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "/tokengate/users/a%2Fb%20c" {
					t.Fatalf("Location %q", loc)
				}
				e.want("GET", "/tokengate/users/a%2Fb%20c", "", 200, "")
			}},
		{name: "create without a password gets a welcome link", method: "POST", path: "/tokengate/users", status: 201,
			body: `{"id":"erin"}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				u := decode[admin.User](t, w)
				if u.ResetToken == "" || u.ResetLink != resetLink(u.ResetToken) {
					t.Fatalf("answer %s", w.Body)
				}
				if ru, _, err := e.svc.ResetUser(context.Background(), u.ResetToken); err != nil || ru.ID != "erin" {
					t.Fatalf("reset token: %v, %v", ru.ID, err)
				}
			}},
		// The one case that hashes (cost 14): bcrypt's limit exactly.
		{name: "create with a password of 72 bytes", method: "POST", path: "/tokengate/users", status: 201,
			body: `{"id":"frank","password":"` + strings.Repeat("p", 71) + `1"}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				// Checking the password would cost a second hash.
				wantUser(func(u admin.User) bool { return u.ID == "frank" && u.ResetLink == "" })(t, e, w)
			}, slow: true},
		{name: "create a taken id", method: "POST", path: "/tokengate/users", body: `{"id":"alice"}`,
			status: 409, msg: `user "alice" already exists`},
		{name: "create a config user's id", method: "POST", path: "/tokengate/users", body: `{"id":"carol"}`,
			status: 409, msg: `user "carol" already exists`},
		{name: "create a taken username", method: "POST", path: "/tokengate/users", body: `{"id":"al","username":"alice"}`,
			status: 409, msg: `username "alice" is taken by user "alice"`, check: gone("al")},
		{name: "create an id that is a username", method: "POST", path: "/tokengate/users", status: 201,
			body: `{"id":"ally","username":"al","password_hash":"` + hash + `"}`,
			check: func(t *testing.T, e *env, _ *httptest.ResponseRecorder) {
				e.want("POST", "/tokengate/users", `{"id":"al"}`, 409, `username "al" is taken by user "ally"`)
			}},
		{name: "create an empty username", method: "POST", path: "/tokengate/users", body: `{"id":"bob","username":""}`,
			status: 400, msg: "username is required"},
		{name: "create with password and hash", method: "POST", path: "/tokengate/users",
			body: `{"id":"bob","password":"pw","password_hash":"` + hash + `"}`, status: 400, msg: "cannot both be given"},
		{name: "create with a bad hash", method: "POST", path: "/tokengate/users", body: `{"id":"bob","password_hash":"plain"}`,
			status: 400, msg: "password_hash must be a hash from caddy hash-password", check: gone("bob")},
		// Issue 14, finding 2: a hash whose check would take 4 TiB.
		{name: "create with a costly hash", method: "POST", path: "/tokengate/users",
			body:   `{"id":"bob","password_hash":"$argon2id$v=19$m=4294967295,t=1,p=1$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw"}`,
			status: 400, msg: "password_hash costs too much to check: argon2id m=4294967295,t=1,p=1 is over m=1048576", check: gone("bob")},
		{name: "create with a costly bcrypt hash", method: "POST", path: "/tokengate/users",
			body:   `{"id":"bob","password_hash":"` + strings.Replace(hash, "$04$", "$31$", 1) + `"}`,
			status: 400, msg: "password_hash costs too much to check: bcrypt cost 31 is over 16", check: gone("bob")},
		{name: "create with a weak password", method: "POST", path: "/tokengate/users", body: `{"id":"bob","password":"short"}`,
			status: 400, msg: "password too weak: The password must be at least 10 characters long."},
		{name: "create with an empty password", method: "POST", path: "/tokengate/users", body: `{"id":"bob","password":""}`,
			status: 400, msg: "password must not be empty"},
		{name: "create with a password of 73 bytes", method: "POST", path: "/tokengate/users",
			body: `{"id":"bob","password":"` + strings.Repeat("p", 72) + `1"}`, status: 400, msg: "at most 72 bytes", check: gone("bob")},
		{name: "create with an unknown field", method: "POST", path: "/tokengate/users", body: `{"id":"bob","admin":true}`,
			status: 400, msg: `invalid request body: json: unknown field "admin"`},
		{name: "create with trailing data", method: "POST", path: "/tokengate/users", body: `{"id":"bob"} {}`,
			status: 400, msg: "invalid request body: data after the JSON"},
		{name: "create with a number for the id", method: "POST", path: "/tokengate/users", body: `{"id":7}`,
			status: 400, msg: "invalid request body: json: cannot unmarshal number"},

		{name: "get", method: "GET", path: "/tokengate/users/alice", status: 200,
			check: wantUser(func(u admin.User) bool { return u.ID == "alice" && u.Email == "alice@example.com" })},
		{name: "get orphaned", method: "GET", path: "/tokengate/users/olga", status: 200,
			check: wantUser(func(u admin.User) bool { return u.Orphaned && u.ConfigManaged })},
		{name: "get unknown", method: "GET", path: "/tokengate/users/nobody", status: 404, msg: `user "nobody" not found`},
		{name: "get invalid UTF-8", method: "GET", path: "/tokengate/users/%FF", status: 404, msg: "not found"},

		{name: "patch", method: "PATCH", path: "/tokengate/users/alice", body: `{"name":"Alice A","role":"Viewer"}`, status: 200,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				wantUser(func(u admin.User) bool {
					return u.Name == "Alice A" && u.Role == "Viewer" && u.Email == "alice@example.com"
				})(t, e, w)
				if u := e.user("alice"); u.Name != "Alice A" {
					t.Fatalf("stored %+v", u)
				}
			}},
		{name: "patch username", method: "PATCH", path: "/tokengate/users/alice", body: `{"username":"ally"}`, status: 200,
			check: wantUser(func(u admin.User) bool { return u.ID == "alice" && u.Username == "ally" })},
		{name: "patch password hash", method: "PATCH", path: "/tokengate/users/alice",
			body: `{"password_hash":"` + hash + `"}`, status: 200,
			check: func(t *testing.T, e *env, _ *httptest.ResponseRecorder) {
				if _, err := e.svc.Login(context.Background(), testClient, "alice", "bob-password-1"); err != nil {
					t.Fatalf("alice's new password: %v", err)
				}
			}},
		{name: "patch nothing", method: "PATCH", path: "/tokengate/users/alice", body: `{}`, status: 400, msg: "nothing to change"},
		{name: "patch nothing of nobody", method: "PATCH", path: "/tokengate/users/nobody", status: 404, msg: "not found"},
		{name: "patch unknown", method: "PATCH", path: "/tokengate/users/nobody", body: `{"name":"N"}`, status: 404, msg: "not found"},
		{name: "patch config-managed", method: "PATCH", path: "/tokengate/users/carol", body: `{"role":"Viewer"}`,
			status: 409, msg: `user "carol" is managed by the Caddy config`},
		{name: "patch config-managed password", method: "PATCH", path: "/tokengate/users/carol", body: `{"password_hash":"` + hash + `"}`,
			status: 409, msg: "managed by the Caddy config"},
		{name: "patch orphaned", method: "PATCH", path: "/tokengate/users/olga", body: `{"role":"Viewer"}`,
			status: 409, msg: "managed by the Caddy config"},
		{name: "patch to a taken username", method: "PATCH", path: "/tokengate/users/alice", body: `{"username":"carol"}`,
			status: 409, msg: `username "carol" is taken by user "carol"`},
		{name: "patch to its own username", method: "PATCH", path: "/tokengate/users/alice", body: `{"username":"alice"}`, status: 200},
		{name: "patch a costly hash", method: "PATCH", path: "/tokengate/users/alice",
			body:   `{"password_hash":"$argon2id$v=19$m=47104,t=1,p=255$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw"}`,
			status: 400, msg: "password_hash costs too much to check: argon2id m=47104,t=1,p=255"},
		{name: "patch a password of 73 bytes", method: "PATCH", path: "/tokengate/users/alice",
			body: `{"password":"` + strings.Repeat("p", 72) + `1"}`, status: 400, msg: "at most 72 bytes"},

		{name: "delete", method: "DELETE", path: "/tokengate/users/alice", status: 204, check: gone("alice")},
		{name: "delete config-managed", method: "DELETE", path: "/tokengate/users/carol", status: 409, msg: "managed by the Caddy config"},
		{name: "delete orphaned", method: "DELETE", path: "/tokengate/users/olga", status: 204, check: gone("olga")},
		{name: "delete unknown", method: "DELETE", path: "/tokengate/users/nobody", status: 404, msg: "not found"},

		{name: "block", method: "POST", path: "/tokengate/users/alice/block", status: 200,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				wantUser(func(u admin.User) bool { return u.Blocked })(t, e, w)
				if _, err := e.svc.Login(context.Background(), testClient, "alice", "alice-password-1"); !errors.Is(err, auth.ErrUserBlocked) {
					t.Fatalf("blocked alice's password: %v", err)
				}
			}},
		{name: "block config-managed", method: "POST", path: "/tokengate/users/carol/block", status: 200,
			check: wantUser(func(u admin.User) bool { return u.Blocked && u.ConfigManaged })},
		{name: "block with a body", method: "POST", path: "/tokengate/users/alice/block", body: `{"why":"x"}`,
			status: 400, msg: "unknown field"},
		{name: "block unknown", method: "POST", path: "/tokengate/users/nobody/block", status: 404, msg: "not found"},
		{name: "unblock", method: "POST", path: "/tokengate/users/alice/unblock", status: 200,
			check: wantUser(func(u admin.User) bool { return !u.Blocked })},

		{name: "reset token", method: "POST", path: "/tokengate/users/alice/reset-token", status: 201,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				r := decode[struct {
					Token, Link string
					ExpiresAt   time.Time `json:"expires_at"`
				}](t, w)
				if r.Token == "" || r.Link != resetLink(r.Token) || time.Until(r.ExpiresAt) < 59*time.Minute || time.Until(r.ExpiresAt) > time.Hour {
					t.Fatalf("answer %s", w.Body)
				}
			}},
		{name: "reset token of config-managed", method: "POST", path: "/tokengate/users/carol/reset-token",
			status: 409, msg: "managed by the Caddy config"},
		{name: "reset token of unknown", method: "POST", path: "/tokengate/users/nobody/reset-token", status: 404, msg: "not found"},
	})
}

// Every rule auth owns reaches the admin API as a 400 with the rule in
// the message (auth's TestRules has the full table); nothing is written.
func TestUserValidation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path, body, msg string
	}{
		{"id with a colon", "POST", "/tokengate/users", `{"id":"a:b"}`, "id must not contain ':'"},
		{"id with CR", "POST", "/tokengate/users", `{"id":"a\rb"}`, "id must not contain control characters"},
		{"id with LF", "POST", "/tokengate/users", `{"id":"a\nb"}`, "id must not contain control characters"},
		{"id with NUL", "POST", "/tokengate/users", `{"id":"a\u0000b"}`, "id must not contain control characters"},
		{"id with TAB", "POST", "/tokengate/users", `{"id":"a\tb"}`, "id must not contain control characters"},
		{"id with DEL", "POST", "/tokengate/users", "{\"id\":\"a\x7fb\"}", "id must not contain control characters"},
		{"id of 129 bytes", "POST", "/tokengate/users", `{"id":"` + strings.Repeat("i", 129) + `"}`, "id must be at most 128 bytes"},
		{"no id", "POST", "/tokengate/users", `{}`, "id is required"},
		{"username with LF", "POST", "/tokengate/users", `{"id":"bob","username":"b\nb"}`, "username must not contain control"},
		{"name with CR LF", "POST", "/tokengate/users", `{"id":"bob","name":"Bob\r\nX-Role: admin"}`, "name must not contain control"},
		{"name of 60 KB", "POST", "/tokengate/users", `{"id":"bob","name":"` + strings.Repeat("n", 60<<10) + `"}`, "name must be at most 256 bytes"},
		{"email with LF", "POST", "/tokengate/users", `{"id":"bob","email":"b@x\n"}`, "email must not contain control"},
		{"role with NUL", "POST", "/tokengate/users", `{"id":"bob","role":"\u0000"}`, "role must not contain control"},
		{"role of 65 bytes", "POST", "/tokengate/users", `{"id":"bob","role":"` + strings.Repeat("r", 65) + `"}`, "role must be at most 64 bytes"},
		{"patch name with LF", "PATCH", "/tokengate/users/alice", `{"name":"A\nB"}`, "name must not contain control"},
		{"patch username with colon", "PATCH", "/tokengate/users/alice", `{"username":"a:b"}`, "username must not contain ':'"},
		{"patch empty username", "PATCH", "/tokengate/users/alice", `{"username":""}`, "username is required"},
		{"patch email of 255 bytes", "PATCH", "/tokengate/users/alice", `{"email":"` + strings.Repeat("e", 255) + `"}`, "email must be at most 254 bytes"},
		{"token name of 129 characters", "POST", "/tokengate/users/alice/tokens/named", `{"name":"` + strings.Repeat("t", 129) + `"}`, "token name must be 2-128 characters long"},
		{"empty token name", "POST", "/tokengate/users/alice/tokens/named", `{"name":""}`, "token name must be 2-128"},
		{"token name of 1 character", "POST", "/tokengate/users/alice/tokens/named", `{"name":"t"}`, "token name must be 2-128"},
		{"token name ending with a dot", "POST", "/tokengate/users/alice/tokens/named", `{"name":"ci."}`, "not at the beginning or the end"},
		{"token name with NUL", "POST", "/tokengate/users/alice/tokens/named", `{"name":"a\u0000b"}`, "token name must be 2-128"},
		{"token name with LF", "POST", "/tokengate/users/alice/tokens/named", `{"name":"a\nb"}`, "token name must be 2-128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.want(tc.method, tc.path, tc.body, http.StatusBadRequest, tc.msg)
		})
	}
	e.t = t
	if users := decode[[]admin.User](t, e.want("GET", "/tokengate/users", "", 200, "")); len(users) != 3 {
		t.Fatalf("users after refused changes: %+v", users)
	}
	if u := e.user("alice"); u.Name != "Alice" || u.Username != "alice" || u.Email != "alice@example.com" {
		t.Fatalf("alice after refused changes: %+v", u)
	}
	if list, _ := e.svc.NamedTokens(context.Background(), "alice"); len(list) != 0 {
		t.Fatalf("named tokens after refused creations: %+v", list)
	}
}

// The store's create-if-absent makes the first creation win, however many
// arrive at once: no process-local lock is needed, and none would protect
// a store shared by several instances.
func TestCreateUserConcurrently(t *testing.T) {
	e := newEnv(t)
	body := `{"id":"zoe","password_hash":"` + hash4(t, "zoe-password-1") + `"}`
	const n = 20
	answers := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = e.do("POST", "/tokengate/users", body)
		})
	}
	close(start)
	wg.Wait()
	created, conflicts := 0, 0
	var codes []int
	for _, w := range answers {
		codes = append(codes, w.Code)
		switch w.Code {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			if msg := errorMessage(t, w); msg != `user "zoe" already exists` {
				t.Errorf("conflict says %q", msg)
			}
			conflicts++
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("statuses %v: want one 201 and %d 409", codes, n-1)
	}
}

// A new password ends the user's temporary tokens; a new name does not.
func TestPasswordChangeEndsTemporaryTokens(t *testing.T) {
	e := newEnv(t)
	tok := decode[struct{ Token string }](t, e.want("POST", "/tokengate/users/alice/tokens/temporary", "", 201, "")).Token
	e.want("PATCH", "/tokengate/users/alice", `{"name":"Alice B"}`, 200, "")
	if err := authenticate(e, tok); err != nil {
		t.Fatalf("token after a rename: %v", err)
	}
	e.want("PATCH", "/tokengate/users/alice", `{"password_hash":"`+hash4(t, "alice-password-2")+`"}`, 200, "")
	if err := authenticate(e, tok); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("token after a password change: %v, want revoked", err)
	}
}
