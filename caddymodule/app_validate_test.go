package caddymodule

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// TestAppValidate: every duration of a JSON config is positive and at
// most auth.MaxTTL, and one past what time.Duration holds is refused
// when the config is decoded (issue 14, finding 1); a declared user's
// hash is within auth's bounds (finding 2).
func TestAppValidate(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         string // substring of the error; "" for none
	}{
		{"defaults", `{}`, ""},
		{"a century", `{"temporary_max_ttl":"876000h","session_ttl":"36500d"}`, ""},
		{"longest time.Duration", `{"temporary_max_ttl":9223372036854775807}`, "temporary_max_ttl must be at most 876000h0m0s"},
		{"a century and an hour", `{"session_ttl":"876001h"}`, "session_ttl must be at most"},
		{"past time.Duration, as a string", `{"temporary_max_ttl":"99999999999h"}`, "invalid duration"},
		{"past time.Duration, in days", `{"reset_token_ttl":"1e300d"}`, "in duration"},
		{"past int64", `{"failure_window":9223372036854775808}`, "cannot unmarshal"},
		{"negative", `{"max_staleness":-1}`, "max_staleness must be positive"},
		{"negative handoff", `{"authentication_token_ttl":"-1s"}`, "authentication_token_ttl must be positive"},
		{"cookie domain", `{"session_cookie_domain":"sso.localhost"}`, ""},
		{"cookie domain, deeper", `{"session_cookie_domain":"apps.corp-1.example.com"}`, ""},
		{"cookie domain, one label", `{"session_cookie_domain":"localhost"}`, "session_cookie_domain \"localhost\": want"},
		{"cookie domain, leading dot", `{"session_cookie_domain":".example.com"}`, "without a leading dot"},
		{"cookie domain, upper case", `{"session_cookie_domain":"Example.com"}`, "lower-case"},
		{"cookie domain, port", `{"session_cookie_domain":"example.com:443"}`, "session_cookie_domain"},
		{"cookie domain, wildcard", `{"session_cookie_domain":"*.example.com"}`, "session_cookie_domain"},
		{"cookie domain, IP address", `{"session_cookie_domain":"127.0.0.1"}`, "not an IP address"},
		// Issue 14, finding 2.
		{"costly hash", `{"users":[{"id":"alice","password":"$argon2id$v=19$m=47104,t=11,p=1$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw"}]}`,
			"users[0]: user alice: password hash costs too much to check: argon2id m=47104,t=11,p=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := provisionJSON(t, tc.config)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// provisionJSON decodes, provisions and validates an app from JSON, as
// Caddy does when it loads a config.
func provisionJSON(t *testing.T, config string) error {
	t.Helper()
	var app App
	if err := json.Unmarshal([]byte(config), &app); err != nil {
		return err
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := app.Provision(ctx); err != nil {
		return err
	}
	defer app.Cleanup()
	return app.Validate()
}
