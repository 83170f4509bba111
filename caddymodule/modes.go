package caddymodule

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/auth"
)

// Two modes for sites that are only partly gated, or gated by another
// proxy.
//
// optional: a request that presents no token passes anonymously. The
// identity headers a client sent are stripped from it all the same, so
// that the public paths of a gated site cannot be used to hand the
// upstream a made-up identity; a token that is presented must be valid.
//
// verify: the route is a forward-auth endpoint (nginx auth_request,
// Traefik forwardAuth, HAProxy, Caddy's forward_auth) and answers every
// request itself: 200 with the identity as response headers, or the
// refusal. The request it checks is the original one, which the proxy
// describes in headers the operator names.

// VerifyConfig turns a tokengate route into a forward-auth endpoint.
// The proxy in front sends a subrequest (nginx's is always a GET, to the
// auth location's URI) that carries the client's headers, and describes
// the original request in headers of its own: those are the only ones
// read for it, and each must hold exactly one value (a proxy that
// appends to a client-sent one rather than replacing it is refused, not
// half-trusted). The proxy must set every one of them itself, replacing
// what the client sent: nginx's proxy_set_header does; Traefik and
// Caddy's forward_auth set X-Forwarded-Method, X-Forwarded-Uri and
// X-Forwarded-Host themselves.
type VerifyConfig struct {
	// The header that holds the original request's method, which
	// data.readonly and api caveats check. A subrequest without it is
	// refused (400): without it every request would look like the
	// proxy's own GET. Default: X-Forwarded-Method (Traefik's, Caddy's
	// forward_auth's); nginx snippets usually set X-Original-Method.
	MethodHeader string `json:"method_header,omitempty"`

	// The header that holds the original request's URI (path and
	// query, as sent), whose path data.path and api caveats check and
	// from whose query a query token source reads the token. A
	// subrequest without it is refused (400). Default: X-Forwarded-Uri
	// (Traefik's, Caddy's forward_auth's); nginx snippets usually set
	// X-Original-URI to $request_uri.
	URIHeader string `json:"uri_header,omitempty"`

	// The header that holds the original request's host, which is then
	// the service name that service and api caveats check, instead of
	// the route's `service`: one endpoint for several gated sites. A
	// subrequest without it is refused (400). Set it only if the proxy
	// sets the header to the host it actually routed the request by (in
	// nginx, $server_name for a server block with a catch-all, since
	// $host is whatever the client sent). Default: "", the route's
	// service.
	HostHeader string `json:"host_header,omitempty"`

	// With host_header, the host names the endpoint answers for; a
	// subrequest naming another is refused (400), and these are the
	// service names a token's service caveat may be created with.
	// Default: none, every host the proxy names is taken.
	Hosts []string `json:"hosts,omitempty"`
}

// Defaults of VerifyConfig, canonical header names.
const (
	defaultMethodHeader = "X-Forwarded-Method"
	defaultURIHeader    = "X-Forwarded-Uri"
)

// provision fills in the defaults and canonicalizes the header names, so
// that reading them is a plain map lookup.
func (v *VerifyConfig) provision(app *App) {
	if v.MethodHeader == "" {
		v.MethodHeader = defaultMethodHeader
	}
	if v.URIHeader == "" {
		v.URIHeader = defaultURIHeader
	}
	v.MethodHeader = http.CanonicalHeaderKey(v.MethodHeader)
	v.URIHeader = http.CanonicalHeaderKey(v.URIHeader)
	if v.HostHeader != "" {
		v.HostHeader = http.CanonicalHeaderKey(v.HostHeader)
	}
	for i, h := range v.Hosts {
		v.Hosts[i] = strings.ToLower(h)
		app.addService(v.Hosts[i])
	}
}

// uriHeader is URIHeader, or its default before provisioning.
func (v *VerifyConfig) uriHeader() string {
	if v.URIHeader == "" {
		return defaultURIHeader
	}
	return v.URIHeader
}

// original returns the request the proxy asks about: r with the method
// and URI the proxy's headers give, and its service name (service, or
// the host header's). Its headers are r's, the client's as the proxy
// passed them on: the token sources read them there.
func (v *VerifyConfig) original(r *http.Request, service string) (*http.Request, string, *onezone.Error) {
	method, ok := single(r.Header, v.MethodHeader)
	if !ok || !isToken(method) {
		return nil, "", onezone.BadData(v.MethodHeader)
	}
	raw, ok := single(r.Header, v.URIHeader)
	if !ok {
		return nil, "", onezone.BadData(v.URIHeader)
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil || !strings.HasPrefix(u.Path, "/") {
		return nil, "", onezone.BadData(v.URIHeader)
	}
	if v.HostHeader != "" {
		host, ok := single(r.Header, v.HostHeader)
		if ok {
			host, ok = v.host(host)
		}
		if !ok {
			return nil, "", onezone.BadData(v.HostHeader)
		}
		service = host
	}
	o := r.WithContext(r.Context())
	o.Method = method
	// Only the path and the query: where the subrequest itself went is
	// no part of what is asked.
	o.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	o.RequestURI = raw
	return o, service, nil
}

// host returns the host name of a host header's value (no port, lower
// case) if the endpoint answers for it.
func (v *VerifyConfig) host(s string) (string, bool) {
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if s == "" || strings.ContainsAny(s, "*{ ,/") {
		return "", false
	}
	if len(v.Hosts) == 0 {
		return s, true
	}
	for _, h := range v.Hosts {
		if h == s {
			return s, true
		}
	}
	return "", false
}

// single returns the one value of the header called name (canonical),
// false if there is none, an empty one or more than one.
func single(h http.Header, name string) (string, bool) {
	vals := h[name]
	if len(vals) != 1 || vals[0] == "" {
		return "", false
	}
	return vals[0], true
}

// isToken reports whether s is an HTTP token, as a method is.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// anonymous is the identity of a request that passes an optional gate
// without a token: no user, and empty {http.auth.user.*} placeholders.
var anonymous auth.Identity

// pass hands a request on to the next handler as id, which may be
// anonymous: what the upstream must not see is removed first (the token
// from src unless it is forwarded, the consumer token, tokengate's
// session cookie, every client-sent identity header).
func (h *Handler) pass(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, src *caller.Source, id *auth.Identity, assertion []string) error {
	if src != nil {
		src.Remove(r, h.ForwardToken)
	}
	// A credential like the token: the upstream never needs it.
	r.Header.Del(consumerTokenHeader)
	for _, name := range h.sessions {
		// The session cookie, under either name, is tokengate's, whatever
		// authenticated the request: the upstream never needs it.
		if !(h.ForwardToken && src != nil && src.Kind == caller.Cookie && src.Name == name) {
			caller.RemoveCookie(r, name)
		}
	}
	if h.Assertion == nil {
		setIdentity(r, id)
		return next.ServeHTTP(w, r)
	}
	setIdentityAnd(r, id, h.Assertion.Header)
	if assertion == nil {
		// Anonymous: no assertion, and none a client made up.
		delete(r.Header, h.Assertion.Header)
		return next.ServeHTTP(w, r)
	}
	// Shared by the token's requests (see auth.Service.Assertion): len
	// = cap, so that an append by a later handler copies.
	r.Header[h.Assertion.Header] = assertion
	return next.ServeHTTP(w, r)
}

// answerVerified is verify's answer for a request that may pass: 200,
// with the identity in the same X-Auth-User-* headers the gate gives an
// upstream (none for an anonymous one) and, with assertion on, the
// assertion header, for the proxy to copy onto the request it forwards. The placeholders are set too, for the access log.
func (h *Handler) answerVerified(w http.ResponseWriter, r *http.Request, id *auth.Identity, assertion []string) error {
	setIdentity(r, id)
	hd := w.Header()
	if h.Assertion != nil && assertion != nil {
		// For the proxy to copy too, as the identity headers.
		hd[h.Assertion.Header] = assertion
	}
	// Each answer is about one request: a cache in between must not
	// replay it for another.
	hd.Set("Cache-Control", "no-store")
	vals := [...]string{id.ID, id.Email, id.Name, id.Role}
	for i, k := range [...]string{headerID, headerEmail, headerName, headerRole} {
		if vals[i] != "" {
			hd[k] = []string{vals[i]}
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
