package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/fileserver"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// Handlers and matchers as Caddy provisions them, to build servers from.
func gate() *Handler { return new(Handler) }
func proxy(dials ...string) *reverseproxy.Handler {
	h := new(reverseproxy.Handler)
	for _, d := range dials {
		h.Upstreams = append(h.Upstreams, &reverseproxy.Upstream{Dial: d})
	}
	return h
}
func respond() *caddyhttp.StaticResponse { return new(caddyhttp.StaticResponse) }
func header() *headers.Handler           { return new(headers.Handler) }
func sub(routes ...caddyhttp.Route) *caddyhttp.Subroute {
	return &caddyhttp.Subroute{Routes: routes}
}
func route(hs ...caddyhttp.MiddlewareHandler) caddyhttp.Route { return caddyhttp.Route{Handlers: hs} }
func matched(r caddyhttp.Route) caddyhttp.Route {
	r.MatcherSets = caddyhttp.MatcherSets{{caddyhttp.MatchPath{"/api/*"}}}
	return r
}
func site(host string, hs ...caddyhttp.MiddlewareHandler) caddyhttp.Route {
	return caddyhttp.Route{
		MatcherSets: caddyhttp.MatcherSets{{&caddyhttp.MatchHost{host}}},
		Handlers:    []caddyhttp.MiddlewareHandler{sub(route(hs...))},
		Terminal:    true,
	}
}

func TestPlacement(t *testing.T) {
	terminal := func(r caddyhttp.Route) caddyhttp.Route { r.Terminal = true; return r }
	grouped := func(r caddyhttp.Route) caddyhttp.Route { r.Group = "g"; return r }
	for _, tc := range []struct {
		name   string
		srv    *caddyhttp.Server
		gates  int
		never  []string // substrings of each message, in order
		opened []string
	}{
		{name: "gate, then proxy", srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{site("a.test", gate(), proxy("up:1"))}}, gates: 1},
		{name: "proxy, then gate", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{site("a.test", proxy("up:1"), gate())}},
			never: []string{"tokengate at apps/http/servers/srv0/routes/0/handle/0/routes/0/handle/1 (site a.test) never runs: " +
				"reverse_proxy at apps/http/servers/srv0/routes/0/handle/0/routes/0/handle/0 answers every request first"}},
		{name: "respond, then gate", gates: 1,
			srv:   &caddyhttp.Server{Routes: caddyhttp.RouteList{route(respond(), gate())}},
			never: []string{"routes/0/handle/1 never runs: static_response at apps/http/servers/srv0/routes/0/handle/0"}},
		{name: "a header handler, then gate", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{route(header(), gate(), proxy("up:1"))}}},
		{name: "a subroute that always answers, then gate", gates: 1,
			srv:   &caddyhttp.Server{Routes: caddyhttp.RouteList{route(sub(route(proxy("up:1"))), gate())}},
			never: []string{"routes/0/handle/1 never runs: reverse_proxy at apps/http/servers/srv0/routes/0/handle/0/routes/0/handle/0"}},
		{name: "a subroute that answers some, then gate", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{route(sub(matched(route(respond()))), gate(), proxy("up:1"))}}},
		{name: "a route that always answers, then a gated route", gates: 1,
			srv:   &caddyhttp.Server{Routes: caddyhttp.RouteList{route(respond()), route(gate(), proxy("up:1"))}},
			never: []string{"routes/1/handle/0 never runs: static_response at apps/http/servers/srv0/routes/0/handle/0"}},
		{name: "a terminal route, then a gated route", gates: 1,
			srv:   &caddyhttp.Server{Routes: caddyhttp.RouteList{terminal(route(header())), route(gate(), proxy("up:1"))}},
			never: []string{"routes/1/handle/0 never runs: the terminal route at apps/http/servers/srv0/routes/0 answers"}},
		{name: "a matched terminal route, then a gated route", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{terminal(matched(route(respond()))), route(gate(), proxy("up:1"))}}},
		{name: "a grouped route that always answers, then a gated route", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{grouped(route(respond())), route(gate(), proxy("up:1"))}}},
		{name: "file_server pass_thru, then gate", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{route(&fileserver.FileServer{PassThru: true}, gate(), proxy("up:1"))}}},
		{name: "reverse_proxy with response routes (forward_auth), then gate", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{route(&reverseproxy.Handler{HandleResponse: []caddyhttp.ResponseHandler{{}}}, gate(), proxy("up:1"))}}},
		{name: "a gate in a route nothing reaches, nested", gates: 2,
			srv:   &caddyhttp.Server{Routes: caddyhttp.RouteList{route(proxy("up:1"), sub(route(gate()), matched(route(gate()))))}},
			never: []string{"routes/0/handle/1/routes/0/handle/0 never runs", "routes/0/handle/1/routes/1/handle/0 never runs"}},
		{name: "a misplaced gate in a named route", gates: 1,
			srv:   &caddyhttp.Server{NamedRoutes: map[string]*caddyhttp.Route{"app": {Handlers: []caddyhttp.MiddlewareHandler{proxy("up:1"), gate()}}}},
			never: []string{"tokengate at apps/http/servers/srv0/named_routes/app/0/handle/1 never runs"}},

		{name: "a verify endpoint, then gate", gates: 2,
			srv:   &caddyhttp.Server{Routes: caddyhttp.RouteList{route(&Handler{Verify: &VerifyConfig{}}, gate())}},
			never: []string{"routes/0/handle/1 never runs: tokengate (verify) at apps/http/servers/srv0/routes/0/handle/0 answers every request first"}},
		{name: "a matched verify endpoint, then a gated proxy", gates: 2,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{matched(route(&Handler{Verify: &VerifyConfig{}})), route(gate(), proxy("up:1"))}}},
		// Destinations reached through a gate and around it.
		{name: "public paths behind an optional gate", gates: 2,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{matched(route(&Handler{Optional: true}, proxy("up:1"))), route(gate(), proxy("up:1"))}}},
		{name: "a gate with a matcher, then proxy", gates: 1,
			srv:    &caddyhttp.Server{Routes: caddyhttp.RouteList{matched(route(gate())), route(proxy("up:1"))}},
			opened: []string{"reverse_proxy to up:1 is reached through tokengate, and around it at apps/http/servers/srv0/routes/1/handle/0"}},
		{name: "the same upstream on another site", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{site("a.test", gate(), proxy("up:2", "up:1")), site("b.test", proxy("up:1", "up:2"))}},
			opened: []string{"reverse_proxy to up:1 up:2 is reached through tokengate, and around it at " +
				"apps/http/servers/srv0/routes/1/handle/0/routes/0/handle/0 (site b.test)"}},
		{name: "another upstream on another site", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{site("a.test", gate(), proxy("up:1")), site("b.test", proxy("up:2"))}}},
		{name: "the upstream in the error routes", gates: 1,
			srv: &caddyhttp.Server{
				Routes: caddyhttp.RouteList{route(gate(), proxy("up:1"))},
				Errors: &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{route(proxy("up:1"))}},
			},
			opened: []string{"reverse_proxy to up:1 is reached through tokengate, and around it at apps/http/servers/srv0/errors/routes/0/handle/0"}},
		{name: "the same file root, gated and not", gates: 1,
			srv:    &caddyhttp.Server{Routes: caddyhttp.RouteList{matched(route(gate(), &fileserver.FileServer{Root: "/srv"})), route(&fileserver.FileServer{Root: "/srv"})}},
			opened: []string{"file_server at /srv is reached through tokengate"}},
		{name: "file roots from placeholders are not compared", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{matched(route(gate(), &fileserver.FileServer{Root: "{http.vars.root}"})),
				route(&fileserver.FileServer{Root: "{http.vars.root}"})}}},
		{name: "a named route's upstream is not compared", gates: 1,
			srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{route(gate(), proxy("up:1"))},
				NamedRoutes: map[string]*caddyhttp.Route{"app": {Handlers: []caddyhttp.MiddlewareHandler{proxy("up:1")}}}}},
		{name: "no gate", srv: &caddyhttp.Server{Routes: caddyhttp.RouteList{route(proxy("up:1"))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := placeServer("srv0", tc.srv)
			if len(p.gates) != tc.gates {
				t.Errorf("found %d gates, want %d", len(p.gates), tc.gates)
			}
			wantAll(t, "never", p.never, tc.never)
			wantAll(t, "partly open", p.partlyOpen(), tc.opened)
		})
	}
}

// wantAll checks that got has one message per want, each containing it.
func wantAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %q, want %d messages containing %q", what, got, len(want), want)
		return
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("%s[%d] = %q, want it to contain %q", what, i, got[i], want[i])
		}
	}
}
