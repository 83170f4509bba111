package integration

// Helpers shared by the Unleash reset-token tests (unleash_test.go) and
// the brute-force tests (bruteforce_test.go).

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Paths of Unleash's reset endpoints.
const (
	validatePath = "/auth/reset/validate"
	resetPath    = "/auth/reset/password"
)

// newPassword is the password Unleash's e2e test resets to; it passes the
// default policy. Setting it costs a cost-14 bcrypt hash (about a second),
// and so does every Basic check against it afterwards.
const newPassword = "DtUYwi&l5I1KX4@Le"

// unleashInvalidToken is InvalidTokenError as Unleash's handleErrors
// writes it: no id.
const unleashInvalidToken = `{"name":"InvalidTokenError","message":"Token was not valid","details":[{"message":"Token was not valid"}]}`

// resetURLTemplate is the reset_url the reset sites configure.
const resetURLTemplate = "https://app.example/reset?t={token}"

// resetSite is one gated site with reset links on app.example. The
// failure budget is high: the tests present many invalid tokens on
// purpose, and budgets have tests of their own.
var resetSite = caddyfile{App: []string{"temporary_max_ttl 1h", `reset_url "` + resetURLTemplate + `"`, "failure_budget 1000"}}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// addUser creates a user through the admin API with a cost-4 hash of pw,
// e-mail <id>@example.com and the given role.
func (c *caddyProc) addUser(t *testing.T, id, pw, role string) {
	t.Helper()
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{
		"id": id, "password_hash": hash4(t, pw), "name": "User " + id, "email": id + "@example.com", "role": role,
	}, http.StatusCreated)
}

// issueReset asks the admin API for a reset token for user id and returns
// the token and its link.
func (c *caddyProc) issueReset(t *testing.T, id string) (tok, link string) {
	t.Helper()
	r := c.adminWant(t, http.MethodPost, "/tokengate/users/"+url.PathEscape(id)+"/reset-token", nil, http.StatusCreated)
	tok, _ = r.JSON["token"].(string)
	link, _ = r.JSON["link"].(string)
	if tok == "" || link == "" {
		t.Fatalf("reset token for %s: no token or link in %s", id, r)
	}
	return tok, link
}

// validateReset calls GET /auth/reset/validate?token=tok on site 0.
func (c *caddyProc) validateReset(t *testing.T, tok string, h hdr) *response {
	t.Helper()
	return c.do(t, http.MethodGet, c.site(0)+validatePath+"?token="+url.QueryEscape(tok), h, nil)
}

// postReset calls POST /auth/reset/password on site 0 with a JSON body.
func (c *caddyProc) postReset(t *testing.T, body any, h hdr) *response {
	t.Helper()
	return c.do(t, http.MethodPost, c.site(0)+resetPath, h, body)
}

// resetWith resets with tok to password and fails unless it answers 200
// with an empty body.
func (c *caddyProc) resetWith(t *testing.T, tok, password string, h hdr) *response {
	t.Helper()
	r := c.postReset(t, map[string]string{"token": tok, "password": password}, h)
	if r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Fatalf("POST %s: got %s, want 200 with an empty body", resetPath, r)
	}
	return r
}

// wantValid checks that a reset token validates for the user with e-mail.
func (c *caddyProc) wantValid(t *testing.T, tok, email string) *response {
	t.Helper()
	r := c.validateReset(t, tok, nil)
	if r.Status != http.StatusOK || r.JSON["email"] != email || r.JSON["token"] != tok {
		t.Fatalf("validate: got %s, want 200 for %s echoing the token", r, email)
	}
	return r
}

// wantInvalidToken checks Unleash's 401 InvalidTokenError, byte for byte.
func wantInvalidToken(t *testing.T, r *response) {
	t.Helper()
	if r.Status != http.StatusUnauthorized || string(bytes.TrimSpace(r.Body)) != unleashInvalidToken {
		t.Errorf("got %s, want 401 %s", r, unleashInvalidToken)
	}
}

// unleashDetails returns body.details[0], or nil.
func unleashDetails(body map[string]any) map[string]any {
	d, _ := body["details"].([]any)
	if len(d) == 0 {
		return nil
	}
	m, _ := d[0].(map[string]any)
	return m
}

// wantUnleashError checks an Unleash error: status, JSON, name, a message
// and details[0].message.
func wantUnleashError(t *testing.T, r *response, status int, name string) {
	t.Helper()
	msg, _ := r.JSON["message"].(string)
	dmsg, _ := unleashDetails(r.JSON)["message"].(string)
	if r.Status != status || r.JSON["name"] != name || msg == "" || dmsg == "" ||
		!strings.Contains(r.Header.Get("Content-Type"), "json") {
		t.Errorf("got %s (Content-Type %q), want %d %s with message and details[0].message",
			r, r.Header.Get("Content-Type"), status, name)
	}
}

// linkToken checks that link is resetURLTemplate with a token in it and
// returns the token.
func linkToken(t *testing.T, link string) string {
	t.Helper()
	prefix, _, _ := strings.Cut(resetURLTemplate, "{token}")
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, prefix) || u.Query().Get("t") == "" {
		t.Fatalf("link %q: want %s with the token", link, resetURLTemplate)
	}
	tok := u.Query().Get("t")
	if link != prefix+url.QueryEscape(tok) {
		t.Fatalf("link %q: want exactly %s%s", link, prefix, url.QueryEscape(tok))
	}
	return tok
}

// wantRetryAfter checks a 429's Retry-After: whole seconds in [1, max].
func wantRetryAfter(t *testing.T, r *response, max time.Duration) int {
	t.Helper()
	ra := r.Header.Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n < 1 || time.Duration(n)*time.Second > max {
		t.Errorf("Retry-After %q: want whole seconds in [1, %d]", ra, int(max/time.Second))
	}
	return n
}

// fromIP adds X-Forwarded-For: ip to h, which sites trusting 127.0.0.1 take
// as the client address.
func fromIP(ip string, h hdr) hdr {
	out := hdr{"X-Forwarded-For": ip}
	for k, v := range h {
		out[k] = v
	}
	return out
}
