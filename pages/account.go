package pages

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// accountData is account.html's data.
type accountData struct {
	User     store.User
	Sessions []store.Session
	Current  string // the id of the session viewing the page
	Tokens   []store.NamedToken
	CSRF     string
}

// tokenData is token.html's data: a named token just created, shown once.
type tokenData struct {
	Name, Token string
}

// errNoName: a token needs a name.
var errNoName = errors.New("no name")

// The account page is for a browser session only: GET shows it; POST
// carries an action, with the session's CSRF token, from the same site.
func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	post := r.Method == http.MethodPost
	if post && h.crossSite(w, r) {
		return
	}
	sess := h.callers.Session(r)
	if sess == nil {
		http.Redirect(w, r, LoginURL(h.paths.Login, h.paths.Account), http.StatusSeeOther)
		return
	}
	if !post {
		h.showAccount(w, r, sess, http.StatusOK, "")
		return
	}
	if !h.auth.CheckCSRF(sess, r.PostFormValue("csrf")) {
		h.message(w, http.StatusForbidden, "Refused", "This form has expired. Reload the account page and try again.")
		return
	}
	h.act(w, r, sess)
}

// act performs a POSTed action and redirects back (303), or shows the
// account page with what went wrong.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, sess *auth.Token) {
	ctx, subject := r.Context(), sess.Identity.ID
	id, name := r.PostFormValue("id"), strings.TrimSpace(r.PostFormValue("name"))
	var err error
	var bad *auth.ValueError
	switch r.PostFormValue("action") {
	case "create":
		if name == "" {
			err = errNoName
			break
		}
		var tok string
		if _, tok, err = h.auth.IssueNamed(ctx, subject, name, tokens.Access, nil); err == nil {
			// Shown once: only its record is kept.
			h.render(w, http.StatusOK, "token.html", tokenData{Name: name, Token: tok}, "")
			return
		}
	case "rename":
		if name == "" {
			err = errNoName
			break
		}
		err = h.updateNamed(r, subject, id, store.NamedUpdate{Name: &name})
	case "revoke", "restore":
		revoked := r.PostFormValue("action") == "revoke"
		err = h.updateNamed(r, subject, id, store.NamedUpdate{Revoked: &revoked})
	case "delete":
		err = h.auth.DeleteNamed(ctx, subject, id)
	case "end-session":
		err = h.auth.EndSessionOf(ctx, subject, id)
	case "sign-out":
		err = h.callers.EndSession(w, r)
		if err == nil {
			http.Redirect(w, r, h.paths.Login, http.StatusSeeOther)
			return
		}
	case "sign-out-everywhere":
		// Every session and temporary token of the user ends at once.
		if _, err = h.auth.RevokeTemporary(ctx, subject); err == nil {
			_ = h.callers.EndSession(w, r) // the cookie only: the session is dead
			http.Redirect(w, r, h.paths.Login, http.StatusSeeOther)
			return
		}
	default:
		h.showAccount(w, r, sess, http.StatusBadRequest, "Unknown action.")
		return
	}
	switch {
	case err == nil:
		http.Redirect(w, r, h.paths.Account, http.StatusSeeOther)
	case errors.Is(err, errNoName):
		h.showAccount(w, r, sess, http.StatusBadRequest, "Give the token a name.")
	case errors.As(err, &bad):
		// auth's rule for token names, the same as the APIs'.
		h.showAccount(w, r, sess, http.StatusBadRequest, sentence(bad.Error()))
	case errors.Is(err, auth.ErrExists):
		h.showAccount(w, r, sess, http.StatusConflict, "You already have a token named “"+name+"”.")
	case errors.Is(err, auth.ErrNotFound):
		h.showAccount(w, r, sess, http.StatusNotFound, "That token or session no longer exists.")
	default:
		h.unavailable(w, err)
	}
}

// sentence makes an error message a sentence: capitalized, with a full
// stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// updateNamed changes one of the subject's named tokens.
func (h *Handler) updateNamed(r *http.Request, subject, id string, u store.NamedUpdate) error {
	return h.auth.UpdateNamed(r.Context(), subject, id, u)
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, sess *auth.Token, status int, errMsg string) {
	ctx, subject := r.Context(), sess.Identity.ID
	d := accountData{Current: sess.ID, CSRF: h.auth.CSRFToken(sess)}
	var err error
	if d.User, err = h.auth.User(ctx, subject); err == nil {
		if d.Sessions, err = h.auth.Sessions(ctx, subject); err == nil {
			d.Tokens, err = h.auth.NamedTokens(ctx, subject)
		}
	}
	if err != nil {
		h.unavailable(w, err)
		return
	}
	// Templates can be replaced; secrets are not theirs to show.
	d.User.PasswordHash = ""
	for i := range d.Tokens {
		d.Tokens[i].Secret = nil
	}
	h.render(w, status, "account.html", d, errMsg)
}
