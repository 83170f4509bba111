package redis_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/redis"
	"github.com/tokengate/tokengate/store/storetest"
)

// openCluster opens a store on the cluster's seed nodes.
func openCluster(t *testing.T, c *redistest.Cluster, prefix string, edit ...func(*redis.Config)) *redis.Store {
	t.Helper()
	return openRedis(t, c.Nodes[0], prefix, append([]func(*redis.Config){func(cfg *redis.Config) {
		cfg.Addrs = c.Addrs()
	}}, edit...)...)
}

// TestThreeMasterCluster: the conformance suite on a cluster made by
// redis-cli --cluster create with three masters, so that users, their
// usernames, sessions and pointers land on different nodes; and events
// published on one node reach a store connected to another.
func TestThreeMasterCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := redistest.StartCluster(t, 3, 0)
	storetest.Run(t, func(t *testing.T) store.Store { return openCluster(t, c, "") })

	a, b := openCluster(t, c, "cl3:"), openCluster(t, c, "cl3:")
	events := make(chan store.Event, 10)
	defer b.Subscribe(func(e store.Event) { events <- e })()
	for _, id := range []string{"alice", "bob", "carol"} { // three slots
		if err := a.PutUser(t.Context(), store.User{ID: id}); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, events, store.Event{Kind: store.UserChanged, Subject: id})
		if _, err := a.RevokeTemp(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, events, store.Event{Kind: store.TempRevoked, Subject: id})
	}
}

// keySlot is the cluster slot of key.
func keySlot(t *testing.T, n *redistest.Server, key string) int {
	t.Helper()
	out, err := n.Do("CLUSTER", "KEYSLOT", key)
	slot, perr := strconv.Atoi(strings.TrimPrefix(out, ":"))
	if err != nil || perr != nil {
		t.Fatalf("CLUSTER KEYSLOT %s: %q, %v", key, out, err)
	}
	return slot
}

// TestClusterSlotMigration moves the slot that holds alice's keys to
// another master while two stores revoke, create and revoke named tokens
// and read alice (a cluster with a replica per master, and durable writes
// with WaitReplicas 1, so WAIT follows the slot too). Operations during
// the move may fail with ErrUnavailable; none that succeeded is lost.
func TestClusterSlotMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := redistest.StartCluster(t, 3, 1)
	durable := func(cfg *redis.Config) { cfg.WaitReplicas, cfg.WaitTimeout = 1, 2*time.Second }
	a, b := openCluster(t, c, "mig:", durable), openCluster(t, c, "mig:", durable)
	ctx := t.Context()
	if err := a.PutUser(ctx, store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Subject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	slot := keySlot(t, c.Nodes[0], "mig:u:{alice}")
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
	// Ballast in the slot, so that the move takes a while.
	for i := range 500 {
		if out, err := from.Do("SET", fmt.Sprintf("ballast:{alice}:%d", i), "x"); err != nil || out != "+OK" {
			t.Fatalf("SET ballast: %q, %v", out, err)
		}
	}

	var (
		maxGen    atomic.Uint64 // the highest generation a RevokeTemp returned
		mu        sync.Mutex
		created   []string // named tokens whose creation succeeded
		revoked   []string // named tokens whose revocation succeeded
		ops, fail atomic.Int64
	)
	count := func(err error) bool {
		ops.Add(1)
		if err == nil {
			return true
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("during the migration: %v, want nil or ErrUnavailable", err)
		}
		fail.Add(1)
		return false
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	halt := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer halt()
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if ts, err := a.RevokeTemp(ctx, "alice"); count(err) {
				maxGen.Store(max(maxGen.Load(), ts.Generation))
			}
			id := fmt.Sprintf("n%d", i)
			if !count(b.CreateNamed(ctx, store.NamedToken{ID: id, Subject: "alice", Name: id})) {
				continue
			}
			mu.Lock()
			created = append(created, id)
			mu.Unlock()
			yes := true
			if count(a.UpdateNamed(ctx, "alice", id, store.NamedUpdate{Revoked: &yes})) {
				mu.Lock()
				revoked = append(revoked, id)
				mu.Unlock()
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			sub, err := b.Subject(ctx, "alice")
			if count(err) && sub.Temp.Generation < 1 {
				t.Errorf("alice at generation %d during the migration", sub.Temp.Generation)
			}
		}
	})

	// Some load before the move, and some after.
	atLeast := func(n int64) {
		for deadline := time.Now().Add(10 * time.Second); ops.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d operations after 10s", n)
			}
		}
	}
	atLeast(50)
	start := time.Now()
	err = c.MigrateSlot(slot, from, to, 10)
	took := time.Since(start)
	atLeast(ops.Load() + 50)
	halt()
	if err != nil {
		t.Fatal(err)
	}
	if owner, err := c.Owner(slot); err != nil || owner != to {
		t.Fatalf("slot %d owned by %v after the move, want %s (%v)", slot, owner, to.Addr, err)
	}

	// Nothing that succeeded is lost, read through a fresh store.
	fresh := openCluster(t, c, "mig:")
	sub, err := fresh.Subject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	if sub.Temp.Generation < maxGen.Load() {
		t.Errorf("generation %d after the move, but a revocation returned %d", sub.Temp.Generation, maxGen.Load())
		lost++
	}
	toks, err := fresh.NamedTokens(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, tk := range toks {
		have[tk.ID] = tk.Revoked
	}
	for _, id := range created {
		if _, ok := have[id]; !ok {
			t.Errorf("named token %s lost", id)
			lost++
		}
	}
	for _, id := range revoked {
		if !have[id] {
			t.Errorf("revocation of named token %s lost", id)
			lost++
		}
	}
	t.Logf("slot %d (alice, 500 ballast keys, 10 keys per MIGRATE) moved %s → %s in %s; %d operations, %d failed (ErrUnavailable), alice at generation %d, %d named tokens created, %d revoked, %d lost",
		slot, from.Addr, to.Addr, took.Round(time.Millisecond), ops.Load(), fail.Load(), sub.Temp.Generation, len(created), len(revoked), lost)
	if ops.Load()-fail.Load() == 0 {
		t.Error("no operation succeeded during the test")
	}
}
