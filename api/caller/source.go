package caller

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ErrBadSource: a token source is none of the four forms.
var ErrBadSource = errors.New("want header:<name>, bearer, cookie:<name> or query:<name>")

// Kind is where a Source looks for a token.
type Kind uint8

// The kinds of source.
const (
	Header Kind = iota + 1 // a request header
	Bearer                 // Authorization: Bearer <token>
	Cookie                 // a cookie
	Query                  // a query parameter
)

// Source is one place a token is looked for.
type Source struct {
	Kind Kind
	// Name is the header name (canonical), the cookie name or the query
	// parameter name; "" for Bearer.
	Name string
}

// Sources are token sources in the order they are tried.
type Sources []Source

// DefaultSources are Onezone's, in its order: x-auth-token, then
// Authorization: Bearer, then the deprecated macaroon header, which
// Onezone still accepts and older clients still send.
func DefaultSources() Sources {
	return Sources{{Kind: Header, Name: "X-Auth-Token"}, {Kind: Bearer}, {Kind: Header, Name: "Macaroon"}}
}

// DefaultSourceSpecs are DefaultSources as a config spells them.
func DefaultSourceSpecs() []string {
	return []string{"header:X-Auth-Token", "bearer", "header:Macaroon"}
}

// ParseSource parses "header:<name>", "bearer", "cookie:<name>" or
// "query:<name>".
func ParseSource(s string) (Source, error) {
	kind, name, _ := strings.Cut(s, ":")
	switch {
	case kind == "bearer" && name == "":
		return Source{Kind: Bearer}, nil
	case kind == "header" && name != "":
		return Source{Kind: Header, Name: http.CanonicalHeaderKey(name)}, nil
	case kind == "cookie" && name != "":
		return Source{Kind: Cookie, Name: name}, nil
	case kind == "query" && name != "":
		return Source{Kind: Query, Name: name}, nil
	}
	return Source{}, fmt.Errorf("%q: %w", s, ErrBadSource)
}

// ParseSources parses each of list with ParseSource; an empty list is
// DefaultSources.
func ParseSources(list []string) (Sources, error) {
	if len(list) == 0 {
		return DefaultSources(), nil
	}
	ss := make(Sources, len(list))
	for i, s := range list {
		var err error
		if ss[i], err = ParseSource(s); err != nil {
			return nil, fmt.Errorf("token_sources[%d]: %w", i, err)
		}
	}
	return ss, nil
}

// Find returns the first token found and the source that held it, or ""
// and nil. It allocates nothing unless a query or cookie source is tried.
func (ss Sources) Find(r *http.Request) (string, *Source) {
	for i := range ss {
		if t := ss[i].Get(r); t != "" {
			return t, &ss[i]
		}
	}
	return "", nil
}

// Get returns the token the source holds in r, or "".
func (s *Source) Get(r *http.Request) string {
	switch s.Kind {
	case Header:
		return first(r.Header[s.Name])
	case Bearer:
		if t, ok := cutPrefixFold(first(r.Header["Authorization"]), "Bearer "); ok {
			return t
		}
	case Cookie:
		if c, err := r.Cookie(s.Name); err == nil {
			return c.Value
		}
	case Query:
		if strings.Contains(r.URL.RawQuery, s.Name) {
			return r.URL.Query().Get(s.Name)
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

// Remove takes the token out of the request before it goes on, unless it
// is to be forwarded. A query parameter always goes: URIs end up in logs
// and Referer headers.
func (s *Source) Remove(r *http.Request, forward bool) {
	switch {
	case s.Kind == Query:
		r.URL.RawQuery = DropQueryParam(r.URL.RawQuery, s.Name)
		r.RequestURI = r.URL.RequestURI()
	case forward:
	case s.Kind == Header:
		delete(r.Header, s.Name)
	case s.Kind == Bearer:
		delete(r.Header, "Authorization")
	case s.Kind == Cookie:
		RemoveCookie(r, s.Name)
	}
}

// DropQueryParam removes every name=value pair for name from a raw query
// and leaves the rest byte for byte: re-encoding would reorder parameters
// and change their escaping under the upstream's feet.
func DropQueryParam(raw, name string) string {
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

// RemoveCookie drops every cookie called name from the request's Cookie
// headers. A header that holds none is kept byte for byte, and so is each
// other cookie of one that does: re-parsing and re-encoding would lose
// cookies Go's parser does not accept (PHP's a[b]=1, values with '\\').
// Names are compared trimmed of spaces and tabs, as net/http reads them,
// so that no spelling the gate accepts reaches the upstream.
func RemoveCookie(r *http.Request, name string) {
	vals := r.Header["Cookie"]
	if !slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(v, name) }) {
		return // the usual case on the hot path: nothing to rewrite
	}
	kept := make([]string, 0, len(vals))
	for _, line := range vals {
		var parts []string
		dropped := false
		for _, part := range strings.Split(line, ";") {
			part = strings.Trim(part, " \t")
			k, _, _ := strings.Cut(part, "=")
			switch {
			case strings.Trim(k, " \t") == name:
				dropped = true
			case part != "":
				parts = append(parts, part)
			}
		}
		switch {
		case !dropped:
			kept = append(kept, line)
		case len(parts) > 0:
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	if len(kept) == 0 {
		delete(r.Header, "Cookie")
		return
	}
	r.Header["Cookie"] = kept
}
