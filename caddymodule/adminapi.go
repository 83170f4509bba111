package caddymodule

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/admin"
	// The `caddy tokengate` command talks to these routes; importing it
	// here registers it in every Caddy built with tokengate, as the
	// module's users expect of `xcaddy build --with`.
	_ "github.com/tokengate/tokengate/admin/cli"
	"github.com/tokengate/tokengate/auth"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI is the admin.api.tokengate module: it mounts the admin API
// (package admin) under /tokengate/ on Caddy's admin endpoint. It is
// stateless: each request finds the running tokengate app anew, so that
// it follows config reloads.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.tokengate",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes. The handler writes its own answers,
// errors included, as Caddy's admin endpoint writes them.
func (adminAPI) Routes() []caddy.AdminRoute {
	h := &admin.Handler{
		Service:       activeService,
		ParseDuration: caddy.ParseDuration,
	}
	return []caddy.AdminRoute{{
		Pattern: admin.Prefix,
		Handler: caddy.AdminHandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			h.ServeHTTP(w, r)
			return nil
		}),
	}}
}

// activeService finds the running tokengate app's service. The app may
// have been set up by the config or loaded on demand by a handler; either
// way it is among the active config's apps.
func activeService() (*auth.Service, admin.Settings, error) {
	v, err := caddy.ActiveContext().AppIfConfigured("tokengate")
	if err != nil {
		return nil, admin.Settings{}, fmt.Errorf("%w: %w", admin.ErrNotConfigured, err)
	}
	app, ok := v.(*App)
	if !ok {
		return nil, admin.Settings{}, admin.ErrNotConfigured
	}
	svc := app.service()
	if svc == nil {
		return nil, admin.Settings{}, admin.ErrNotStarted
	}
	return svc, admin.Settings{ResetLink: app.ResetLink, ResetTTL: time.Duration(app.ResetTokenTTL)}, nil
}

// Interface guards
var (
	_ caddy.Module      = adminAPI{}
	_ caddy.AdminRouter = adminAPI{}
)
