package caddymodule

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/pages"
)

// PagesConfig turns on tokengate's pages for people on a route: sign-in,
// the account page and the password-reset page.
type PagesConfig struct {
	// Path of the sign-in page. Default: /login.
	Login string `json:"login,omitempty"`
	// Path of the account page: sessions, named tokens, sign out.
	// Default: /account.
	Account string `json:"account,omitempty"`
	// Path of the password-reset page, which the app's reset_url links
	// should open. Default: /reset-password (reset_url's default leads
	// there).
	Reset string `json:"reset,omitempty"`
	// Directory whose layout.html, login.html, account.html, token.html,
	// reset.html, message.html and style.css replace the built-in files
	// of the same name; other .html files are an error. Default: none,
	// the built-in ones.
	Templates string `json:"templates,omitempty"`
	// Hosts besides the request's own that the sign-in page may send a
	// browser back to once signed in, for single sign-on across hosts
	// (the apps whose login_redirect leads here): exact names such as
	// app.example.com, or *.example.com for every name under
	// example.com. Any other redirect target leads to /, so that the page
	// is no open redirect. Default: none, the request's own host only.
	AllowedRedirectHosts []string `json:"allowed_redirect_hosts,omitempty"`
}

// provision sets the defaults, checks the paths and loads the templates.
func (c *PagesConfig) provision() (*pages.Templates, error) {
	for _, f := range []struct {
		dst *string
		def string
	}{{&c.Login, pages.DefaultLogin}, {&c.Account, pages.DefaultAccount}, {&c.Reset, pages.DefaultReset}} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	if err := c.paths().Check(); err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	for i, h := range c.AllowedRedirectHosts {
		c.AllowedRedirectHosts[i] = strings.ToLower(h)
	}
	if err := pages.RedirectHosts(c.AllowedRedirectHosts).Check(); err != nil {
		return nil, fmt.Errorf("pages: allowed_redirect_hosts: %w", err)
	}
	t, err := pages.LoadTemplates(c.Templates)
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	return t, nil
}

func (c *PagesConfig) paths() pages.Paths {
	return pages.Paths{Login: c.Login, Account: c.Account, Reset: c.Reset}
}

// redirectToLogin sends a browser refused for want of valid credentials to
// the sign-in page, carrying where it was going, if login_redirect is on
// and the request is a navigation (GET or HEAD, preferring HTML). Query
// token sources are dropped from the carried URI: it ends up in the
// address bar. A sign-in page on another host (an absolute
// login_redirect) gets the whole URL, scheme and host too, to lead back
// to; that page's allowed_redirect_hosts must list this host.
func (h *Handler) redirectToLogin(w http.ResponseWriter, r *http.Request) bool {
	if h.LoginRedirect == "" {
		return false
	}
	// The answer depends on Accept: caches must know.
	w.Header().Add("Vary", "Accept")
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !pages.PrefersHTML(r.Header.Get("Accept")) {
		return false
	}
	if r.URL.Path == h.loginPath && (h.loginHost == "" || strings.EqualFold(hostOnly(r.Host), h.loginHost)) {
		// The sign-in page is not served here (no pages on this route, or
		// the request did not reach them): sending the browser to it again
		// would loop.
		return false
	}
	u := *r.URL
	for _, s := range h.configured {
		if s.Kind == caller.Query && strings.Contains(u.RawQuery, s.Name) {
			u.RawQuery = caller.DropQueryParam(u.RawQuery, s.Name)
		}
	}
	back := u.RequestURI()
	if h.loginHost != "" {
		scheme := "http://"
		if h.secure(r) {
			scheme = "https://"
		}
		back = scheme + r.Host + back
	}
	http.Redirect(w, r, pages.LoginURL(h.LoginRedirect, back), http.StatusFound)
	return true
}

// parseLoginRedirect checks login_redirect, a path on the site or the
// http(s) URL of a sign-in page on a host that shares the session cookie
// (domain, session_cookie_domain; without it a sign-in there would not
// sign the browser in here), and returns its host ("" for a path) and
// path.
func parseLoginRedirect(target, domain string) (host, path string, err error) {
	if strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") {
		return "", target, nil
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("login_redirect %q: want a path on the site or an http(s) URL without query", target)
	}
	host = strings.ToLower(u.Hostname())
	if domain == "" || !caller.InDomain(host, domain) {
		return "", "", fmt.Errorf("login_redirect %q: a sign-in page on another host needs the app's session_cookie_domain "+
			"to cover that host, or the browser is not signed in here", target)
	}
	path = u.Path
	if path == "" {
		path = "/"
	}
	return host, path, nil
}

// hostOnly is hostport without its port.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
