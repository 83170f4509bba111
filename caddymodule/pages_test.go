package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestLoginRedirect: a browser without credentials goes to the sign-in
// page, except a request for that page itself when the route does not
// serve it (login_redirect without pages), which would loop.
func TestLoginRedirect(t *testing.T) {
	app := newTestApp(t)
	for _, tc := range []struct {
		name     string
		pages    bool
		path     string
		accept   string
		status   int
		location string
	}{
		{"browser", false, "/app", "text/html", http.StatusFound, "/login?redirect=%2Fapp"},
		{"API client", false, "/app", "application/json", http.StatusUnauthorized, ""},
		{"the sign-in path, not served here", false, "/login", "text/html", http.StatusUnauthorized, ""},
		{"the sign-in path, served here", true, "/login", "text/html", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{LoginRedirect: "/login"}
			if tc.pages {
				h.Pages = new(PagesConfig)
			}
			if err := h.setup(app); err != nil {
				t.Fatal(err)
			}
			r := gateRequest("")
			r.Header.Del("X-Auth-Token")
			r.URL.Path = tc.path
			r.Header.Set("Accept", tc.accept)
			w := httptest.NewRecorder()
			if err := h.ServeHTTP(w, r, nextOK); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || w.Header().Get("Location") != tc.location {
				t.Fatalf("%d Location %q, want %d %q", w.Code, w.Header().Get("Location"), tc.status, tc.location)
			}
		})
	}
}
