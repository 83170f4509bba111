package integration

// Unleash's password-reset API (reference/seed-apis.md §3), ported from
// src/test/e2e/api/auth/reset-password-controller.e2e.test.ts and
// reset-token-service.e2e.test.ts, plus tokengate's reset links: the
// admin API, `caddy tokengate user reset-link` and the welcome link of a
// user created without a password.
//
// Setting a password through a reset hashes it at cost 14, about a second
// here, and every Basic check against it costs as much again; the tests
// keep such steps few.

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// "Can validate token for password reset": tokenUserSchema.
func TestUnleashValidate(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	c.addUser(t, "dave", "dave-pw-Old1", "Editor")
	tok, _ := c.issueReset(t, "dave")

	r := c.validateReset(t, tok, nil)
	if r.Status != http.StatusOK || r.JSON == nil {
		t.Fatalf("validate: got %s, want 200 with a JSON object", r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	isInt := func(v any) bool {
		f, ok := v.(float64)
		return ok && f == math.Trunc(f) && f > 0
	}
	if r.JSON["email"] != "dave@example.com" || r.JSON["token"] != tok || !isInt(r.JSON["id"]) ||
		r.JSON["createdBy"] != "admin-api" || r.JSON["name"] != "User dave" {
		t.Errorf("body %s: want email dave@example.com, the token echoed, an integer id, createdBy admin-api, name", r.Body)
	}
	role, _ := r.JSON["role"].(map[string]any)
	if !isInt(role["id"]) || role["type"] != "root" || role["name"] != "Editor" {
		t.Errorf("role %v: want {id: integer, type: root, name: Editor}", role)
	}

	// Validating does not use the token up.
	c.wantValid(t, tok, "dave@example.com")
	// Another user's token names that user, with a different id.
	c.addUser(t, "erin", "erin-pw-Old1", "")
	tok2, _ := c.issueReset(t, "erin")
	r2 := c.wantValid(t, tok2, "erin@example.com")
	if r2.JSON["id"] == r.JSON["id"] {
		t.Errorf("dave and erin share the id %v", r.JSON["id"])
	}
}

// "Can use token to reset password" and "Trying to reset password with
// same token twice does not work", with what a reset ends: the user's
// temporary tokens and sessions.
func TestUnleashReset(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	base := c.site(0)
	const oldPassword = "dave-pw-Old1"
	c.addUser(t, "dave", oldPassword, "Editor")
	temp := c.mintTemporary(t, base, "dave", oldPassword, 600)
	sess := c.handoffLogin(t, base, "dave", oldPassword, defaultSessionCk, defaultSessionTTL)
	c.gateAs(t, temp, "dave")
	wantGateUser(t, c.do(t, http.MethodGet, base+"/app", cookieHdr(defaultSessionCk, sess), nil), "dave")
	wantRefused(t, c.basicMint(t, "dave", newPassword), "badBasicCredentials")

	tok, _ := c.issueReset(t, "dave")
	c.wantValid(t, tok, "dave@example.com")
	c.resetWith(t, tok, newPassword, nil)

	// Every temporary token and session of the user is revoked.
	wantRefused(t, c.gate(t, temp), "tokenRevoked")
	wantRefused(t, c.do(t, http.MethodGet, base+"/app", cookieHdr(defaultSessionCk, sess), nil), "tokenRevoked")
	// The new password works; the old one does not.
	r := c.basicMint(t, "dave", newPassword)
	if r.Status != http.StatusCreated {
		t.Fatalf("Basic with the new password: got %s, want 201", r)
	}
	tok2, _ := r.JSON["token"].(string)
	c.gateAs(t, tok2, "dave")
	wantRefused(t, c.basicMint(t, "dave", oldPassword), "badBasicCredentials")

	// The token is used up: 401, not Unleash's never-reached 403.
	r = c.postReset(t, map[string]string{"token": tok, "password": "Another-pw-42"}, nil)
	wantInvalidToken(t, r)
	if m, _ := unleashDetails(r.JSON)["message"].(string); m == "" {
		t.Errorf("second reset: details[0].message empty in %s", r)
	}
	wantInvalidToken(t, c.validateReset(t, tok, nil))
}

// "Invalid token should yield 401", "Trying to change password with an
// invalid token should yield 401", and a missing token.
func TestUnleashInvalidToken(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	base := c.site(0)
	for _, tc := range []struct {
		name string
		do   func() *response
	}{
		{"validate abc123", func() *response { return c.validateReset(t, "abc123", nil) }},
		{"validate without token", func() *response { return c.do(t, http.MethodGet, base+validatePath, nil, nil) }},
		{"validate empty token", func() *response { return c.do(t, http.MethodGet, base+validatePath+"?token=", nil, nil) }},
		{"reset abc123", func() *response {
			return c.postReset(t, map[string]string{"token": "abc123", "password": newPassword}, nil)
		}},
		{"reset empty token", func() *response {
			return c.postReset(t, map[string]string{"token": "", "password": newPassword}, nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantInvalidToken(t, tc.do()) })
	}
}

// Request validation, in Unleash's order: content type, body schema,
// password, and only then the token.
func TestUnleashResetBadRequests(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	c.addUser(t, "dave", "dave-pw-Old1", "Editor")
	tok, _ := c.issueReset(t, "dave")
	ctMsg := func(ct string) string {
		return "We do not accept the content-type you provided (" + ct + "). Try using one of the content-types " +
			"we do accept instead (application/json) and make sure the body is in the corresponding format."
	}
	owasp := func(t *testing.T, r *response) {
		d := unleashDetails(r.JSON)
		v, _ := d["validationErrors"].([]any)
		if len(v) == 0 {
			t.Fatalf("details[0].validationErrors missing or empty in %s", r)
		}
		for _, e := range v {
			if s, _ := e.(string); s == "" {
				t.Errorf("validation error %v is not a non-empty string", e)
			}
		}
		if r.JSON["message"] != v[0] || d["message"] != v[0] {
			t.Errorf("message and details[0].message must be the first validation error: %s", r)
		}
	}
	withID := func(msg string) func(*testing.T, *response) {
		return func(t *testing.T, r *response) {
			if id, _ := r.JSON["id"].(string); !uuidRE.MatchString(id) {
				t.Errorf("id %q: want a UUID, in %s", id, r)
			}
			if msg != "" && (r.JSON["message"] != msg || unleashDetails(r.JSON)["message"] != msg) {
				t.Errorf("message: got %s, want %q", r.Body, msg)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		ct      *string // nil: application/json
		body    any
		status  int
		errName string
		check   func(*testing.T, *response)
	}{
		{"no password", nil, map[string]any{"token": tok}, 400, "PasswordUndefinedError", nil},
		{"empty password", nil, map[string]any{"token": tok, "password": ""}, 400, "PasswordUndefinedError", nil},
		{"invalid token, no password", nil, map[string]any{"token": "abc123"}, 400, "PasswordUndefinedError", nil},
		{"too short", nil, map[string]any{"token": tok, "password": "short"}, 400, "OwaspValidationError", owasp},
		{"one kind of character", nil, map[string]any{"token": tok, "password": "aaaaaaaaaaaaaa"}, 400, "OwaspValidationError", owasp},
		{"invalid token, weak password", nil, map[string]any{"token": "abc123", "password": "short"}, 400, "OwaspValidationError", owasp},
		{"text/plain", strPtr("text/plain"), map[string]any{"token": tok, "password": newPassword}, 415, "ContentTypeError",
			withID(ctMsg("text/plain"))},
		{"no content type", strPtr(""), map[string]any{"token": tok, "password": newPassword}, 415, "ContentTypeError",
			withID(ctMsg("you didn't provide one"))},
		{"unknown property", nil, map[string]any{"token": tok, "password": newPassword, "admin": true}, 400, "BadDataError", withID("")},
		{"no token", nil, map[string]any{"password": newPassword}, 400, "BadDataError", withID("")},
		{"not JSON", nil, "token=" + tok, 400, "BadDataError", withID("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hdr{}
			if tc.ct != nil {
				h["Content-Type"] = *tc.ct
			}
			r := c.postReset(t, tc.body, h)
			wantUnleashError(t, r, tc.status, tc.errName)
			if tc.check != nil && !t.Failed() {
				tc.check(t, r)
			}
		})
	}
	// "…without crashing the server": it still answers, and none of the
	// refused requests used the token up.
	c.wantValid(t, tok, "dave@example.com")
}

func strPtr(s string) *string { return &s }

// "changing password should expire all active tokens": a password change
// through the admin API.
func TestUnleashPasswordChangeExpiresResetToken(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"password", map[string]any{"password": "Another-pw-42"}},
		{"password_hash", map[string]any{"password_hash": hash4(t, "Another-pw-43")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "u-" + strings.ReplaceAll(tc.name, "_", "-")
			c.addUser(t, id, "first-pw-Old1", "")
			tok, _ := c.issueReset(t, id)
			c.wantValid(t, tok, id+"@example.com")
			c.adminWant(t, http.MethodPatch, "/tokengate/users/"+id, tc.body, http.StatusOK)
			wantInvalidToken(t, c.validateReset(t, tok, nil))
			wantInvalidToken(t, c.postReset(t, map[string]string{"token": tok, "password": newPassword}, nil))
		})
	}
}

// "Creating a new token should expire older tokens".
func TestUnleashNewResetTokenExpiresOlder(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	c.addUser(t, "dave", "dave-pw-Old1", "")
	c.addUser(t, "erin", "erin-pw-Old1", "")
	first, _ := c.issueReset(t, "dave")
	erins, _ := c.issueReset(t, "erin")
	c.wantValid(t, first, "dave@example.com")
	second, _ := c.issueReset(t, "dave")
	if second == first {
		t.Fatal("the second reset token equals the first")
	}
	wantInvalidToken(t, c.validateReset(t, first, nil))
	c.wantValid(t, second, "dave@example.com")
	// Only the user's own older tokens go.
	c.wantValid(t, erins, "erin@example.com")
}

// "Calling validate/reset endpoint with already existing session should
// destroy session": the caller's session ends, whoever it belongs to.
func TestUnleashResetEndsCallerSession(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	base := c.site(0)
	c.addUser(t, "carol", "carol-pw-Old1", "")
	c.addUser(t, "dave", "dave-pw-Old1", "")
	for _, tc := range []struct {
		name string
		call func(tok string, h hdr) *response
	}{
		{"validate", func(tok string, h hdr) *response {
			r := c.validateReset(t, tok, h)
			if r.Status != http.StatusOK {
				t.Fatalf("validate: got %s, want 200", r)
			}
			return r
		}},
		{"reset", func(tok string, h hdr) *response { return c.resetWith(t, tok, newPassword, h) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Carol is signed in (OpenPaaS hand-off → session cookie).
			sess := c.handoffLogin(t, base, "carol", "carol-pw-Old1", defaultSessionCk, defaultSessionTTL)
			wantGateUser(t, c.do(t, http.MethodGet, base+"/app", cookieHdr(defaultSessionCk, sess), nil), "carol")
			tok, _ := c.issueReset(t, "dave")
			r := tc.call(tok, cookieHdr(defaultSessionCk, sess))
			wantClearedCookie(t, r, defaultSessionCk)
			wantRefused(t, c.do(t, http.MethodGet, base+"/app", cookieHdr(defaultSessionCk, sess), nil), "tokenSessionInvalid")
		})
	}
}

// reset_url: the admin API, the CLI and the welcome link of a user
// created without a password build their links from it.
func TestUnleashResetLink(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	c.addUser(t, "dave", "dave-pw-Old1", "")

	tok, link := c.issueReset(t, "dave")
	if got := linkToken(t, link); got != tok {
		t.Errorf("admin API link %q carries %q, want the token %q", link, got, tok)
	}
	c.wantValid(t, tok, "dave@example.com")

	out := c.cliOK(t, "", "user", "reset-link", "dave")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("caddy tokengate user reset-link printed %q, want one line", out)
	}
	cliTok := linkToken(t, lines[0])
	c.wantValid(t, cliTok, "dave@example.com")
	// The CLI's token superseded the admin API's.
	wantInvalidToken(t, c.validateReset(t, tok, nil))
	c.cliFails(t, `user "nobody" not found`, "user", "reset-link", "nobody", "--address", c.admin)
}

// A user created without a password gets a welcome link; after setting a
// password with it, the user logs in.
func TestUnleashWelcomeLink(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	r := c.adminWant(t, http.MethodPost, "/tokengate/users",
		map[string]any{"id": "erin", "email": "erin@example.com", "role": "Editor"}, http.StatusCreated)
	tok, _ := r.JSON["reset_token"].(string)
	link, _ := r.JSON["reset_link"].(string)
	if tok == "" || link == "" {
		t.Fatalf("user created without a password: no reset_token / reset_link in %s", r)
	}
	if got := linkToken(t, link); got != tok {
		t.Errorf("reset_link %q carries %q, want reset_token %q", link, got, tok)
	}
	v := c.wantValid(t, tok, "erin@example.com")
	if role, _ := v.JSON["role"].(map[string]any); role["name"] != "Editor" {
		t.Errorf("role %v, want Editor", v.JSON["role"])
	}
	// The user cannot log in before.
	wantRefused(t, c.basicMint(t, "erin", newPassword), "badBasicCredentials")
	c.resetWith(t, tok, newPassword, nil)
	r = c.basicMint(t, "erin", newPassword)
	if r.Status != http.StatusCreated {
		t.Fatalf("Basic after setting the password with the welcome link: got %s, want 201", r)
	}
	tok2, _ := r.JSON["token"].(string)
	c.gateAs(t, tok2, "erin")
	wantInvalidToken(t, c.validateReset(t, tok, nil))
}

// reset_token_ttl: a token is refused once it expires.
func TestUnleashResetTokenExpiry(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite.withApp("reset_token_ttl 2s"))
	c.addUser(t, "dave", "dave-pw-Old1", "")
	r := c.adminWant(t, http.MethodPost, "/tokengate/users/dave/reset-token", nil, http.StatusCreated)
	tok, _ := r.JSON["token"].(string)
	expiresAt, _ := r.JSON["expires_at"].(string)
	exp, err := time.Parse(time.RFC3339Nano, expiresAt)
	if err != nil || tok == "" {
		t.Fatalf("reset token: %s (%v)", r, err)
	}
	if d := time.Until(exp); d <= 0 || d > 2*time.Second+time.Second {
		t.Errorf("expires_at %s is %s away, want about 2s", exp, d)
	}
	valid := 0
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := c.validateReset(t, tok, nil)
		now := time.Now()
		if r.Status == http.StatusOK {
			valid++
		} else {
			wantInvalidToken(t, r)
			// The store's expiry is taken just before the reported one.
			if now.Before(exp.Add(-250 * time.Millisecond)) {
				t.Errorf("refused %s before expires_at", exp.Sub(now))
			}
			break
		}
		if now.After(deadline) {
			t.Fatalf("the token still validates %s after expires_at", now.Sub(exp))
		}
		time.Sleep(pollEvery)
	}
	if valid == 0 {
		t.Fatalf("the token never validated before it expired; the machine is too slow for a 2s TTL")
	}
	wantInvalidToken(t, c.validateReset(t, tok, nil))
	wantInvalidToken(t, c.postReset(t, map[string]string{"token": tok, "password": newPassword}, nil))
}

// Unleash deletes a user's reset tokens with the user (ON DELETE
// CASCADE). A link sent to a deleted user must not work for whoever is
// later created under the same id.
func TestUnleashResetTokenDiesWithUser(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	c.addUser(t, "dave", "dave-pw-Old1", "")
	tok, _ := c.issueReset(t, "dave")
	c.adminWant(t, http.MethodDelete, "/tokengate/users/dave", nil, http.StatusNoContent)
	wantInvalidToken(t, c.validateReset(t, tok, nil))

	// A new dave, another person.
	c.addUser(t, "dave", "new-dave-pw-2", "")
	if r := c.validateReset(t, tok, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the deleted user's reset token validates for the new user under the same id: got %s, want 401", r)
	}
	wantInvalidToken(t, c.postReset(t, map[string]string{"token": tok, "password": newPassword}, nil))
	if r := c.basicMint(t, "dave", "new-dave-pw-2"); r.Status != http.StatusCreated {
		t.Errorf("the new dave's own password: got %s, want 201", r)
	}
}

// A config-managed user's password is the config's: the admin API refuses
// to change it. A reset must not change it either, only for a restart or
// reload to put the old (maybe compromised) password back silently.
// Either refusing the reset or keeping its password passes.
func TestUnleashResetOfConfigManagedUser(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	r := c.adminReq(t, http.MethodPost, "/tokengate/users/alice/reset-token", nil)
	if r.Status == http.StatusConflict {
		if !strings.Contains(adminMsg(r), managedMsg) {
			t.Errorf("refused without saying why: %s", r)
		}
		return
	}
	if r.Status != http.StatusCreated {
		t.Fatalf("reset token for config-managed alice: got %s, want 201 or 409", r)
	}
	tok, _ := r.JSON["token"].(string)
	r = c.postReset(t, map[string]string{"token": tok, "password": newPassword}, nil)
	if r.Status != http.StatusOK {
		t.Logf("the reset of a config-managed user was refused: %s", r)
		return
	}
	c.restart()
	if r := c.basicMint(t, "alice", newPassword); r.Status != http.StatusCreated {
		t.Errorf("after a restart the password alice set with a reset link no longer works (got %s); "+
			"the config's old password is back", r)
	}
	if r := c.basicMint(t, "alice", alicePassword); r.Status != http.StatusUnauthorized {
		t.Errorf("after a restart alice's password from before the reset works again: got %s, want 401", r)
	}
}

// A reset with an invalid token is answered before the new password is
// hashed: otherwise every guess costs the server a cost-14 bcrypt hash
// (about a second of CPU, holding a password_concurrency slot that Basic
// logins wait for), where Unleash checks the token first.
func TestUnleashResetChecksTokenBeforeHashing(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, resetSite)
	best := time.Hour
	for i := range 3 {
		start := time.Now()
		r := c.postReset(t, map[string]string{"token": "not-a-token-" + strconv.Itoa(i), "password": newPassword}, nil)
		best = min(best, time.Since(start))
		wantInvalidToken(t, r)
	}
	if best > 500*time.Millisecond {
		t.Errorf("a reset with an invalid token took at least %s (fastest of 3): the password is hashed before the token is checked", best)
	}
}
