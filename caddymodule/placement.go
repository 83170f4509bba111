package caddymodule

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/fileserver"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// A gate fails open, silently, where it cannot run: in
// `route { reverse_proxy …; tokengate }` every request is answered before
// the gate sees it. placement reads a provisioned http server's routes
// as Caddy runs them to find such gates, and the destinations (an
// upstream, a file root) that requests reach both through a gate and
// around it.
//
// Caddy runs a route list in order: a route without matchers and group
// always runs, one with them may not; a terminal route ends the list
// for the requests it ran. A route's handlers run in order, each handing
// the request on unless it is one that answers every request itself
// (destination). Handlers of other modules are taken to hand it on: a
// tokengate after one of them is never refused, whatever it does.

// reach is how requests can arrive at a point of the routes: through a
// tokengate handler (gated) or not (open). Neither: no request can.
type reach struct{ gated, open bool }

func (r reach) none() bool       { return !r.gated && !r.open }
func (r reach) or(s reach) reach { return reach{r.gated || s.gated, r.open || s.open} }

// placement is what one server's routes tell about its gates.
type placement struct {
	gates []*Handler          // every tokengate handler, whether it can run or not
	sites map[*Handler]string // the host names of each gate's site, space-separated; "" if none
	never []string            // a tokengate that can never run: where, and why
	dests map[string]*dest
	order []string // the keys of dests, in the order first met
	quiet bool     // record no destinations (named routes: where they run is not known)
}

// dest is a destination and how requests reach it.
type dest struct {
	reach
	openAt string // where it is first reached around every gate
}

// placeServer reads the routes of the server called name.
func placeServer(name string, srv *caddyhttp.Server) *placement {
	p := &placement{dests: map[string]*dest{}, sites: map[*Handler]string{}}
	base := "apps/http/servers/" + name
	p.list(srv.Routes, reach{open: true}, base+"/routes", "")
	if srv.Errors != nil {
		// Error routes run after a handler failed, a refusal by the gate
		// among them: an upstream reached from there is reached around it.
		p.list(srv.Errors.Routes, reach{open: true}, base+"/errors/routes", "")
	}
	named := &placement{dests: map[string]*dest{}, sites: p.sites, quiet: true}
	for _, n := range slices.Sorted(maps.Keys(srv.NamedRoutes)) {
		// Where an invoke runs a named route is not followed: its gates
		// are only checked for being able to run at all.
		named.list(caddyhttp.RouteList{*srv.NamedRoutes[n]}, reach{open: true}, base+"/named_routes/"+n, "")
	}
	p.gates = append(p.gates, named.gates...)
	p.never = append(p.never, named.never...)
	return p
}

// partlyOpen describes each destination reached both through a gate and
// around every gate.
func (p *placement) partlyOpen() []string {
	var out []string
	for _, k := range p.order {
		if d := p.dests[k]; d.gated && d.open {
			out = append(out, fmt.Sprintf("%s is reached through tokengate, and around it at %s", k, d.openAt))
		}
	}
	return out
}

// list follows requests arriving as in through routes (at: their config
// path; site: the host of the enclosing site, for people). It returns how
// requests leave the list for the next handler, and if none can, what
// answered them all.
func (p *placement) list(routes caddyhttp.RouteList, in reach, at, site string) (reach, string) {
	cur, out := in, reach{}
	stop := ""
	for i := range routes {
		r := &routes[i]
		where := at + "/" + strconv.Itoa(i)
		rs := site
		if rs == "" {
			rs = hosts(r.MatcherSets)
		}
		if cur.none() {
			for j, h := range r.Handlers {
				p.unreachable(h, where+"/handle/"+strconv.Itoa(j), rs, stop)
			}
			continue
		}
		ran, why := p.handlers(r.Handlers, cur, where+"/handle", rs)
		next := ran
		if r.Terminal {
			out = out.or(ran)
			next = reach{}
			if why == "" {
				why = "the terminal route at " + where
			}
		}
		if len(r.MatcherSets) > 0 || r.Group != "" {
			next = next.or(cur)
		}
		if next.none() && stop == "" {
			stop = why
		}
		cur = next
	}
	out = out.or(cur)
	if !out.none() {
		stop = ""
	}
	return out, stop
}

// handlers follows requests arriving as in through one route's handlers.
func (p *placement) handlers(hs []caddyhttp.MiddlewareHandler, in reach, at, site string) (reach, string) {
	cur, stop := in, ""
	for j, h := range hs {
		where := at + "/" + strconv.Itoa(j)
		if cur.none() {
			p.unreachable(h, where, site, stop)
			continue
		}
		switch h := h.(type) {
		case *Handler:
			p.gate(h, site)
			cur = reach{gated: true}
			if h.Verify != nil {
				// A forward-auth endpoint answers every request itself.
				cur, stop = reach{}, "tokengate (verify) at "+where
			}
		case *caddyhttp.Subroute:
			cur, stop = p.list(h.Routes, cur, where+"/routes", site)
		default:
			key, answers := destination(h)
			if !answers {
				continue
			}
			p.arrive(key, cur, where, site)
			cur, stop = reach{}, caddy.GetModuleName(h)+" at "+where
		}
	}
	return cur, stop
}

// gate records a tokengate handler met in the site with those hosts.
func (p *placement) gate(h *Handler, site string) {
	p.gates = append(p.gates, h)
	p.sites[h] = site
}

// unreachable records every gate in h, which no request reaches because
// stop answers them all first.
func (p *placement) unreachable(h caddyhttp.MiddlewareHandler, where, site, stop string) {
	switch h := h.(type) {
	case *Handler:
		p.gate(h, site)
		p.never = append(p.never, fmt.Sprintf("tokengate at %s%s never runs: %s answers every request first; "+
			"put tokengate before it (in a route block, write tokengate first)", where, siteNote(site), stop))
	case *caddyhttp.Subroute:
		for i, r := range h.Routes {
			for j, sub := range r.Handlers {
				p.unreachable(sub, where+"/routes/"+strconv.Itoa(i)+"/handle/"+strconv.Itoa(j), site, stop)
			}
		}
	}
}

// arrive records that requests reach the destination key as r.
func (p *placement) arrive(key string, r reach, where, site string) {
	if key == "" || p.quiet {
		return
	}
	d := p.dests[key]
	if d == nil {
		d = new(dest)
		p.dests[key] = d
		p.order = append(p.order, key)
	}
	if r.open && !d.open {
		d.openAt = where + siteNote(site)
	}
	d.reach = d.reach.or(r)
}

// destination reports whether h answers every request itself, never
// handing it on, and names what it serves ("" for nothing worth gating,
// or nothing that can be compared: an upstream from a dynamic source, a
// root from a placeholder).
func destination(h caddyhttp.MiddlewareHandler) (key string, answers bool) {
	switch h := h.(type) {
	case *reverseproxy.Handler:
		if len(h.HandleResponse) > 0 {
			return "", false // its response routes may hand the request on, as forward_auth's do
		}
		if h.DynamicUpstreams != nil || len(h.Upstreams) == 0 {
			return "", true
		}
		dials := make([]string, 0, len(h.Upstreams))
		for _, u := range h.Upstreams {
			dials = append(dials, u.Dial)
		}
		slices.Sort(dials)
		return "reverse_proxy to " + strings.Join(slices.Compact(dials), " "), true
	case *fileserver.FileServer:
		if h.PassThru {
			return "", false
		}
		if strings.Contains(h.Root, "{") {
			return "", true
		}
		return "file_server at " + h.Root, true
	case *caddyhttp.StaticResponse, *caddyhttp.StaticError:
		return "", true
	}
	return "", false
}

// hosts lists the host matchers of a site's route.
func hosts(sets caddyhttp.MatcherSets) string {
	var hs []string
	for _, set := range sets {
		for _, m := range set {
			if h, ok := m.(*caddyhttp.MatchHost); ok {
				hs = append(hs, *h...)
			}
		}
	}
	return strings.Join(hs, " ")
}

func siteNote(site string) string {
	if site == "" {
		return ""
	}
	return " (site " + site + ")"
}
