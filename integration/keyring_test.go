package integration

// Rotating server keys through a real Caddy: `caddy tokengate key
// rotate` adds a key to the store-held ring; tokens of the older key
// keep working, new ones name the new key; a reload whose config drops
// the older key kills exactly its tokens.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// newKey returns a fresh server key as the config spells one.
func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenKid returns the kid of a token's JWT header, "" if it has none.
func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("token header %q: %v", seg, err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("token header %s: %v", b, err)
	}
	return h.Kid
}

func TestKeyRotation(t *testing.T) {
	bothStores(t)
	t.Parallel()
	oldKey, nextKey := newKey(t), newKey(t)
	c := newCaddy(t, gatedSite.withApp("key "+oldKey))
	base := c.site(0)
	gate := func(tok string) *response { return c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": tok}, nil) }

	before := c.mintTemporary(t, base, "alice", alicePassword, 600)
	oldKid := tokenKid(t, before)
	if oldKid == "" {
		t.Fatalf("a new token names no key: %s", before)
	}
	upstreamSaw(t, gate(before))

	rotated := strings.TrimSpace(c.cliOK(t, "", "key", "rotate"))
	if rotated == "" || rotated == oldKid {
		t.Fatalf("key rotate printed %q (the configured key is %s)", rotated, oldKid)
	}
	upstreamSaw(t, gate(before)) // minted before the rotation: still good
	after := c.mintTemporary(t, base, "alice", alicePassword, 600)
	if got := tokenKid(t, after); got != rotated {
		t.Fatalf("a token minted after the rotation names key %q, want %q", got, rotated)
	}
	upstreamSaw(t, gate(after))
	list := c.cliOK(t, "", "key", "list")
	if !strings.Contains(list, rotated) || !strings.Contains(list, oldKid) || strings.Contains(list, oldKey) {
		t.Errorf("key list shows\n%s\nwant both ids, no key material", list)
	}

	// The config drops the older key: its tokens die, the store-held
	// key's live on.
	c.reload(gatedSite.withApp("key " + nextKey))
	wantRefused(t, gate(before), "tokenInvalid")
	upstreamSaw(t, gate(after))
	fresh := c.mintTemporary(t, base, "alice", alicePassword, 600)
	if got := tokenKid(t, fresh); got != rotated {
		t.Errorf("after the reload, new tokens name key %q, want the store's newest %q", got, rotated)
	}

	// Removing the store-held key kills its tokens; the config's key signs.
	c.cliOK(t, "", "key", "remove", rotated)
	wantRefused(t, gate(after), "tokenInvalid")
	last := c.mintTemporary(t, base, "alice", alicePassword, 600)
	if got := tokenKid(t, last); got == rotated || got == oldKid || got == "" {
		t.Errorf("after removing the store key, new tokens name %q, want the configured key's id", got)
	}
	upstreamSaw(t, gate(last))
	r := c.tokengate(t, "", "key", "remove", tokenKid(t, last), "--address", c.admin)
	if r.code == 0 || !strings.Contains(r.stderr, "config") {
		t.Errorf("removing a configured key: %s, want a failure naming the config", r)
	}
}

// TestInstancesShareKeyRotation: a rotation on A reaches B through the
// store's bus: B's new tokens name the new key, A's tokens of it pass on
// B at once, and a removal on A makes B refuse them within a bound.
func TestInstancesShareKeyRotation(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	fast := keepAlive(t)
	before := b.mintTemporary(t, b.site(0), "alice", alicePassword, 600)

	rotated := strings.TrimSpace(a.cliOK(t, "", "key", "rotate"))
	fromA := a.mintTemporary(t, a.site(0), "alice", alicePassword, 600)
	if got := tokenKid(t, fromA); got != rotated {
		t.Fatalf("A's token after the rotation names %q, want %q", got, rotated)
	}
	// B may not have heard yet: a token of a key it lacks makes it read
	// the store's ring.
	upstreamSaw(t, b.gateVia(t, fast, fromA))
	upstreamSaw(t, a.gateVia(t, fast, before))
	upstreamSaw(t, b.gateVia(t, fast, before))
	if got := tokenKid(t, b.mintTemporary(t, b.site(0), "alice", alicePassword, 600)); got != rotated {
		t.Errorf("B's token after the rotation names %q, want %q", got, rotated)
	}

	a.cliOK(t, "", "key", "remove", rotated)
	untilRefused(t, "B with a token of the key A removed", time.Now(), 3*time.Second, 0,
		func() *response { return b.gateVia(t, fast, fromA) }, refusedAs("tokenInvalid"))
	upstreamSaw(t, b.gateVia(t, fast, before))
}
