package caddymodule

import (
	"net/http"
	"testing"
)

func TestStripConnectionTokens(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string // "" for no Connection header left
	}{
		{[]string{"keep-alive"}, "keep-alive"},
		{[]string{"keep-alive, X-Auth-User-Id"}, "keep-alive"},
		{[]string{"X_Auth_User_Role", "Upgrade, x-auth-user-email"}, "Upgrade"},
		{[]string{"X-Auth-User-Id"}, ""},
		{nil, ""},
	} {
		h := http.Header{}
		for _, v := range tc.in {
			h.Add("Connection", v)
		}
		stripConnectionTokens(h)
		if got := h.Get("Connection"); got != tc.want || len(h.Values("Connection")) > 1 {
			t.Errorf("Connection %q → %q, want %q", tc.in, h.Values("Connection"), tc.want)
		}
	}
}
