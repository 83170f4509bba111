package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/api/openpaas"
	"github.com/tokengate/tokengate/api/unleash"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/pages"
	"github.com/tokengate/tokengate/tokens"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler gates a route: it serves tokengate's token endpoints itself and
// hands every other request on only if it carries a valid token, with the
// caller's identity in X-Auth-User-* headers and {http.auth.user.*}
// placeholders. With optional, a request without any token passes too,
// anonymously; with verify, the route answers forward-auth subrequests
// of another proxy instead of handing requests on (modes.go).
type Handler struct {
	// Where the gate, and the token endpoints on this route, look for a
	// token, in order. Each entry is "header:<name>", "bearer"
	// (Authorization: Bearer), "cookie:<name>" or "query:<name>". The
	// endpoints then also take Basic credentials; both take the session
	// cookie last. Default: ["header:X-Auth-Token", "bearer",
	// "header:Macaroon"] (Onezone's, the last deprecated).
	TokenSources []string `json:"token_sources,omitempty"`

	// Pass the token on to the next handler. A token from a query
	// parameter is removed from the URI regardless. Default: false.
	ForwardToken bool `json:"forward_token,omitempty"`

	// Path at which a POST ends the caller's browser session.
	// Default: /logout.
	LogoutPath string `json:"logout_path,omitempty"`

	// Refuse with a plain caddyhttp error, so that the server's
	// handle_errors routes write the response, instead of writing
	// Onezone's JSON error body. Default: false.
	HandleErrors bool `json:"handle_errors,omitempty"`

	// Serve the pages for people (sign-in, account, password reset) on
	// this route. Off by default, so that a site's own /login is not
	// shadowed. Default: none.
	Pages *PagesConfig `json:"pages,omitempty"`

	// Path of a sign-in page (this route's or another's on the site) to
	// which a browser without valid credentials is sent: a GET or HEAD
	// whose Accept prefers text/html gets 302 to
	// <login_redirect>?redirect=<its path and query> instead of 401; API
	// clients still get 401. For single sign-on it may be the URL of a
	// sign-in page on another host under the app's session_cookie_domain
	// (https://auth.example.com/login), which is then sent this request's
	// whole URL, and whose pages must list this host in
	// allowed_redirect_hosts. Default: "", off.
	LoginRedirect string `json:"login_redirect,omitempty"`
	loginHost     string // LoginRedirect's host if it is a URL, else ""
	loginPath     string // LoginRedirect's path

	// When the session cookie is Secure, and named with the __Host-
	// prefix: "auto", when the request came over HTTPS as Caddy
	// determines it (TLS here, or X-Forwarded-Proto: https from one of
	// the server's trusted_proxies); "always", for a site that is only
	// ever reached over HTTPS, through a proxy that does not say so.
	// Default: auto.
	SessionCookieSecure string `json:"session_cookie_secure,omitempty"`

	// The name of the service this route gates, which a token's service
	// caveat ({"type":"service","whitelist":["wiki","grafana-*"]}) must
	// match for the token to pass. Default: the first host name of the
	// site the route is in (`wiki.example.com` for a site
	// `wiki.example.com, www.example.com`); on a site without a host
	// name (`:8080`) or whose first is a wildcard, none, and every token
	// with a service caveat is refused (fail closed).
	Service string `json:"service,omitempty"`

	// Add a signed assertion of the caller's identity for the upstream
	// (see AssertionConfig). Default: none.
	Assertion *AssertionConfig `json:"assertion,omitempty"`

	service string // Service, or the default the app gives it as it starts (nameServices)

	// Let a request that presents no token at all (no token source and
	// no session cookie holds one) pass anonymously, with no identity
	// headers and empty {http.auth.user.*} placeholders; one with a
	// token is authenticated as without this, and refused if the token
	// is bad, revoked or forbidden by a caveat. Either way every
	// client-sent X-Auth-User-* header is removed first: put the public
	// paths of a gated site behind an optional gate, so that no path of
	// it hands the upstream a client's made-up identity. Default: false.
	Optional bool `json:"optional,omitempty"`

	// Make this route a forward-auth endpoint for another proxy (nginx
	// auth_request, Traefik forwardAuth, HAProxy): it answers every
	// request itself, 200 with the identity in X-Auth-User-* response
	// headers or the refusal, checking the original request the proxy
	// describes in the headers VerifyConfig names. The token endpoints
	// on the route are still served. Default: none, a gate.
	Verify *VerifyConfig `json:"verify,omitempty"`

	app        *App
	configured caller.Sources // the configured ones; the session cookie comes last
	sessions   [3]string      // the session cookie's names, plain, __Host- and __Secure-
	secure     func(*http.Request) bool
	templates  *pages.Templates // nil unless Pages
	logger     *zap.Logger

	// The front doors over the app's service, which exists once the app
	// has started: built by the first request. A pointer, so that the
	// Handler stays a plain config value.
	built *built
}

type built struct {
	doors atomic.Pointer[doors]
	once  sync.Once
	// The request counters of the server this handler runs in, bound by
	// its first request: a handler belongs to one server's routes.
	metrics atomic.Pointer[serverMetrics]
}

// doors are a handler's endpoints and its credential checks.
type doors struct {
	auth     *auth.Service
	callers  *caller.Authenticator
	onezone  *onezone.Handler
	openpaas *openpaas.Handler
	unleash  *unleash.Handler
	pages    *pages.Handler // nil unless Pages
	// assertion is the route's assertion spec, nil unless Assertion: one
	// value for the doors' life, by whose address the assertions cached
	// beside a token are found.
	assertion *auth.AssertionSpec
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.tokengate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision gets the shared app and parses the token sources.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	app, err := ctx.App("tokengate")
	if err != nil {
		return err
	}
	return h.setup(app.(*App))
}

// setup finishes provisioning the handler for app.
func (h *Handler) setup(app *App) error {
	h.app = app
	h.built = new(built)
	var err error
	if len(h.TokenSources) == 0 {
		h.TokenSources = caller.DefaultSourceSpecs()
	}
	if h.LogoutPath == "" {
		h.LogoutPath = "/logout"
	}
	if h.SessionCookieSecure == "" {
		h.SessionCookieSecure = secureAuto
	}
	if h.secure, err = secureFunc(h.SessionCookieSecure); err != nil {
		return err
	}
	if h.configured, err = caller.ParseSources(h.TokenSources); err != nil {
		return err
	}
	h.sessions = caller.SessionCookieNames(h.app.SessionCookie)
	if h.Service != "" && (strings.Contains(h.Service, "*") || strings.TrimSpace(h.Service) != h.Service) {
		return fmt.Errorf("service %q: want a name without * or surrounding spaces", h.Service)
	}
	h.service = h.Service
	h.app.addService(h.Service)
	if h.Verify != nil {
		h.Verify.provision(h.app)
	}
	if h.LoginRedirect != "" {
		if h.loginHost, h.loginPath, err = parseLoginRedirect(h.LoginRedirect, h.app.SessionCookieDomain); err != nil {
			return err
		}
	}
	if h.Pages != nil {
		if h.templates, err = h.Pages.provision(); err != nil {
			return err
		}
	}
	if h.Assertion != nil {
		if err := h.Assertion.provision(); err != nil {
			return err
		}
		h.app.addAssertionAlgorithm(h.Assertion.Algorithm)
	}
	return nil
}

// front returns the handler's doors, building them on first use; nil if
// the app could not start (the request is refused, fail closed). After a
// degraded start (errDegraded) the next request tries again, so the gate
// opens once the app has started.
func (h *Handler) front() *doors {
	if d := h.built.doors.Load(); d != nil {
		return d
	}
	a, err := h.app.started()
	if errors.Is(err, errDegraded) {
		return nil // the app logs the state, not every request
	}
	h.built.once.Do(func() {
		if err != nil {
			h.logger.Error("tokengate did not start", zap.Error(err))
			return
		}
		d := &doors{auth: a}
		d.callers = &caller.Authenticator{
			Auth:          a,
			Sources:       h.configured,
			ClientIP:      clientIP,
			SessionCookie: h.app.SessionCookie,
			Secure:        h.secure,
			SessionTTL:    time.Duration(h.app.SessionTTL),
			CookieDomain:  h.app.SessionCookieDomain,
		}
		d.onezone = &onezone.Handler{Auth: a, Callers: d.callers, ServiceExists: h.app.serviceExists,
			TokensAdminRole: h.app.TokensAdminRole}
		d.openpaas = &openpaas.Handler{Auth: a, Callers: d.callers, TTL: time.Duration(h.app.AuthenticationTokenTTL)}
		d.unleash = &unleash.Handler{Auth: a, Callers: d.callers}
		if h.Pages != nil {
			// The paths were checked in Provision.
			d.pages, _ = pages.New(a, d.callers, h.Pages.paths(), h.templates, h.logger)
			_ = d.pages.AllowRedirectHosts(h.Pages.AllowedRedirectHosts)
		}
		if h.Assertion != nil {
			// The service name is known once the app has started.
			d.assertion = &auth.AssertionSpec{Service: h.service, Algorithm: h.Assertion.Algorithm,
				TTL: time.Duration(h.Assertion.TTL)}
		}
		h.built.doors.Store(d)
	})
	return h.built.doors.Load()
}

// serverMetrics returns the request counters of the server r came
// through, bound once.
func (h *Handler) serverMetrics(r *http.Request) *serverMetrics {
	if m := h.built.metrics.Load(); m != nil {
		return m
	}
	m := h.app.metrics.server(serverName(r.Context()))
	h.built.metrics.Store(m)
	return m
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	d := h.front()
	if d == nil {
		return h.refuse(w, r, onezone.Unavailable(), nil)
	}
	if door := h.door(d, r.URL.Path); door != nil {
		// The endpoints change state: their requests carry an actor for
		// the audit trail, and the caller they authenticated shows in
		// the access log.
		r = withActor(r)
		door(&tooManyWatch{ResponseWriter: w, count: h.serverMetrics(r).tooMany}, r)
		showUser(r)
		return nil
	}
	// The request whose token and caveats are checked: r, or in verify
	// mode the original one the proxy asks about.
	req, service := r, h.service
	if h.Verify != nil {
		var e *onezone.Error
		if req, service, e = h.Verify.original(r, h.service); e != nil {
			return h.refuse(w, r, e, nil)
		}
	}
	raw, src := h.configured.Find(req)
	if raw == "" {
		// The session cookie always counts, last: browsers carry it.
		sess := caller.Source{Kind: caller.Cookie, Name: d.callers.SessionCookieName(r)}
		if raw = sess.Get(req); raw == "" {
			switch {
			case !h.Optional:
				return h.refuse(w, req, onezone.NoCredentials(), nil)
			case h.Verify != nil:
				return h.answerVerified(w, r, &anonymous, nil)
			}
			return h.pass(w, r, next, nil, &anonymous, nil)
		}
		src = &sess
	}
	// Method, Path and Service are strings the request and handler
	// already hold: the caveats that read them cost no allocation.
	// With the assertion on, its header value comes with the token, the
	// clock read once for both.
	t, assertion, err := d.auth.AuthenticateFor(r.Context(), raw, tokens.Request{
		ClientIP:  clientIP(r),
		Interface: "rest",
		Method:    req.Method,
		Path:      req.URL.Path,
		Service:   service,
		// Verified only for a token with a consumer caveat.
		ConsumerToken: req.Header.Get(consumerTokenHeader),
	}, d.assertion)
	if err != nil {
		// Store failures are logged by the store, at most once a second.
		return h.refuse(w, req, onezone.AuthError(err), err)
	}
	h.serverMetrics(r).accepted.Inc()
	if h.Verify != nil {
		return h.answerVerified(w, r, t.Identity, assertion)
	}
	return h.pass(w, r, next, src, t.Identity, assertion)
}

// door returns the endpoint that serves path, nil for a gated request.
func (h *Handler) door(d *doors, p string) http.HandlerFunc {
	switch {
	case onezone.Match(p):
		return d.onezone.ServeHTTP
	case openpaas.Match(p):
		return d.openpaas.ServeHTTP
	case unleash.Match(p):
		return d.unleash.ServeHTTP
	case p == JWKSPath:
		return h.serveJWKS(d)
	case p == h.LogoutPath:
		return d.callers.Logout
	case d.pages != nil && d.pages.Match(p):
		return d.pages.ServeHTTP
	}
	return nil
}

// refuse answers a request that may not pass, in Onezone's envelope or,
// with handle_errors, as a caddyhttp error for the server's error routes;
// with login_redirect, a browser refused for its credentials (401, not
// 503) goes to the sign-in page instead.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, e *onezone.Error, cause error) error {
	h.serverMetrics(r).refuse(e)
	if e.Status == http.StatusUnauthorized && h.redirectToLogin(w, r) {
		return nil
	}
	if h.HandleErrors {
		if e.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
		}
		if cause == nil {
			cause = e
		}
		return caddyhttp.Error(e.Status, cause)
	}
	onezone.WriteError(w, e)
	return nil
}

// consumerTokenHeader carries the token of the consumer a consumer
// caveat names (Onezone's x-onedata-consumer-token), canonical so that
// reading it allocates nothing.
const consumerTokenHeader = "X-Onedata-Consumer-Token"

// clientIP returns the client address as Caddy determined it, honouring
// the server's trusted_proxies.
func clientIP(r *http.Request) netip.Addr {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	ip, _ := netip.ParseAddr(s)
	return ip
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
