package caddymodule

import (
	"maps"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/tokengate/tokengate/tokens"
)

// A gated route's service name is what a token's service caveat
// ({"type":"service","whitelist":["wiki"]}) is checked against: its
// `service`, else the first host name of its site, so that a token
// minted for one site does not open another without any configuration.

// nameServices gives each gate of the config that names no service its
// site's first host name. It runs once, as the app starts and before any
// request is authenticated (started), because only then is the http
// app's route tree, where the sites are, known.
func (a *App) nameServices() {
	v, err := a.ctx.AppIfConfigured("http")
	if err != nil {
		return
	}
	httpApp, ok := v.(*caddyhttp.App)
	if !ok {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(httpApp.Servers)) {
		p := placeServer(name, httpApp.Servers[name])
		for _, h := range p.gates {
			if h.Service != "" {
				continue
			}
			if s := siteService(p.sites[h]); s != "" {
				h.service = s
				a.addService(s)
			}
		}
	}
}

// siteService is the service name a site's host names give: the first,
// unless it is a wildcard or a placeholder, which name no one service.
// "" (no default: a service caveat is refused) for a site without hosts,
// such as `:8080`.
func siteService(hosts string) string {
	first, _, _ := strings.Cut(hosts, " ")
	if strings.ContainsAny(first, "*{") {
		return ""
	}
	return first
}

// addService records the service name of one of the config's routes.
func (a *App) addService(name string) {
	if name == "" || a.run == nil {
		return
	}
	a.run.servicesMu.Lock()
	defer a.run.servicesMu.Unlock()
	if a.run.services == nil {
		a.run.services = make(map[string]struct{})
	}
	a.run.services[name] = struct{}{}
}

// serviceExists reports whether a route of the config has a service
// that the service caveat pattern matches. An App that was never
// provisioned knows no routes and answers true: it has nothing to judge
// by.
func (a *App) serviceExists(pattern string) bool {
	if a.run == nil {
		return true
	}
	a.run.servicesMu.RLock()
	defer a.run.servicesMu.RUnlock()
	for name := range a.run.services {
		if tokens.ServiceMatches(pattern, name) {
			return true
		}
	}
	return false
}
