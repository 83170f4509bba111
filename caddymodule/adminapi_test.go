package caddymodule

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/admin"
)

// Without a running config, the mounted admin API says tokengate is not
// configured, in Caddy's admin error format; unknown paths are answered
// before the app is looked for.
func TestAdminAPIWithoutApp(t *testing.T) {
	if _, _, err := activeService(); !errors.Is(err, admin.ErrNotConfigured) {
		t.Fatalf("activeService: %v, want ErrNotConfigured", err)
	}
	routes := adminAPI{}.Routes()
	if len(routes) != 1 || routes[0].Pattern != "/tokengate/" {
		t.Fatalf("routes %+v", routes)
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"no app", http.MethodGet, "/tokengate/users", http.StatusNotFound, `{"error":"tokengate is not configured"}` + "\n"},
		{"unknown path", http.MethodGet, "/tokengate/nothing", http.StatusNotFound, `{"error":"resource not found: /tokengate/nothing"}` + "\n"},
		{"wrong method", http.MethodPut, "/tokengate/users", http.StatusMethodNotAllowed,
			`{"error":"method PUT not allowed on /tokengate/users (allowed: GET, POST)"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := routes[0].Handler.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil)); err != nil {
				t.Fatalf("handler returned %v: the admin package writes its own errors", err)
			}
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
		})
	}
}
