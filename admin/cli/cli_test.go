package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

func TestCallError(t *testing.T) {
	for _, tc := range []struct {
		name, err, want string
	}{
		{"api error", `caddy responded with error: HTTP 404: {"error":"user \"nobody\" not found"}` + "\n",
			`user "nobody" not found`},
		{"no tokengate routes", "caddy responded with error: HTTP 404: 404 page not found\n",
			"has no tokengate routes"},
		{"other status", "caddy responded with error: HTTP 502: bad gateway", "admin API answered HTTP 502: bad gateway"},
		{"multi-line body", "caddy responded with error: HTTP 500: line one\nline two\n", "HTTP 500: line one\nline two"},
		{"unreachable", "performing request: dial tcp 127.0.0.1:1: connect: connection refused",
			"cannot reach Caddy's admin API at localhost:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := callError("localhost:1", errors.New(tc.err)).Error()
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// server is an admin API over a real service on a temporary bolt store,
// with alice (created through the API), carol (declared in the config)
// and olga (declared once, now orphaned).
type server struct {
	svc  *auth.Service
	addr string
}

func newServer(t *testing.T) *server {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "tg.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, _ := bcrypt.GenerateFromPassword([]byte("a-password-1"), bcrypt.MinCost)
	hash := string(h)
	svc, err := auth.New(st, tokens.NewServerKey(), auth.WithDummyPasswordHash(hash),
		auth.WithBudget(auth.Budget{Max: 1, Window: time.Minute, UserFactor: 10}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, auth.NewUser{ID: "alice", CreatedBy: "admin-api",
		Profile: auth.Profile{Name: "Alice Example", Role: "Editor"}, Password: auth.Password{Hash: &hash}}); err != nil {
		t.Fatal(err)
	}
	carol := auth.DeclaredUser{ID: "carol", PasswordHash: hash}
	if _, err := svc.SyncUsers(ctx, []auth.DeclaredUser{carol, {ID: "olga", PasswordHash: hash}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SyncUsers(ctx, []auth.DeclaredUser{carol}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&admin.Handler{
		Service: func() (*auth.Service, admin.Settings, error) {
			return svc, admin.Settings{ResetLink: func(tok string) string { return "/reset?token=" + tok }, ResetTTL: time.Hour}, nil
		},
		ParseDuration: caddy.ParseDuration,
	})
	t.Cleanup(srv.Close)
	return &server{svc: svc, addr: strings.TrimPrefix(srv.URL, "http://")}
}

// run runs `caddy tokengate args...` against addr.
func run(addr, stdin string, args ...string) (stdout, stderr string, err error) {
	// As Caddy's command factory mounts it: under its root, which
	// silences usage.
	root, cmd := &cobra.Command{Use: "caddy", SilenceUsage: true}, &cobra.Command{Use: "tokengate"}
	setUpCommand(cmd)
	root.AddCommand(cmd)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append(append([]string{"tokengate"}, args...), "--address", addr))
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// row returns the fields of the first line whose first field is key.
func row(out, key string) []string {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	return nil
}

// The cases run in order against one server: later ones see what earlier
// ones changed (alice blocked and unblocked, olga deleted, a token issued
// in generation 1 before the revoke).
func TestCommands(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		name, stdin string
		args        []string
		setup       func(t *testing.T, s *server)
		check       func(t *testing.T, out string)
		stderr      string // the one line of a failure
	}{
		{name: "user list", args: []string{"user", "list"}, check: func(t *testing.T, out string) {
			if h := row(out, "ID"); strings.Join(h, " ") != "ID USERNAME NAME EMAIL ROLE BLOCKED CONFIG CREATED" {
				t.Fatalf("header %q", h)
			}
			for _, want := range [][]string{
				{"alice", "alice", "Alice", "Example", "-", "Editor", "no", "no"},
				{"carol", "carol", "-", "-", "-", "no", "yes"},
				{"olga", "olga", "-", "-", "-", "no", "orphaned"},
			} {
				if got := row(out, want[0]); len(got) < len(want)+2 || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
					t.Fatalf("row %q, want %q and the creation time", got, want)
				}
			}
		}},
		{name: "user list --json", args: []string{"user", "list", "--json"}, check: func(t *testing.T, out string) {
			var users []admin.User
			if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 3 || !users[2].Orphaned {
				t.Fatalf("output %q: %v", out, err)
			}
		}},
		{name: "user show", args: []string{"user", "show", "olga"}, check: func(t *testing.T, out string) {
			for key, want := range map[string]string{"id:": "olga", "blocked:": "no", "orphaned:": "yes", "name:": "-"} {
				if r := row(out, key); len(r) != 2 || r[1] != want {
					t.Fatalf("%s %q, want %q in\n%s", key, r, want, out)
				}
			}
			if !strings.Contains(out, "config managed:  yes\n") {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "user show unknown", args: []string{"user", "show", "nobody"},
			stderr: `caddy tokengate: user "nobody" not found` + "\n"},
		{name: "user add", args: []string{"user", "add", "bob", "--name", "Bob B", "--role", "Ops"}, check: func(t *testing.T, out string) {
			if r := row(out, "role:"); len(r) != 2 || r[1] != "Ops" {
				t.Fatalf("output\n%s", out)
			}
			// No password: the welcome link to set one.
			if r := row(out, "welcome"); len(r) != 3 || !strings.Contains(r[2], "token=") {
				t.Fatalf("no welcome link in\n%s", out)
			}
		}},
		{name: "user add a taken id", args: []string{"user", "add", "carol"},
			stderr: `caddy tokengate: user "carol" already exists` + "\n"},
		{name: "user add with both passwords", args: []string{"user", "add", "bob2", "--password", "x", "--password-stdin"},
			stderr: "caddy tokengate: give either --password or --password-stdin, not both\n"},
		{name: "user add with an empty stdin", args: []string{"user", "add", "bob2", "--password-stdin"},
			stderr: "caddy tokengate: no password on stdin\n"},
		{name: "user add with a weak password", stdin: "short\n", args: []string{"user", "add", "bob2", "--password-stdin"},
			stderr: "caddy tokengate: password too weak: The password must be at least 10 characters long. " +
				"The password must contain characters of at least 2 kinds (lower case, upper case, digits, symbols).\n"},
		{name: "user set-password without one", args: []string{"user", "set-password", "alice"},
			stderr: "caddy tokengate: give the password with --password-stdin or --password\n"},
		{name: "user block", args: []string{"user", "block", "alice"}, check: func(t *testing.T, out string) {
			if r := row(out, "blocked:"); len(r) != 2 || r[1] != "yes" {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "user unblock", args: []string{"user", "unblock", "alice"}, check: func(t *testing.T, out string) {
			if r := row(out, "blocked:"); len(r) != 2 || r[1] != "no" {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "user reset-link", args: []string{"user", "reset-link", "alice"}, check: func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "/reset?token=") || strings.Count(out, "\n") != 1 {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "user reset-link of config-managed", args: []string{"user", "reset-link", "carol"},
			stderr: `caddy tokengate: user "carol" is managed by the Caddy config; change it there (the tokengate users in the Caddyfile or JSON config) and reload` + "\n"},
		{name: "user delete config-managed", args: []string{"user", "delete", "carol"},
			stderr: `caddy tokengate: user "carol" is managed by the Caddy config; change it there (the tokengate users in the Caddyfile or JSON config) and reload` + "\n"},
		{name: "user delete orphaned", args: []string{"user", "delete", "olga"}, check: func(t *testing.T, out string) {
			if out != "user olga deleted\n" {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "token issue", args: []string{"token", "issue", "alice", "--ttl", "2d"}, check: func(t *testing.T, out string) {
			tok := strings.TrimSuffix(out, "\n")
			got, err := s.svc.Authenticate(context.Background(), tok, tokens.Request{Interface: "rest"})
			if err != nil || got.Identity.ID != "alice" || strings.Contains(tok, "\n") {
				t.Fatalf("output %q: %v", out, err)
			}
		}},
		{name: "token issue over the limit", args: []string{"token", "issue", "alice", "--ttl", "31d"},
			stderr: "caddy tokengate: ttl 744h0m0s exceeds temporary_max_ttl 720h0m0s\n"},
		{name: "token named create", args: []string{"token", "named", "create", "alice", "laptop"}, check: func(t *testing.T, out string) {
			if r := row(out, "token"); len(r) != 3 || r[1] != "id:" {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "token named list", args: []string{"token", "named", "list", "alice"}, check: func(t *testing.T, out string) {
			if h := row(out, "ID"); strings.Join(h, " ") != "ID NAME REVOKED CREATED CAVEATS" {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "token named revoke unknown", args: []string{"token", "named", "revoke", "alice", "nope"},
			stderr: `caddy tokengate: named token "nope" of user "alice" not found` + "\n"},
		// Caveat flags, and named tokens by name.
		{name: "token named create with caveats", args: []string{"token", "named", "create", "alice", "dash",
			"--read-only", "--service", "wiki", "--path", "/docs", "--ip", "10.0.0.0/8", "--api", "wiki/get/*", "--consumer", "bob", "--interface", "rest"},
			check: func(t *testing.T, out string) {
				if r := row(out, "token:"); len(r) != 2 {
					t.Fatalf("output\n%s", out)
				}
			}},
		{name: "token named show by name", args: []string{"token", "named", "show", "alice", "dash"}, check: func(t *testing.T, out string) {
			want := `[{"type":"ip","whitelist":["10.0.0.0/8"]},{"type":"service","whitelist":["wiki"]},{"type":"data.readonly"},` +
				`{"type":"data.path","whitelist":["L2RvY3M="]},{"type":"interface","interface":"rest"},` +
				`{"type":"api","whitelist":["wiki/get/*"]},{"type":"consumer","whitelist":["usr-bob"]}]`
			if r := row(out, "caveats:"); len(r) != 2 || r[1] != want {
				t.Fatalf("caveats %q, want %s\n%s", r, want, out)
			}
			if r := row(out, "name:"); len(r) != 2 || r[1] != "dash" {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "token named rename by name", args: []string{"token", "named", "rename", "alice", "dash", "board"}, check: func(t *testing.T, out string) {
			if !strings.HasSuffix(out, " of user alice renamed\n") {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "token named revoke by name", args: []string{"token", "named", "revoke", "alice", "board"}, check: func(t *testing.T, out string) {
			if !strings.HasSuffix(out, " of user alice revoked\n") {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "token named unrevoke by name", args: []string{"token", "named", "unrevoke", "alice", "board"}, check: func(t *testing.T, out string) {
			if !strings.HasSuffix(out, " of user alice unrevoked\n") {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "token named show after", args: []string{"token", "named", "show", "alice", "board", "--json"}, check: func(t *testing.T, out string) {
			var rec struct {
				Name    string `json:"name"`
				Revoked bool   `json:"revoked"`
			}
			if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Name != "board" || rec.Revoked {
				t.Fatalf("output %q: %v", out, err)
			}
		}},
		{name: "token issue with a caveat", args: []string{"token", "issue", "alice", "--read-only", "--json"}, check: func(t *testing.T, out string) {
			var resp struct {
				Token     string    `json:"token"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			if err := json.Unmarshal([]byte(out), &resp); err != nil || time.Until(resp.ExpiresAt) < 50*time.Minute || time.Until(resp.ExpiresAt) > time.Hour+time.Minute {
				t.Fatalf("output %q: %v; want the token and its expiry an hour away", out, err)
			}
			if _, err := s.svc.Authenticate(context.Background(), resp.Token, tokens.Request{Interface: "rest", Method: "POST"}); !errors.Is(err, tokens.ErrCaveatUnverified) {
				t.Fatalf("a POST with the read-only token: %v, want the caveat unverified", err)
			}
		}},
		{name: "user update", args: []string{"user", "update", "alice", "--role", "Admin"}, check: func(t *testing.T, out string) {
			if r := row(out, "role:"); len(r) != 2 || r[1] != "Admin" {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "user update nothing", args: []string{"user", "update", "alice"},
			stderr: "caddy tokengate: nothing to change: give at least one of --username, --name, --email, --role\n"},
		{name: "revoke everything", args: []string{"revoke", "--everything", "alice"}, check: func(t *testing.T, out string) {
			if r := row(out, "generation:"); len(r) != 2 || r[1] != "2" {
				t.Fatalf("output\n%s", out)
			}
			if r := row(out, "sessions"); len(r) != 3 {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "token named show after everything", args: []string{"token", "named", "show", "alice", "board"}, check: func(t *testing.T, out string) {
			if r := row(out, "revoked:"); len(r) != 2 || r[1] != "yes" {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "generation", args: []string{"generation", "alice"}, check: func(t *testing.T, out string) {
			if out != "2\n" {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "revoke", args: []string{"revoke", "alice"}, check: func(t *testing.T, out string) {
			if out != "3\n" {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "bans list", args: []string{"bans", "list"}, setup: func(t *testing.T, s *server) {
			if _, err := s.svc.Failed(context.Background(), "ip:203.0.113.7"); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, out string) {
			if r := row(out, "ip:203.0.113.7"); len(r) < 2 || r[1] != "1" || row(out, "KEY") == nil {
				t.Fatalf("output\n%s", out)
			}
		}},
		{name: "bans add a user", args: []string{"bans", "add", "--user", "mallory", "--duration", "2h", "--reason", "credential stuffing"},
			check: func(t *testing.T, out string) {
				if !strings.HasPrefix(out, "banned user:mallory until ") {
					t.Fatalf("output %q", out)
				}
				if err := s.svc.Admit(context.Background(), "user:mallory"); err == nil {
					t.Fatal("the banned user is admitted")
				}
			}},
		{name: "bans add neither", args: []string{"bans", "add"}, stderr: "caddy tokengate: give exactly one of --ip, --user\n"},
		{name: "bans lift the user", args: []string{"bans", "lift", "mallory"}, check: func(t *testing.T, out string) {
			if out != "lifted user:mallory\n" {
				t.Fatalf("output %q", out)
			}
		}},
		{name: "bans lift an ip", args: []string{"bans", "lift", "203.0.113.7"}, check: func(t *testing.T, out string) {
			if out != "lifted ip:203.0.113.7\n" {
				t.Fatalf("output %q", out)
			}
		}},
		// Issue 14, finding 3: nothing to lift is a failure, not "lifted".
		{name: "bans lift it again", args: []string{"bans", "lift", "203.0.113.7"},
			stderr: "caddy tokengate: no failures counted for ip:203.0.113.7: nothing to lift\n"},
		{name: "bans lift a user with no failures", args: []string{"bans", "lift", "alice"},
			stderr: "caddy tokengate: no failures counted for user:alice: nothing to lift\n"},
		{name: "bans lift a user", args: []string{"bans", "lift", "alice"}, setup: failed("user:alice"),
			check: func(t *testing.T, out string) {
				if out != "lifted user:alice\n" {
					t.Fatalf("output %q", out)
				}
			}},
		// An IPv6 client counts per /64.
		{name: "bans lift as bans list prints it", args: []string{"bans", "lift", "ip:2001:db8::/64"}, setup: failed("ip:2001:db8::/64"),
			check: func(t *testing.T, out string) {
				if out != "lifted ip:2001:db8::/64\n" {
					t.Fatalf("output %q", out)
				}
			}},
		{name: "bans lift an address of it", args: []string{"bans", "lift", "2001:db8:0:0::1"}, setup: failed("ip:2001:db8::/64"),
			check: func(t *testing.T, out string) {
				if out != "lifted ip:2001:db8::/64\n" {
					t.Fatalf("output %q", out)
				}
			}},
		{name: "bans lift --json", args: []string{"bans", "lift", "203.0.113.7", "--json"}, setup: failed("ip:203.0.113.7"),
			check: func(t *testing.T, out string) {
				if out != `{"key":"ip:203.0.113.7"}`+"\n" {
					t.Fatalf("output %q", out)
				}
			}},
		{name: "bans lift a mapped address", args: []string{"bans", "lift", "::ffff:203.0.113.7"}, setup: failed("ip:203.0.113.7"),
			check: func(t *testing.T, out string) {
				if out != "lifted ip:203.0.113.7\n" {
					t.Fatalf("output %q", out)
				}
			}},
		{name: "bans lift a bad key", args: []string{"bans", "lift", "ip:nonsense"},
			stderr: "caddy tokengate: ban key must be ip:<address>, an address or user:<name>\n"},
		{name: "too many arguments", args: []string{"user", "show", "a", "b"},
			stderr: "caddy tokengate: caddy tokengate user show takes 1 argument(s), got 2; usage: caddy tokengate user show <id> [flags]\n"},
		{name: "unknown subcommand", args: []string{"user", "rename"}, stderr: `caddy tokengate: unknown command "rename" for "caddy tokengate user"` + "\n"},
		{name: "unknown command", args: []string{"unblock", "alice"}, stderr: `caddy tokengate: unknown command "unblock" for "caddy tokengate"` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t, s)
			}
			out, errOut, err := run(s.addr, tc.stdin, tc.args...)
			if tc.stderr != "" {
				if err == nil || errOut != tc.stderr || out != "" {
					t.Fatalf("err %v, stdout %q, stderr %q; want stderr %q", err, out, errOut, tc.stderr)
				}
				return
			}
			if err != nil || errOut != "" {
				t.Fatalf("err %v, stderr %q", err, errOut)
			}
			tc.check(t, out)
		})
	}
}

// failed counts one failure against key (the server's budget is 1).
func failed(key string) func(*testing.T, *server) {
	return func(t *testing.T, s *server) {
		t.Helper()
		if _, err := s.svc.Failed(context.Background(), key); err != nil {
			t.Fatal(err)
		}
	}
}

// Without a Caddy, or with one that has no tokengate routes, the command
// says which.
func TestCommandsWithoutTokengate(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	_, errOut, err := run(strings.TrimPrefix(plain.URL, "http://"), "", "user", "list")
	if err == nil || !strings.Contains(errOut, "has no tokengate routes (HTTP 404): is this Caddy built with tokengate?") {
		t.Fatalf("err %v, stderr %q", err, errOut)
	}
	plain.Close()
	_, errOut, err = run(strings.TrimPrefix(plain.URL, "http://"), "", "user", "list")
	if err == nil || !strings.Contains(errOut, "cannot reach Caddy's admin API at") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("err %v, stderr %q", err, errOut)
	}
}
