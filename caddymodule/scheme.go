package caddymodule

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The values of session_cookie_secure.
const (
	secureAuto   = "auto"
	secureAlways = "always"
)

// overHTTPS reports whether r reached the site over HTTPS, by the rule
// Caddy's own cookie-setting code follows (reverse_proxy's cookie load
// balancing, reverseproxy/selectionpolicies.go): TLS terminated here, or
// a last X-Forwarded-Proto of https from a client the server's
// trusted_proxies trust. {http.request.scheme} looks at r.TLS alone.
func overHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); !trusted {
		return false
	}
	v := r.Header.Values("X-Forwarded-Proto")
	return len(v) > 0 && v[len(v)-1] == "https"
}

// secureFunc is how a handler with session_cookie_secure mode decides
// that a request came over HTTPS.
func secureFunc(mode string) (func(*http.Request) bool, error) {
	switch mode {
	case secureAuto:
		return overHTTPS, nil
	case secureAlways:
		return func(*http.Request) bool { return true }, nil
	}
	return nil, fmt.Errorf("session_cookie_secure %q: want %s or %s", mode, secureAuto, secureAlways)
}
