package integration

// Caddy's config lifecycle (issue 13, bugs 1 and 2): checking or refusing
// a config writes nothing to the store, and a user the config stops
// declaring is blocked and orphaned, never deleted. Each failed before
// the lifecycle fix (user sync in Start, nothing opened before Start).

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// storeSnapshot returns a digest of everything the process's store
// holds: the bolt file's bytes, or every key under the process's prefix
// in the Redis pass with its DUMP (TTLs left out: they run down).
func storeSnapshot(t *testing.T, c *caddyProc) string {
	t.Helper()
	if c.shared == nil {
		b, err := os.ReadFile(filepath.Join(c.dataDir(), "tokengate", "tokengate.db"))
		if err != nil {
			t.Fatalf("reading the bolt store: %v", err)
		}
		sum := sha256.Sum256(b)
		return "bolt " + hex.EncodeToString(sum[:])
	}
	v, err := redisDo(c.shared.addr, -1, "KEYS", c.shared.prefix+"*")
	if err != nil {
		t.Fatalf("listing the store's keys: %v", err)
	}
	var keys []string
	for _, k := range v.([]any) {
		keys = append(keys, k.(string))
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		d, err := redisDo(c.shared.addr, -1, "DUMP", k)
		if err != nil {
			t.Fatalf("DUMP %s: %v", k, err)
		}
		dump, _ := d.(string)
		h.Write([]byte(k + "\x00" + dump + "\x00"))
	}
	return "redis " + strings.Join(keys, " ") + " " + hex.EncodeToString(h.Sum(nil))
}

// writeDraft renders cfg into a Caddyfile beside the process's own, as an
// operator drafts the next config, and returns its path.
func (c *caddyProc) writeDraft(cfg caddyfile) string {
	c.t.Helper()
	path := filepath.Join(c.dir, "draft.Caddyfile")
	if err := os.WriteFile(path, []byte(c.render(cfg)), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return path
}

// (a) `caddy validate` of a draft that no longer declares bob leaves the
// store byte for byte as it was, and bob's token works.
func TestValidateWritesNothing(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	bobTok := c.mintTemporary(t, c.site(0), "bob", bobPassword, 600)
	c.gateAs(t, bobTok, "bob")
	// Stopped, so that nothing but validate can touch the store.
	c.stop()
	before := storeSnapshot(t, c)
	out, code := c.runCLI("validate", "--config", c.writeDraft(aliceOnlySite), "--adapter", "caddyfile")
	if code != 0 {
		t.Fatalf("caddy validate exited %d:\n%s", code, out)
	}
	if after := storeSnapshot(t, c); after != before {
		t.Errorf("caddy validate changed the store:\nbefore %s\nafter  %s\n%s", before, after, out)
	}
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	c.gateAs(t, bobTok, "bob")
}

// (b) `caddy validate` works next to a Caddy that runs on the same store
// (with bolt: holds the file's lock), and leaves it serving.
func TestValidateNextToRunningCaddy(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	out, code := c.runCLI("validate", "--config", c.writeDraft(gatedSite), "--adapter", "caddyfile")
	if code != 0 {
		t.Errorf("caddy validate next to a running Caddy exited %d:\n%s", code, out)
	}
	c.gateAs(t, tok, "alice")
}

// (c) A config Caddy refuses, loaded through the admin endpoint, writes
// nothing: bob, whom it no longer declares, keeps working.
func TestRejectedLoadWritesNothing(t *testing.T) {
	bothStores(t)
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     caddyfile
		mention string
	}{
		{"reset_url without the token placeholder", aliceOnlySite.withApp(`reset_url "https://app.example/reset"`), "reset_url"},
		{"a later handler fails", failingReloadSite.withUsers(aliceUser), "reverse_proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCaddy(t, gatedSite)
			bobTok := c.mintTemporary(t, c.site(0), "bob", bobPassword, 600)
			c.gateAs(t, bobTok, "bob")
			before := storeSnapshot(t, c)
			r := c.do(t, http.MethodPost, "http://"+c.admin+"/load", hdr{"Content-Type": "text/caddyfile"}, c.render(tc.cfg))
			if r.Status < 400 || !strings.Contains(string(r.Body), tc.mention) {
				t.Fatalf("POST /load: got %s, want a refusal naming %s", r, tc.mention)
			}
			if after := storeSnapshot(t, c); after != before {
				t.Errorf("the refused config changed the store:\nbefore %s\nafter  %s", before, after)
			}
			c.gateAs(t, bobTok, "bob")
			c.mintTemporary(t, c.site(0), "bob", bobPassword, 600)
		})
	}
}

// (d) A declared user that an accepted reload no longer declares is
// blocked and orphaned, not deleted: its tokens answer userBlocked, the
// admin API shows it, declaring it again restores it, and `caddy tokengate
// user delete` removes it for good.
func TestReloadOrphansRemovedUser(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	bobTok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	aliceTok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	c.gateAs(t, bobTok, "bob")

	c.reload(aliceOnlySite)
	wantRefused(t, c.gate(t, bobTok), "userBlocked")
	wantRefused(t, c.do(t, http.MethodGet, base+tempPath, hdr{"X-Auth-Token": bobTok}, nil), "userBlocked")
	wantRefused(t, c.basicMint(t, "bob", bobPassword), "userBlocked")
	c.gateAs(t, aliceTok, "alice")
	if r := c.adminWant(t, http.MethodGet, "/tokengate/users/bob", nil, http.StatusOK); r.JSON["orphaned"] != true {
		t.Errorf("the admin API shows bob as %s, want orphaned", r.Body)
	}
	if !strings.Contains(c.logs(), `"user":"bob"`) {
		t.Errorf("no log line names the orphaned user bob")
	}

	// Declared again: restored, with his tokens.
	c.reload(gatedSite)
	c.gateAs(t, bobTok, "bob")
	if r := c.adminWant(t, http.MethodGet, "/tokengate/users/bob", nil, http.StatusOK); r.JSON["orphaned"] == true {
		t.Errorf("bob declared again is still orphaned: %s", r.Body)
	}

	// Orphaned again, then deleted for good.
	c.reload(aliceOnlySite)
	wantRefused(t, c.gate(t, bobTok), "userBlocked")
	c.cliOK(t, "", "user", "delete", "bob")
	wantRefused(t, c.gate(t, bobTok), "tokenInvalid")
	wantAdminError(t, c.adminReq(t, http.MethodGet, "/tokengate/users/bob", nil), http.StatusNotFound, "not found")

	// Declared once more, bob is a new account: the old token stays dead.
	c.reload(gatedSite)
	wantRefused(t, c.gate(t, bobTok), "tokenRevoked")
	c.gateAs(t, c.mintTemporary(t, base, "bob", bobPassword, 600), "bob")
	c.gateAs(t, aliceTok, "alice")
}
