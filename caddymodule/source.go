package caddymodule

import (
	"fmt"
	"net/http"
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
		return r.Header.Get(s.name)
	case "bearer":
		a := r.Header.Get("Authorization")
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

// remove takes the token out of the request before it goes on, unless it
// is to be forwarded. A query parameter always goes: URIs end up in logs
// and Referer headers.
func (s *source) remove(r *http.Request, forward bool) {
	switch {
	case s.kind == "query":
		q := r.URL.Query()
		q.Del(s.name)
		r.URL.RawQuery = q.Encode()
		r.RequestURI = r.URL.RequestURI()
	case forward:
	case s.kind == "header":
		r.Header.Del(s.name)
	case s.kind == "bearer":
		r.Header.Del("Authorization")
	case s.kind == "cookie":
		removeCookie(r, s.name)
	}
}

func removeCookie(r *http.Request, name string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}
