// Package pages serves tokengate's pages for people: sign-in, the account
// page (sessions and named tokens) and the password-reset page that reset
// links open. They are rendered on the server with html/template, need no
// JavaScript and load nothing from elsewhere, so a strict
// Content-Security-Policy holds. Like the api packages, it knows nothing
// of Caddy.
package pages

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"go.uber.org/zap"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
)

// StylePath is where the stylesheet is served. It is fixed, under a
// prefix of tokengate's own, so that the policy can allow 'self' styles
// without allowing inline ones.
const StylePath = "/_tokengate/style.css"

// Default paths.
const (
	DefaultLogin   = "/login"
	DefaultAccount = "/account"
	DefaultReset   = "/reset-password"
)

// ErrPaths: the page paths are unusable.
var ErrPaths = errors.New("bad page paths")

// maxForm bounds a form body.
const maxForm = 64 << 10

// Paths are where the pages are served.
type Paths struct {
	Login, Account, Reset string
}

// Handler serves the pages.
type Handler struct {
	auth    *auth.Service
	callers *caller.Authenticator
	paths   Paths
	pages   map[string]*template.Template
	style   []byte
	logger  *zap.Logger
	// The hosts besides the request's own that the sign-in page may send
	// a browser back to.
	redirectHosts RedirectHosts
}

// Check reports whether the paths are usable: distinct paths of their
// own, none the stylesheet's.
func (p Paths) Check() error {
	for _, s := range []string{p.Login, p.Account, p.Reset} {
		if len(s) < 2 || s[0] != '/' || s == StylePath {
			return fmt.Errorf("%w: %q is not a path of its own", ErrPaths, s)
		}
	}
	if p.Login == p.Account || p.Login == p.Reset || p.Account == p.Reset {
		return fmt.Errorf("%w: login, account and reset must differ", ErrPaths)
	}
	return nil
}

// New returns a Handler for the paths, rendering with t.
func New(a *auth.Service, c *caller.Authenticator, p Paths, t *Templates, logger *zap.Logger) (*Handler, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &Handler{auth: a, callers: c, paths: p, pages: t.pages, style: t.style, logger: logger}, nil
}

// AllowRedirectHosts lets the sign-in page send a browser back to the
// hosts hs as well as to the request's own (single sign-on across
// hosts). Call it before serving.
func (h *Handler) AllowRedirectHosts(hs RedirectHosts) error {
	if err := hs.Check(); err != nil {
		return err
	}
	h.redirectHosts = hs
	return nil
}

// Match reports whether the Handler serves path.
func (h *Handler) Match(path string) bool {
	switch path {
	case h.paths.Login, h.paths.Account, h.paths.Reset, StylePath:
		return true
	}
	return false
}

// ServeHTTP serves a path Match accepted: the stylesheet, or a page with
// the security headers every page is sent with.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == StylePath {
		h.serveStyle(w, r)
		return
	}
	secure(w.Header())
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpx.Allow(w, http.MethodGet, http.MethodHead, http.MethodPost)
		h.message(w, http.StatusMethodNotAllowed, "Method not allowed", "This page answers GET and POST only.")
		return
	}
	switch r.URL.Path {
	case h.paths.Login:
		h.login(w, r)
	case h.paths.Account:
		h.account(w, r)
	case h.paths.Reset:
		h.reset(w, r)
	}
}

// secure sets the headers every page is sent with. The policy allows
// nothing but the stylesheet and forms posting back here; no page may be
// framed; no URL (a reset link holds its token) leaves in a Referer.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", policy(""))
	// same-origin: a reset link's token never leaves the site in a
	// Referer, and the pages' own forms carry their Origin, which is all
	// a plain-HTTP site on a host other than localhost gets to tell them
	// from another site's (no-referrer makes it "Origin: null").
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// policy is the pages' Content-Security-Policy. Forms may post only
// here, and follow a redirect only here or to also, an origin
// (scheme://host:port) the sign-in page leads back to: Chromium applies
// form-action to the redirects after a form is sent.
func policy(also string) string {
	action := "'self'"
	if also != "" {
		action += " " + also
	}
	return "default-src 'none'; style-src 'self'; img-src 'self'; form-action " + action +
		"; frame-ancestors 'none'; base-uri 'none'"
}

func (h *Handler) serveStyle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpx.Allow(w, http.MethodGet, http.MethodHead)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(h.style)
}

// unavailable answers a request the store could not serve, or with a
// bare 499, logging nothing, one whose client has gone.
func (h *Handler) unavailable(w http.ResponseWriter, err error) {
	if caller.Canceled(err) {
		w.WriteHeader(httpx.StatusClientClosedRequest)
		return
	}
	h.logger.Error("page: store unavailable", zap.Error(err))
	h.message(w, http.StatusServiceUnavailable, "Try again later", "The service is unavailable. Please try again in a moment.")
}

// crossSite refuses a form posted from another site (CSRF). Browsers say
// where a form came from in Origin and Sec-Fetch-Site.
func (h *Handler) crossSite(w http.ResponseWriter, r *http.Request) bool {
	if !caller.CrossSite(r) {
		return false
	}
	h.message(w, http.StatusForbidden, "Refused", "This form was sent from another site, so it was refused.")
	return true
}
