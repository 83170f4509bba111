package integration

// A Sentinel failover under load: a primary, one replica and three
// Sentinels; two Caddy instances with master_name and wait_replicas 1.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// sentinelMaster is the master name the test's Sentinels monitor.
const sentinelMaster = "m"

// startSentinels starts three Sentinels watching primary with a quorum
// of two and waits until each knows the replicas and the other two.
func startSentinels(t *testing.T, primary string, replicas int) []string {
	t.Helper()
	var addrs []string
	for range 3 {
		addrs = append(addrs, redistest.StartSentinel(t, sentinelMaster, primary, 2, redistest.FastSentinel).Addr)
	}
	for _, s := range addrs {
		eventually(t, 30*time.Second, "Sentinel "+s+" to know the replica and the other Sentinels", func() bool {
			reps, _ := redisDo(s, -1, "SENTINEL", "REPLICAS", sentinelMaster)
			sens, _ := redisDo(s, -1, "SENTINEL", "SENTINELS", sentinelMaster)
			r, _ := reps.([]any)
			o, _ := sens.([]any)
			return len(r) >= replicas && len(o) >= 2
		})
	}
	return addrs
}

// sentinelMasterAddr is the master's address as Sentinel s says.
func sentinelMasterAddr(s string) string {
	v, _ := redisDo(s, -1, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinelMaster)
	a, _ := v.([]any)
	if len(a) != 2 {
		return ""
	}
	return fmt.Sprintf("%v:%v", a[0], a[1])
}

// revokedTokens is the tokens whose revocation was acknowledged (204).
type revokedTokens struct {
	mu   sync.Mutex
	toks []string
}

func (r *revokedTokens) add(tok string) { r.mu.Lock(); r.toks = append(r.toks, tok); r.mu.Unlock() }
func (r *revokedTokens) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.toks...)
}

// Kill the primary: Sentinel promotes a replica and both instances
// follow without a restart. No revocation acknowledged before, during or
// after the switch is lost; requests during the switch answer 503 or
// their usual answer, and a revoked token never passes. With one replica,
// once it is promoted revocations answer 503 (nobody else has them) until
// the old primary is back as a replica; with two, the other replica
// follows the new primary and revocations are acknowledged again.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	for _, replicas := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			t.Parallel()
			sentinelFailover(t, replicas)
		})
	}
}

func sentinelFailover(t *testing.T, nReplicas int) {
	primary := newRedis(t)
	replicas := map[string]bool{}
	for i := range nReplicas {
		replicas[newReplicaOf(t, primary.addr(), i+1).Addr] = true
	}
	sentinels := startSentinels(t, primary.addr(), nReplicas)
	cfg := sharedSite(strings.Join(sentinels, " "), []string{"master_name " + sentinelMaster, "wait_replicas 1", "wait_timeout 1s"})
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	var revoked revokedTokens
	var unexpected sync.Map // what → first answer, reported once
	odd := func(what string, r *response, err error) {
		msg := fmt.Sprint(err)
		if r != nil {
			msg = r.String()
		}
		if _, dup := unexpected.LoadOrStore(what, msg); !dup {
			t.Errorf("%s: %s", what, msg)
		}
	}
	// revokeOnce mints a temporary token on A, revokes alice's temporary
	// tokens and, if A acknowledged, remembers the token; it reports
	// whether the revoke was acknowledged.
	revokeOnce := func() bool {
		r, err := tryWith(a.client, http.MethodPost, a.site(0)+tempPath, alice, map[string]any{"caveats": timeCaveats(600)})
		switch {
		case err != nil:
			odd("minting", nil, err)
			return false
		case isUnavailable(r):
			return false
		case r.Status != http.StatusCreated:
			odd("minting", r, nil)
			return false
		}
		tok, _ := r.JSON["token"].(string)
		r, err = tryWith(a.client, http.MethodDelete, a.site(0)+tempPath, alice, nil)
		switch {
		case err != nil:
			odd("revoking", nil, err)
		case r.Status == http.StatusNoContent:
			revoked.add(tok)
			return true
		case !isUnavailable(r):
			odd("revoking", r, nil)
		}
		return false
	}
	// gateRevoked sends every acknowledged-revoked token through c: each
	// must be refused (401) or meet a 503, never pass.
	gateRevoked := func(c *caddyProc) {
		for _, tok := range revoked.all() {
			r, err := tryWith(c.client, http.MethodGet, c.site(0)+"/app", hdr{"X-Auth-Token": tok}, nil)
			switch {
			case err != nil:
				odd("gating a revoked token", nil, err)
			case r.Status == http.StatusOK:
				t.Errorf("a revoked token passed during the failover: %s", r)
			case r.Status != http.StatusUnauthorized && !isUnavailable(r):
				odd("gating a revoked token", r, nil)
			}
		}
	}

	for range 5 {
		if !revokeOnce() {
			t.Fatal("revoking before the failover was not acknowledged")
		}
	}

	// Load: revocations on A, revoked tokens checked on A and B.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, fn := range []func(){func() { revokeOnce() }, func() { gateRevoked(a) }, func() { gateRevoked(b) }} {
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond) // pacing, not waiting
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					fn()
				}
			}
		})
	}

	killed := time.Now()
	primary.kill()
	eventually(t, 30*time.Second, "Sentinel to promote a replica", func() bool {
		return replicas[sentinelMasterAddr(sentinels[0])]
	})
	promoted := time.Since(killed)
	// The first write after the switch: a named token (not durable).
	var wrote time.Duration
	eventually(t, 30*time.Second, "a write through A after the failover", func() bool {
		r, err := tryWith(a.client, http.MethodPost, a.site(0)+namedTokensPath, alice, map[string]any{"name": fmt.Sprint("after-", time.Now().UnixNano())})
		if err == nil && r.Status == http.StatusCreated {
			wrote = time.Since(killed)
			return true
		}
		return false
	})
	if nReplicas == 1 {
		// The new primary has no replica: a revocation is not acknowledged.
		tok := a.mintTemporary(t, a.site(0), "alice", alicePassword, 600)
		if r := a.do(t, http.MethodDelete, a.site(0)+tempPath, alice, nil); !isUnavailable(r) {
			t.Errorf("revoke on a primary without replica, wait_replicas 1: %s, want 503", r)
		}
		wantRefused(t, a.gate(t, tok), "tokenRevoked") // in effect on the primary meanwhile
		// The old primary returns; Sentinel makes it a replica of the new one.
		primary.restart()
	}
	eventually(t, 60*time.Second, "a revocation acknowledged again", func() bool {
		return revokeOnce()
	})
	acked := time.Since(killed)
	close(stop)
	wg.Wait()

	// Every acknowledged revocation holds on both instances.
	all := revoked.all()
	lost := 0
	for _, c := range []*caddyProc{a, b} {
		for _, tok := range all {
			if r := c.gate(t, tok); r.Status == http.StatusOK {
				lost++
			} else if r.Status != http.StatusUnauthorized || authErrorID(r.JSON) != "tokenRevoked" {
				t.Errorf("an acknowledged-revoked token after the failover: %s, want 401 tokenRevoked", r)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged revocations lost", lost)
	}
	how := "the other replica following the new primary"
	if nReplicas == 1 {
		how = "the old primary restarted and back as a replica"
	}
	t.Logf("Sentinel failover, %d replicas: primary killed → replica promoted %s, → first write %s, → first revocation acknowledged again (%s) %s; %d acknowledged revocations, %d lost",
		nReplicas, promoted.Round(time.Millisecond), wrote.Round(time.Millisecond), how, acked.Round(time.Millisecond), len(all), lost)
}
