package caddymodule

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestOverHTTPS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tls     bool
		trusted any // the request's trusted_proxy var; nil: not set
		proto   []string
		want    bool
	}{
		{"TLS here", true, false, nil, true},
		{"plain HTTP", false, false, nil, false},
		{"trusted proxy, https", false, true, []string{"https"}, true},
		{"trusted proxy, http", false, true, []string{"http"}, false},
		{"trusted proxy, no header", false, true, nil, false},
		{"untrusted client claims https", false, false, []string{"https"}, false},
		{"no vars at all", false, nil, []string{"https"}, false},
		// As reverse_proxy reads it: the last value, whole.
		{"trusted proxy, last header wins", false, true, []string{"https", "http"}, false},
		{"trusted proxy, https last", false, true, []string{"http", "https"}, true},
		{"trusted proxy, a list", false, true, []string{"https, http"}, false},
		{"trusted proxy, upper case", false, true, []string{"HTTPS"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.trusted != nil {
				r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey,
					map[string]any{caddyhttp.TrustedProxyVarKey: tc.trusted}))
			}
			r.Header["X-Forwarded-Proto"] = tc.proto
			if got := overHTTPS(r); got != tc.want {
				t.Errorf("overHTTPS = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSecureFunc(t *testing.T) {
	plain := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	for _, tc := range []struct {
		mode    string
		want    bool // for a plain-HTTP request
		wantErr bool
	}{
		{secureAuto, false, false},
		{secureAlways, true, false},
		{"never", false, true},
		{"", false, true},
	} {
		f, err := secureFunc(tc.mode)
		if (err != nil) != tc.wantErr {
			t.Errorf("secureFunc(%q): error %v, want error %v", tc.mode, err, tc.wantErr)
			continue
		}
		if err == nil && f(plain) != tc.want {
			t.Errorf("secureFunc(%q)(plain HTTP) = %v, want %v", tc.mode, f(plain), tc.want)
		}
	}
}
