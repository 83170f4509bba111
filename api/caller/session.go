package caller

import (
	"net/http"
	"strings"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
)

// HostPrefix begins the session cookie's name over HTTPS. A browser
// takes a __Host- cookie only with Secure, Path=/ and no Domain, so no
// plain-HTTP page and no sibling subdomain can set one that shadows it
// (session fixation). It is used whenever the cookie has no Domain.
const HostPrefix = "__Host-"

// SecurePrefix begins the session cookie's name over HTTPS when it is
// shared by a domain's hosts (CookieDomain): __Host- forbids Domain, and
// __Secure- still keeps a plain-HTTP page from setting a cookie of that
// name. A sibling host under the domain can set it: sharing the cookie
// means trusting every host under the domain.
const SecurePrefix = "__Secure-"

// SessionCookieNames are the names the session cookie configured as name
// can have: plain, prefixed for HTTPS, and prefixed for HTTPS with a
// Domain.
func SessionCookieNames(name string) [3]string {
	return [3]string{name, HostPrefix + name, SecurePrefix + name}
}

// SessionCookieName is the name of the session cookie on r and its
// response: the configured name, with HostPrefix if r came over HTTPS, or
// SecurePrefix if it did and the cookie is shared by a domain
// (CookieDomain covers r's host). Setting, reading and clearing the
// cookie all ask here, so that a cookie is found again under the name it
// was set with. Over HTTPS the plain name is not read: such a cookie may
// come from a plain-HTTP page.
func (a *Authenticator) SessionCookieName(r *http.Request) string {
	if !a.secure(r) {
		return a.SessionCookie
	}
	if a.cookieDomain(r) != "" {
		return SecurePrefix + a.SessionCookie
	}
	return HostPrefix + a.SessionCookie
}

// cookieDomain is the Domain attribute of the session cookie on r's
// response: CookieDomain if r's host is it or a name under it, else ""
// (a host-only cookie). A browser refuses a cookie whose Domain does
// not cover the host that set it, so a site also reached by another
// name (an IP address, an internal name) keeps working there, signed in
// on that host alone.
func (a *Authenticator) cookieDomain(r *http.Request) string {
	if a.CookieDomain == "" || !InDomain(hostname(r.Host), a.CookieDomain) {
		return ""
	}
	return a.CookieDomain
}

// InDomain reports whether host is domain or a name under it, ignoring
// case: the hosts a cookie with Domain=domain reaches.
func InDomain(host, domain string) bool {
	if len(host) == len(domain) {
		return strings.EqualFold(host, domain)
	}
	return len(host) > len(domain) && host[len(host)-len(domain)-1] == '.' &&
		strings.EqualFold(host[len(host)-len(domain):], domain)
}

// hostname is hostport without its port, if it has one.
func hostname(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[:i]
	}
	return hostport
}

// secure reports whether r came over HTTPS, as Secure decides.
func (a *Authenticator) secure(r *http.Request) bool {
	if a.Secure == nil {
		return r.TLS != nil
	}
	return a.Secure(r)
}

// StartSession opens a session for the subject and sets its cookie:
// HttpOnly, SameSite=Lax, Path=/, and over HTTPS Secure and named with
// HostPrefix. The request signed in: the subject is its actor from now
// on (auth.AuthenticatedAs).
func (a *Authenticator) StartSession(w http.ResponseWriter, r *http.Request, subject string) error {
	tok, err := a.Auth.StartSession(r.Context(), subject, a.SessionTTL)
	if err != nil {
		return err
	}
	auth.AuthenticatedAs(r.Context(), subject)
	c := a.sessionCookie(r, tok, int(a.SessionTTL/time.Second))
	http.SetCookie(w, c)
	if _, err := r.Cookie(c.Name); err == nil && c.Domain != "" {
		// A host-only cookie of the same name, left from before the
		// domain was configured, would be sent beside the shared one, and
		// first (browsers put older cookies first): it goes.
		http.SetCookie(w, &http.Cookie{Name: c.Name, Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.Secure,
			SameSite: http.SameSiteLaxMode})
	}
	return nil
}

// EndSession ends the request's session, if it has a valid one, so that
// no copy of its cookie works any more, and clears the cookie. A request
// from another site (FromOtherSite) ends nothing: any web page could
// otherwise log its visitors out.
func (a *Authenticator) EndSession(w http.ResponseWriter, r *http.Request) error {
	if FromOtherSite(r) {
		return nil
	}
	if t := a.Session(r); t != nil {
		if err := a.Auth.EndSession(r.Context(), t); err != nil {
			return err
		}
	}
	if _, err := r.Cookie(a.SessionCookieName(r)); err == nil {
		http.SetCookie(w, a.sessionCookie(r, "", -1))
	}
	return nil
}

// sessionCookie is the session cookie for r's response. Clearing one
// repeats every attribute: a browser ignores a __Host- Set-Cookie
// without Secure, and keeps a cookie whose Path or Domain differs (a
// sign-out on one host of a shared domain must clear the cookie every
// host of it sends).
func (a *Authenticator) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     a.SessionCookieName(r),
		Value:    value,
		Path:     "/",
		Domain:   a.cookieDomain(r),
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   a.secure(r),
		SameSite: http.SameSiteLaxMode,
	}
}

// Logout serves POST to the logout path: it ends the caller's session and
// answers 204. A cross-site request is refused with 403.
func (a *Authenticator) Logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		httpx.Allow(w, http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if CrossSite(r) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if err := a.EndSession(w, r); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
