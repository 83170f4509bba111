package caddymodule

import (
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/tokengate/tokengate/assertion"
	"github.com/tokengate/tokengate/auth"
)

// JWKSPath is where every tokengate handler serves the public keys of
// the assertions (public: no token needed), for upstreams to verify the
// assertion header with any JWKS client.
const JWKSPath = "/.well-known/tokengate/jwks.json"

// Assertion defaults.
const (
	defaultAssertionHeader = "X-Auth-Assertion"
)

// AssertionConfig turns on the assertion of a route: a short-lived JWT
// (sub, email, name, role, aud = the route's service, iss, iat, exp,
// jti; kid in its header) that the gate adds to every request it lets
// through, so that an upstream can verify who the caller is instead of
// trusting plain X-Auth-User-* headers that anything on the network
// path could set. Its keys are at /.well-known/tokengate/jwks.json.
type AssertionConfig struct {
	// The request header that carries it; one the client sent under that
	// name (any case, '_' for '-') is removed first. Default:
	// X-Auth-Assertion.
	Header string `json:"header,omitempty"`

	// How long an assertion is valid (never longer than the token's own
	// time caveats). One is minted per token and route and reused until
	// a quarter of its life is left. Default: 60s.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// The signature algorithm: EdDSA (Ed25519) or ES256 (ECDSA P-256),
	// for verifiers without Ed25519. Default: EdDSA.
	Algorithm string `json:"algorithm,omitempty"`
}

// provision sets the defaults and checks the config.
func (c *AssertionConfig) provision() error {
	if c.Header == "" {
		c.Header = defaultAssertionHeader
	}
	if strings.ContainsAny(c.Header, " \t:\r\n") || isIdentityHeader(c.Header) {
		return fmt.Errorf("assertion header %q: want a header name that is not an X-Auth-User-* one", c.Header)
	}
	// Canonical, so that setting it on the hot path is a map assignment.
	c.Header = textproto.CanonicalMIMEHeaderKey(c.Header)
	if c.TTL == 0 {
		c.TTL = caddy.Duration(auth.DefaultAssertionTTL)
	}
	if err := auth.CheckTTL("assertion ttl", time.Duration(c.TTL)); err != nil {
		return err
	}
	if time.Duration(c.TTL) < time.Second {
		// A JWT's times are whole seconds.
		return fmt.Errorf("assertion ttl %s: want at least 1s", time.Duration(c.TTL))
	}
	if c.Algorithm == "" {
		c.Algorithm = assertion.EdDSA
	}
	return assertion.CheckAlgorithm(c.Algorithm)
}

// sameHeaderName reports whether an upstream stack could read header a
// as b: the same name in any case, '_' for '-' (see stripHeaders).
func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := fold(a[i]), fold(b[i])
		if x != y {
			return false
		}
	}
	return true
}

func fold(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// serveJWKS answers GET and HEAD of JWKSPath with the assertion keys:
// public, cacheable for the rotation schedule's lead, so that a verifier
// that honours Cache-Control has a new key before it signs.
func (h *Handler) serveJWKS(d *doors) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		set, maxAge, err := d.auth.AssertionJWKS(r.Context(), h.app.assertionAlgorithms())
		if err != nil {
			h.logger.Warn("assertion keys unavailable", zap.Error(err))
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "assertion keys unavailable", http.StatusServiceUnavailable)
			return
		}
		hdr := w.Header()
		hdr.Set("Content-Type", "application/jwk-set+json")
		hdr.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
		hdr.Set("Content-Length", strconv.Itoa(len(set)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(set)
	}
}

// addAssertionAlgorithm records an algorithm a route of the config signs
// with: the JWKS makes a key of each before its first answer.
func (a *App) addAssertionAlgorithm(alg string) {
	if a.run == nil {
		return
	}
	a.run.servicesMu.Lock()
	defer a.run.servicesMu.Unlock()
	if !slices.Contains(a.run.algorithms, alg) {
		a.run.algorithms = append(a.run.algorithms, alg)
	}
}

func (a *App) assertionAlgorithms() []string {
	if a.run == nil {
		return nil
	}
	a.run.servicesMu.RLock()
	defer a.run.servicesMu.RUnlock()
	return a.run.algorithms
}
