package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// How each of auth's sentinel errors is answered: a rule broken is the
// caller's 400, never an outage.
func TestServiceError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"not found", fmt.Errorf("%w: user", auth.ErrNotFound), http.StatusNotFound, `user "x" not found`},
		{"subject invalid", fmt.Errorf("%w: %w", tokens.ErrSubjectInvalid, auth.ErrNotFound), http.StatusNotFound, "not found"},
		{"exists", auth.ErrExists, http.StatusConflict, `user "x": name already taken`},
		{"config managed", auth.ErrConfigManaged, http.StatusConflict, `user "x" is managed by the Caddy config`},
		{"blocked", auth.ErrUserBlocked, http.StatusConflict, `user "x" is blocked`},
		{"bad value", &auth.ValueError{Field: "name", Rule: "must not contain control characters"},
			http.StatusBadRequest, "name must not contain control characters"},
		{"wrapped bad value", fmt.Errorf("user x: %w", &auth.ValueError{Field: "role", Rule: "must be at most 64 bytes"}),
			http.StatusBadRequest, "role must be at most 64 bytes"},
		{"weak password", &auth.PolicyError{Reasons: []string{"Too short.", "Too plain."}},
			http.StatusBadRequest, "password too weak: Too short. Too plain."},
		{"no password", auth.ErrNoPassword, http.StatusBadRequest, "password must not be empty"},
		{"canceled", fmt.Errorf("%w: %w", auth.ErrCanceled, context.Canceled), httpx.StatusClientClosedRequest, "request canceled"},
		{"unavailable", fmt.Errorf("%w: down", auth.ErrUnavailable), http.StatusServiceUnavailable, "tokengate's store is unavailable"},
		{"store unavailable", store.ErrUnavailable, http.StatusServiceUnavailable, "tokengate's store is unavailable"},
		{"caveat", &tokens.CaveatError{Err: tokens.ErrBadCaveat, Caveat: []byte(`{"type":"x"}`), Reason: "unknown type"},
			http.StatusBadRequest, `invalid caveat {"type":"x"}: unknown type`},
		{"time caveat", tokens.ErrTimeCaveatRequired, http.StatusBadRequest, tokens.ErrTimeCaveatRequired.Error()},
		{"anything else", errors.New("disk on fire"), http.StatusInternalServerError, `user "x": disk on fire`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := serviceError(tc.err, `user "x"`)
			var e *apiError
			if !errors.As(err, &e) || e.status != tc.status || !strings.Contains(e.msg, tc.msg) {
				t.Fatalf("got %v, want %d %q", err, tc.status, tc.msg)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("%v does not wrap %v", err, tc.err)
			}
		})
	}
}
