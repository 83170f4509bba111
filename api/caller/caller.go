// Package caller finds out who made an HTTP request to one of tokengate's
// endpoints: it is where the gate, the seed APIs and the pages find
// credentials. A route's token sources (a header, a Bearer token, a
// cookie, a query parameter; by default Onezone's x-auth-token and
// Bearer) come first, then Basic credentials, then the browser session
// cookie. Each API writes the failure in its own format.
package caller

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

var (
	// ErrNone: the request carries no credentials at all.
	ErrNone = errors.New("no credentials")
	// ErrCrossSite: a state-changing request authenticated only by the
	// session cookie came from another site.
	ErrCrossSite = errors.New("cross-site request refused")
)

// Authenticator authenticates API callers.
type Authenticator struct {
	Auth *auth.Service
	// Sources are where a token is looked for, in order, before Basic
	// credentials and the session cookie: the route's token sources.
	// Default (nil): DefaultSources.
	Sources Sources
	// ClientIP returns the client address as the server determines it.
	ClientIP func(*http.Request) netip.Addr
	// SessionCookie is the configured name of the session cookie, which
	// SessionCookieName prefixes over HTTPS.
	SessionCookie string
	// Secure reports whether a request reached the site over HTTPS: its
	// session cookie is then Secure and named with HostPrefix. Default
	// (nil): r.TLS != nil, TLS terminated by this server.
	Secure func(*http.Request) bool
	// SessionTTL is how long a session lasts.
	SessionTTL time.Duration
	// CookieDomain, if set, is the Domain of the session cookie on the
	// hosts it covers (InDomain), so that one sign-in serves every host
	// under it (single sign-on); over HTTPS the cookie is then named
	// with SecurePrefix. Default (""): a host-only cookie.
	CookieDomain string
}

// Authenticate returns the caller, trying the token sources (by default
// x-auth-token, then Bearer, then macaroon), then Basic (as Onezone does), then the
// session cookie. A request that changes state and authenticates by a
// cookie must come from the same origin (CSRF). The caller found is the
// actor of the changes the request then makes (auth.AuthenticatedAs),
// as the audit trail names it.
func (a *Authenticator) Authenticate(r *http.Request) (*auth.Identity, error) {
	id, err := a.authenticate(r)
	if err == nil {
		auth.AuthenticatedAs(r.Context(), id.ID)
	}
	return id, err
}

func (a *Authenticator) authenticate(r *http.Request) (*auth.Identity, error) {
	sources := a.Sources
	if sources == nil {
		sources = defaultSources
	}
	if raw, src := sources.Find(r); raw != "" {
		if src.Kind == Cookie && !safeMethod(r.Method) && CrossSite(r) {
			return nil, ErrCrossSite
		}
		return a.token(r, raw)
	}
	if user, pass, ok := basic(r); ok {
		id, err := a.Auth.Login(r.Context(), a.ClientIP(r), user, pass)
		a.Auth.LoginDone(r.Context(), auth.LoginBasic, err)
		return id, err
	}
	if c, err := r.Cookie(a.SessionCookieName(r)); err == nil && c.Value != "" {
		if !safeMethod(r.Method) && CrossSite(r) {
			return nil, ErrCrossSite
		}
		// Guessed cookies count against the client's token budget in
		// auth (in memory, no store write per garbage cookie).
		return a.token(r, c.Value)
	}
	return nil, ErrNone
}

// Canceled reports whether err means that the client went away before
// its answer was known (auth.ErrCanceled, context.Canceled). Nothing
// failed: a door logs nothing and answers, if at all, 499
// (httpx.StatusClientClosedRequest) with no body.
func Canceled(err error) bool {
	return errors.Is(err, auth.ErrCanceled) || errors.Is(err, context.Canceled)
}

// Failed counts a failed credential against the keys (auth reports a
// budget it used up), unless the request came from another site
// (FromOtherSite): a web page must not be able to use up its visitors'
// budget. Counting is best effort: a store failure here must not turn a
// refusal into something else.
func (a *Authenticator) Failed(r *http.Request, keys ...string) {
	if FromOtherSite(r) {
		return
	}
	_, _ = a.Auth.Failed(r.Context(), keys...)
}

func (a *Authenticator) token(r *http.Request, raw string) (*auth.Identity, error) {
	t, err := a.Auth.Authenticate(r.Context(), raw, tokens.Request{ClientIP: a.ClientIP(r), Interface: "rest"})
	if err != nil {
		return nil, err
	}
	return t.Identity, nil
}

// Session returns the request's session token, verified, or nil.
func (a *Authenticator) Session(r *http.Request) *auth.Token {
	c, err := r.Cookie(a.SessionCookieName(r))
	if err != nil || c.Value == "" {
		return nil
	}
	t, err := a.Auth.Authenticate(r.Context(), c.Value, tokens.Request{ClientIP: a.ClientIP(r), Interface: "rest"})
	if err != nil || t.Kind != tokens.Session {
		return nil
	}
	auth.AuthenticatedAs(r.Context(), t.Identity.ID)
	return t
}

var defaultSources = DefaultSources()

// basic returns Basic credentials. Undecodable ones count as present but
// wrong, not absent.
func basic(r *http.Request) (user, pass string, ok bool) {
	b, ok := cutPrefixFold(r.Header.Get("Authorization"), "Basic ")
	if !ok {
		return "", "", false
	}
	dec, err := base64.StdEncoding.DecodeString(b)
	if err != nil {
		return "", "", true
	}
	user, pass, _ = strings.Cut(string(dec), ":")
	return user, pass, true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return strings.TrimSpace(s[len(prefix):]), true
	}
	return "", false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// CrossSite reports whether a browser says the request came from another
// site: Sec-Fetch-Site other than same-origin or none, or an Origin whose
// host is not the request's. Requests with neither header (non-browser
// clients) are not cross-site. "Origin: null" (sent, for one, with the
// forms of a page whose Referrer-Policy is no-referrer, which any site
// can choose) counts as this site only where Sec-Fetch-Site, which no
// page can set, says same-origin; browsers send that header only to
// secure contexts, so tokengate's pages use Referrer-Policy same-origin,
// under which their own forms carry their real Origin.
func CrossSite(r *http.Request) bool {
	fetchSite := r.Header.Get("Sec-Fetch-Site")
	switch fetchSite {
	case "", "same-origin", "none":
	default:
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" || (o == "null" && fetchSite == "same-origin") {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || u.Host != r.Host
}
