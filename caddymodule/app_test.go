package caddymodule

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/tokengate/tokengate/caddymodule/stores/boltstore"
)

func TestValidateSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name, cookie, wantErr string
	}{
		{"default", "tokengate_session", ""},
		{"own name", "sid", ""},
		{"prefix inside", "my__Host-sid", ""},
		{"__Host-", "__Host-sid", `give the name without __Host-`},
		{"__Secure-", "__Secure-sid", `give the name without __Secure-`},
		{"any case", "__host-sid", `give the name without __host-`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newProvisionedApp(t)
			app.SessionCookie = tc.cookie
			err := app.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// newProvisionedApp provisions an app with the defaults over a bolt file
// in a temporary directory, without starting it.
func newProvisionedApp(t *testing.T) *App {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	app := &App{StoreRaw: caddyconfig.JSONModuleObject(boltstore.Module{Path: filepath.Join(t.TempDir(), "tokengate.db")}, "module", "bolt", nil)}
	if err := app.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Cleanup() })
	return app
}
