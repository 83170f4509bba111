// Package openpaas serves OpenPaaS ESN's authentication-token API: short
// lived handoff tokens that a second party turns into the user's identity
// and a login session. Paths, status codes and error bodies are
// OpenPaaS's; unlike OpenPaaS, a token can be read back only by its owner.
package openpaas

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/store"
)

// Prefix is the API's path.
const Prefix = "/api/authenticationtoken"

// Handler serves the endpoints.
type Handler struct {
	Auth    *auth.Service
	Callers *caller.Authenticator
	// TTL is the lifetime of a handoff token.
	TTL time.Duration
}

// Match reports whether path is one of the endpoints.
func Match(path string) bool { return path == Prefix || strings.HasPrefix(path, Prefix+"/") }

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details string `json:"details"`
}

var (
	errLogin        = apiError{401, "Login error", "Please log in first"}
	errNotFound     = apiError{404, "Not found", "Token not found or expired"}
	errUserNotFound = apiError{404, "Not found", "User not found"}
	errGetToken     = apiError{500, "Server Error", "Can not get token"}
	errNewToken     = apiError{500, "Server Error", "Can not generate token"}
	errLoadUser     = apiError{500, "Server Error", "Error while loading user"}
	errLoginUser    = apiError{500, "Server Error", "Error while logging in user"}
	errUnavailable  = apiError{503, "Service Unavailable", "Please try again later"}
)

func writeError(w http.ResponseWriter, e apiError) {
	writeJSON(w, e.Code, map[string]apiError{"error": e})
}

// fail answers a failed operation with e, or with a bare 499 if the
// client has gone.
func fail(w http.ResponseWriter, e apiError, err error) {
	if caller.Canceled(err) {
		w.WriteHeader(httpx.StatusClientClosedRequest)
		return
	}
	writeError(w, e)
}

// writeJSON sends v, which always has a JSON form, in OpenPaaS's media
// type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	_ = httpx.WriteJSON(w, status, "application/json; charset=utf-8", v)
}

// tokenView is a handoff token as OpenPaaS returns it.
type tokenView struct {
	Token     string `json:"token"`
	TTL       int64  `json:"ttl"`
	User      string `json:"user"`
	CreatedAt string `json:"created_at"`
}

// isoMillis is JavaScript's Date.prototype.toISOString layout.
const isoMillis = "2006-01-02T15:04:05.000Z"

func view(tok string, h store.Handoff) tokenView {
	return tokenView{
		Token:     tok,
		TTL:       int64(h.ExpiresAt.Sub(h.CreatedAt) / time.Second),
		User:      h.Subject,
		CreatedAt: h.CreatedAt.UTC().Format(isoMillis),
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	parts := strings.Split(rest, "/")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpx.Allow(w, http.MethodGet, http.MethodHead)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	switch {
	case rest == "":
		h.newToken(w, r)
	case len(parts) == 1:
		h.getToken(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "user":
		h.tokenUser(w, r, parts[0])
	default:
		writeError(w, errNotFound)
	}
}

// caller authenticates the request, answering it with OpenPaaS's 401 if
// it is not.
func (h *Handler) caller(w http.ResponseWriter, r *http.Request) *auth.Identity {
	c, err := h.Callers.Authenticate(r)
	if err == nil {
		return c
	}
	switch {
	case caller.Canceled(err):
		w.WriteHeader(httpx.StatusClientClosedRequest)
	case errors.Is(err, auth.ErrUnavailable):
		writeError(w, errUnavailable)
	case !writeTooMany(w, err):
		writeError(w, errLogin)
	}
	return nil
}

// writeTooMany answers a client past its brute-force budget with 429 and
// reports whether err was that.
func writeTooMany(w http.ResponseWriter, err error) bool {
	e, ok := auth.IsTooManyFailures(err)
	if ok {
		httpx.RetryAfter(w, e.RetryAfter)
		writeError(w, apiError{429, "Too Many Requests", "Too many failed attempts, try again later"})
	}
	return ok
}

// GET /api/authenticationtoken → a new token for the caller.
func (h *Handler) newToken(w http.ResponseWriter, r *http.Request) {
	c := h.caller(w, r)
	if c == nil {
		return
	}
	tok, rec, err := h.Auth.IssueHandoff(r.Context(), c.ID, h.TTL)
	if err != nil {
		fail(w, errNewToken, err)
		return
	}
	writeJSON(w, http.StatusOK, view(tok, rec))
}

// GET /api/authenticationtoken/{token} → the token, to its owner only.
func (h *Handler) getToken(w http.ResponseWriter, r *http.Request, tok string) {
	c := h.caller(w, r)
	if c == nil {
		return
	}
	rec, err := h.Auth.Handoff(r.Context(), tok)
	switch {
	case errors.Is(err, auth.ErrNotFound) || (err == nil && rec.Subject != c.ID):
		writeError(w, errNotFound)
	case err != nil:
		fail(w, errGetToken, err)
	default:
		writeJSON(w, http.StatusOK, view(tok, rec))
	}
}

// GET /api/authenticationtoken/{token}/user → the token's user; the token
// is the credential. A caller without a session gets one.
func (h *Handler) tokenUser(w http.ResponseWriter, r *http.Request, tok string) {
	ip := h.Auth.ClientKey(h.Callers.ClientIP(r))
	if err := h.Auth.Admit(r.Context(), ip); err != nil {
		if !writeTooMany(w, err) {
			fail(w, errGetToken, err)
		}
		return
	}
	rec, err := h.Auth.Handoff(r.Context(), tok)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		h.Auth.LoginDone(r.Context(), auth.LoginHandoff, err)
		h.Callers.Failed(r, ip)
		writeError(w, errNotFound)
		return
	case err != nil:
		fail(w, errGetToken, err)
		return
	}
	u, err := h.Auth.User(r.Context(), rec.Subject)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		h.Auth.LoginDone(r.Context(), auth.LoginHandoff, err)
		writeError(w, errUserNotFound)
		return
	case err != nil:
		fail(w, errLoadUser, err)
		return
	case u.Blocked || u.Orphaned: // an orphaned user cannot sign in either
		h.Auth.LoginDone(r.Context(), auth.LoginHandoff, auth.ErrUserBlocked)
		writeError(w, errUserNotFound)
		return
	}
	h.Auth.LoginDone(r.Context(), auth.LoginHandoff, nil)
	if h.Callers.Session(r) == nil {
		if err := h.Callers.StartSession(w, r, u.ID); err != nil {
			fail(w, errLoginUser, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, User(u))
}

// User maps a tokengate user to OpenPaaS's user object: _id and id are the
// user id; firstname and lastname split the display name at its first
// space; the e-mail is preferredEmail, emails and the one email account.
// Empty values are left out, as OpenPaaS leaves out falsy ones.
func User(u store.User) map[string]any {
	m := map[string]any{
		"_id":         u.ID,
		"id":          u.ID,
		"displayName": u.ID,
		"objectType":  "user",
		"user_type":   "openpaas",
	}
	if u.Name != "" {
		m["displayName"] = u.Name
		first, last, _ := strings.Cut(u.Name, " ")
		m["firstname"] = first
		if last != "" {
			m["lastname"] = last
		}
	}
	if u.Email != "" {
		emails := []string{u.Email}
		m["preferredEmail"] = u.Email
		m["emails"] = emails
		m["accounts"] = []map[string]any{{"type": "email", "emails": emails}}
	}
	return m
}
