package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// apiError is an error answer: its status, the message of its
// {"error": message} body and, for the log, its cause.
type apiError struct {
	status int
	msg    string
	err    error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// errorf builds an error answer; err is its cause, if any.
func errorf(status int, err error, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...), err: err}
}

// fail answers a request with err and logs it: a failure of the server
// at ERROR, a refused request at DEBUG, a request whose client went away
// not at all (nobody reads the answer, and nothing failed).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{status: http.StatusInternalServerError, msg: err.Error(), err: err}
	}
	status := e.status
	if r.Context().Err() != nil && status >= http.StatusInternalServerError {
		status = httpx.StatusClientClosedRequest
	}
	if h.Logger != nil && status != httpx.StatusClientClosedRequest {
		level := zapcore.DebugLevel
		if status >= http.StatusInternalServerError {
			level = zapcore.ErrorLevel
		}
		if ce := h.Logger.Check(level, "request error"); ce != nil {
			ce.Write(zap.Error(err), zap.Int("status_code", status))
		}
	}
	writeError(w, status, e.msg)
}

// writeError writes an error body byte for byte as Caddy's admin endpoint
// writes a caddy.APIError (admin.go, handleError, v2.11.9): only a
// Content-Type header, and {"error": message} from a json.Encoder, which
// escapes HTML and ends with a newline. The CLI and scripts written for
// Caddy's own admin errors read these alike.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}

// serviceError maps a failure of the auth service; what names the thing
// the request is about, as in "user \"bob\"".
func serviceError(err error, what string) error {
	var ce *tokens.CaveatError
	var ve *auth.ValueError
	var pe *auth.PolicyError
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return errorf(http.StatusNotFound, err, "%s not found", what)
	case errors.Is(err, auth.ErrExists):
		return errorf(http.StatusConflict, err, "%s: name already taken", what)
	case errors.Is(err, auth.ErrConfigManaged):
		return errorf(http.StatusConflict, err,
			"%s is managed by the Caddy config; change it there (the tokengate users in the Caddyfile or JSON config) and reload", what)
	case errors.Is(err, auth.ErrUserBlocked):
		return errorf(http.StatusConflict, err, "%s is blocked; unblock it before issuing tokens", what)
	case errors.As(err, &ve):
		return errorf(http.StatusBadRequest, err, "%s", ve.Error())
	case errors.As(err, &pe):
		return errorf(http.StatusBadRequest, err, "password too weak: %s", strings.Join(pe.Reasons, " "))
	case errors.Is(err, auth.ErrNoPassword):
		return errorf(http.StatusBadRequest, err, "password must not be empty")
	case errors.Is(err, auth.ErrCanceled):
		return errorf(httpx.StatusClientClosedRequest, err, "request canceled")
	// auth wraps store failures in ErrUnavailable; a bare store one is
	// the same outage.
	case errors.Is(err, auth.ErrUnavailable), errors.Is(err, store.ErrUnavailable):
		return errorf(http.StatusServiceUnavailable, err, "tokengate's store is unavailable; try again later")
	case errors.As(err, &ce):
		return errorf(http.StatusBadRequest, err, "invalid caveat %s: %s", ce.Caveat, ce.Reason)
	case errors.Is(err, tokens.ErrTimeCaveatRequired), errors.Is(err, tokens.ErrBadType),
		errors.Is(err, tokens.ErrBadData), errors.Is(err, tokens.ErrBadCaveat):
		return errorf(http.StatusBadRequest, err, "%v", err)
	}
	return errorf(http.StatusInternalServerError, err, "%s: %v", what, err)
}

// namedError maps a failed named-token operation: a taken name says so.
func namedError(err error, id, name, what string) error {
	if errors.Is(err, auth.ErrExists) {
		return errorf(http.StatusConflict, err, "user %q already has a named token called %q", id, name)
	}
	return serviceError(err, what)
}
