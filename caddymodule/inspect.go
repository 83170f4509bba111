package caddymodule

import (
	"errors"
	"maps"
	"slices"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// inspectHTTP reads the http app of this config for gates that cannot
// run, which it refuses, and for destinations reached around a gate and
// logs that would keep tokengate's secrets, of which it warns. Start is
// the first moment the whole route tree is known: the app's Provision
// runs while the http app is still being provisioned (its handlers load
// this app), and Validate only checks the app itself. So `caddy validate`
// does not see these; `caddy run` and `caddy reload` refuse the config.
func (a *App) inspectHTTP() error {
	v, err := a.ctx.AppIfConfigured("http")
	if err != nil {
		return nil // no http app, no gates; a failed one Caddy reports itself
	}
	httpApp, ok := v.(*caddyhttp.App)
	if !ok {
		return nil
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(httpApp.Servers)) {
		srv := httpApp.Servers[name]
		p := placeServer(name, srv)
		for _, n := range p.never {
			errs = append(errs, errors.New(n))
		}
		for _, o := range p.partlyOpen() {
			a.logger.Warn("a gated destination is also reached around tokengate: requests there are not gated "+
				"(if that part is meant to be public, put it behind `tokengate optional`, which also removes client-sent identity headers)", zap.String("server", name), zap.String("where", o))
		}
		if len(p.gates) > 0 {
			a.warnUnfilteredLogs(name, srv, p.gates)
		}
	}
	return errors.Join(errs...)
}

// warnUnfilteredLogs logs, once for the server, which of its logs would
// keep tokengate's secrets and the Caddyfile lines that filter them.
func (a *App) warnUnfilteredLogs(name string, srv *caddyhttp.Server, gates []*Handler) {
	places, headers, queries := secretPlaces(gates)
	logs, leaks := unfilteredLogs(a.ctx, srv, places)
	if len(leaks) == 0 {
		return
	}
	a.logger.Warn("requests to this server can be logged with tokengate's secrets in them: "+
		"add tokengate's log filter to every log they reach",
		zap.String("server", name), zap.Strings("logs", logs), zap.Strings("unfiltered", leaks),
		zap.Strings("caddyfile", logFilterAdvice(headers, queries, verifyURIHeaders(gates)...)))
}
