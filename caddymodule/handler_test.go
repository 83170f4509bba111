package caddymodule

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/tokens"
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
	sess, err := app.service().StartSession(t.Context(), "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	name, host := app.SessionCookie, "__Host-"+app.SessionCookie
	for _, tc := range []struct {
		name   string
		tls    bool // the request came over TLS: the cookie is __Host-
		cookie []string
		want   []string // the Cookie headers the upstream sees
	}{
		{"plain", false, []string{"a=1; " + name + "=" + sess + "; b=2"}, []string{"a=1; b=2"}},
		{"a space before =", false, []string{name + " =" + sess}, nil},
		{"spaces around the name", false, []string{"a=1;  " + name + "  =" + sess}, []string{"a=1"}},
		{"several headers", false, []string{"a=1;b=2", name + " =" + sess, "c=3"}, []string{"a=1;b=2", "c=3"}},
		// Under any of its names, the cookie is tokengate's.
		{"__Host- over TLS", true, []string{"a=1; " + host + "=" + sess + "; " + name + "=old"}, []string{"a=1"}},
		{"__Host- beside plain", false, []string{host + "=old; " + name + "=" + sess + "; b=2"}, []string{"b=2"}},
		// The name a session_cookie_domain gives it over HTTPS.
		{"__Secure- beside plain", false, []string{"__Secure-" + name + "=old; " + name + "=" + sess + "; b=2"}, []string{"b=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gateRequest("")
			r.Header.Del("X-Auth-Token")
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
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

// TestTokenSourcesReachTheAPIs: the route's token_sources authenticate
// its token endpoints as they do the gate, and only they do (bug 7).
func TestTokenSourcesReachTheAPIs(t *testing.T) {
	app := newTestApp(t)
	h := &Handler{TokenSources: []string{"cookie:tg"}}
	if err := h.setup(app); err != nil {
		t.Fatal(err)
	}
	tok, err := app.service().IssueTemporary(t.Context(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"caveats":[{"type":"time","validUntil":%d}]}`, time.Now().Add(time.Hour).Unix())
	for _, tc := range []struct {
		name   string
		hdr    http.Header
		status int
		id     string // the Onezone error id, if any
	}{
		{"the cookie", http.Header{"Cookie": {"a=1; tg=" + tok}}, http.StatusCreated, ""},
		{"the cookie, from another site", http.Header{"Cookie": {"tg=" + tok}, "Origin": {"http://evil.example"}},
			http.StatusForbidden, "forbidden"},
		{"x-auth-token is not this route's", http.Header{"X-Auth-Token": {tok}}, http.StatusUnauthorized, "unauthorized"},
		{"nor is bearer", http.Header{"Authorization": {"Bearer " + tok}}, http.StatusUnauthorized, "unauthorized"},
		{"basic still works", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-password"))}},
			http.StatusCreated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://example.com"+onezone.Prefix+"/user/tokens/temporary", strings.NewReader(body))
			r.Header = tc.hdr
			r.Header.Set("Content-Type", "application/json")
			w, seen := serveGate(t, h, r)
			if seen != nil {
				t.Fatal("the token endpoint went upstream")
			}
			var got struct {
				Token string
				Error struct{ ID string }
			}
			_ = json.Unmarshal(w.Body.Bytes(), &got)
			if w.Code != tc.status || got.Error.ID != tc.id || (tc.status == http.StatusCreated) != (got.Token != "") {
				t.Fatalf("got %d %s, want %d %q", w.Code, w.Body, tc.status, tc.id)
			}
		})
	}
}

// TestHandlerService: a route's service name is a plain name, and the
// app learns every route's, for the creation check of service caveats.
func TestHandlerService(t *testing.T) {
	app := newTestApp(t)
	for _, tc := range []struct {
		service, err string
	}{
		{"wiki", ""},
		{"grafana-eu", ""},
		{"", ""},
		{"wiki-*", `service "wiki-*": want a name without *`},
		{" wiki", `service " wiki": want a name without *`},
	} {
		h := &Handler{Service: tc.service}
		err := h.setup(app)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("service %q: err = %v, want %q", tc.service, err, tc.err)
		}
	}
	for pattern, want := range map[string]bool{
		"wiki": true, "grafana-*": true, "*": true, "wiki-*": false, "gitlab": false, "grafana": false,
	} {
		if got := app.serviceExists(pattern); got != want {
			t.Errorf("serviceExists(%q) = %v, want %v", pattern, got, want)
		}
	}
}
