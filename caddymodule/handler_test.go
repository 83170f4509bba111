package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// serveGate sends r through h and returns the response and the request
// as the next handler saw it (nil if it was not called).
func serveGate(t *testing.T, h *Handler, r *http.Request) (*httptest.ResponseRecorder, *http.Request) {
	t.Helper()
	var seen *http.Request
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		seen = r
		w.WriteHeader(http.StatusTeapot)
		return nil
	})
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatal(err)
	}
	return w, seen
}

// TestGateDropsSessionCookie: the session cookie is tokengate's and never
// reaches the upstream, however the client spells its name.
func TestGateDropsSessionCookie(t *testing.T) {
	app := newTestApp(t)
	h := new(Handler)
	if err := h.setup(app); err != nil {
		t.Fatal(err)
	}
	sess, err := app.auth.StartSession(t.Context(), "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	name := app.SessionCookie
	for _, tc := range []struct {
		name   string
		cookie []string
		want   []string // the Cookie headers the upstream sees
	}{
		{"plain", []string{"a=1; " + name + "=" + sess + "; b=2"}, []string{"a=1; b=2"}},
		{"a space before =", []string{name + " =" + sess}, nil},
		{"spaces around the name", []string{"a=1;  " + name + "  =" + sess}, []string{"a=1"}},
		{"several headers", []string{"a=1;b=2", name + " =" + sess, "c=3"}, []string{"a=1;b=2", "c=3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gateRequest("")
			r.Header.Del("X-Auth-Token")
			r.Header["Cookie"] = slices.Clone(tc.cookie)
			w, seen := serveGate(t, h, r)
			if seen == nil {
				t.Fatalf("refused: %d %s", w.Code, w.Body)
			}
			if got := seen.Header.Get(headerID); got != "alice" {
				t.Errorf("identity %q, want alice", got)
			}
			if got := seen.Header["Cookie"]; !slices.Equal(got, tc.want) {
				t.Errorf("upstream saw Cookie %q, want %q", got, tc.want)
			}
		})
	}
}
