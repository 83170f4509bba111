package caller

import (
	"net/http"
	"time"

	"github.com/tokengate/tokengate/internal/httpx"
)

// StartSession opens a session for the subject and sets its cookie:
// HttpOnly, SameSite=Lax, Secure when the request came over TLS, Path=/.
func (a *Authenticator) StartSession(w http.ResponseWriter, r *http.Request, subject string) error {
	tok, err := a.Auth.StartSession(r.Context(), subject, a.SessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     a.SessionCookie,
		Value:    tok,
		Path:     "/",
		MaxAge:   int(a.SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
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
	if _, err := r.Cookie(a.SessionCookie); err == nil {
		http.SetCookie(w, &http.Cookie{
			Name:     a.SessionCookie,
			Value:    "",
			Path:     "/",
			MaxAge:   -1,
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteLaxMode,
		})
	}
	return nil
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
