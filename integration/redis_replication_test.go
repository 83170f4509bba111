package integration

// Revocations that must survive a failover: with wait_replicas, a revoke
// is acknowledged only once a replica has it (redis WAIT).

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// newReplica starts a replica of primary and waits until it is in sync.
func newReplica(t *testing.T, primary string) *redistest.Server { return newReplicaOf(t, primary, 1) }

// newReplicaOf starts the nth replica of primary and waits until it is
// in sync.
func newReplicaOf(t *testing.T, primary string, n int) *redistest.Server {
	t.Helper()
	host, port, _ := strings.Cut(primary, ":")
	rep := redistest.Start(t, "--replicaof", host, port, "--appendonly", "yes", "--appendfsync", "always")
	waitInfo(t, primary, fmt.Sprintf("connected_slaves:%d", n))
	waitInfo(t, rep.Addr, "master_link_status:up")
	return rep
}

// waitInfo polls INFO replication at addr until it has the line want.
func waitInfo(t *testing.T, addr, want string) {
	t.Helper()
	eventually(t, 10*time.Second, "INFO replication of "+addr+" to say "+want, func() bool {
		v, _ := redisDo(addr, -1, "INFO", "replication")
		s, _ := v.(string)
		return strings.Contains(s, want+"\r\n")
	})
}

// With wait_replicas 1, a revoke answers 204 while the replica keeps up
// and 503 within wait_timeout while it is stopped. The instance that
// answered 503 already refuses the token (the primary has the revocation,
// and its cache was told); a retry once the replica is back answers 204.
func TestRevocationWaitsForReplica(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	rep := newReplica(t, rs.addr())
	const waitTimeout = 500 * time.Millisecond
	cfg := sharedSite(rs.addr(), []string{"wait_replicas 1", "wait_timeout 500ms"})
	c := startInstances(t, sharedKeyEnv(t), cfg)[0]
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	c.gateAs(t, tok, "alice")
	if r := c.do(t, http.MethodDelete, c.site(0)+tempPath, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke with the replica up: %s, want 204", r)
	}
	wantRefused(t, c.gate(t, tok), "tokenRevoked")

	r := c.do(t, http.MethodPost, c.site(0)+namedTokensPath, alice, map[string]any{"name": "deploy"})
	id, _ := r.JSON["tokenId"].(string)
	named, _ := r.JSON["token"].(string)
	if r.Status != http.StatusCreated || id == "" {
		t.Fatalf("creating a named token: %s", r)
	}
	tok = c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	c.gateAs(t, tok, "alice")
	c.gateAs(t, named, "alice")

	if err := rep.Pause(); err != nil {
		t.Skip(err)
	}
	defer rep.Resume()
	for _, req := range []struct {
		what, method, path string
		body               any
	}{
		{"temporary revoke", http.MethodDelete, tempPath, nil},
		{"named revoke", http.MethodPatch, namedTokensPath + "/" + id, map[string]any{"revoked": true}},
	} {
		start := time.Now()
		r := c.do(t, req.method, c.site(0)+req.path, alice, req.body)
		took := time.Since(start)
		if !isUnavailable(r) {
			t.Errorf("%s with the replica stopped: %s, want 503 temporaryFailure", req.what, r)
		}
		if took < waitTimeout || took > waitTimeout+2*time.Second {
			t.Errorf("%s with the replica stopped answered after %s, want about wait_timeout %s", req.what, took, waitTimeout)
		}
		t.Logf("%s with the replica stopped: %d after %s", req.what, r.Status, took)
	}
	// Not acknowledged, but in effect on the primary: this instance refuses.
	wantRefused(t, c.gate(t, tok), "tokenRevoked")
	wantRefused(t, c.gate(t, named), "tokenRevoked")

	rep.Resume()
	// The caller retries until acknowledged.
	eventually(t, 10*time.Second, "a retried revoke to be acknowledged", func() bool {
		return c.do(t, http.MethodDelete, c.site(0)+tempPath, alice, nil).Status == http.StatusNoContent
	})
	if r := c.do(t, http.MethodPatch, c.site(0)+namedTokensPath+"/"+id, alice, map[string]any{"revoked": true}); r.Status != http.StatusNoContent {
		t.Errorf("retried named revoke with the replica back: %s, want 204", r)
	}
	// The replica has both revocations.
	gen, err := redisDo(rep.Addr, -1, "HGET", "tokengate:u:{alice}", "gen")
	if err != nil || gen == nil {
		t.Fatalf("the replica's generation of alice: %v, %v", gen, err)
	}
	t.Logf("the replica has alice at generation %v", gen)
}
