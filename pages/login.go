package pages

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
)

// loginData is login.html's data.
type loginData struct {
	Username string
	Redirect string // where to go once signed in; always SafeRedirectTo'ed
}

// LoginURL is the URL of the sign-in page at loginPath that leads back
// to target.
func LoginURL(loginPath, target string) string {
	return loginPath + "?redirect=" + url.QueryEscape(target)
}

// GET shows the form; POST signs in with username and password and
// redirects (303) to the form's redirect: a path on this site, or a URL
// of this host or of one of the redirect hosts (SafeRedirectTo).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		d := loginData{Redirect: h.safeRedirect(r, r.URL.Query().Get("redirect"))}
		allowFormRedirect(w, d.Redirect)
		h.render(w, http.StatusOK, "login.html", d, "")
		return
	}
	if h.crossSite(w, r) {
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	d := loginData{Username: username, Redirect: h.safeRedirect(r, r.PostFormValue("redirect"))}
	allowFormRedirect(w, d.Redirect)
	// The same budgets as Basic credentials: the client's and the user's.
	id, err := h.auth.Login(r.Context(), h.callers.ClientIP(r), username, password)
	h.auth.LoginDone(r.Context(), auth.LoginForm, err)
	if err == nil {
		err = h.callers.StartSession(w, r, id.ID)
	}
	if e, ok := auth.IsTooManyFailures(err); ok {
		secs := httpx.RetryAfter(w, e.RetryAfter)
		h.render(w, http.StatusTooManyRequests, "login.html", d,
			fmt.Sprintf("Too many failed sign-in attempts. Try again in %d seconds.", secs))
		return
	}
	switch {
	case err == nil:
		http.Redirect(w, r, d.Redirect, http.StatusSeeOther)
	case errors.Is(err, auth.ErrBadCredentials):
		h.render(w, http.StatusUnauthorized, "login.html", d, "Wrong username or password.")
	case errors.Is(err, auth.ErrUserBlocked):
		h.render(w, http.StatusForbidden, "login.html", d, "This account is blocked. Ask an administrator.")
	default:
		h.unavailable(w, err)
	}
}

// allowFormRedirect lets the sign-in form, once sent, follow the redirect
// to target, a SafeRedirectTo'ed URL of another origin: the policy's
// form-action governs that redirect too. A path needs nothing.
func allowFormRedirect(w http.ResponseWriter, target string) {
	if strings.HasPrefix(target, "/") {
		return
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return
	}
	w.Header().Set("Content-Security-Policy", policy(strings.ToLower(u.Scheme+"://"+u.Host)))
}

// safeRedirect is where the sign-in page on r may send a browser for
// target: target if SafeRedirectTo lets it, else "/".
func (h *Handler) safeRedirect(r *http.Request, target string) string {
	return SafeRedirectTo(target, r.Host, h.redirectHosts)
}
