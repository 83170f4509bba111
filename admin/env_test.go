package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

// The suite drives admin.Handler in process over a real auth.Service on
// a temporary bolt store. Each test gets its own env with three users:
//
//	alice  created through the API (password "alice-password-1")
//	carol  declared in the config (config-managed)
//	olga   declared once, then no longer (config-managed and orphaned)
type env struct {
	t    *testing.T
	svc  *auth.Service
	st   store.Store
	h    *admin.Handler
	logs *observer.ObservedLogs
}

// hash4 is a cost-4 bcrypt hash: the users' passwords are checked fast.
func hash4(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// resetLink is the Settings' link builder.
func resetLink(tok string) string { return "https://example.com/reset?token=" + tok }

func newEnv(t *testing.T, opts ...auth.Option) *env {
	return newEnvOver(t, nil, opts...)
}

// newEnvOver builds an env whose service uses wrap(bolt) as its store, if
// wrap is not nil.
func newEnvOver(t *testing.T, wrap func(store.Store) store.Store, opts ...auth.Option) *env {
	t.Helper()
	bolt, err := bolt.Open(filepath.Join(t.TempDir(), "tg.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	var st store.Store = bolt
	if wrap != nil {
		st = wrap(bolt)
	}
	dummy := hash4(t, "dummy")
	svc, err := auth.New(st, tokens.NewServerKey(), append([]auth.Option{auth.WithDummyPasswordHash(dummy)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx := context.Background()
	alice := hash4(t, "alice-password-1")
	if _, err := svc.CreateUser(ctx, auth.NewUser{ID: "alice", CreatedBy: "admin-api",
		Profile: auth.Profile{Name: "Alice", Email: "alice@example.com", Role: "Editor"}, Password: auth.Password{Hash: &alice}}); err != nil {
		t.Fatal(err)
	}
	carol := auth.DeclaredUser{ID: "carol", PasswordHash: dummy, Profile: auth.Profile{Role: "Owner"}}
	olga := auth.DeclaredUser{ID: "olga", PasswordHash: dummy}
	if _, err := svc.SyncUsers(ctx, []auth.DeclaredUser{carol, olga}); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.SyncUsers(ctx, []auth.DeclaredUser{carol}); err != nil || len(res.Orphaned) != 1 {
		t.Fatalf("orphaning olga: %+v, %v", res, err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e := &env{t: t, svc: svc, st: bolt, logs: logs}
	e.h = &admin.Handler{
		Service: func() (*auth.Service, admin.Settings, error) {
			return svc, admin.Settings{ResetLink: resetLink, ResetTTL: time.Hour}, nil
		},
		ParseDuration: caddy.ParseDuration,
		Logger:        zap.New(core),
	}
	return e
}

// do sends a request: body is raw JSON ("" for none), sent as
// application/json.
func (e *env) do(method, path, body string) *httptest.ResponseRecorder {
	return e.doCtx(context.Background(), method, path, body)
}

func (e *env) doCtx(ctx context.Context, method, path, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequestWithContext(ctx, method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// want sends a request and checks its status; for an error answer, that
// its message contains msg.
func (e *env) want(method, path, body string, status int, msg string) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.do(method, path, body)
	if w.Code != status {
		e.t.Fatalf("%s %s %s: got %d %s, want %d", method, path, body, w.Code, w.Body, status)
	}
	if msg != "" && !strings.Contains(errorMessage(e.t, w), msg) {
		e.t.Fatalf("%s %s: message %q, want it to contain %q", method, path, errorMessage(e.t, w), msg)
	}
	return w
}

// errorMessage is the message of an error answer, {"error": message}.
func errorMessage(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == nil {
		t.Fatalf("answer %d %q is not an admin error", w.Code, w.Body)
	}
	return *body.Error
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %q: %v", w.Body, err)
	}
	return v
}

// check is what a case verifies beyond the status.
type check func(t *testing.T, e *env, w *httptest.ResponseRecorder)

// routeCase is one request of a route table.
type routeCase struct {
	name, method, path, body string
	status                   int
	msg                      string // part of the error message
	check                    check
	// slow: the request hashes a password at cost 14, seconds under
	// -race; -short skips it.
	slow bool
}

// run runs each case on a fresh env: cases do not see each other's
// changes.
func run(t *testing.T, cases []routeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow && testing.Short() {
				t.Skip("hashes a password at cost 14")
			}
			e := newEnv(t)
			w := e.want(tc.method, tc.path, tc.body, tc.status, tc.msg)
			if tc.check != nil {
				tc.check(t, e, w)
			}
		})
	}
}

// user reads a user straight from the service.
func (e *env) user(id string) store.User {
	e.t.Helper()
	u, err := e.svc.User(context.Background(), id)
	if err != nil {
		e.t.Fatalf("user %s: %v", id, err)
	}
	return u
}

// authenticate checks a token as the gate would.
func authenticate(e *env, tok string) error {
	_, err := e.svc.Authenticate(context.Background(), tok, tokens.Request{Interface: "rest"})
	return err
}
