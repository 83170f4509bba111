package caller_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
	"github.com/tokengate/tokengate/tokens"
)

func TestCanceled(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"auth's", fmt.Errorf("%w: %w", auth.ErrCanceled, context.Canceled), true},
		{"auth's alone", auth.ErrCanceled, true},
		{"the context's, wrapped", fmt.Errorf("store: %w", context.Canceled), true},
		{"a deadline is an outage", fmt.Errorf("%w: %w", auth.ErrUnavailable, context.DeadlineExceeded), false},
		{"unavailable", auth.ErrUnavailable, false},
		{"bad credentials", auth.ErrBadCredentials, false},
		{"none", nil, false},
		{"another", errors.New("x"), false},
	} {
		if got := caller.Canceled(tc.err); got != tc.want {
			t.Errorf("%s: Canceled(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestLogout(t *testing.T) {
	f := authtest.New(t)
	cookie, sess := f.Session(t, authtest.Alice)
	for _, tc := range []struct {
		name, method string
		hdr          http.Header
		status       int
		allow        string
		cleared      bool
	}{
		{"GET", "GET", http.Header{"Cookie": {cookie}}, 405, "POST", false},
		{"from another site", "POST", http.Header{"Cookie": {cookie}, "Origin": {"http://evil.example"}}, 403, "", false},
		{"POST", "POST", http.Header{"Cookie": {cookie}}, 204, "", true},
		{"without a session", "POST", nil, 204, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			f.Callers.Logout(w, authtest.Request(tc.method, "http://example.com/logout", "", tc.hdr))
			if w.Code != tc.status || w.Header().Get("Allow") != tc.allow || w.Body.Len() != 0 {
				t.Fatalf("got %d, Allow %q, %q; want %d, Allow %q", w.Code, w.Header().Get("Allow"), w.Body, tc.status, tc.allow)
			}
			if got := strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0"); got != tc.cleared {
				t.Errorf("cookie cleared: %v, want %v", got, tc.cleared)
			}
		})
	}
	if _, err := f.Auth.Authenticate(t.Context(), strings.TrimPrefix(cookie, authtest.SessionCookie+"="), tokens.Request{}); err == nil {
		t.Errorf("session %s survived the logout", sess.ID)
	}
}
