package caddymodule

import "testing"

// TestSiteService: a site's default service is its first host name,
// unless that names no one service.
func TestSiteService(t *testing.T) {
	for _, tc := range []struct{ hosts, want string }{
		{"wiki.example.com www.example.com", "wiki.example.com"},
		{"wiki.example.com", "wiki.example.com"},
		{"127.0.0.1", "127.0.0.1"},
		{"", ""},
		{"*.example.com wiki.example.com", ""},
		{"{env.HOST}", ""},
	} {
		if got := siteService(tc.hosts); got != tc.want {
			t.Errorf("siteService(%q) = %q, want %q", tc.hosts, got, tc.want)
		}
	}
}
