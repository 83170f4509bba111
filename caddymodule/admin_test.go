package caddymodule

import (
	"errors"
	"strings"
	"testing"
)

func TestCLIAdminError(t *testing.T) {
	for _, tc := range []struct {
		name, err, want string
	}{
		{"api error", `caddy responded with error: HTTP 404: {"error":"user \"nobody\" not found"}` + "\n",
			`user "nobody" not found`},
		{"no tokengate routes", "caddy responded with error: HTTP 404: 404 page not found\n",
			"has no tokengate routes"},
		{"other status", "caddy responded with error: HTTP 502: bad gateway", "HTTP 502: bad gateway"},
		{"unreachable", "performing request: dial tcp 127.0.0.1:1: connect: connection refused",
			"cannot reach Caddy's admin API at localhost:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := adminCallError("localhost:1", errors.New(tc.err)).Error()
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
