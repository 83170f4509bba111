package caller_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tokengate/tokengate/api/caller"
)

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want caller.Source
		err  bool
	}{
		{"bearer", caller.Source{Kind: caller.Bearer}, false},
		{"header:x-api-token", caller.Source{Kind: caller.Header, Name: "X-Api-Token"}, false},
		{"cookie:tg", caller.Source{Kind: caller.Cookie, Name: "tg"}, false},
		{"query:access_token", caller.Source{Kind: caller.Query, Name: "access_token"}, false},
		{"bearer:x", caller.Source{}, true},
		{"header", caller.Source{}, true},
		{"header:", caller.Source{}, true},
		{"cookie", caller.Source{}, true},
		{"query:", caller.Source{}, true},
		{"carrier:pigeon", caller.Source{}, true},
		{"", caller.Source{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := caller.ParseSource(tc.in)
			if tc.err != (err != nil) || got != tc.want {
				t.Fatalf("ParseSource(%q) = %+v, %v", tc.in, got, err)
			}
			if err != nil && !errors.Is(err, caller.ErrBadSource) {
				t.Errorf("error %v is not ErrBadSource", err)
			}
		})
	}
	if got, err := caller.ParseSources(nil); err != nil || !slices.Equal(got, caller.DefaultSources()) {
		t.Errorf("ParseSources(nil) = %v, %v; want the defaults", got, err)
	}
	if _, err := caller.ParseSources([]string{"bearer", "nope"}); err == nil || !errors.Is(err, caller.ErrBadSource) {
		t.Errorf("ParseSources with a bad entry: %v", err)
	}
}

// TestSources: which source finds which token, and what is left of the
// request once the token is removed.
func TestSources(t *testing.T) {
	parse := func(list ...string) caller.Sources {
		ss, err := caller.ParseSources(list)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	type want struct {
		token string
		kind  caller.Kind // of the source that held it; 0: none
	}
	for _, tc := range []struct {
		name    string
		sources caller.Sources
		target  string
		hdr     http.Header
		want    want
		forward bool
		// What the request holds after Remove.
		query  string
		header http.Header
	}{
		{name: "default: x-auth-token", sources: parse(), target: "/", hdr: http.Header{"X-Auth-Token": {"t1"}},
			want: want{"t1", caller.Header}, header: http.Header{}},
		{name: "default: bearer", sources: parse(), target: "/", hdr: http.Header{"Authorization": {"bearer  t2 "}},
			want: want{"t2", caller.Bearer}, header: http.Header{}},
		{name: "default: x-auth-token first", sources: parse(), target: "/", hdr: http.Header{"X-Auth-Token": {"t1"}, "Authorization": {"Bearer t2"}},
			want: want{"t1", caller.Header}, header: http.Header{"Authorization": {"Bearer t2"}}},
		{name: "default: basic is no token", sources: parse(), target: "/", hdr: http.Header{"Authorization": {"Basic YTpi"}},
			want: want{}, header: http.Header{"Authorization": {"Basic YTpi"}}},
		{name: "default: bearer without token", sources: parse(), target: "/", hdr: http.Header{"Authorization": {"Bearer "}},
			want: want{}, header: http.Header{"Authorization": {"Bearer "}}},
		{name: "default: cookies do not count", sources: parse(), target: "/?x=1", hdr: http.Header{"Cookie": {"tg=t3"}},
			want: want{}, query: "x=1", header: http.Header{"Cookie": {"tg=t3"}}},
		{name: "header", sources: parse("header:x-api-token"), target: "/", hdr: http.Header{"X-Api-Token": {"t4"}, "X-Auth-Token": {"t1"}},
			want: want{"t4", caller.Header}, header: http.Header{"X-Auth-Token": {"t1"}}},
		{name: "header forwarded", sources: parse("header:x-api-token"), target: "/", hdr: http.Header{"X-Api-Token": {"t4"}},
			want: want{"t4", caller.Header}, forward: true, header: http.Header{"X-Api-Token": {"t4"}}},
		{name: "cookie", sources: parse("cookie:tg"), target: "/", hdr: http.Header{"Cookie": {"a=1; tg=t5; b=2"}},
			want: want{"t5", caller.Cookie}, header: http.Header{"Cookie": {"a=1; b=2"}}},
		{name: "cookie forwarded", sources: parse("cookie:tg"), target: "/", hdr: http.Header{"Cookie": {"a=1; tg=t5"}},
			want: want{"t5", caller.Cookie}, forward: true, header: http.Header{"Cookie": {"a=1; tg=t5"}}},
		{name: "cookie of another name", sources: parse("cookie:tg"), target: "/", hdr: http.Header{"Cookie": {"tgx=t5"}},
			want: want{}, header: http.Header{"Cookie": {"tgx=t5"}}},
		{name: "query", sources: parse("query:access_token"), target: "/p?z=9&access_token=t6&a=1", hdr: http.Header{},
			want: want{"t6", caller.Query}, query: "z=9&a=1", header: http.Header{}},
		{name: "query goes even when forwarded", sources: parse("query:access_token"), target: "/p?access_token=t6&b=x%20y", hdr: http.Header{},
			want: want{"t6", caller.Query}, forward: true, query: "b=x%20y", header: http.Header{}},
		{name: "query of another name", sources: parse("query:access_token"), target: "/p?my_access_token=t6", hdr: http.Header{},
			want: want{}, query: "my_access_token=t6", header: http.Header{}},
		{name: "in order", sources: parse("cookie:tg", "bearer"), target: "/", hdr: http.Header{"Authorization": {"Bearer t2"}, "Cookie": {"tg=t5"}},
			want: want{"t5", caller.Cookie}, header: http.Header{"Authorization": {"Bearer t2"}}},
		{name: "the next when the first is absent", sources: parse("cookie:tg", "bearer"), target: "/", hdr: http.Header{"Authorization": {"Bearer t2"}},
			want: want{"t2", caller.Bearer}, header: http.Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			r.Header = tc.hdr
			tok, src := tc.sources.Find(r)
			var kind caller.Kind
			if src != nil {
				kind = src.Kind
			}
			if (want{tok, kind}) != tc.want {
				t.Fatalf("Find = %q from kind %d, want %+v", tok, kind, tc.want)
			}
			if src == nil {
				return
			}
			src.Remove(r, tc.forward)
			if r.URL.RawQuery != tc.query || r.RequestURI != r.URL.RequestURI() {
				t.Errorf("query %q (RequestURI %q), want %q", r.URL.RawQuery, r.RequestURI, tc.query)
			}
			if len(r.Header) != len(tc.header) {
				t.Errorf("headers %v, want %v", r.Header, tc.header)
			}
			for k, v := range tc.header {
				if !slices.Equal(r.Header[k], v) {
					t.Errorf("%s: %q, want %q", k, r.Header[k], v)
				}
			}
		})
	}
}

func TestDropQueryParam(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"z=9&access_token=TOK&a=1", "z=9&a=1"},
		{"access_token=TOK&b=x%20y", "b=x%20y"},
		{"flag&access_token=TOK", "flag"},
		{"a=1;b=2&access_token=TOK", "a=1;b=2"},
		{"a=1&a=0&access_token=TOK&a=2&access_token=x", "a=1&a=0&a=2"},
		{"access%5Ftoken=TOK&a=1", "a=1"},
		{"access_token", ""},
	} {
		if got := caller.DropQueryParam(tc.in, "access_token"); got != tc.want {
			t.Errorf("DropQueryParam(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRemoveCookie(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string // nil: no Cookie header left
	}{
		{"between others", []string{"a=1; tg=secret; b=2"}, []string{"a=1; b=2"}},
		{"others Go does not parse", []string{"a[b]=1; tg=secret; c=x\\y"}, []string{"a[b]=1; c=x\\y"}},
		{"alone", []string{"tg=secret"}, nil},
		{"absent", []string{"a=1"}, []string{"a=1"}},
		{"a longer name", []string{"tgx=keep; a=1"}, []string{"tgx=keep; a=1"}},
		{"the name as a value", []string{"a=tg; b=tg=1"}, []string{"a=tg; b=tg=1"}},
		// net/http trims the name, so the gate accepts all of these.
		{"a space before =", []string{"a=1; tg =secret; b=2"}, []string{"a=1; b=2"}},
		{"spaces around the name", []string{"a=1;  tg  =secret"}, []string{"a=1"}},
		{"a tab before =", []string{"tg\t=secret;b=2"}, []string{"b=2"}},
		{"every copy", []string{"tg=1; a=1; tg =2"}, []string{"a=1"}},
		{"several Cookie headers", []string{"a=1", "tg=secret; b=2", "c=3; tg =x", "tg=y"}, []string{"a=1", "b=2", "c=3"}},
		{"other headers byte for byte", []string{"a=1;b=2", "x=\"q r\";tg=s;  y=%20", "z = 1"},
			[]string{"a=1;b=2", "x=\"q r\"; y=%20", "z = 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header["Cookie"] = slices.Clone(tc.in)
			caller.RemoveCookie(r, "tg")
			if got := r.Header["Cookie"]; !slices.Equal(got, tc.want) {
				t.Errorf("Cookie %q → %q, want %q", tc.in, got, tc.want)
			}
			if c, err := r.Cookie("tg"); err == nil {
				t.Errorf("net/http still reads tg=%q", c.Value)
			}
		})
	}
}

func TestDefaultSourceSpecs(t *testing.T) {
	got, err := caller.ParseSources(caller.DefaultSourceSpecs())
	if err != nil || !slices.Equal(got, caller.DefaultSources()) {
		t.Fatalf("DefaultSourceSpecs parse to %v, %v; want DefaultSources", got, err)
	}
}
