package caddymodule

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/tokens"
)

// TestVerifyOriginal: which original request the proxy's headers
// describe, and which subrequests are refused for not describing one.
func TestVerifyOriginal(t *testing.T) {
	nginx := VerifyConfig{MethodHeader: "x-original-method", URIHeader: "X-Original-URI"}
	byHost := VerifyConfig{HostHeader: "x-forwarded-host"}
	listed := VerifyConfig{HostHeader: "X-Forwarded-Host", Hosts: []string{"Wiki.Example.com"}}
	for _, tc := range []struct {
		name    string
		v       VerifyConfig
		hdr     http.Header
		method  string
		path    string
		query   string
		service string
		bad     string // the header named in the badData refusal; "": accepted
	}{
		{name: "traefik", hdr: http.Header{"X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {"/a/b?x=1"}},
			method: "POST", path: "/a/b", query: "x=1", service: "route"},
		{name: "nginx", v: nginx, hdr: http.Header{"X-Original-Method": {"DELETE"}, "X-Original-Uri": {"/docs/%41?q"}},
			method: "DELETE", path: "/docs/A", query: "q", service: "route"},
		{name: "nginx headers, traefik config", hdr: http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/"}},
			bad: "X-Forwarded-Method"},
		{name: "traefik headers, nginx config", v: nginx, hdr: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/"}},
			bad: "X-Original-Method"},
		{name: "no uri", hdr: http.Header{"X-Forwarded-Method": {"GET"}}, bad: "X-Forwarded-Uri"},
		{name: "empty method", hdr: http.Header{"X-Forwarded-Method": {""}, "X-Forwarded-Uri": {"/"}}, bad: "X-Forwarded-Method"},
		// A proxy that appends to what the client sent is not trusted
		// with either value.
		{name: "two methods", hdr: http.Header{"X-Forwarded-Method": {"GET", "POST"}, "X-Forwarded-Uri": {"/"}}, bad: "X-Forwarded-Method"},
		{name: "two uris", hdr: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/a", "/b"}}, bad: "X-Forwarded-Uri"},
		{name: "method with a space", hdr: http.Header{"X-Forwarded-Method": {"GET X"}, "X-Forwarded-Uri": {"/"}}, bad: "X-Forwarded-Method"},
		{name: "relative uri", hdr: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"a/b"}}, bad: "X-Forwarded-Uri"},
		{name: "absolute uri", hdr: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"http://other.example/x?y"}},
			method: "GET", path: "/x", query: "y", service: "route"},
		{name: "asterisk", hdr: http.Header{"X-Forwarded-Method": {"OPTIONS"}, "X-Forwarded-Uri": {"*"}}, bad: "X-Forwarded-Uri"},
		{name: "service from the host", v: byHost,
			hdr:    http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/"}, "X-Forwarded-Host": {"Grafana.Example.com:8443"}},
			method: "GET", path: "/", service: "grafana.example.com"},
		{name: "no host", v: byHost, hdr: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/"}}, bad: "X-Forwarded-Host"},
		{name: "a listed host", v: listed,
			hdr:    http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/"}, "X-Forwarded-Host": {"wiki.example.com."}},
			method: "GET", path: "/", service: "wiki.example.com"},
		{name: "an unlisted host", v: listed,
			hdr: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/"}, "X-Forwarded-Host": {"evil.example.com"}},
			bad: "X-Forwarded-Host"},
		{name: "a host pattern", v: byHost,
			hdr: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/"}, "X-Forwarded-Host": {"*.example.com"}},
			bad: "X-Forwarded-Host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			v.Hosts = append([]string(nil), v.Hosts...)
			v.provision(new(App))
			r := httptest.NewRequest(http.MethodGet, "http://auth.internal/_tg?sub=1", nil)
			r.Header = tc.hdr
			o, service, e := v.original(r, "route")
			if tc.bad != "" {
				if e == nil || e.Status != http.StatusBadRequest || e.ID != "badData" || e.Details["key"] != tc.bad {
					t.Fatalf("got %+v, want 400 badData naming %s", e, tc.bad)
				}
				return
			}
			if e != nil {
				t.Fatalf("refused: %+v", e)
			}
			if o.Method != tc.method || o.URL.Path != tc.path || o.URL.RawQuery != tc.query || service != tc.service {
				t.Errorf("original %s %s?%s service %q, want %s %s?%s service %q",
					o.Method, o.URL.Path, o.URL.RawQuery, service, tc.method, tc.path, tc.query, tc.service)
			}
			if r.Method != http.MethodGet || r.URL.Path != "/_tg" {
				t.Errorf("the subrequest itself changed: %s %s", r.Method, r.URL)
			}
		})
	}
}

// TestVerifyAnswers: the forward-auth endpoint answers 200 with the
// identity as response headers, or the refusal, for the original
// request's method; it never hands a request on.
func TestVerifyAnswers(t *testing.T) {
	app := newTestApp(t)
	h := &Handler{Verify: &VerifyConfig{}, Service: "wiki"}
	if err := h.setup(app); err != nil {
		t.Fatal(err)
	}
	optional := &Handler{Verify: &VerifyConfig{}, Optional: true}
	if err := optional.setup(app); err != nil {
		t.Fatal(err)
	}
	issue := func(cav ...tokens.Caveat) string {
		tok, err := app.service().IssueTemporary(t.Context(), "alice", tokens.Access,
			append([]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}}, cav...))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	plain := issue()
	readonly := issue(tokens.Caveat{Type: tokens.CaveatReadonly})
	grafana := issue(tokens.Caveat{Type: tokens.CaveatService, Whitelist: []string{"grafana"}})
	for _, tc := range []struct {
		name   string
		h      *Handler
		token  string
		method string // the original request's
		status int
		id     string // X-Auth-User-Id of a 200; the Onezone error id otherwise
	}{
		{"valid token", h, plain, http.MethodPost, http.StatusOK, "alice"},
		{"no token", h, "", http.MethodGet, http.StatusUnauthorized, "unauthorized"},
		{"bad token", h, "garbage", http.MethodGet, http.StatusUnauthorized, "unauthorized"},
		{"read-only token, GET", h, readonly, http.MethodGet, http.StatusOK, "alice"},
		{"read-only token, POST", h, readonly, http.MethodPost, http.StatusUnauthorized, "unauthorized"},
		{"another service's token", h, grafana, http.MethodGet, http.StatusUnauthorized, "unauthorized"},
		{"optional, no token", optional, "", http.MethodPost, http.StatusOK, ""},
		{"optional, bad token", optional, "garbage", http.MethodGet, http.StatusUnauthorized, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gateRequest(tc.token)
			if tc.token == "" {
				r.Header.Del("X-Auth-Token")
			}
			r.Header.Set("X-Forwarded-Method", tc.method)
			r.Header.Set("X-Forwarded-Uri", "/page")
			r.Header.Set("X-Auth-User-Id", "mallory")
			w, seen := serveGate(t, tc.h, r)
			if seen != nil {
				t.Fatal("the verify endpoint handed the request on")
			}
			if w.Code != tc.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.status == http.StatusOK {
				if got := w.Header().Values(headerID); tc.id == "" && len(got) != 0 || tc.id != "" && (len(got) != 1 || got[0] != tc.id) {
					t.Errorf("X-Auth-User-Id %q, want %q", got, tc.id)
				}
				if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", cc)
				}
				return
			}
			var body struct{ Error struct{ ID string } }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.ID != tc.id {
				t.Errorf("body %s, want Onezone error %s", w.Body, tc.id)
			}
		})
	}
}

// TestOptionalGate: without a token the request passes with no identity
// and every client-sent identity header gone; with one, as a gate.
func TestOptionalGate(t *testing.T) {
	app := newTestApp(t)
	h := &Handler{Optional: true}
	if err := h.setup(app); err != nil {
		t.Fatal(err)
	}
	tok, err := app.service().IssueTemporary(t.Context(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		status      int    // 0: passed
		id          string // the identity the next handler sees
	}{
		{"anonymous", "", 0, ""},
		{"valid token", tok, 0, "alice"},
		{"bad token", "garbage", http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gateRequest(tc.token)
			if tc.token == "" {
				r.Header.Del("X-Auth-Token")
			}
			r.Header["X-Auth-User-Id"] = []string{"admin"}
			r.Header["X_Auth_User_Id"] = []string{"admin"}
			r.Header["x-auth-user-role"] = []string{"admin"}
			r.Header.Set(consumerTokenHeader, "other")
			w, seen := serveGate(t, h, r)
			if tc.status != 0 {
				if seen != nil || w.Code != tc.status {
					t.Fatalf("got %d (passed: %v), want %d", w.Code, seen != nil, tc.status)
				}
				return
			}
			if seen == nil {
				t.Fatalf("refused: %d %s", w.Code, w.Body)
			}
			for k, v := range seen.Header {
				if isIdentityHeader(k) && !(k == headerID && len(v) == 1 && v[0] == tc.id) && (k != headerEmail && k != headerName && k != headerRole || tc.id == "") {
					t.Errorf("next handler saw %s: %q", k, v)
				}
			}
			if got := seen.Header.Get(headerID); got != tc.id {
				t.Errorf("identity %q, want %q", got, tc.id)
			}
			if seen.Header.Get(consumerTokenHeader) != "" {
				t.Error("the consumer token went on")
			}
		})
	}
}

// TestVerifyQueryToken: a query token source reads the original URI's
// query, never the subrequest's own.
func TestVerifyQueryToken(t *testing.T) {
	app := newTestApp(t)
	h := &Handler{Verify: &VerifyConfig{}, TokenSources: []string{"query:access_token"}}
	if err := h.setup(app); err != nil {
		t.Fatal(err)
	}
	tok, err := app.service().IssueTemporary(t.Context(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, target, uri string
		status            int
	}{
		{"in the original URI", "/_tg", "/page?a=1&access_token=" + tok, http.StatusOK},
		{"in the subrequest's URI", "/_tg?access_token=" + tok, "/page?a=1", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gateRequest("")
			r.Header.Del("X-Auth-Token")
			r.URL.Path, r.URL.RawQuery, _ = strings.Cut(tc.target, "?")
			r.Header.Set("X-Forwarded-Method", http.MethodGet)
			r.Header.Set("X-Forwarded-Uri", tc.uri)
			w, _ := serveGate(t, h, r)
			if w.Code != tc.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.status == http.StatusOK && w.Header().Get(headerID) != "alice" {
				t.Errorf("X-Auth-User-Id %q, want alice", w.Header().Get(headerID))
			}
		})
	}
}
