package pages_test

import (
	"testing"

	"github.com/tokengate/tokengate/pages"
)

func TestSafeRedirect(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"path", "/app/page", "/app/page"},
		{"path and query", "/app?x=1&next=http://a.example/", "/app?x=1&next=http://a.example/"},
		{"root", "/", "/"},
		{"encoded space", "/a%20b", "/a%20b"},
		{"empty", "", "/"},
		{"relative", "app", "/"},
		{"protocol-relative", "//evil.example", "/"},
		{"backslash", `/\evil.example`, "/"},
		{"backslashes", `\\evil.example`, "/"},
		{"absolute", "https://evil.example/", "/"},
		{"absolute without slashes", "https:evil.example", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"encoded slashes", "/%2F%2Fevil.example", "/"},
		{"encoded slash after slash", "/%2Fevil.example", "/"},
		{"encoded backslash", "/%5Cevil.example", "/"},
		{"tab", "/\t/evil.example", "/"},
		{"newline", "/\n/evil.example", "/"},
		{"carriage return", "/\r\nLocation: x", "/"},
		{"encoded newline", "/a%0d%0aSet-Cookie:x", "/"},
		{"nul", "/a\x00", "/"},
		{"del", "/a\x7f", "/"},
		{"double slash later", "/a//evil.example", "/"},
		{"dot segments", "/..//evil.example", "/"},
		{"user info", "/@evil.example", "/@evil.example"},
		{"bad escape", "/%zz", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pages.SafeRedirect(tc.in); got != tc.want {
				t.Errorf("SafeRedirect(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPrefersHTML(t *testing.T) {
	for _, tc := range []struct {
		name, accept string
		want         bool
	}{
		{"chromium navigation", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", true},
		{"firefox navigation", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"html only", "text/html", true},
		{"case and spaces", " Text/HTML ; Q=1 , application/json ; q=0.5", true},
		{"none", "", false},
		{"anything", "*/*", false},
		{"curl", "*/*", false},
		{"json", "application/json", false},
		{"json preferred", "application/json, text/html;q=0.9", false},
		{"html preferred", "application/json;q=0.9, text/html", true},
		{"equal", "text/html, application/json", false},
		{"html refused", "text/html;q=0, */*", false},
		{"json refused, html later", "application/json;q=0, text/html;q=0.1", true},
		{"application wildcard", "application/*, text/html;q=0.5", false},
		{"specific json beats wildcard", "*/*;q=1, application/json;q=0.1, text/html;q=0.5", true},
		{"malformed q", "text/html;q=abc, */*;q=0.1", false},
		{"q out of range", "text/html;q=2", false},
		{"text wildcard", "text/*", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pages.PrefersHTML(tc.accept); got != tc.want {
				t.Errorf("PrefersHTML(%q) = %v, want %v", tc.accept, got, tc.want)
			}
		})
	}
}
