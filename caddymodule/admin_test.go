package caddymodule

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// statusOf returns the HTTP status of an admin error, 0 for nil.
func statusOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ae caddy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not a caddy.APIError", err)
	}
	return ae.HTTPStatus
}

func TestAdminRouting(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		route      adminRoute
		args       []string
		status     int
	}{
		{"users", "/tokengate/users", routeUsers, nil, 0},
		{"users trailing slash", "/tokengate/users/", routeUsers, nil, 0},
		{"user", "/tokengate/users/alice", routeUser, []string{"alice"}, 0},
		{"escaped slash in id", "/tokengate/users/a%2Fb", routeUser, []string{"a/b"}, 0},
		{"block", "/tokengate/users/alice/block", routeBlock, []string{"alice"}, 0},
		{"unblock", "/tokengate/users/alice/unblock", routeUnblock, []string{"alice"}, 0},
		{"temporary", "/tokengate/users/alice/tokens/temporary", routeTemporary, []string{"alice"}, 0},
		{"named list", "/tokengate/users/alice/tokens/named", routeNamedList, []string{"alice"}, 0},
		{"named one", "/tokengate/users/alice/tokens/named/t1", routeNamed, []string{"alice", "t1"}, 0},
		{"root", "/tokengate/", nil, nil, 0},
		{"unknown", "/tokengate/groups", nil, nil, 0},
		{"unknown user action", "/tokengate/users/alice/frobnicate", nil, nil, 0},
		{"too deep", "/tokengate/users/alice/tokens/named/t1/x", nil, nil, 0},
		{"empty segment", "/tokengate/users//block", nil, nil, http.StatusNotFound},
		{"bad escape", "/tokengate/users/%zz", nil, nil, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			segs, err := adminSegments(tc.path)
			if got := statusOf(t, err); got != tc.status {
				t.Fatalf("status %d, want %d (%v)", got, tc.status, err)
			}
			if err != nil {
				return
			}
			rt, args := matchAdminRoute(segs)
			if reflect.ValueOf(rt).UnsafePointer() != reflect.ValueOf(tc.route).UnsafePointer() {
				t.Fatalf("matched another route (%d methods), want the one with %d", len(rt), len(tc.route))
			}
			if !slices.Equal(args, tc.args) {
				t.Fatalf("args %q, want %q", args, tc.args)
			}
		})
	}
}

// The router answers unknown paths and methods before it looks for the
// app; without a running config, everything else says tokengate is not
// configured.
func TestAdminServeWithoutApp(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		status             int
		allow, msg         string
	}{
		{"unknown path", http.MethodGet, "/tokengate/nothing", http.StatusNotFound, "", "resource not found"},
		{"wrong method", http.MethodPut, "/tokengate/users", http.StatusMethodNotAllowed, "GET, POST", "not allowed"},
		{"no app", http.MethodGet, "/tokengate/users", http.StatusNotFound, "", "tokengate is not configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := adminAPI{}.serve(w, httptest.NewRequest(tc.method, tc.path, nil))
			if got := statusOf(t, err); got != tc.status {
				t.Fatalf("status %d, want %d (%v)", got, tc.status, err)
			}
			if msg := err.(caddy.APIError).Message; !strings.Contains(msg, tc.msg) {
				t.Fatalf("message %q, want it to contain %q", msg, tc.msg)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestAdminDecode(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"empty body is {}", "", "", 0},
		{"json", "application/json", `{"id":"bob"}`, 0},
		{"json with charset", "application/json; charset=utf-8", `{"id":"bob"}`, 0},
		{"wrong content type", "text/plain", `{"id":"bob"}`, http.StatusUnsupportedMediaType},
		{"no content type", "", `{"id":"bob"}`, http.StatusUnsupportedMediaType},
		{"unknown field", "application/json", `{"id":"bob","admin":true}`, http.StatusBadRequest},
		{"wrong type", "application/json", `{"id":7}`, http.StatusBadRequest},
		{"trailing data", "application/json", `{"id":"bob"} {}`, http.StatusBadRequest},
		{"not json", "application/json", `id=bob`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v userCreate
			err := decodeJSON(tc.contentType, []byte(tc.body), &v)
			if got := statusOf(t, err); got != tc.status {
				t.Fatalf("status %d, want %d (%v)", got, tc.status, err)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		body := `{"id":"` + strings.Repeat("x", adminMaxBody) + `"}`
		r := httptest.NewRequest(http.MethodPost, "/tokengate/users", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		ar := &adminRequest{w: httptest.NewRecorder(), r: r}
		if got := statusOf(t, ar.decode(new(userCreate))); got != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", got)
		}
	})
}

func TestAdminTTL(t *testing.T) {
	for _, tc := range []struct {
		name, ttl string
		limit     time.Duration
		want      time.Duration
		status    int
	}{
		{"default", "", 720 * time.Hour, time.Hour, 0},
		{"default capped", "", 30 * time.Minute, 30 * time.Minute, 0},
		{"go duration", "90m", 720 * time.Hour, 90 * time.Minute, 0},
		{"caddy days", "2d", 720 * time.Hour, 48 * time.Hour, 0},
		{"at the limit", "720h", 720 * time.Hour, 720 * time.Hour, 0},
		{"over the limit", "721h", 720 * time.Hour, 0, http.StatusBadRequest},
		{"zero", "0s", time.Hour, 0, http.StatusBadRequest},
		{"negative", "-1h", time.Hour, 0, http.StatusBadRequest},
		{"garbage", "soon", time.Hour, 0, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTTL(tc.ttl, tc.limit)
			if s := statusOf(t, err); s != tc.status || got != tc.want {
				t.Fatalf("got %s, status %d; want %s, %d (%v)", got, s, tc.want, tc.status, err)
			}
		})
	}
}

func TestCLIAdminError(t *testing.T) {
	for _, tc := range []struct {
		name, err, want string
	}{
		{"api error", `caddy responded with error: HTTP 404: {"error":"user \"nobody\" not found"}` + "\n",
			`user "nobody" not found`},
		{"no tokengate routes", "caddy responded with error: HTTP 404: 404 page not found\n",
			"has no tokengate routes"},
		{"other status", "caddy responded with error: HTTP 502: bad gateway", "HTTP 502: bad gateway"},
		{"unreachable", "performing request: dial tcp 127.0.0.1:1: connect: connection refused",
			"cannot reach Caddy's admin API at localhost:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := adminCallError("localhost:1", errors.New(tc.err)).Error()
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
