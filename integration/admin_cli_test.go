package integration

// End-to-end tests of the admin API (/tokengate/ on Caddy's admin
// endpoint), the `caddy tokengate` CLI and Onezone's named-token API,
// through the built binary.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ---------------------------------------------------------------------------
// Helpers.

// adminReq sends a request to the admin endpoint.
func (c *caddyProc) adminReq(t *testing.T, method, path string, body any) *response {
	t.Helper()
	return c.do(t, method, "http://"+c.admin+path, nil, body)
}

// adminWant sends a request to the admin endpoint and checks the status.
func (c *caddyProc) adminWant(t *testing.T, method, path string, body any, status int) *response {
	t.Helper()
	r := c.adminReq(t, method, path, body)
	if r.Status != status {
		t.Fatalf("%s %s: got %s, want %d", method, path, r, status)
	}
	return r
}

// adminMsg is the message of an admin API error, {"error": "..."}.
func adminMsg(r *response) string {
	s, _ := r.JSON["error"].(string)
	return s
}

// wantAdminError checks an admin API error's status and message.
func wantAdminError(t *testing.T, r *response, status int, msgPart string) {
	t.Helper()
	if r.Status != status || !strings.Contains(adminMsg(r), msgPart) {
		t.Errorf("got %s, want %d with an error message containing %q", r, status, msgPart)
	}
}

// adminUserJSON is a user as the admin API returns it.
type adminUserJSON struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	Role          string    `json:"role"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	ConfigManaged bool      `json:"config_managed"`
	Blocked       bool      `json:"blocked"`
}

func decodeInto[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

// wantNoSecrets fails if a body carries a password, hash or secret.
func wantNoSecrets(t *testing.T, b []byte, extra ...string) {
	t.Helper()
	for _, s := range append([]string{"password", "$2a$", "$2b$", "secret"}, extra...) {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("response %s contains %q", b, s)
		}
	}
}

// hash4 returns a bcrypt cost-4 hash of pw, so that Basic authentication
// of admin-created users stays fast (the API hashes plain passwords at
// cost 14, a second each).
func hash4(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// gate sends a GET through the gated site with a token.
func (c *caddyProc) gate(t *testing.T, token string) *response {
	t.Helper()
	return c.do(t, http.MethodGet, c.site(0)+"/app", hdr{"X-Auth-Token": token}, nil)
}

// gateAs checks that a token passes the gate as user id.
func (c *caddyProc) gateAs(t *testing.T, token, id string) seen {
	t.Helper()
	s := upstreamSaw(t, c.gate(t, token))
	if got, _ := s.header("X-Auth-User-Id"); !slices.Equal(got, []string{id}) {
		t.Fatalf("upstream saw X-Auth-User-Id %q, want %q", got, id)
	}
	return s
}

// basicMint asks the Onezone API for a temporary token with Basic
// credentials and returns the response.
func (c *caddyProc) basicMint(t *testing.T, user, pass string) *response {
	t.Helper()
	return c.do(t, http.MethodPost, c.site(0)+tempPath, hdr{"Authorization": basic(user, pass)},
		map[string]any{"caveats": timeCaveats(600)})
}

// cliResult is one run of `caddy tokengate ...`.
type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout: " + r.stdout + "\nstderr: " + r.stderr
}

// tokengate runs `caddy tokengate args...` with stdin, keeping stdout and
// stderr apart. The caller adds --address or --config.
func (c *caddyProc) tokengate(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, caddyBin, append([]string{"tokengate"}, args...)...)
	cmd.Env, cmd.Dir = c.environ(), c.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		res.code = ee.ExitCode()
	default:
		t.Fatalf("running caddy tokengate %s: %v\n%s", strings.Join(args, " "), err, res)
	}
	return res
}

// cliOK runs the CLI against this Caddy's admin address (given last, after
// the positional arguments) and fails unless it succeeds quietly.
func (c *caddyProc) cliOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := c.tokengate(t, stdin, append(args, "--address", c.admin)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("caddy tokengate %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// cliFails runs the CLI and checks it fails with one line on stderr that
// contains msgPart, and prints nothing on stdout.
func (c *caddyProc) cliFails(t *testing.T, msgPart string, args ...string) {
	t.Helper()
	r := c.tokengate(t, "", args...)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code == 0 || r.stdout != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "caddy tokengate: ") ||
		!strings.Contains(lines[0], msgPart) || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("caddy tokengate %s: %s\nwant a non-zero exit and one line \"caddy tokengate: ...%s...\"",
			strings.Join(args, " "), r, msgPart)
	}
}

// tableRow returns the whitespace-separated fields of the first line of
// a table whose first field is key.
func tableRow(out, key string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	return nil
}

// showValue returns the value of a one-word key in `user show` output.
func showValue(out, key string) string {
	if f := tableRow(out, key+":"); len(f) > 1 {
		return strings.Join(f[1:], " ")
	}
	return ""
}

const managedMsg = "managed by the Caddy config"

// ---------------------------------------------------------------------------
// Admin API.

func TestAdminUsers(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)

	// The declared users, ordered by id, without their hashes.
	r := c.adminWant(t, http.MethodGet, "/tokengate/users", nil, http.StatusOK)
	wantNoSecrets(t, r.Body)
	users := decodeInto[[]adminUserJSON](t, r.Body)
	if len(users) != 2 || users[0].ID != "alice" || users[1].ID != "bob" {
		t.Fatalf("users: %s", r.Body)
	}
	if a := users[0]; a.Username != "alice" || a.Name != "Alice Example" || a.Email != "alice@example.com" ||
		a.Role != "Editor" || !a.ConfigManaged || a.Blocked || a.CreatedBy != "config" || a.CreatedAt.IsZero() {
		t.Errorf("alice: %+v", a)
	}
	raw := decodeInto[[]map[string]any](t, r.Body)
	for _, k := range []string{"id", "username", "name", "email", "role", "created_by", "created_at", "config_managed", "blocked"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("user JSON lacks %q: %s", k, r.Body)
		}
	}

	// Create with a plain password: hashed by the server, never echoed.
	r = c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{
		"id": "carol", "password": "carol-pw-91", "name": "Carol", "email": "carol@example.com", "role": "Auditor",
	}, http.StatusCreated)
	wantNoSecrets(t, r.Body, "carol-pw-91")
	carol := decodeInto[adminUserJSON](t, r.Body)
	if carol.ID != "carol" || carol.Username != "carol" || carol.CreatedBy != "admin-api" || carol.ConfigManaged ||
		carol.Role != "Auditor" || time.Since(carol.CreatedAt) > time.Minute {
		t.Errorf("created: %s", r.Body)
	}
	if loc := r.Header.Get("Location"); loc != "/tokengate/users/carol" {
		t.Errorf("Location %q", loc)
	}

	// The new user authenticates with Basic to the Onezone API.
	mint := c.basicMint(t, "carol", "carol-pw-91")
	if mint.Status != http.StatusCreated {
		t.Fatalf("carol minting with Basic: %s", mint)
	}
	tok, _ := mint.JSON["token"].(string)
	s := c.gateAs(t, tok, "carol")
	if role, _ := s.header("X-Auth-User-Role"); !slices.Equal(role, []string{"Auditor"}) {
		t.Errorf("role %q", role)
	}

	// Refusals.
	for _, tc := range []struct {
		name   string
		body   any
		ct     string
		status int
		msg    string
	}{
		{"existing id", map[string]any{"id": "carol"}, "", http.StatusConflict, `user "carol" already exists`},
		{"config id", map[string]any{"id": "alice"}, "", http.StatusConflict, "already exists"},
		{"username taken", map[string]any{"id": "dave", "username": "alice"}, "", http.StatusConflict, `username "alice" is taken`},
		{"no id", map[string]any{"name": "x"}, "", http.StatusBadRequest, "id is required"},
		{"colon", map[string]any{"id": "a:b"}, "", http.StatusBadRequest, "':'"},
		{"long id", map[string]any{"id": strings.Repeat("x", 129)}, "", http.StatusBadRequest, "at most 128"},
		{"both passwords", map[string]any{"id": "dave", "password": "p", "password_hash": hash4(t, "p")}, "", http.StatusBadRequest, "not both"},
		{"bad hash", map[string]any{"id": "dave", "password_hash": "plain"}, "", http.StatusBadRequest, "password_hash"},
		{"unknown field", map[string]any{"id": "dave", "admin": true}, "", http.StatusBadRequest, `unknown field "admin"`},
		{"content type", `{"id":"dave"}`, "text/plain", http.StatusUnsupportedMediaType, "application/json"},
		{"too large", `{"id":"` + strings.Repeat("x", 70<<10) + `"}`, "", http.StatusRequestEntityTooLarge, "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hdr{}
			if tc.ct != "" {
				h["Content-Type"] = tc.ct
			}
			wantAdminError(t, c.do(t, http.MethodPost, "http://"+c.admin+"/tokengate/users", h, tc.body), tc.status, tc.msg)
		})
	}
	if r := c.adminWant(t, http.MethodGet, "/tokengate/users/dave", nil, http.StatusNotFound); !strings.Contains(adminMsg(r), `user "dave" not found`) {
		t.Errorf("refused creations left a user: %s", r)
	}

	// Get, patch.
	r = c.adminWant(t, http.MethodGet, "/tokengate/users/carol", nil, http.StatusOK)
	wantNoSecrets(t, r.Body)
	r = c.adminWant(t, http.MethodPatch, "/tokengate/users/carol", map[string]any{"role": "Owner", "name": "Carol C"}, http.StatusOK)
	if u := decodeInto[adminUserJSON](t, r.Body); u.Role != "Owner" || u.Name != "Carol C" || u.Email != "carol@example.com" {
		t.Errorf("patched: %s", r.Body)
	}
	// The cached identity follows the change at once.
	if role, _ := c.gateAs(t, tok, "carol").header("X-Auth-User-Role"); !slices.Equal(role, []string{"Owner"}) {
		t.Errorf("after PATCH the upstream saw role %q, want Owner", role)
	}
	wantAdminError(t, c.adminReq(t, http.MethodPatch, "/tokengate/users/carol", map[string]any{}), http.StatusBadRequest, "nothing to change")
	wantAdminError(t, c.adminReq(t, http.MethodPatch, "/tokengate/users/carol", map[string]any{"username": "bob"}),
		http.StatusConflict, `username "bob" is taken`)
	wantAdminError(t, c.adminReq(t, http.MethodPatch, "/tokengate/users/carol", map[string]any{"id": "x"}),
		http.StatusBadRequest, "unknown field")
	wantAdminError(t, c.adminReq(t, http.MethodPatch, "/tokengate/users/nobody", map[string]any{"role": "x"}),
		http.StatusNotFound, `user "nobody" not found`)

	// Rename a user with a (cheap) hash: the old name stops working.
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "dave", "password_hash": hash4(t, "dave-pw")}, http.StatusCreated)
	r = c.adminWant(t, http.MethodPatch, "/tokengate/users/dave", map[string]any{"username": "david"}, http.StatusOK)
	if u := decodeInto[adminUserJSON](t, r.Body); u.ID != "dave" || u.Username != "david" {
		t.Errorf("renamed: %s", r.Body)
	}
	wantRefused(t, c.basicMint(t, "dave", "dave-pw"), "badBasicCredentials")
	if r := c.basicMint(t, "david", "dave-pw"); r.Status != http.StatusCreated {
		t.Errorf("Basic with the new username: %s", r)
	} else {
		tok, _ := r.JSON["token"].(string)
		c.gateAs(t, tok, "dave")
	}

	// Config-managed users: no change, no delete; the message says where
	// to change them.
	for _, tc := range []struct {
		name, method string
		body         any
	}{
		{"rename", http.MethodPatch, map[string]any{"username": "alicia"}},
		{"role", http.MethodPatch, map[string]any{"role": "Owner"}},
		{"password", http.MethodPatch, map[string]any{"password_hash": hash4(t, "x")}},
		{"delete", http.MethodDelete, nil},
	} {
		t.Run("config-managed "+tc.name, func(t *testing.T) {
			wantAdminError(t, c.adminReq(t, tc.method, "/tokengate/users/alice", tc.body), http.StatusConflict, managedMsg)
		})
	}
	r = c.adminWant(t, http.MethodGet, "/tokengate/users/alice", nil, http.StatusOK)
	if u := decodeInto[adminUserJSON](t, r.Body); u.Username != "alice" || u.Role != "Editor" {
		t.Errorf("refused changes changed alice: %s", r.Body)
	}
	c.gateAs(t, c.mintTemporary(t, c.site(0), "alice", alicePassword, 600), "alice")

	// Any id reaches its user when escaped, '/' included.
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "team/ops"}, http.StatusCreated)
	if r := c.adminWant(t, http.MethodGet, "/tokengate/users/team%2Fops", nil, http.StatusOK); r.JSON["id"] != "team/ops" {
		t.Errorf("escaped id: %s", r)
	}
	c.adminWant(t, http.MethodPost, "/tokengate/users/team%2Fops/tokens/temporary", nil, http.StatusCreated)
	c.adminWant(t, http.MethodDelete, "/tokengate/users/team%2Fops", nil, http.StatusNoContent)

	// Routing.
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/nothing", nil), http.StatusNotFound, "not found")
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/users/carol/tokens/other", nil), http.StatusNotFound, "not found")
	r = c.adminReq(t, http.MethodPut, "/tokengate/users", map[string]any{})
	wantAdminError(t, r, http.StatusMethodNotAllowed, "not allowed")
	if a := r.Header.Get("Allow"); a != "GET, POST" {
		t.Errorf("Allow %q", a)
	}
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/users/carol/block", nil), http.StatusMethodNotAllowed, "not allowed")
}

func TestAdminBlockAndDelete(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "erin", "password_hash": hash4(t, "erin-pw")}, http.StatusCreated)
	tok, _ := c.basicMint(t, "erin", "erin-pw").JSON["token"].(string)
	c.gateAs(t, tok, "erin")
	r := c.adminWant(t, http.MethodPost, "/tokengate/users/erin/tokens/named", map[string]any{"name": "ci"}, http.StatusCreated)
	named, _ := r.JSON["token"].(string)
	c.gateAs(t, named, "erin")

	// Blocked: tokens of both kinds and the password are refused.
	r = c.adminWant(t, http.MethodPost, "/tokengate/users/erin/block", nil, http.StatusOK)
	if u := decodeInto[adminUserJSON](t, r.Body); !u.Blocked {
		t.Errorf("block answered %s", r.Body)
	}
	wantRefused(t, c.gate(t, tok), "userBlocked")
	wantRefused(t, c.gate(t, named), "userBlocked")
	wantRefused(t, c.basicMint(t, "erin", "erin-pw"), "userBlocked")
	wantAdminError(t, c.adminReq(t, http.MethodPost, "/tokengate/users/erin/tokens/temporary", nil), http.StatusConflict, "blocked")

	// Unblocked: they work again.
	r = c.adminWant(t, http.MethodPost, "/tokengate/users/erin/unblock", nil, http.StatusOK)
	if u := decodeInto[adminUserJSON](t, r.Body); u.Blocked {
		t.Errorf("unblock answered %s", r.Body)
	}
	c.gateAs(t, tok, "erin")
	c.gateAs(t, named, "erin")

	// Config-managed users can be blocked too, and it survives a reload.
	aliceTok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	c.adminWant(t, http.MethodPost, "/tokengate/users/alice/block", nil, http.StatusOK)
	wantRefused(t, c.gate(t, aliceTok), "userBlocked")
	c.reload(gatedSite)
	wantRefused(t, c.gate(t, aliceTok), "userBlocked")
	c.adminWant(t, http.MethodPost, "/tokengate/users/alice/unblock", nil, http.StatusOK)
	c.gateAs(t, aliceTok, "alice")

	// Deleted: every token's subject is gone at once.
	c.adminWant(t, http.MethodDelete, "/tokengate/users/erin", nil, http.StatusNoContent)
	wantRefused(t, c.gate(t, tok), "tokenInvalid")
	wantRefused(t, c.gate(t, named), "tokenInvalid")
	wantRefused(t, c.basicMint(t, "erin", "erin-pw"), "badBasicCredentials")
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/users/erin", nil), http.StatusNotFound, `user "erin" not found`)
	wantAdminError(t, c.adminReq(t, http.MethodDelete, "/tokengate/users/erin", nil), http.StatusNotFound, "not found")
	wantAdminError(t, c.adminReq(t, http.MethodPost, "/tokengate/users/erin/block", nil), http.StatusNotFound, "not found")

	// Re-created under the same id, the old tokens stay dead.
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "erin", "password_hash": hash4(t, "erin-pw")}, http.StatusCreated)
	wantRefused(t, c.gate(t, tok), "tokenRevoked")
	wantRefused(t, c.gate(t, named), "tokenInvalid")
}

func TestAdminTokens(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)
	base := "/tokengate/users/bob/tokens"

	r := c.adminWant(t, http.MethodGet, base+"/temporary", nil, http.StatusOK)
	if !jsonEqual(t, r.JSON, `{"generation":1}`) {
		t.Errorf("generation: %s", r)
	}
	// Issue: default TTL 1h, or a given one with extra caveats.
	r = c.adminWant(t, http.MethodPost, base+"/temporary", nil, http.StatusCreated)
	temp, _ := r.JSON["token"].(string)
	at, _ := r.JSON["expires_at"].(string)
	expires, err := time.Parse(time.RFC3339, at)
	if len(r.JSON) != 2 || temp == "" || err != nil || time.Until(expires) > time.Hour || time.Until(expires) < 50*time.Minute {
		t.Fatalf("issue: %s, want the token and its expiry an hour away (%v)", r, err)
	}
	c.gateAs(t, temp, "bob")
	r = c.adminWant(t, http.MethodPost, base+"/temporary", map[string]any{
		"ttl": "30m", "caveats": []map[string]any{{"type": "interface", "interface": "oneclient"}},
	}, http.StatusCreated)
	oneclient, _ := r.JSON["token"].(string)
	wantRefused(t, c.gate(t, oneclient), "tokenCaveatUnverified")
	// It holds for oneclient, with a time caveat 30 minutes away.
	v := c.do(t, http.MethodPost, c.site(0)+verifyPath, nil, map[string]any{"token": oneclient, "interface": "oneclient"})
	if v.Status != http.StatusOK {
		t.Errorf("verify: %s", v)
	} else if ttl, _ := v.JSON["ttl"].(float64); ttl < 29*60 || ttl > 30*60 {
		t.Errorf("ttl %v, want about 1800", v.JSON["ttl"])
	}
	for _, tc := range []struct {
		name string
		body any
		msg  string
	}{
		{"over max", map[string]any{"ttl": "2h"}, "exceeds temporary_max_ttl"},
		{"zero", map[string]any{"ttl": "0s"}, "positive"},
		{"garbage ttl", map[string]any{"ttl": "soon"}, "invalid ttl"},
		{"number ttl", map[string]any{"ttl": 3600}, "invalid request body"},
		{"bad caveat", map[string]any{"caveats": []map[string]any{{"type": "geo.country"}}}, "invalid caveat"},
		{"caveats not a list", map[string]any{"caveats": "time"}, "caveats"},
		{"unknown field", map[string]any{"type": "identity"}, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAdminError(t, c.adminReq(t, http.MethodPost, base+"/temporary", tc.body), http.StatusBadRequest, tc.msg)
		})
	}
	wantAdminError(t, c.adminReq(t, http.MethodPost, "/tokengate/users/nobody/tokens/temporary", nil), http.StatusNotFound, "not found")
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/users/nobody/tokens/temporary", nil), http.StatusNotFound, "not found")

	// Named tokens.
	r = c.adminWant(t, http.MethodPost, base+"/named", map[string]any{"name": "deploy"}, http.StatusCreated)
	namedID, _ := r.JSON["token_id"].(string)
	named, _ := r.JSON["token"].(string)
	if namedID == "" || named == "" || r.Header.Get("Location") != base+"/named/"+namedID {
		t.Fatalf("named create: %s Location %q", r, r.Header.Get("Location"))
	}
	c.gateAs(t, named, "bob")
	wantAdminError(t, c.adminReq(t, http.MethodPost, base+"/named", map[string]any{"name": "deploy"}), http.StatusConflict, "already has")
	wantAdminError(t, c.adminReq(t, http.MethodPost, base+"/named", map[string]any{}), http.StatusBadRequest, "name is required")
	wantAdminError(t, c.adminReq(t, http.MethodPost, base+"/named", map[string]any{"name": strings.Repeat("n", 129)}), http.StatusBadRequest, "2-128")
	r = c.adminWant(t, http.MethodGet, base+"/named", nil, http.StatusOK)
	wantNoSecrets(t, r.Body, named)
	list := decodeInto[[]map[string]any](t, r.Body)
	if len(list) != 1 || list[0]["id"] != namedID || list[0]["name"] != "deploy" || list[0]["revoked"] != false ||
		list[0]["user"] != "bob" || list[0]["type"] != "access" {
		t.Errorf("named list: %s", r.Body)
	}
	r = c.adminWant(t, http.MethodGet, base+"/named/"+namedID, nil, http.StatusOK)
	wantNoSecrets(t, r.Body, named)
	r = c.adminWant(t, http.MethodPatch, base+"/named/"+namedID, map[string]any{"name": "deploy-2"}, http.StatusOK)
	if r.JSON["name"] != "deploy-2" {
		t.Errorf("renamed: %s", r)
	}

	// Revoking the temporary tokens leaves the named one working...
	r = c.adminWant(t, http.MethodDelete, base+"/temporary", nil, http.StatusOK)
	if !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Errorf("revoke: %s", r)
	}
	wantRefused(t, c.gate(t, temp), "tokenRevoked")
	c.gateAs(t, named, "bob")
	// ...and revoking the named one leaves a new temporary one working.
	temp2, _ := c.adminWant(t, http.MethodPost, base+"/temporary", map[string]any{"ttl": "10m"}, http.StatusCreated).JSON["token"].(string)
	r = c.adminWant(t, http.MethodPatch, base+"/named/"+namedID, map[string]any{"revoked": true}, http.StatusOK)
	if r.JSON["revoked"] != true {
		t.Errorf("revoked: %s", r)
	}
	wantRefused(t, c.gate(t, named), "tokenRevoked")
	c.gateAs(t, temp2, "bob")
	c.adminWant(t, http.MethodPatch, base+"/named/"+namedID, map[string]any{"revoked": false}, http.StatusOK)
	c.gateAs(t, named, "bob")

	c.adminWant(t, http.MethodDelete, base+"/named/"+namedID, nil, http.StatusNoContent)
	wantRefused(t, c.gate(t, named), "tokenInvalid")
	wantAdminError(t, c.adminReq(t, http.MethodGet, base+"/named/"+namedID, nil), http.StatusNotFound, "not found")
	wantAdminError(t, c.adminReq(t, http.MethodDelete, base+"/named/"+namedID, nil), http.StatusNotFound, "not found")
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/users/nobody/tokens/named", nil), http.StatusNotFound, `user "nobody" not found`)
	if r := c.adminWant(t, http.MethodGet, base+"/named", nil, http.StatusOK); strings.TrimSpace(string(r.Body)) != "[]" {
		t.Errorf("empty list: %s", r)
	}
}

// A tokengate directive without the global option loads the app on
// demand; the admin API finds it. Without tokengate at all it says so.
func TestAdminAppLoadedByHandler(t *testing.T) {
	c := newCaddy(t, caddyfile{NoApp: true})
	r := c.adminWant(t, http.MethodGet, "/tokengate/users", nil, http.StatusOK)
	if strings.TrimSpace(string(r.Body)) != "[]" {
		t.Errorf("users: %s", r)
	}
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "zoe"}, http.StatusCreated)
	tok, _ := c.adminWant(t, http.MethodPost, "/tokengate/users/zoe/tokens/temporary", nil, http.StatusCreated).JSON["token"].(string)
	c.gateAs(t, tok, "zoe")
	// Without a password, Basic authentication cannot succeed.
	wantRefused(t, c.basicMint(t, "zoe", ""), "badBasicCredentials")

	c.reload(caddyfile{NoApp: true, Sites: []site{{NoGate: true, Body: []string{`respond "open"`}}}})
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/users", nil), http.StatusNotFound, "tokengate is not configured")
	c.cliFails(t, "tokengate is not configured", "user", "list", "--address", c.admin)
}

func TestAdminPersistence(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{
		"id": "gus", "password_hash": hash4(t, "gus-pw"), "role": "Ops",
	}, http.StatusCreated)
	named, _ := c.adminWant(t, http.MethodPost, "/tokengate/users/gus/tokens/named", map[string]any{"name": "cron"}, http.StatusCreated).JSON["token"].(string)
	temp, _ := c.adminWant(t, http.MethodPost, "/tokengate/users/gus/tokens/temporary", nil, http.StatusCreated).JSON["token"].(string)
	c.adminWant(t, http.MethodPost, "/tokengate/users/bob/block", nil, http.StatusOK)

	c.restart()

	r := c.adminWant(t, http.MethodGet, "/tokengate/users/gus", nil, http.StatusOK)
	if u := decodeInto[adminUserJSON](t, r.Body); u.Role != "Ops" || u.ConfigManaged || u.CreatedBy != "admin-api" {
		t.Errorf("after restart: %s", r.Body)
	}
	if u := decodeInto[adminUserJSON](t, c.adminWant(t, http.MethodGet, "/tokengate/users/bob", nil, http.StatusOK).Body); !u.Blocked {
		t.Errorf("bob is no longer blocked after restart")
	}
	c.gateAs(t, named, "gus")
	c.gateAs(t, temp, "gus")
	if r := c.basicMint(t, "gus", "gus-pw"); r.Status != http.StatusCreated {
		t.Errorf("Basic after restart: %s", r)
	}
	list := decodeInto[[]map[string]any](t, c.adminWant(t, http.MethodGet, "/tokengate/users/gus/tokens/named", nil, http.StatusOK).Body)
	if len(list) != 1 || list[0]["name"] != "cron" {
		t.Errorf("named tokens after restart: %v", list)
	}
}

// ---------------------------------------------------------------------------
// CLI.

func TestCLIUsers(t *testing.T) {
	c := newCaddy(t, gatedSite)

	// Password from stdin, flags after the positional argument.
	out := c.cliOK(t, "frank-pw-1\n", "user", "add", "frank", "--password-stdin", "--name", "Frank Fields", "--role", "Ops")
	if showValue(out, "id") != "frank" || showValue(out, "name") != "Frank Fields" {
		t.Errorf("user add printed:\n%s", out)
	}
	if strings.Contains(out, "frank-pw-1") || strings.Contains(out, "$2") {
		t.Errorf("user add printed a password or hash:\n%s", out)
	}
	mint := c.basicMint(t, "frank", "frank-pw-1")
	if mint.Status != http.StatusCreated {
		t.Fatalf("Basic with the password given on stdin: %s", mint)
	}

	// Table and JSON listings.
	out = c.cliOK(t, "", "user", "list")
	if row := tableRow(out, "ID"); !slices.Equal(row, []string{"ID", "USERNAME", "NAME", "EMAIL", "ROLE", "BLOCKED", "CONFIG", "CREATED"}) {
		t.Errorf("header: %q\n%s", row, out)
	}
	if row := tableRow(out, "frank"); len(row) < 8 || row[1] != "frank" || row[2] != "Frank" || row[3] != "Fields" || row[5] != "Ops" || row[6] != "no" || row[7] != "no" {
		t.Errorf("frank's row: %q\n%s", row, out)
	}
	if row := tableRow(out, "alice"); len(row) < 8 || row[5] != "Editor" || row[7] != "yes" {
		t.Errorf("alice's row: %q\n%s", row, out)
	}
	// Columns are aligned: every row's second column starts where the header's does.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	col := strings.Index(lines[0], "USERNAME")
	for _, l := range lines[1:] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("misaligned row %q (column at %d)\n%s", l, col, out)
		}
	}
	users := decodeInto[[]adminUserJSON](t, []byte(c.cliOK(t, "", "user", "list", "--json")))
	if len(users) != 3 || users[2].ID != "frank" || users[2].Name != "Frank Fields" {
		t.Errorf("user list --json: %+v", users)
	}
	// Flags anywhere: before the subcommand, between it and its argument.
	r := c.tokengate(t, "", "--json", "user", "show", "--address", c.admin, "frank")
	if r.code != 0 || decodeInto[adminUserJSON](t, []byte(r.stdout)).Role != "Ops" {
		t.Errorf("user show with flags first: %s", r)
	}
	if out := c.cliOK(t, "", "user", "show", "alice"); !strings.Contains(out, "config managed:  yes") {
		t.Errorf("user show alice:\n%s", out)
	}

	// set-password, block, unblock, delete.
	// (Each Basic check of a server-hashed password costs a second: the
	// new password working is proof enough that the old one is gone.)
	c.cliOK(t, "frank-pw-2\r\n", "user", "set-password", "frank", "--password-stdin")
	tok, _ := c.basicMint(t, "frank", "frank-pw-2").JSON["token"].(string)
	c.gateAs(t, tok, "frank")
	if out := c.cliOK(t, "", "user", "block", "frank"); showValue(out, "blocked") != "yes" {
		t.Errorf("block printed:\n%s", out)
	}
	wantRefused(t, c.gate(t, tok), "userBlocked")
	if out := c.cliOK(t, "", "user", "unblock", "frank"); showValue(out, "blocked") != "no" {
		t.Errorf("unblock printed:\n%s", out)
	}
	c.gateAs(t, tok, "frank")
	c.cliOK(t, "", "user", "delete", "frank")
	wantRefused(t, c.gate(t, tok), "tokenInvalid")

	// Failures: one line on stderr, non-zero exit.
	c.cliFails(t, `user "nobody" not found`, "user", "show", "nobody", "--address", c.admin)
	c.cliFails(t, managedMsg, "user", "delete", "alice", "--address", c.admin)
	c.cliFails(t, `user "alice" already exists`, "user", "add", "alice", "--address", c.admin)
	c.cliFails(t, "no password on stdin", "user", "add", "henry", "--password-stdin", "--address", c.admin)
	c.cliFails(t, "not both", "user", "add", "henry", "--password", "x", "--password-stdin", "--address", c.admin)
	c.cliFails(t, "give the password", "user", "set-password", "alice", "--address", c.admin)
	c.cliFails(t, "takes 1 argument(s), got 0", "user", "show", "--address", c.admin)
	c.cliFails(t, "unknown flag: --frobnicate", "user", "list", "--frobnicate", "--address", c.admin)
	c.cliFails(t, `unknown command "frobnicate"`, "user", "frobnicate", "--address", c.admin)
	c.cliFails(t, "cannot reach Caddy's admin API at 127.0.0.1:1", "user", "list", "--address", "127.0.0.1:1")
	c.adminWant(t, http.MethodGet, "/tokengate/users/henry", nil, http.StatusNotFound)
	for _, pw := range []string{"frank-pw-1", "frank-pw-2"} {
		if strings.Contains(c.logs(), pw) {
			t.Errorf("Caddy's log contains the password %q", pw)
		}
	}
}

func TestCLITokens(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)

	// T=$(caddy tokengate token issue alice --address ...)
	out := c.cliOK(t, "", "token", "issue", "alice")
	temp := strings.TrimSuffix(out, "\n")
	if temp == "" || strings.ContainsAny(temp, " \t\n") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("token issue printed %q, want the token and a newline", out)
	}
	c.gateAs(t, temp, "alice")
	var issued struct{ Token string }
	if err := json.Unmarshal([]byte(c.cliOK(t, "", "token", "issue", "alice", "--ttl", "5m", "--json")), &issued); err != nil || issued.Token == "" {
		t.Errorf("token issue --json: %v %+v", err, issued)
	}
	c.cliFails(t, "exceeds temporary_max_ttl", "token", "issue", "alice", "--ttl", "2h", "--address", c.admin)
	c.cliFails(t, `user "nobody" not found`, "token", "issue", "nobody", "--address", c.admin)

	// The address can also come from the config file.
	byConfig := func(args ...string) string {
		t.Helper()
		r := c.tokengate(t, "", append(args, "--config", c.cfgPath, "--adapter", "caddyfile")...)
		if r.code != 0 {
			t.Fatalf("%v with --config: %s", args, r)
		}
		return r.stdout
	}
	if out := byConfig("generation", "alice"); out != "1\n" {
		t.Errorf("generation printed %q", out)
	}

	// Named tokens.
	out = c.cliOK(t, "", "token", "named", "create", "alice", "laptop")
	idRow, tokRow := tableRow(out, "token"), tableRow(out, "token:")
	if len(idRow) != 3 || idRow[1] != "id:" || len(tokRow) != 2 {
		t.Fatalf("named create printed:\n%s", out)
	}
	namedID, named := idRow[2], tokRow[1]
	c.gateAs(t, named, "alice")
	out = c.cliOK(t, "", "token", "named", "list", "alice")
	if row := tableRow(out, namedID); len(row) < 3 || row[1] != "laptop" || row[2] != "no" {
		t.Errorf("named list:\n%s", out)
	}
	if strings.Contains(out, named) {
		t.Errorf("named list printed the token")
	}
	var recs []map[string]any
	if err := json.Unmarshal([]byte(c.cliOK(t, "", "token", "named", "list", "alice", "--json")), &recs); err != nil ||
		len(recs) != 1 || recs[0]["id"] != namedID {
		t.Errorf("named list --json: %v %v", err, recs)
	}
	c.cliFails(t, "already has a named token", "token", "named", "create", "alice", "laptop", "--address", c.admin)

	// revoke <user>: temporary tokens die, named ones live.
	if out := c.cliOK(t, "", "revoke", "alice"); out != "2\n" {
		t.Errorf("revoke printed %q, want the new generation", out)
	}
	wantRefused(t, c.gate(t, temp), "tokenRevoked")
	c.gateAs(t, named, "alice")
	if out := byConfig("generation", "alice"); out != "2\n" {
		t.Errorf("generation after revoke printed %q", out)
	}

	// Revoking the named token leaves the temporary ones working.
	temp2 := strings.TrimSpace(c.cliOK(t, "", "token", "issue", "alice"))
	c.cliOK(t, "", "token", "named", "revoke", "alice", namedID)
	wantRefused(t, c.gate(t, named), "tokenRevoked")
	c.gateAs(t, temp2, "alice")
	if row := tableRow(c.cliOK(t, "", "token", "named", "list", "alice"), namedID); len(row) < 3 || row[2] != "yes" {
		t.Errorf("revoked token listed as %q", row)
	}

	c.cliOK(t, "", "token", "named", "delete", "alice", namedID)
	wantRefused(t, c.gate(t, named), "tokenInvalid")
	if out := c.cliOK(t, "", "token", "named", "list", "alice"); tableRow(out, namedID) != nil {
		t.Errorf("deleted token still listed:\n%s", out)
	}
	c.cliFails(t, "not found", "token", "named", "delete", "alice", namedID, "--address", c.admin)
	c.cliFails(t, "takes 2 argument(s), got 1", "token", "named", "revoke", "alice", "--address", c.admin)
}

// ---------------------------------------------------------------------------
// Onezone's named-token API.

func TestNamedTokensOnezoneAPI(t *testing.T) {
	bothStores(t)
	c := newCaddy(t, gatedSite)
	const named = "/api/v3/onezone/user/tokens/named"
	auth := hdr{"X-Auth-Token": c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)}
	call := func(method, path string, body any) *response {
		t.Helper()
		return c.do(t, method, c.site(0)+path, auth, body)
	}

	r := call(http.MethodPost, named, map[string]any{"name": "ci"})
	if r.Status != http.StatusCreated || len(r.JSON) != 2 {
		t.Fatalf("create: %s", r)
	}
	id1, _ := r.JSON["tokenId"].(string)
	tok1, _ := r.JSON["token"].(string)
	if id1 == "" || tok1 == "" || r.Header.Get("Location") != "/api/v3/onezone/tokens/named/"+id1 {
		t.Fatalf("create: %s, Location %q", r, r.Header.Get("Location"))
	}
	wantError(t, call(http.MethodPost, named, map[string]any{"name": "ci"}), http.StatusBadRequest, "badValueIdentifierOccupied")
	r = call(http.MethodPost, named, map[string]any{"name": "deploy"})
	id2, _ := r.JSON["tokenId"].(string)
	tok2, _ := r.JSON["token"].(string)
	c.gateAs(t, tok1, "alice")
	c.gateAs(t, tok2, "alice")

	// List: ids only.
	r = call(http.MethodGet, named, nil)
	ids, _ := r.JSON["tokens"].([]any)
	if r.Status != http.StatusOK || len(r.JSON) != 1 || len(ids) != 2 || !slices.Contains(ids, any(id1)) || !slices.Contains(ids, any(id2)) {
		t.Errorf("list: %s", r)
	}
	// One: the record with its token, as Onezone's (named_token_reply),
	// never the secret it is signed with.
	r = call(http.MethodGet, named+"/"+id1, nil)
	if r.Status != http.StatusOK || r.JSON["id"] != id1 || r.JSON["name"] != "ci" || r.JSON["revoked"] != false ||
		!jsonEqual(t, r.JSON["subject"], `{"type":"user","id":"alice"}`) || r.JSON["token"] != tok1 {
		t.Errorf("get: %s", r)
	}
	if _, ok := r.JSON["secret"]; ok {
		t.Errorf("record has its secret: %s", r)
	}
	wantNoSecrets(t, r.Body)

	// Rename.
	if r := call(http.MethodPatch, named+"/"+id1, map[string]any{"name": "ci-2"}); r.Status != http.StatusNoContent {
		t.Errorf("rename: %s", r)
	}
	if r := call(http.MethodGet, named+"/"+id1, nil); r.JSON["name"] != "ci-2" {
		t.Errorf("after rename: %s", r)
	}
	wantError(t, call(http.MethodPatch, named+"/"+id1, map[string]any{"name": "deploy"}), http.StatusBadRequest, "badValueIdentifierOccupied")
	// Revoke and un-revoke.
	if r := call(http.MethodPatch, named+"/"+id1, map[string]any{"revoked": true}); r.Status != http.StatusNoContent {
		t.Errorf("revoke: %s", r)
	}
	wantRefused(t, c.gate(t, tok1), "tokenRevoked")
	c.gateAs(t, tok2, "alice")
	if r := call(http.MethodPatch, named+"/"+id1, map[string]any{"revoked": false}); r.Status != http.StatusNoContent {
		t.Errorf("un-revoke: %s", r)
	}
	c.gateAs(t, tok1, "alice")

	// Delete one, then all.
	if r := call(http.MethodDelete, named+"/"+id1, nil); r.Status != http.StatusNoContent {
		t.Errorf("delete: %s", r)
	}
	wantRefused(t, c.gate(t, tok1), "tokenInvalid")
	wantError(t, call(http.MethodGet, named+"/"+id1, nil), http.StatusNotFound, "notFound")
	c.gateAs(t, tok2, "alice")
	if r := call(http.MethodDelete, named, nil); r.Status != http.StatusNoContent {
		t.Errorf("delete all: %s", r)
	}
	wantRefused(t, c.gate(t, tok2), "tokenInvalid")
	if r := call(http.MethodGet, named, nil); !jsonEqual(t, r.JSON, `{"tokens":[]}`) {
		t.Errorf("list after delete all: %s", r)
	}

	// Another user may touch none of alice's tokens: 403, as Onezone
	// fetches the token by its id, then refuses (token_logic_plugin's
	// authorize of instance), and the token is unchanged.
	bob := hdr{"Authorization": basic("bob", bobPassword)}
	r = c.do(t, http.MethodPost, c.site(0)+named, hdr{"X-Auth-Token": auth["X-Auth-Token"]}, map[string]any{"name": "mine"})
	id3, _ := r.JSON["tokenId"].(string)
	wantError(t, c.do(t, http.MethodGet, c.site(0)+named+"/"+id3, bob, nil), http.StatusForbidden, "forbidden")
	wantError(t, c.do(t, http.MethodDelete, c.site(0)+named+"/"+id3, bob, nil), http.StatusForbidden, "forbidden")
	if r := call(http.MethodGet, named+"/"+id3, nil); r.Status != http.StatusOK {
		t.Errorf("alice's token after bob's refused delete: %s", r)
	}
}
