package pages

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
)

// resetData is reset.html's data.
type resetData struct {
	Token, Name, Email string
	// Reasons lists what the password policy found wrong.
	Reasons []string
}

// GET ?token=… shows the form for a valid reset token, or says the link
// is not valid (404); POST sets the new password with auth.Reset, the
// reset of Unleash's endpoint, and ends the caller's session. The token is
// in the URL: the pages' Referrer-Policy keeps it from other sites, and
// it is never logged.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	post := r.Method == http.MethodPost
	if post && h.crossSite(w, r) {
		return
	}
	tok := r.URL.Query().Get("token")
	if post {
		tok = r.PostFormValue("token")
	}
	ip := h.auth.ClientKey(h.callers.ClientIP(r))
	err := h.auth.Admit(r.Context(), ip)
	if e, ok := auth.IsTooManyFailures(err); ok {
		secs := httpx.RetryAfter(w, e.RetryAfter)
		h.message(w, http.StatusTooManyRequests, "Too many attempts",
			fmt.Sprintf("Too many invalid reset links were tried from here. Try again in %d seconds.", secs))
		return
	}
	if err != nil {
		h.unavailable(w, err)
		return
	}
	// The token first (Unleash checks the password first): the form shown
	// again with the policy's reasons needs the token's user.
	u, _, err := h.auth.ResetUser(r.Context(), tok)
	if err != nil {
		h.resetFailed(w, r, ip, err)
		return
	}
	d := resetData{Token: tok, Name: u.Name, Email: u.Email}
	if !post {
		h.render(w, http.StatusOK, "reset.html", d, "")
		return
	}
	password := r.PostFormValue("password")
	var pe *auth.PolicyError
	switch err := h.auth.CheckPassword(password); {
	case errors.Is(err, auth.ErrNoPassword):
		h.render(w, http.StatusBadRequest, "reset.html", d, "Enter a new password.")
		return
	case errors.As(err, &pe):
		d.Reasons = pe.Reasons
		h.render(w, http.StatusBadRequest, "reset.html", d, "Choose a stronger password.")
		return
	case password != r.PostFormValue("confirm"):
		h.render(w, http.StatusBadRequest, "reset.html", d, "The two passwords differ.")
		return
	}
	if err := h.auth.Reset(r.Context(), tok, password); err != nil {
		h.resetFailed(w, r, ip, err)
		return
	}
	// The reset ended every session of the user; the caller's cookie, be
	// it that user's or another's, goes too, as Unleash ends it.
	_ = h.callers.EndSession(w, r)
	h.render(w, http.StatusOK, "message.html", messageData{
		Title: "Password changed", Text: "Your new password is set. Sign in with it.",
		Link: h.paths.Login, LinkText: "Sign in",
	}, "")
}

// resetFailed answers a reset token that is not valid, counting it
// against the client's budget as the Unleash endpoints do.
func (h *Handler) resetFailed(w http.ResponseWriter, r *http.Request, ip string, err error) {
	if !errors.Is(err, auth.ErrInvalidResetToken) {
		h.unavailable(w, err)
		return
	}
	h.callers.Failed(r, ip)
	h.render(w, http.StatusNotFound, "message.html", messageData{
		Title: "This reset link is not valid",
		Text: "It may have expired, been used already, or been replaced by a newer link. " +
			"Ask your administrator for a new one.",
		Link: h.paths.Login, LinkText: "Back to sign-in",
	}, "")
}
