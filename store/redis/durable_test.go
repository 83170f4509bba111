package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/redis"
	"github.com/tokengate/tokengate/store/storetest"
)

// startReplicated starts a primary and one replica of it and waits until
// the replica is in sync.
func startReplicated(t testing.TB) (primary, replica *redistest.Server) {
	t.Helper()
	primary = redistest.Start(t)
	host, port, _ := strings.Cut(primary.Addr, ":")
	replica = redistest.Start(t, "--replicaof", host, port)
	waitInfo(t, primary.Addr, "replication", "connected_slaves:1")
	waitInfo(t, replica.Addr, "replication", "master_link_status:up")
	return primary, replica
}

// waitInfo polls INFO section at addr until it has the line want.
func waitInfo(t testing.TB, addr, section, want string) {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := c.Info(context.Background(), section).Result()
		if strings.Contains(info, want+"\r\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO %s of %s has no %q within 10s:\n%s", section, addr, want, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDurableWrites: with WaitReplicas 1, every write whose loss would
// resurrect a credential succeeds while the replica keeps up, and fails
// with ErrNotReplicated (an ErrUnavailable) within the timeout while it
// is stopped; the write is in effect on the primary all the same.
func TestDurableWrites(t *testing.T) {
	primary, replica := startReplicated(t)
	const timeout = 300 * time.Millisecond
	durable := func(c *redis.Config) { c.WaitReplicas, c.WaitTimeout = 1, timeout }
	ctx := t.Context()
	now := time.Now()

	// Each op is set up by its setup (not timed, not durable) and then
	// run; check says whether it took effect on the primary.
	type op struct {
		name  string
		setup func(s store.Store) error
		run   func(s store.Store) error
		check func(s store.Store) bool
	}
	named := func(s store.Store) error {
		return s.CreateNamed(ctx, store.NamedToken{ID: "n1", Subject: "alice", Name: "ci"})
	}
	session := func(s store.Store) error {
		return s.CreateSession(ctx, store.Session{ID: "s1", Subject: "alice", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	ops := []op{
		{"RevokeTemp", func(s store.Store) error { return storetest.Err(s.Subject(ctx, "alice")) },
			func(s store.Store) error { return storetest.Err(s.RevokeTemp(ctx, "alice")) },
			func(s store.Store) bool {
				sub, err := s.Subject(ctx, "alice")
				return err == nil && sub.Temp.Generation > 1
			}},
		{"UpdateNamed revoke", named,
			func(s store.Store) error {
				yes := true
				return s.UpdateNamed(ctx, "alice", "n1", store.NamedUpdate{Revoked: &yes})
			},
			func(s store.Store) bool { n, err := s.Named(ctx, "alice", "n1"); return err == nil && n.Revoked }},
		{"DeleteNamed", named,
			func(s store.Store) error { return s.DeleteNamed(ctx, "alice", "n1") },
			func(s store.Store) bool {
				_, err := s.Named(ctx, "alice", "n1")
				return errors.Is(err, store.ErrNotFound)
			}},
		{"DeleteSession", session,
			func(s store.Store) error { return s.DeleteSession(ctx, "s1") },
			func(s store.Store) bool { _, err := s.Session(ctx, "s1"); return errors.Is(err, store.ErrNotFound) }},
		{"DeleteSessions", session,
			func(s store.Store) error { return storetest.Err(s.DeleteSessions(ctx, "alice")) },
			func(s store.Store) bool { _, err := s.Session(ctx, "s1"); return errors.Is(err, store.ErrNotFound) }},
		{"UpdateUser block", nil,
			func(s store.Store) error {
				return storetest.Err(s.UpdateUser(ctx, "alice", func(u *store.User) error { u.Blocked = true; return nil }))
			},
			func(s store.Store) bool { u, err := s.User(ctx, "alice"); return err == nil && u.Blocked }},
		{"SetPassword", nil,
			func(s store.Store) error { return s.SetPassword(ctx, "alice", "new", now) },
			func(s store.Store) bool { u, err := s.User(ctx, "alice"); return err == nil && u.PasswordHash == "new" }},
		{"DeleteUser", nil,
			func(s store.Store) error { return s.DeleteUser(ctx, "alice") },
			func(s store.Store) bool { _, err := s.User(ctx, "alice"); return errors.Is(err, store.ErrNotFound) }},
	}
	prepare := func(t *testing.T, o op) store.Store {
		t.Helper()
		s := openRedis(t, primary, "", durable)
		if err := s.PutUser(ctx, store.User{ID: "alice"}); err != nil {
			t.Fatal(err)
		}
		if o.setup != nil {
			if err := o.setup(s); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}

	t.Run("replica up", func(t *testing.T) {
		for _, o := range ops {
			s := prepare(t, o)
			if err := o.run(s); err != nil {
				t.Errorf("%s: %v", o.name, err)
			}
			if !o.check(s) {
				t.Errorf("%s: not applied", o.name)
			}
		}
	})

	t.Run("replica stopped", func(t *testing.T) {
		stores := make([]store.Store, len(ops))
		for i, o := range ops {
			stores[i] = prepare(t, o)
		}
		pause(t, replica)
		defer replica.Resume()
		events := make(chan store.Event, 1)
		defer stores[0].Subscribe(func(e store.Event) {
			select {
			case events <- e:
			default:
			}
		})()
		for i, o := range ops {
			start := time.Now()
			err := o.run(stores[i])
			took := time.Since(start)
			if !errors.Is(err, redis.ErrNotReplicated) || !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s with the replica stopped: %v, want ErrNotReplicated", o.name, err)
			}
			if took < timeout || took > timeout+time.Second {
				t.Errorf("%s took %v, want about the %v timeout", o.name, took, timeout)
			}
			if !o.check(stores[i]) {
				t.Errorf("%s: not in effect on the primary", o.name)
			}
		}
		// The local subscribers heard the revocation: caches refuse.
		select {
		case e := <-events:
			if e.Kind != store.TempRevoked {
				t.Errorf("local event %+v, want TempRevoked", e)
			}
		default:
			t.Error("a revocation that timed out was not told to local subscribers")
		}
		// A retried delete that finds nothing still waits: the first
		// attempt's deletion is not replicated either.
		if err := stores[2].DeleteNamed(ctx, "alice", "n1"); !errors.Is(err, redis.ErrNotReplicated) {
			t.Errorf("retried DeleteNamed: %v, want ErrNotReplicated", err)
		}
		// Creating is not durable: it does not wait.
		if err := stores[0].CreateNamed(ctx, store.NamedToken{ID: "n9", Subject: "alice", Name: "x"}); err != nil {
			t.Errorf("CreateNamed with the replica stopped: %v", err)
		}
	})

	t.Run("replica resumed", func(t *testing.T) {
		s := openRedis(t, primary, "", durable)
		if err := s.PutUser(ctx, store.User{ID: "alice"}); err != nil {
			t.Fatal(err)
		}
		// The replica catches up; then WAIT succeeds again.
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if _, err = s.RevokeTemp(ctx, "alice"); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("RevokeTemp after the replica resumed: %v", err)
		}
	})

	t.Run("wait off", func(t *testing.T) {
		pause(t, replica)
		defer replica.Resume()
		s := openRedis(t, primary, "")
		if err := s.PutUser(ctx, store.User{ID: "alice"}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if _, err := s.RevokeTemp(ctx, "alice"); err != nil {
			t.Errorf("RevokeTemp without wait_replicas, replica stopped: %v", err)
		}
	})
}

// TestDurableConformance runs the suite with WaitReplicas 1 on a primary
// with a replica: every script still returns what it did.
func TestDurableConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	primary, _ := startReplicated(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openRedis(t, primary, "", func(c *redis.Config) { c.WaitReplicas = 1 })
	})
}

// BenchmarkRevokeTemp measures a revocation on a primary with a replica,
// without and with waiting for it: the price of WaitReplicas.
func BenchmarkRevokeTemp(b *testing.B) {
	primary, _ := startReplicated(b)
	for _, n := range []int{0, 1} {
		b.Run(fmt.Sprintf("wait_replicas=%d", n), func(b *testing.B) {
			s := openRedis(b, primary, "", func(c *redis.Config) { c.WaitReplicas = n })
			ctx := context.Background()
			if err := s.PutUser(ctx, store.User{ID: "alice"}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.RevokeTemp(ctx, "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
