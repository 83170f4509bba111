package caddymodule

import (
	"io"
	"net/http"
	"slices"
	"strings"

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
func setIdentity(r *http.Request, id *auth.Identity) { setIdentityAnd(r, id, "") }

// setIdentityAnd is setIdentity that also removes every client-supplied
// header named also (unless ""), the route's assertion header, in the
// same pass over the headers: the gate's hot path walks them once. also
// must be canonical, and the caller must set r.Header[also] next.
func setIdentityAnd(r *http.Request, id *auth.Identity, also string) {
	// The caller sets also, canonical, in r.Header next.
	stripHeaders(r.Header, also, true)
	stripConnectionTokens(r.Header)
	if r.Trailer != nil {
		// Declared trailers are forwarded by reverse_proxy; their values
		// arrive only when the body has been read to its end.
		stripHeaders(r.Trailer, also, false)
		r.Body = &trailerGuard{ReadCloser: r.Body, trailer: r.Trailer, also: also}
	}
	// One allocation for the four values. Each header gets its own
	// full slice (cap = len), so that an append by a later handler copies
	// instead of writing into its neighbour.
	vals := [...]string{id.ID, id.Email, id.Name, id.Role}
	backing := make([]string, len(vals))
	for i, k := range [...]string{headerID, headerEmail, headerName, headerRole} {
		if vals[i] != "" {
			backing[i] = vals[i]
			r.Header[k] = backing[i : i+1 : i+1]
		}
	}
	// A provider rather than four Sets: no boxing, no locked map writes;
	// a value is looked up only if some placeholder names it.
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Map((*placeholders)(id).replace)
}

// placeholders resolves {http.auth.user.*}, as Caddy's authentication
// handler names them.
type placeholders auth.Identity

func (p *placeholders) replace(key string) (any, bool) {
	switch key {
	case "http.auth.user.id":
		return p.ID, true
	case "http.auth.user.email":
		return p.Email, true
	case "http.auth.user.name":
		return p.Name, true
	case "http.auth.user.role":
		return p.Role, true
	}
	return nil, false
}

// stripHeaders deletes every header that some upstream stack could read
// as one of ours: any case, '_' for '-' (net/http leaves names with
// underscores uncanonicalized, and CGI-style stacks fold them together;
// see GHSA-vjrc-mh2v-45x6 and GHSA-7r4p-vjf4-gxv4); and every spelling of
// also, unless it is "": every other spelling, and also itself unless
// keep (the caller sets it next, and a map update is cheaper than a
// delete and an insert).
func stripHeaders(h http.Header, also string, keep bool) {
	for k := range h {
		if isIdentityHeader(k) || also != "" && sameHeaderName(k, also) && !(keep && k == also) {
			delete(h, k)
		}
	}
}

// stripConnectionTokens removes identity header names from Connection:
// a proxy deletes the headers Connection names, which would let a client
// delete the verified identity on its way upstream.
func stripConnectionTokens(h http.Header) {
	vals := h["Connection"]
	if !slices.ContainsFunc(vals, namesIdentityHeader) {
		return // the usual case on the hot path: nothing to rewrite
	}
	var kept []string
	for _, v := range vals {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !isIdentityHeader(tok) {
				kept = append(kept, tok)
			}
		}
	}
	h.Del("Connection")
	if len(kept) > 0 {
		h.Set("Connection", strings.Join(kept, ", "))
	}
}

// namesIdentityHeader reports, without allocating, whether a Connection
// value names an identity header.
func namesIdentityHeader(v string) bool {
	for v != "" {
		var tok string
		tok, v, _ = strings.Cut(v, ",")
		if isIdentityHeader(strings.TrimSpace(tok)) {
			return true
		}
	}
	return false
}

// trailerGuard strips identity names from the request's trailers once the
// body is read to its end, when net/http fills them in.
type trailerGuard struct {
	io.ReadCloser
	trailer http.Header
	also    string // the assertion header, or ""
}

func (g *trailerGuard) Read(p []byte) (int, error) {
	n, err := g.ReadCloser.Read(p)
	if err == io.EOF {
		stripHeaders(g.trailer, g.also, false)
	}
	return n, err
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
