package caddymodule

import (
	"fmt"
	"net/http"
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
// address bar.
func (h *Handler) redirectToLogin(w http.ResponseWriter, r *http.Request) bool {
	if h.LoginRedirect == "" {
		return false
	}
	// The answer depends on Accept: caches must know.
	w.Header().Add("Vary", "Accept")
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !pages.PrefersHTML(r.Header.Get("Accept")) {
		return false
	}
	if r.URL.Path == h.LoginRedirect {
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
	http.Redirect(w, r, pages.LoginURL(h.LoginRedirect, u.RequestURI()), http.StatusFound)
	return true
}
