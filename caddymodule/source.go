package caddymodule

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// source is one place the gate looks for a token.
type source struct {
	kind string // "header", "bearer", "cookie", "query"
	name string
}

func parseSource(s string) (source, error) {
	kind, name, _ := strings.Cut(s, ":")
	switch {
	case kind == "bearer" && name == "":
		return source{kind: kind}, nil
	case (kind == "header" || kind == "cookie" || kind == "query") && name != "":
		if kind == "header" {
			name = http.CanonicalHeaderKey(name)
		}
		return source{kind: kind, name: name}, nil
	}
	return source{}, fmt.Errorf("%q: want header:<name>, bearer, cookie:<name> or query:<name>", s)
}

func (s *source) get(r *http.Request) string {
	switch s.kind {
	case "header":
		return first(r.Header[s.name])
	case "bearer":
		a := first(r.Header["Authorization"])
		if len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
			return strings.TrimSpace(a[7:])
		}
	case "cookie":
		if c, err := r.Cookie(s.name); err == nil {
			return c.Value
		}
	case "query":
		if strings.Contains(r.URL.RawQuery, s.name) {
			return r.URL.Query().Get(s.name)
		}
	}
	return ""
}

// first is Header.Get for a name already in canonical form: on the hot
// path, without canonicalizing it again on every request.
func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// remove takes the token out of the request before it goes on, unless it
// is to be forwarded. A query parameter always goes: URIs end up in logs
// and Referer headers.
func (s *source) remove(r *http.Request, forward bool) {
	switch {
	case s.kind == "query":
		r.URL.RawQuery = dropQueryParam(r.URL.RawQuery, s.name)
		r.RequestURI = r.URL.RequestURI()
	case forward:
	case s.kind == "header":
		delete(r.Header, s.name)
	case s.kind == "bearer":
		delete(r.Header, "Authorization")
	case s.kind == "cookie":
		removeCookie(r, s.name)
	}
}

// dropQueryParam removes every name=value pair for name from a raw query
// and leaves the rest byte for byte: re-encoding would reorder parameters
// and change their escaping under the upstream's feet.
func dropQueryParam(raw, name string) string {
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}

// removeCookie drops one cookie from the request's Cookie headers,
// leaving the others byte for byte: re-parsing and re-encoding would lose
// cookies Go's parser does not accept (PHP's a[b]=1, values with '\\').
func removeCookie(r *http.Request, name string) {
	vals := r.Header["Cookie"]
	if !slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(v, name) }) {
		return // the usual case on the hot path: nothing to rewrite
	}
	kept := make([]string, 0, len(vals))
	for _, line := range vals {
		var parts []string
		for _, part := range strings.Split(line, ";") {
			k, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k != name && strings.TrimSpace(part) != "" {
				parts = append(parts, strings.TrimSpace(part))
			}
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	r.Header.Del("Cookie")
	for _, v := range kept {
		r.Header.Add("Cookie", v)
	}
}
