package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/auth"
)

// Identity headers for the upstream, and the placeholders Caddy's own
// authentication handler uses.
const (
	headerID    = "X-Auth-User-Id"
	headerEmail = "X-Auth-User-Email"
	headerName  = "X-Auth-User-Name"
	headerRole  = "X-Auth-User-Role"
)

// setIdentity removes every client-supplied identity header, then sets
// the verified ones and the placeholders.
func setIdentity(r *http.Request, id *auth.Identity) {
	stripIdentityHeaders(r.Header)
	set := func(k, v string) {
		if v != "" {
			r.Header[k] = []string{v}
		}
	}
	set(headerID, id.ID)
	set(headerEmail, id.Email)
	set(headerName, id.Name)
	set(headerRole, id.Role)
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Set("http.auth.user.id", id.ID)
	repl.Set("http.auth.user.email", id.Email)
	repl.Set("http.auth.user.name", id.Name)
	repl.Set("http.auth.user.role", id.Role)
}

// stripIdentityHeaders deletes every header that some upstream stack
// could read as one of ours: any case, '_' for '-' (net/http leaves names
// with underscores uncanonicalized, and CGI-style stacks fold them
// together; see GHSA-vjrc-mh2v-45x6 and GHSA-7r4p-vjf4-gxv4).
func stripIdentityHeaders(h http.Header) {
	for k := range h {
		if isIdentityHeader(k) {
			delete(h, k)
		}
	}
}

func isIdentityHeader(k string) bool {
	const prefix = "x-auth-user"
	if len(k) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := k[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
