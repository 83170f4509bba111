package caller_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/api/caller"
)

func TestFromOtherSite(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want bool
	}{
		{"no browser headers (curl, an API client)", nil, false},
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"Sec-Fetch-Site same-origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.test"}, false},
		{"Sec-Fetch-Site same-site (a sibling subdomain)", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"Sec-Fetch-Site none (typed in the address bar)", map[string]string{"Sec-Fetch-Site": "none"}, false},
		{"Origin of another site", map[string]string{"Origin": "http://evil.test"}, true},
		{"Origin of this site", map[string]string{"Origin": "http://app.test"}, false},
		{"no Fetch metadata (plain HTTP), Referer of another site", map[string]string{"Referer": "http://evil.test/page"}, true},
		{"Referer of this site", map[string]string{"Referer": "http://app.test/account"}, false},
		{"Origin null, no Referer", map[string]string{"Origin": "null"}, false},
		{"Origin null, Referer of another site", map[string]string{"Origin": "null", "Referer": "http://evil.test/"}, true},
	} {
		r := httptest.NewRequest("GET", "http://app.test/auth/reset/validate?token=x", nil)
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if got := caller.FromOtherSite(r); got != tc.want {
			t.Errorf("%s: FromOtherSite = %v, want %v", tc.name, got, tc.want)
		}
	}
}
