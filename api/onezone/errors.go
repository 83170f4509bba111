package onezone

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/tokens"
)

// Error is one Onezone error: {"id","description","details"?}, sent as
// {"error": Error} with Status. Ids and descriptions are Onezone's own
// (ctool's errors.erl).
type Error struct {
	Status      int            `json:"-"`
	ID          string         `json:"id"`
	Description string         `json:"description"`
	Details     map[string]any `json:"details,omitempty"`
	// Reason is why authentication failed, for metrics: the id of the
	// inner error of an unauthorized answer, else ID.
	Reason string `json:"-"`
	// retryAfter is a 429's Retry-After.
	retryAfter time.Duration
}

func (e *Error) Error() string { return e.ID + ": " + e.Description }

func newError(status int, id, desc string, details map[string]any) *Error {
	return &Error{Status: status, ID: id, Description: desc, Details: details, Reason: id}
}

var (
	errNoAuth = newError(http.StatusUnauthorized, "unauthorized",
		"You must authenticate yourself to perform this operation.", nil)
	errForbidden = newError(http.StatusForbidden, "forbidden",
		"You are not authorized to perform this operation.", nil)
	errMalformed = newError(http.StatusBadRequest, "malformedData",
		"Provided data could not be understood by the server.", nil)
	errUnavailable = newError(http.StatusServiceUnavailable, "temporaryFailure",
		"Temporary failure - please try again later.", nil)
	errNotFound = newError(http.StatusNotFound, "notFound", "The resource could not be found.", nil)
	// ctool's ?ERROR_BAD_VALUE_NAME (no key, as token_logic_plugin's
	// {binary, name} check throws it): "Bad value: " and
	// NAME_REQUIREMENTS_DESCRIPTION, the rule auth.CheckTokenName applies.
	errBadName = newError(http.StatusBadRequest, "badValueName",
		"Bad value: Name must be 2-128 characters long and composed only of UTF-8 letters, digits, brackets and underscores. "+
			"Dashes, spaces and dots are allowed (but not at the beginning or the end).", nil)
	// ctool's ?ERROR_BAD_VALUE_IDENTIFIER_OCCUPIED(<<"name">>), what
	// token_logic_plugin throws for a name the subject already uses.
	errNameOccupied = newError(http.StatusBadRequest, "badValueIdentifierOccupied",
		"Bad value: provided identifier (\"name\") is already occupied.", map[string]any{"key": "name"})
	errInternal = newError(http.StatusInternalServerError, "internalServerError",
		"The server has encountered an error while processing this request.", nil)
	// Not Onezone's, nor sent: the client has gone.
	errCanceled = newError(httpx.StatusClientClosedRequest, "requestCanceled",
		"The client closed the request before it was answered.", nil)
	// Onezone (cowboy) answers these two with an empty body; tokengate
	// adds an envelope so that the client learns why.
	errMediaType = newError(http.StatusUnsupportedMediaType, "unsupportedMediaType",
		"The request body must be sent as application/json.", nil)
	errTooLarge = newError(http.StatusRequestEntityTooLarge, "requestTooLarge",
		fmt.Sprintf("The request body must not exceed %d bytes.", maxBody), nil)
)

func badData(key string) *Error {
	return newError(http.StatusBadRequest, "badData", fmt.Sprintf(
		"Bad value: provided \"%s\" has an invalid format or is incomprehensible in the context of this operation.", key),
		map[string]any{"key": key})
}

// badJSON is ctool's ?ERROR_BAD_VALUE_JSON(Key): Onezone's answer to a
// {json, any} value that is not an object.
func badJSON(key string) *Error {
	return badValue("badValueJSON", key, "must be a valid JSON")
}

// tooHigh is ctool's ?ERROR_BAD_VALUE_TOO_HIGH(Key, Threshold). Onezone
// bounds no JSON value by size; tokengate answers its bound on custom
// metadata (auth.MaxTokenMetadata) with this error, the limit in bytes.
func tooHigh(key string, limit int) *Error {
	return newError(http.StatusBadRequest, "badValueTooHigh",
		fmt.Sprintf("Bad value: provided \"%s\" must not exceed %d.", key, limit),
		map[string]any{"key": key, "limit": limit})
}

func badValue(id, key, what string) *Error {
	return newError(http.StatusBadRequest, id, fmt.Sprintf("Bad value: provided \"%s\" %s.", key, what),
		map[string]any{"key": key})
}

// tokenError translates an authentication or token error to the bare
// Onezone error (status 400, as the verify endpoints answer), or nil if
// err is not one.
func tokenError(err error) *Error {
	var ce *tokens.CaveatError
	switch {
	case errors.As(err, &ce) && errors.Is(err, tokens.ErrCaveatUnverified):
		return newError(http.StatusBadRequest, "tokenCaveatUnverified",
			"Provided token is not valid - "+ce.Reason+".", map[string]any{"caveat": ce.Caveat})
	case errors.Is(err, tokens.ErrMalformed):
		return newError(http.StatusBadRequest, "badToken", "Provided token could not be understood by the server.", nil)
	// Before ErrRevoked and ErrInvalid: an ended session is neither, and
	// should an error ever wrap both, the session's fate is the precise one.
	case errors.Is(err, tokens.ErrSessionInvalid):
		return newError(http.StatusBadRequest, "tokenSessionInvalid",
			"This token is bound to a session different than presented by the client or no longer existent.", nil)
	case errors.Is(err, tokens.ErrRevoked):
		return newError(http.StatusBadRequest, "tokenRevoked", "Provided token has been revoked.", nil)
	// A deleted user's token: Onezone's tokenInvalid (the secret it was
	// signed with is gone), though auth does not count it as a guess.
	case errors.Is(err, tokens.ErrSubjectGone):
		return newError(http.StatusBadRequest, "tokenInvalid", "Provided token is not valid.", nil)
	case errors.Is(err, tokens.ErrSubjectInvalid):
		return newError(http.StatusBadRequest, "tokenSubjectInvalid",
			"The token subject is invalid (does not exist or is different than expected).", nil)
	case errors.Is(err, tokens.ErrInvalid):
		return newError(http.StatusBadRequest, "tokenInvalid", "Provided token is not valid.", nil)
	case errors.Is(err, tokens.ErrNotAccessToken):
		return newError(http.StatusBadRequest, "notAnAccessToken",
			"Expected an access token, but received a(n) identity token.",
			map[string]any{"received": tokens.Identity.OnezoneJSON()})
	case errors.Is(err, auth.ErrUserBlocked):
		return newError(http.StatusBadRequest, "userBlocked",
			"This user account has been blocked by the administrator and cannot be used unless it is unblocked again.", nil)
	case errors.Is(err, auth.ErrBadCredentials):
		return newError(http.StatusBadRequest, "badBasicCredentials", "Invalid username or password.", nil)
	}
	return nil
}

// AuthError translates a failure to authenticate a request: token errors
// become 401 unauthorized with details.authError, a store failure 503, a
// client that went away 499 (written without a body).
func AuthError(err error) *Error {
	if caller.Canceled(err) {
		return errCanceled
	}
	if inner := tokenError(err); inner != nil {
		e := newError(http.StatusUnauthorized, "unauthorized",
			"Provided authentication is not valid (see details).",
			map[string]any{"authError": inner})
		e.Reason = inner.ID
		return e
	}
	if errors.Is(err, auth.ErrUnavailable) {
		return errUnavailable
	}
	if e, ok := auth.IsTooManyFailures(err); ok {
		return TooManyFailures(e)
	}
	return errInternal
}

// TooManyFailures is the answer to a client past its brute-force budget.
// Onezone has no such error; the id follows its naming.
func TooManyFailures(e *auth.ErrTooManyFailures) *Error {
	err := newError(http.StatusTooManyRequests, "tooManyRequests",
		"Too many failed authentication attempts - please try again later.",
		map[string]any{"retryAfter": httpx.RetrySeconds(e.RetryAfter)})
	err.retryAfter = e.RetryAfter
	return err
}

// Unavailable is the error for a request that cannot be decided: the
// state it needs cannot be read.
func Unavailable() *Error { return errUnavailable }

// BadData is Onezone's badData for key: a value of the request that has
// an invalid format or cannot be understood, such as a header a
// forward-auth subrequest must carry.
func BadData(key string) *Error { return badData(key) }

// NoCredentials is the error for a request that presented none.
func NoCredentials() *Error { return errNoAuth }

// WriteError sends e in Onezone's envelope; a 499 only as the status,
// since nobody reads it.
func WriteError(w http.ResponseWriter, e *Error) {
	switch e.Status {
	case httpx.StatusClientClosedRequest:
		w.WriteHeader(e.Status)
		return
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokengate"`)
	case http.StatusTooManyRequests:
		httpx.RetryAfter(w, e.retryAfter)
	}
	writeJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

// writeJSON sends v as JSON, or internalServerError if it has none.
func writeJSON(w http.ResponseWriter, status int, v any) {
	if httpx.WriteJSON(w, status, "", v) != nil {
		_ = httpx.WriteJSON(w, http.StatusInternalServerError, "", struct {
			Error *Error `json:"error"`
		}{errInternal})
	}
}
