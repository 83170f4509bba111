package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
)

// Unknown paths and methods are answered before the service is looked
// for; then a config without tokengate, or one not started, says so.
func TestServiceLookup(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		service            func() (*auth.Service, admin.Settings, error)
		status             int
		allow, msg         string
	}{
		{"unknown path", "GET", "/tokengate/nothing", nil, 404, "", "resource not found: /tokengate/nothing"},
		{"root", "GET", "/tokengate/", nil, 404, "", "resource not found"},
		{"wrong method", "PUT", "/tokengate/users", nil, 405, "GET, POST", "method PUT not allowed on /tokengate/users (allowed: GET, POST)"},
		{"wrong method on a user", "POST", "/tokengate/users/alice", nil, 405, "DELETE, GET, PATCH", "not allowed"},
		{"not configured", "GET", "/tokengate/users", func() (*auth.Service, admin.Settings, error) {
			return nil, admin.Settings{}, fmt.Errorf("%w: no app", admin.ErrNotConfigured)
		}, 404, "", "tokengate is not configured"},
		{"not started", "GET", "/tokengate/users", func() (*auth.Service, admin.Settings, error) {
			return nil, admin.Settings{}, admin.ErrNotStarted
		}, 503, "", "tokengate is not started"},
		{"no service", "GET", "/tokengate/users", func() (*auth.Service, admin.Settings, error) {
			return nil, admin.Settings{}, nil
		}, 503, "", "tokengate is not started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &admin.Handler{Service: tc.service}
			if h.Service == nil {
				h.Service = func() (*auth.Service, admin.Settings, error) {
					t.Fatal("service looked for")
					return nil, admin.Settings{}, nil
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status || errorMessage(t, w) != tc.msg && !bytes.Contains(w.Body.Bytes(), []byte(tc.msg)) {
				t.Fatalf("got %d %s, want %d %q", w.Code, w.Body, tc.status, tc.msg)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// Errors are written byte for byte as Caddy's admin endpoint writes a
// caddy.APIError, HTML escaping and final newline included, with no
// header but Content-Type: scripts and the CLI cannot tell them apart.
func TestErrorsAsCaddyWritesThem(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"not found, with characters JSON escapes", "GET", "/tokengate/users/%3Cb%3E%26%22", "", 404, `user "<b>&\"" not found`},
		{"conflict", "DELETE", "/tokengate/users/carol", "", 409,
			`user "carol" is managed by the Caddy config; change it there (the tokengate users in the Caddyfile or JSON config) and reload`},
		{"bad value", "POST", "/tokengate/users", `{"id":"a\nb"}`, 400, "id must not contain control characters"},
		{"not allowed", "PUT", "/tokengate/users", "", 405, "method PUT not allowed on /tokengate/users (allowed: GET, POST)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.method, tc.path, tc.body)
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(caddy.APIError{HTTPStatus: tc.status, Message: tc.msg}); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || !bytes.Equal(w.Body.Bytes(), want.Bytes()) {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body, tc.status, want.Bytes())
			}
			if ct, cc := w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"); ct != "application/json" || cc != "" {
				t.Fatalf("Content-Type %q, Cache-Control %q", ct, cc)
			}
		})
	}
}

// A failure of the server is logged at ERROR, a refused request at DEBUG.
func TestErrorLogLevels(t *testing.T) {
	bs := new(brokenStore)
	e := newEnvOver(t, func(st store.Store) store.Store { bs.Store = st; return bs })
	bs.down = true
	e.want("GET", "/tokengate/users/nobody/block", "", 405, "")
	e.want("GET", "/tokengate/users", "", 503, "tokengate's store is unavailable; try again later")
	var levels []zapcore.Level
	for _, l := range e.logs.All() {
		levels = append(levels, l.Level)
	}
	if len(levels) != 2 || levels[0] != zapcore.DebugLevel || levels[1] != zapcore.ErrorLevel {
		t.Fatalf("log levels %v, want [debug error]", levels)
	}
}

// A client that goes away mid-request is answered 499, which it does not
// read, and nothing is logged: whatever the store said after the
// cancellation is not a failure of the server.
func TestClientGone(t *testing.T) {
	hash := hash4(t, "bob-password-1")
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"list users", "GET", "/tokengate/users", ""},
		{"create user", "POST", "/tokengate/users", `{"id":"bob","password":"bob-password-1"}`},
		{"create user with a hash", "POST", "/tokengate/users", `{"id":"bob","password_hash":"` + hash + `"}`},
		{"get user", "GET", "/tokengate/users/alice", ""},
		{"patch user", "PATCH", "/tokengate/users/alice", `{"password":"alice-password-2"}`},
		{"delete user", "DELETE", "/tokengate/users/alice", ""},
		{"block", "POST", "/tokengate/users/alice/block", ""},
		{"reset token", "POST", "/tokengate/users/alice/reset-token", ""},
		{"generation", "GET", "/tokengate/users/alice/tokens/temporary", ""},
		{"issue temporary", "POST", "/tokengate/users/alice/tokens/temporary", ""},
		{"revoke temporary", "DELETE", "/tokengate/users/alice/tokens/temporary", ""},
		{"list named", "GET", "/tokengate/users/alice/tokens/named", ""},
		{"create named", "POST", "/tokengate/users/alice/tokens/named", `{"name":"ci"}`},
		{"list bans", "GET", "/tokengate/bans", ""},
		{"lift ban", "DELETE", "/tokengate/bans/ip:203.0.113.7", ""},
	} {
		for _, mode := range []struct {
			name string
			err  func(ctx context.Context) error
		}{
			// As go-redis answers a canceled context.
			{"canceled", func(ctx context.Context) error { return ctx.Err() }},
			// A store that fails otherwise once the client is gone.
			{"outage", func(context.Context) error { return errors.New("connection reset") }},
		} {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				bs := &brokenStore{errFor: mode.err}
				e := newEnvOver(t, func(st store.Store) store.Store { bs.Store = st; return bs })
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				bs.down = true
				w := e.doCtx(ctx, tc.method, tc.path, tc.body)
				if w.Code >= 500 || w.Code != 499 {
					t.Fatalf("got %d %s, want 499", w.Code, w.Body)
				}
				if n := e.logs.Len(); n != 0 {
					t.Fatalf("logged %v", e.logs.All())
				}
			})
		}
	}
}

// brokenStore fails every call once down: with errFor(ctx), or as an
// outage.
type brokenStore struct {
	store.Store
	down   bool
	errFor func(ctx context.Context) error
}

func (b *brokenStore) fail(ctx context.Context) error {
	if !b.down {
		return nil
	}
	if b.errFor != nil {
		return b.errFor(ctx)
	}
	return fmt.Errorf("%w: connection refused", store.ErrUnavailable)
}

func (b *brokenStore) Subject(ctx context.Context, id string) (store.Subject, error) {
	if err := b.fail(ctx); err != nil {
		return store.Subject{}, err
	}
	return b.Store.Subject(ctx, id)
}

func (b *brokenStore) RevokeTemp(ctx context.Context, id string) (store.TempSecret, error) {
	if err := b.fail(ctx); err != nil {
		return store.TempSecret{}, err
	}
	return b.Store.RevokeTemp(ctx, id)
}

func (b *brokenStore) User(ctx context.Context, id string) (store.User, error) {
	if err := b.fail(ctx); err != nil {
		return store.User{}, err
	}
	return b.Store.User(ctx, id)
}

func (b *brokenStore) Users(ctx context.Context) ([]store.User, error) {
	if err := b.fail(ctx); err != nil {
		return nil, err
	}
	return b.Store.Users(ctx)
}

func (b *brokenStore) CreateUser(ctx context.Context, u store.User) error {
	if err := b.fail(ctx); err != nil {
		return err
	}
	return b.Store.CreateUser(ctx, u)
}

func (b *brokenStore) UpdateUser(ctx context.Context, id string, fn func(*store.User) error) (store.User, error) {
	if err := b.fail(ctx); err != nil {
		return store.User{}, err
	}
	return b.Store.UpdateUser(ctx, id, fn)
}

func (b *brokenStore) DeleteUser(ctx context.Context, id string) error {
	if err := b.fail(ctx); err != nil {
		return err
	}
	return b.Store.DeleteUser(ctx, id)
}

func (b *brokenStore) NamedTokens(ctx context.Context, subject string) ([]store.NamedToken, error) {
	if err := b.fail(ctx); err != nil {
		return nil, err
	}
	return b.Store.NamedTokens(ctx, subject)
}

func (b *brokenStore) CreateNamed(ctx context.Context, t store.NamedToken) error {
	if err := b.fail(ctx); err != nil {
		return err
	}
	return b.Store.CreateNamed(ctx, t)
}

func (b *brokenStore) Counters(ctx context.Context, now time.Time) ([]store.Counter, error) {
	if err := b.fail(ctx); err != nil {
		return nil, err
	}
	return b.Store.Counters(ctx, now)
}

func (b *brokenStore) ClearCounter(ctx context.Context, key string, now time.Time) error {
	if err := b.fail(ctx); err != nil {
		return err
	}
	return b.Store.ClearCounter(ctx, key, now)
}
