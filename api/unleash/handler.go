// Package unleash serves Unleash's password-reset endpoints with Unleash's
// paths, status codes and error bodies.
package unleash

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"mime"
	"net/http"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/store"
)

// Paths.
const (
	ValidatePath = "/auth/reset/validate"
	PasswordPath = "/auth/reset/password"
)

const maxBody = 64 << 10

// Handler serves the endpoints.
type Handler struct {
	Auth    *auth.Service
	Callers *caller.Authenticator
}

// Match reports whether path is one of the endpoints.
func Match(path string) bool { return path == ValidatePath || path == PasswordPath }

// apiError is Unleash's error body. ID is set only where Unleash writes
// the error itself (UnleashError.toJSON), not where its error handler does.
type apiError struct {
	ID      string   `json:"id,omitempty"`
	Name    string   `json:"name"`
	Message string   `json:"message"`
	Details []detail `json:"details"`
	status  int
}

type detail struct {
	ValidationErrors []string `json:"validationErrors,omitempty"`
	Message          string   `json:"message"`
}

func simple(status int, name, msg string) apiError {
	return apiError{Name: name, Message: msg, Details: []detail{{Message: msg}}, status: status}
}

var (
	errInvalidToken = simple(http.StatusUnauthorized, "InvalidTokenError", "Token was not valid")
	errNoPassword   = simple(http.StatusBadRequest, "PasswordUndefinedError", "Password cannot be empty or undefined")
	errUnavailable  = simple(http.StatusServiceUnavailable, "ServiceUnavailableError", "The service is unavailable, please try again later.")
)

// writeJSON sends v, which always has a JSON form, in Unleash's media
// type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	_ = httpx.WriteJSON(w, status, "application/json; charset=utf-8", v)
}

func writeError(w http.ResponseWriter, e apiError) { writeJSON(w, e.status, e) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == ValidatePath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.validate(w, r)
	case r.URL.Path == PasswordPath && r.Method == http.MethodPost:
		h.password(w, r)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// admit refuses a client past its budget of bad reset tokens.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) (string, bool) {
	ip := h.Auth.ClientKey(h.Callers.ClientIP(r))
	err := h.Auth.Admit(r.Context(), ip)
	if e, ok := auth.IsTooManyFailures(err); ok {
		secs := httpx.RetryAfter(w, e.RetryAfter)
		writeError(w, simple(http.StatusTooManyRequests, "RateLimitError",
			fmt.Sprintf("Too many failed attempts. Try again in %d seconds.", secs)))
		return ip, false
	}
	if err != nil {
		h.unavailable(w, err)
		return ip, false
	}
	return ip, true
}

// GET /auth/reset/validate?token=<t> → the token's user in Unleash's
// tokenUserSchema. Like Unleash, it ends the caller's session.
func (h *Handler) validate(w http.ResponseWriter, r *http.Request) {
	_ = h.Callers.EndSession(w, r)
	ip, ok := h.admit(w, r)
	if !ok {
		return
	}
	tok := r.URL.Query().Get("token")
	u, t, err := h.Auth.ResetUser(r.Context(), tok)
	if err != nil {
		h.fail(w, r, ip, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenUser(u, t, tok))
}

// POST /auth/reset/password {"token","password"} → 200, empty. Checks in
// Unleash's order: content type, body schema, password, then the token.
func (h *Handler) password(w http.ResponseWriter, r *http.Request) {
	_ = h.Callers.EndSession(w, r)
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
		writeError(w, contentTypeError(ct))
		return
	}
	var req struct {
		Token    *string `json:"token"`
		Password *string `json:"password"`
	}
	body, err := httpx.ReadBody(r, maxBody)
	if err == nil {
		err = httpx.DecodeJSON(ct, body, &req, httpx.Decoding{Strict: true})
	}
	if err != nil {
		writeError(w, badData("The request body must be a JSON object with the properties `token` and `password` and no others."))
		return
	}
	if req.Token == nil {
		writeError(w, badData("The `token` property is required. It was not present on the data you sent."))
		return
	}
	if req.Password == nil || *req.Password == "" {
		writeError(w, errNoPassword)
		return
	}
	var pe *auth.PolicyError
	if err := h.Auth.CheckPassword(*req.Password); errors.As(err, &pe) {
		writeError(w, apiError{Name: "OwaspValidationError", Message: pe.Reasons[0],
			Details: []detail{{ValidationErrors: pe.Reasons, Message: pe.Reasons[0]}}, status: http.StatusBadRequest})
		return
	}
	ip, ok := h.admit(w, r)
	if !ok {
		return
	}
	if err := h.Auth.Reset(r.Context(), *req.Token, *req.Password); err != nil {
		h.fail(w, r, ip, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// fail answers a failed reset-token check, counting invalid tokens
// against the client's budget.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, ip string, err error) {
	switch {
	case errors.Is(err, auth.ErrInvalidResetToken):
		h.Callers.Failed(r, ip)
		writeError(w, errInvalidToken)
	default:
		h.unavailable(w, err)
	}
}

// unavailable answers a request the service could not serve, or with a
// bare 499 one whose client has gone.
func (h *Handler) unavailable(w http.ResponseWriter, err error) {
	if caller.Canceled(err) {
		w.WriteHeader(httpx.StatusClientClosedRequest)
		return
	}
	writeError(w, errUnavailable)
}

func badData(msg string) apiError {
	return apiError{ID: newUUID(), Name: "BadDataError",
		Message: "Request validation failed: your request body or params contain invalid data. Refer to the `details` list for more information.",
		Details: []detail{{Message: msg}}, status: http.StatusBadRequest}
}

func contentTypeError(ct string) apiError {
	if ct == "" {
		ct = "you didn't provide one"
	}
	msg := "We do not accept the content-type you provided (" + ct + "). Try using one of the content-types we do accept instead (application/json) and make sure the body is in the corresponding format."
	return apiError{ID: newUUID(), Name: "ContentTypeError", Message: msg, Details: []detail{{Message: msg}},
		status: http.StatusUnsupportedMediaType}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Unleash's predefined root roles keep their ids; other role names get a
// stable number from their hash, above Unleash's range.
var roleIDs = map[string]int{"Admin": 1, "Editor": 2, "Viewer": 3, "Owner": 4, "Member": 5}

func roleID(name string) int {
	if id, ok := roleIDs[name]; ok {
		return id
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return 1000 + int(h.Sum32()%1_000_000)
}

// TokenUser maps a user to Unleash's tokenUserSchema: id is the store's
// stable user number; role is the user's role as a root role.
func TokenUser(u store.User, t store.ResetToken, tok string) map[string]any {
	role := u.Role
	if role == "" {
		role = "Viewer"
	}
	var createdBy any
	if t.CreatedBy != "" {
		createdBy = t.CreatedBy
	}
	return map[string]any{
		"id":        u.Number,
		"name":      u.Name,
		"email":     u.Email,
		"token":     tok,
		"createdBy": createdBy,
		"role": map[string]any{
			"id":          roleID(role),
			"type":        "root",
			"name":        role,
			"description": "Root role " + role + " (from tokengate)",
		},
	}
}
