package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/redis"
	"github.com/tokengate/tokengate/store/storetest"
)

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openRedis(t, srv, "") })
}

// TestRedisClusterConformance runs the suite on a one-node Redis Cluster:
// the node refuses any script or command whose keys span hash slots, so
// this proves every operation stays on one slot.
func TestClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	srv := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	if line, err := srv.Do("CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil || line != "+OK" {
		t.Fatalf("CLUSTER ADDSLOTSRANGE: %q, %v", line, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if line, _ := srv.Do("CLUSTER", "INFO"); line == "cluster_state:ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cluster not ok after 10s")
		}
	}
	cluster := func(c *redis.Config) { c.Cluster = true }
	storetest.Run(t, func(t *testing.T) store.Store { return openRedis(t, srv, "", cluster) })

	// Events cross the cluster bus too.
	a, b := openRedis(t, srv, "cl:", cluster), openRedis(t, srv, "cl:", cluster)
	events := make(chan store.Event, 10)
	defer b.Subscribe(func(e store.Event) { events <- e })()
	if err := a.PutUser(t.Context(), store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, store.Event{Kind: store.UserChanged, Subject: "alice", Origin: a.Instance()})
	if _, err := a.RevokeTemp(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, store.Event{Kind: store.TempRevoked, Subject: "alice"})
}

func waitEvent(t *testing.T, events <-chan store.Event, want store.Event) {
	t.Helper()
	select {
	case got := <-events:
		got.Sent = time.Time{} // remote events carry it; TestRedisPropagation checks it
		// An event heard over the channel names the instance that sent
		// it; a want without an origin takes any.
		if want.Origin == "" {
			got.Origin = ""
		}
		if got != want {
			t.Fatalf("event %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %+v within 5s", want)
	}
}

// TestRedisKeyLayout pins down the documented key layout and TTLs.
func TestKeyLayout(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	s := openRedis(t, srv, "kl:")
	now := time.Now()
	err := errors.Join(
		s.PutUser(ctx, store.User{ID: "alice", Username: "al"}),
		s.CreateNamed(ctx, store.NamedToken{ID: "n1", Subject: "alice", Name: "ci"}),
		s.CreateSession(ctx, store.Session{ID: "s1", Subject: "alice", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
		s.CreateHandoff(ctx, store.Handoff{Digest: "h1", Subject: "alice", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}),
		s.CreateReset(ctx, store.ResetToken{Digest: "r1", Subject: "alice", CreatedAt: now, ExpiresAt: now.Add(2 * time.Hour)}),
		storetest.Err(s.Fail(ctx, "ip:1", 10*time.Minute, now)),
		storetest.Err(s.RevokeTemp(ctx, "alice")),
	)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer c.Close()
	keys, err := c.Keys(ctx, "kl:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{"kl:c:ip:1", "kl:h:h1", "kl:n:{alice}", "kl:ni:n1", "kl:nm:al", "kl:nn:{alice}", "kl:r:{alice}", "kl:rt:r1", "kl:s:s1", "kl:seq", "kl:ss:{alice}", "kl:u:{alice}"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q\nwant %q", keys, want)
	}
	for key, life := range map[string]time.Duration{
		"kl:s:s1": time.Hour, "kl:ss:{alice}": time.Hour, "kl:h:h1": time.Minute, "kl:rt:r1": 2 * time.Hour, "kl:r:{alice}": 2 * time.Hour,
		"kl:c:ip:1": 10 * time.Minute, "kl:u:{alice}": -1, "kl:n:{alice}": -1, "kl:ni:n1": -1, "kl:seq": -1,
	} {
		got, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if life < 0 && got >= 0 || life > 0 && (got <= life || got > life+time.Minute) {
			t.Errorf("TTL of %s = %v, want %v", key, got, max(life, 0)+time.Minute)
		}
	}
	fields, err := c.HKeys(ctx, "kl:u:{alice}").Result()
	slices.Sort(fields)
	if err != nil || !slices.Equal(fields, []string{"gen", "name", "num", "pw", "secret", "seq", "user", "ver"}) {
		t.Fatalf("user hash fields %q, %v", fields, err)
	}
	if doc, _ := c.HGet(ctx, "kl:u:{alice}", "user").Result(); strings.Contains(doc, "password_hash") || strings.Contains(doc, "number") {
		t.Fatalf("user JSON %s holds fields kept beside it", doc)
	}
}

// TestRedisStaleClaims: a username claim left behind blocks the name until
// it is old and its owner does not have the name.
func TestStaleClaims(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	s := openRedis(t, srv, "sc:")
	if err := s.PutUser(ctx, store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer c.Close()
	old := time.Now().Add(-time.Minute).UnixMilli()
	for _, tc := range []struct {
		name, claim, id string
		want            error
	}{
		{"fresh claim of nobody", fmt.Sprintf("1:%d:ghost", time.Now().UnixMilli()), "u1", store.ErrExists},
		{"old claim of nobody", fmt.Sprintf("1:%d:ghost", old), "u2", nil},
		{"old claim of an owner with the name", fmt.Sprintf("99:%d:alice", old), "u3", store.ErrExists},
		{"old claim of an owner without the name", fmt.Sprintf("99:%d:alice", old), "u4", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "n-" + tc.id
			if tc.name == "old claim of an owner with the name" {
				name = "alice"
			}
			if err := c.Set(ctx, "sc:nm:"+name, tc.claim, 0).Err(); err != nil {
				t.Fatal(err)
			}
			err := s.PutUser(ctx, store.User{ID: tc.id, Username: name})
			if !errors.Is(err, tc.want) {
				t.Fatalf("PutUser = %v, want %v", err, tc.want)
			}
			if u, err := s.UserByName(ctx, name); tc.want == nil && (err != nil || u.ID != tc.id) {
				t.Fatalf("UserByName = %q, %v", u.ID, err)
			}
		})
	}
	if u, err := s.UserByName(ctx, "alice"); err != nil || u.ID != "alice" {
		t.Fatalf("alice after the thefts: %q, %v", u.ID, err)
	}
	// Fenced, alice still works.
	if err := s.PutUser(ctx, store.User{ID: "alice", Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
}

// TestRedisEvents: changes made through one instance reach another
// instance's subscribers, once, and not a third deployment's.
func TestEvents(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	a, b, other := openRedis(t, srv, "ev:"), openRedis(t, srv, "ev:"), openRedis(t, srv, "ev2:")
	var onA storetest.Recorder
	defer a.Subscribe(onA.Record)()
	remote := make(chan store.Event, 100)
	defer b.Subscribe(func(e store.Event) { remote <- e })()
	stray := make(chan store.Event, 100)
	defer other.Subscribe(func(e store.Event) { stray <- e })()

	for _, tc := range []struct {
		do   func() error
		want store.Event
	}{
		{func() error { return a.PutUser(ctx, store.User{ID: "al:ice"}) }, store.Event{Kind: store.UserChanged, Subject: "al:ice"}},
		{func() error { return storetest.Err(a.RevokeTemp(ctx, "al:ice")) }, store.Event{Kind: store.TempRevoked, Subject: "al:ice"}},
		{func() error { return a.CreateNamed(ctx, store.NamedToken{ID: "n", Subject: "al:ice", Name: "n"}) }, store.Event{Kind: store.NamedChanged, Subject: "al:ice"}},
		{func() error {
			return errors.Join(
				a.CreateSession(ctx, store.Session{ID: "s", Subject: "al:ice", CreatedAt: storetest.T0, ExpiresAt: storetest.T0.Add(time.Hour)}),
				a.DeleteSession(ctx, "s"))
		}, store.Event{Kind: store.SessionEnded, Subject: "al:ice"}},
		{func() error { return a.SetPassword(ctx, "al:ice", "h", storetest.T0) }, store.Event{Kind: store.TempRevoked, Subject: "al:ice"}},
		{func() error { return a.DeleteUser(ctx, "al:ice") }, store.Event{Kind: store.UserChanged, Subject: "al:ice"}},
	} {
		if err := tc.do(); err != nil {
			t.Fatal(err)
		}
		if got := onA.Take(); !reflect.DeepEqual(got, []store.Event{tc.want}) {
			t.Fatalf("local events %+v, want %+v", got, tc.want)
		}
		heard := tc.want
		heard.Origin = a.Instance()
		waitEvent(t, remote, heard)
	}
	// A published with PUBLISH: its own echo must not come back to it, and
	// the other prefix hears nothing. Wait for a marker from B first.
	if err := b.PutUser(ctx, store.User{ID: "marker"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, remote, store.Event{Kind: store.UserChanged, Subject: "marker"}) // B's local call
	deadline := time.After(5 * time.Second)
	for {
		if got := onA.Take(); len(got) > 0 {
			if len(got) != 1 || got[0].Sent.IsZero() || got[0].Kind != store.UserChanged || got[0].Subject != "marker" {
				t.Fatalf("A got %+v besides B's marker: its own echoes?", got)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatal("A never heard B's marker")
		case <-time.After(10 * time.Millisecond):
		}
	}
	select {
	case e := <-stray:
		t.Fatalf("another prefix got %+v", e)
	default:
	}
	if !a.Connected() || !b.Connected() || time.Since(b.LastHeard()) > 2*time.Second {
		t.Fatalf("Connected %v %v, LastHeard %v ago", a.Connected(), b.Connected(), time.Since(b.LastHeard()))
	}
}

// TestRedisPropagation measures how long a RevokeTemp on one instance
// takes to reach another's subscribers:
//
//	go test -run TestRedisPropagation -v ./store/
func TestPropagation(t *testing.T) {
	srv := redistest.Start(t)
	p := newPropagation(t, srv)
	const n = 200
	e2e := make([]time.Duration, n)
	for i := range n {
		e2e[i] = p.once(t)
	}
	slices.Sort(e2e)
	lags := p.lags()
	t.Logf("RevokeTemp on A until B's subscriber ran, %d events: p50 %v, p99 %v, max %v", n, pct(e2e, 50), pct(e2e, 99), e2e[n-1])
	t.Logf("publish timestamp to B's subscriber (Event.Sent), %d events: p50 %v, p99 %v", len(lags), pct(lags, 50), pct(lags, 99))
	if len(lags) != n {
		t.Fatalf("%d remote events carried their publish time, want %d", len(lags), n)
	}
	if pct(e2e, 99) > time.Second {
		t.Fatalf("p99 %v", pct(e2e, 99))
	}
}

// BenchmarkPropagation: go test -run ^$ -bench Propagation ./store/
func BenchmarkPropagation(b *testing.B) {
	srv := redistest.Start(b)
	p := newPropagation(b, srv)
	var all []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		all = append(all, p.once(b))
	}
	slices.Sort(all)
	b.ReportMetric(float64(pct(all, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(all, 99).Microseconds()), "p99-µs")
}

type propagation struct {
	a, b *redis.Store
	got  chan time.Time
	mu   sync.Mutex
	lag  []time.Duration
}

func newPropagation(tb testing.TB, srv *redistest.Server) *propagation {
	p := &propagation{got: make(chan time.Time, 16)}
	p.a = openRedis(tb, srv, "lag:")
	p.b = openRedis(tb, srv, "lag:")
	p.b.Subscribe(func(e store.Event) {
		if !e.Sent.IsZero() {
			p.mu.Lock()
			p.lag = append(p.lag, max(time.Since(e.Sent), 0))
			p.mu.Unlock()
		}
		select {
		case p.got <- time.Now():
		default: // never block B's listener
		}
	})
	if err := p.a.PutUser(context.Background(), store.User{ID: "alice"}); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-p.got: // B hearing the PutUser
	case <-time.After(5 * time.Second):
		tb.Fatal("B did not hear the PutUser")
	}
	p.mu.Lock()
	p.lag = nil
	p.mu.Unlock()
	return p
}

func (p *propagation) once(tb testing.TB) time.Duration {
	start := time.Now()
	if _, err := p.a.RevokeTemp(context.Background(), "alice"); err != nil {
		tb.Fatal(err)
	}
	select {
	case at := <-p.got:
		return at.Sub(start)
	case <-time.After(5 * time.Second):
		tb.Fatal("event lost")
		return 0
	}
}

func (p *propagation) lags() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := slices.Clone(p.lag)
	slices.Sort(l)
	return l
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// healthLog records health changes.
type healthLog struct {
	lost, restored chan time.Time
}

func watchHealth(r *redis.Store) *healthLog {
	h := &healthLog{lost: make(chan time.Time, 10), restored: make(chan time.Time, 10)}
	r.OnHealth(func(e store.HealthEvent) {
		if e == store.SubscriptionLost {
			h.lost <- time.Now()
		}
	})
	r.OnReconnect(func() { h.restored <- time.Now() })
	return h
}

func wait(t *testing.T, c <-chan time.Time, what string, limit time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-c:
		return at
	case <-time.After(limit):
		t.Fatalf("no %s within %v", what, limit)
		return time.Time{}
	}
}

// TestRedisReconnect: the server restarts; operations meanwhile fail
// fast with ErrUnavailable, OnReconnect fires once it is back, and events
// flow again.
func TestReconnect(t *testing.T) {
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	ctx := t.Context()
	a, b := openRedis(t, srv, "rc:"), openRedis(t, srv, "rc:")
	health := watchHealth(b)
	events := make(chan store.Event, 10)
	defer b.Subscribe(func(e store.Event) { events <- e })()
	if err := a.PutUser(ctx, store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, store.Event{Kind: store.UserChanged, Subject: "alice"})

	killed := time.Now()
	srv.Kill()
	for _, op := range []func() error{
		func() error { return storetest.Err(a.RevokeTemp(ctx, "alice")) },
		func() error { return storetest.Err(a.Subject(ctx, "alice")) },
		func() error { return a.PutUser(ctx, store.User{ID: "bob"}) },
	} {
		start := time.Now()
		err := op()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("during the outage: err = %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("failing took %v", d)
		}
	}
	t.Logf("loss noticed after %v", wait(t, health.lost, "SubscriptionLost", 5*time.Second).Sub(killed))
	if b.Connected() {
		t.Fatal("Connected during the outage")
	}

	restart(t, srv)
	restarted := time.Now()
	t.Logf("OnReconnect %v after the restart", wait(t, health.restored, "OnReconnect", 10*time.Second).Sub(restarted))
	if !b.Connected() {
		t.Fatal("not Connected after OnReconnect")
	}
	// The client pool may refuse for up to a second after failed dials.
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err = a.RevokeTemp(ctx, "alice"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("RevokeTemp after the restart: %v", err)
	}
	waitEvent(t, events, store.Event{Kind: store.TempRevoked, Subject: "alice"})
}

// TestRedisHungServer: a server that stops answering without closing its
// connections (SIGSTOP, like a partition) is noticed by the subscription's
// pings within about a second, and operations time out fast.
func TestHungServer(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	s := openRedis(t, srv, "hg:")
	if err := s.PutUser(ctx, store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	health := watchHealth(s)
	pause(t, srv)
	paused := time.Now()
	start := time.Now()
	if _, err := s.Subject(ctx, "alice"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Subject on a hung server: %v", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("Subject on a hung server took %v", d)
	}
	lostAt := wait(t, health.lost, "SubscriptionLost", 5*time.Second)
	t.Logf("hung server noticed after %v (LastHeard %v before)", lostAt.Sub(paused), lostAt.Sub(s.LastHeard()))
	if d := lostAt.Sub(paused); d > 2*time.Second {
		t.Fatalf("hung server noticed after %v", d)
	}
	if s.Connected() {
		t.Fatal("Connected while hung")
	}
	srv.Resume()
	wait(t, health.restored, "OnReconnect", 10*time.Second)
	if _, err := s.Subject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
}

// TestRedisDurability: with appendfsync always, what a call returned
// survives kill -9.
func TestDurability(t *testing.T) {
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	ctx := t.Context()
	s := openRedis(t, srv, "du:")
	users := []store.User{
		{ID: "alice", Username: "al", Name: "Alice", CreatedAt: storetest.T0, PasswordHash: "h"},
		{ID: "bob", Username: "bob", CreatedAt: storetest.T0},
	}
	for _, u := range users {
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	bob, err := s.Subject(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	var alice store.TempSecret
	for range 3 {
		if alice, err = s.RevokeTemp(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	tok := store.NamedToken{ID: "n1", Subject: "alice", Name: "ci", CreatedAt: storetest.T0, Secret: []byte("s")}
	if err := s.CreateNamed(ctx, tok); err != nil {
		t.Fatal(err)
	}
	before, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	restart(t, srv)
	s2 := openRedis(t, srv, "du:")
	after, err := s2.Users(ctx)
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Fatalf("Users after kill -9 = %+v, %v; want %+v", after, err, before)
	}
	for id, want := range map[string]store.TempSecret{"alice": alice, "bob": bob.Temp} {
		if got, err := s2.Subject(ctx, id); err != nil || !reflect.DeepEqual(got.Temp, want) {
			t.Fatalf("%s after kill -9: %+v, %v; want %+v", id, got.Temp, err, want)
		}
	}
	if got, err := s2.Named(ctx, "alice", "n1"); err != nil || !reflect.DeepEqual(got, tok) {
		t.Fatalf("named token after kill -9: %+v, %v", got, err)
	}
	if u, err := s2.UserByName(ctx, "al"); err != nil || u.ID != "alice" {
		t.Fatalf("UserByName after kill -9: %q, %v", u.ID, err)
	}
	if err := s2.PutUser(ctx, store.User{ID: "carol"}); err != nil {
		t.Fatal(err)
	}
	if carol, _ := s2.User(ctx, "carol"); carol.Number != 3 {
		t.Fatalf("number sequence restarted: carol got %d, want 3", carol.Number)
	}
}

// TestOpenUnreachable: opening fails fast with ErrUnavailable.
func TestOpenUnreachable(t *testing.T) {
	hung := redistest.Start(t)
	pause(t, hung)
	defer hung.Resume()
	for _, tc := range []struct {
		name string
		addr string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"nothing listening", freeAddr(t), func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}},
		{"hung server", hung.Addr, func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}},
		{"hung server, short context", hung.Addr, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			s, err := redis.Open(ctx, redis.Config{Addrs: []string{tc.addr}})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Fatalf("took %v", d)
			}
		})
	}
	if _, err := redis.Open(t.Context(), redis.Config{}); err == nil {
		t.Fatal("opened without an address")
	}
}

// TestRedisForeignMessages: malformed messages on the channel are
// ignored; an unknown kind is taken as UserChanged.
func TestForeignMessages(t *testing.T) {
	srv := redistest.Start(t)
	s := openRedis(t, srv, "fm:")
	events := make(chan store.Event, 10)
	defer s.Subscribe(func(e store.Event) { events <- e })()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer c.Close()
	for _, m := range []string{"garbage", "temp:x:notatime:alice", "future:other:1:bob", "temp:other:1:a:b"} {
		if err := c.Publish(t.Context(), "fm:events", m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitEvent(t, events, store.Event{Kind: store.UserChanged, Subject: "bob", Origin: "other"})
	waitEvent(t, events, store.Event{Kind: store.TempRevoked, Subject: "a:b", Origin: "other"})
}

var prefixes atomic.Int64

// openRedis opens a store on the server with a key prefix of its own, so
// that tests sharing a server do not see each other; prefix "" picks a
// fresh one. It is closed at the end of the test.
func openRedis(tb testing.TB, s *redistest.Server, prefix string, edit ...func(*redis.Config)) *redis.Store {
	tb.Helper()
	if prefix == "" {
		prefix = fmt.Sprintf("t%d:", prefixes.Add(1))
	}
	cfg := redis.Config{Addrs: []string{s.Addr}, KeyPrefix: prefix}
	for _, e := range edit {
		e(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := redis.Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

func restart(t *testing.T, s *redistest.Server) {
	t.Helper()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
}

// pause hangs the server; the test skips where that cannot be done.
func pause(t *testing.T, s *redistest.Server) {
	t.Helper()
	if err := s.Pause(); errors.Is(err, redistest.ErrNoSIGSTOP) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address with nothing listening.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func BenchmarkSubject(b *testing.B) {
	srv := redistest.Start(b)
	storetest.BenchmarkSubject(b, func(b *testing.B) store.Store { return openRedis(b, srv, "") })
}
