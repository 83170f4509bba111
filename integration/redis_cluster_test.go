package integration

// Two Caddy instances on a three-master Redis Cluster.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// A revocation on A is refused by B within the propagation deadline, for
// users whose keys live on different masters; then the slot holding
// alice's keys moves to another master and revocations still propagate,
// and the ones made before the move still hold.
func TestClusterInstancesShareRevocation(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3, 0)
	cfg := sharedSite(strings.Join(c.Addrs(), " "), nil)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	fast := keepAlive(t)

	users := map[string]string{"alice": alicePassword, "bob": bobPassword}
	for id := range users {
		out, _ := c.Nodes[0].Do("CLUSTER", "KEYSLOT", "tokengate:u:{"+id+"}")
		n, _ := strconv.Atoi(strings.TrimPrefix(out, ":"))
		owner, err := c.Owner(n)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s's keys: slot %d on %s", id, n, owner.Addr)
	}

	var before []string // revoked before the move
	revokeAndPropagate := func(what string) {
		t.Helper()
		for id, pw := range users {
			tok := a.mintTemporary(t, a.site(0), id, pw, 600)
			b.gateAs(t, tok, id)
			if r := a.do(t, http.MethodDelete, a.site(0)+tempPath, hdr{"Authorization": basic(id, pw)}, nil); r.Status != http.StatusNoContent {
				t.Fatalf("%s: revoking %s's tokens on A: %s, want 204", what, id, r)
			}
			d := untilRefused(t, what+": B with "+id+"'s revoked token", time.Now(), propagationDeadline, 0,
				func() *response { return b.gateVia(t, fast, tok) }, refusedAs("tokenRevoked"))
			t.Logf("%s: %s's revocation on A refused on B after %s", what, id, d)
			before = append(before, tok)
		}
	}
	revokeAndPropagate("before the move")

	out, _ := c.Nodes[0].Do("CLUSTER", "KEYSLOT", "tokengate:u:{alice}")
	slot, _ := strconv.Atoi(strings.TrimPrefix(out, ":"))
	from, err := c.Owner(slot)
	if err != nil {
		t.Fatal(err)
	}
	var to *redistest.Server
	for _, m := range c.Masters() {
		if m != from {
			to = m
			break
		}
	}
	if err := c.MigrateSlot(slot, from, to, 1); err != nil {
		t.Fatal(err)
	}
	for _, tok := range before {
		wantRefused(t, a.gate(t, tok), "tokenRevoked")
		wantRefused(t, b.gate(t, tok), "tokenRevoked")
	}
	revokeAndPropagate("after the move")
}
