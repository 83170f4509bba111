package caller

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets of the parsers here that read what a client sends: the
// Basic Authorization header, and the cookie and query parameter a
// token is taken out of before the request goes upstream. Their seeds
// run with every go test.

// headerSafe reports whether s can arrive as a header value at all:
// net/http and HTTP/2 refuse control characters other than tab.
func headerSafe(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
}

// FuzzBasic: basic finds credentials exactly when the header starts
// with "Basic " in any case; decodable ones are split at the first
// colon and nothing is lost; undecodable ones are present but empty.
// Credentials encoded by a client come back as they were.
func FuzzBasic(f *testing.F) {
	for _, s := range []struct{ header, user, pass string }{
		{"Basic YWxpY2U6c2VjcmV0", "alice", "secret"},
		{"basic   YWxpY2U6c2VjcmV0  ", "alice", "pass:with:colons"},
		{"BASIC YWxpY2U=", "", ""},
		{"Basic !!!", "Zoë", "pässwörd"},
		{"Basic ", "a", ""},
		{"Basic", "", "x"},
		{"Bearer abc", "user:with:colon", "p"},
		{"Basic YTpi\r\nYw==", "\x00", "\xff"},
	} {
		f.Add(s.header, s.user, s.pass)
	}
	f.Fuzz(func(t *testing.T, header, user, pass string) {
		r := &http.Request{Header: http.Header{"Authorization": {header}}}
		u, p, ok := basic(r)
		if want := len(header) > 6 && strings.EqualFold(header[:6], "Basic "); ok != want {
			t.Fatalf("%q: found %v", header, ok)
		}
		if ok {
			dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header[6:]))
			switch {
			case err != nil && (u != "" || p != ""):
				t.Fatalf("%q: undecodable, yet %q:%q", header, u, p)
			case err == nil && strings.Contains(string(dec), ":") && u+":"+p != string(dec):
				t.Fatalf("%q: %q read as %q:%q", header, dec, u, p)
			case err == nil && !strings.Contains(string(dec), ":") && (u != string(dec) || p != ""):
				t.Fatalf("%q: %q read as %q:%q", header, dec, u, p)
			}
		}
		if strings.Contains(user, ":") {
			return // a user name with a colon cannot be sent
		}
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		if u, p, ok := basic(r); !ok || u != user || p != pass {
			t.Fatalf("%q:%q came back as %q:%q (%v)", user, pass, u, p, ok)
		}
	})
}

// FuzzTokenRemoval: once a token source has removed its cookie or query
// parameter, no spelling of it that net/http reads reaches the upstream,
// and everything else of the header or query does, unchanged.
func FuzzTokenRemoval(f *testing.F) {
	for _, s := range []struct{ cookie, query, name string }{
		{"tg=abc; other=1", "access_token=abc&x=1", "tg"},
		{" tg =abc;tg=def;\ttg\t=ghi", "access_token=a&access_token=b", "access_token"},
		{`a[b]=1; v="q;uoted"; tg=x`, "access%5Ftoken=x&y=%zz&z;w=1", "access_token"},
		{"tg", "access_token&access_token=", "tg"},
		{";;; ; tg=1 ;", "&&=&", ""},
		{"tg=1", "x=1", "t g"},
	} {
		f.Add(s.cookie, s.query, s.name)
	}
	f.Fuzz(func(t *testing.T, cookie, query, name string) {
		if name != "" && headerSafe(cookie) {
			r := &http.Request{Header: http.Header{"Cookie": {cookie}}}
			before := r.Cookies()
			RemoveCookie(r, name)
			if c, err := r.Cookie(name); err == nil {
				t.Fatalf("%q: cookie %q still there: %q", cookie, name, c.Value)
			}
			after := r.Cookies()
			for _, c := range before {
				if c.Name != name && !slices.ContainsFunc(after, func(a *http.Cookie) bool { return a.Name == c.Name && a.Value == c.Value }) {
					t.Fatalf("%q without %q lost %s=%s: %q", cookie, name, c.Name, c.Value, r.Header["Cookie"])
				}
			}
		}
		kept := DropQueryParam(query, name)
		if vs := (&url.URL{RawQuery: kept}).Query()[name]; len(vs) > 0 {
			t.Fatalf("%q without %q: %q still has %q", query, name, kept, vs)
		}
		parts := strings.Split(query, "&")
		for _, p := range strings.Split(kept, "&") {
			i := slices.Index(parts, p)
			if i < 0 && kept != "" {
				t.Fatalf("%q without %q: %q is not a part of it", query, name, p)
			}
			parts = parts[i+1:]
		}
	})
}
