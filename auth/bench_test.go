package auth

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/store/redis"
	"github.com/tokengate/tokengate/tokens"
)

func openBolt(b *testing.B) store.Store {
	st, err := bolt.Open(filepath.Join(b.TempDir(), "tg.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func openRedis(b *testing.B) store.Store {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := redis.Open(ctx, redis.Config{Addrs: []string{redistest.Start(b).Addr}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func benchService(b *testing.B, open func(*testing.B) store.Store) (*Service, string) {
	b.Helper()
	st := open(b)
	ctx := context.Background()
	if err := st.PutUser(ctx, store.User{ID: "alice", Name: "Alice Example", Email: "alice@example.com", Role: "Editor"}); err != nil {
		b.Fatal(err)
	}
	s, err := New(st, tokens.NewServerKey())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	tok, err := s.IssueTemporary(ctx, "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}})
	if err != nil {
		b.Fatal(err)
	}
	return s, tok
}

// warmService returns a Service whose cache already holds the token.
func warmService(b *testing.B) (*Service, string) {
	s, tok := benchService(b, openBolt)
	if _, err := s.Authenticate(context.Background(), tok, tokens.Request{}); err != nil {
		b.Fatal(err)
	}
	s.Wait()
	return s, tok
}

// BenchmarkAuthenticateHit is the gate's hot path: a token seen before.
func BenchmarkAuthenticateHit(b *testing.B) {
	s, tok := warmService(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, tok, tokens.Request{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateHitParallel(b *testing.B) {
	s, tok := warmService(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Authenticate(ctx, tok, tokens.Request{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyCold is a full verification of a token not in the cache,
// with the subject's state cached (the usual cold case) or read from the
// store, bolt or Redis, every time.
func BenchmarkVerifyCold(b *testing.B) {
	for _, tc := range []struct {
		name      string
		open      func(*testing.B) store.Store
		readStore bool
	}{
		{"subject cached", openBolt, false},
		{"subject from bolt", openBolt, true},
		{"subject from redis", openRedis, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, tok := benchService(b, tc.open)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if tc.readStore {
					s.epochs.Invalidate("alice")
				}
				if _, _, err := s.verifyCold(ctx, s.KeyRing(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// gateCaveats are the caveat sets BenchmarkAuthenticateHitCaveats and
// TestAuthenticateHitDoesNotAllocate compare: the time caveat every
// temporary token has, and that with the caveats the gate checks
// against the method, path and route.
func gateCaveats() []struct {
	name    string
	caveats []tokens.Caveat
} {
	timeCav := tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}
	return []struct {
		name    string
		caveats []tokens.Caveat
	}{
		{"time", []tokens.Caveat{timeCav}},
		// The issue's target: within 50 ns of "time".
		{"time+service+api+readonly", []tokens.Caveat{
			timeCav,
			{Type: tokens.CaveatService, Whitelist: []string{"grafana-*", "wiki"}},
			{Type: tokens.CaveatAPI, Whitelist: []string{"ci/create/deploy/*", "wiki/get/spaces/*"}},
			{Type: tokens.CaveatReadonly},
		}},
		{"time+service+api+readonly+path", []tokens.Caveat{
			timeCav,
			{Type: tokens.CaveatService, Whitelist: []string{"grafana-*", "wiki"}},
			{Type: tokens.CaveatAPI, Whitelist: []string{"ci/create/deploy/*", "wiki/get/spaces/*"}},
			{Type: tokens.CaveatReadonly},
			// "/spaces/other", "/spaces/s1"
			{Type: tokens.CaveatPath, Whitelist: []string{"L3NwYWNlcy9vdGhlcg==", "L3NwYWNlcy9zMQ=="}},
		}},
	}
}

// gateRequest is a request all gateCaveats hold for.
var gateRequest = tokens.Request{Interface: "rest", Method: "GET", Path: "/spaces/s1/docs/readme.md", Service: "wiki"}

// warmCaveatService returns a Service whose cache holds a token with the
// caveats.
func warmCaveatService(tb testing.TB, caveats []tokens.Caveat) (*Service, string) {
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "tg.db"), time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.PutUser(ctx, store.User{ID: "alice", Name: "Alice Example"}); err != nil {
		tb.Fatal(err)
	}
	s, err := New(st, tokens.NewServerKey())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	tok, err := s.IssueTemporary(ctx, "alice", tokens.Access, caveats)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok, gateRequest); err != nil {
		tb.Fatal(err)
	}
	s.Wait()
	return s, tok
}

// BenchmarkAuthenticateHitCaveats is the cache-hit cost of the gate's
// caveats against that of a time caveat alone.
func BenchmarkAuthenticateHitCaveats(b *testing.B) {
	for _, tc := range gateCaveats() {
		b.Run(tc.name, func(b *testing.B) {
			s, tok := warmCaveatService(b, tc.caveats)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Authenticate(ctx, tok, gateRequest); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The cache-hit path is the gate's per-request cost: checking the
// method, path and service caveats must not allocate.
func TestAuthenticateHitDoesNotAllocate(t *testing.T) {
	for _, tc := range gateCaveats() {
		t.Run(tc.name, func(t *testing.T) {
			s, tok := warmCaveatService(t, tc.caveats)
			ctx := context.Background()
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := s.Authenticate(ctx, tok, gateRequest); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per cache hit, want 0", allocs)
			}
		})
	}
}

// BenchmarkAuthenticateHitCaveatCost is what the gate's caveats (service,
// api, data.readonly) add to a cache hit over a time caveat alone, with
// the two hits measured in alternating batches on one Service, so that
// both sides share the machine's state: on a loaded machine, two
// separate benchmark runs differ by more than the cost itself. Reported:
// ns per hit of each, and their difference (the issue's bound: 50 ns).
func BenchmarkAuthenticateHitCaveatCost(b *testing.B) {
	sets := gateCaveats()
	s, plain := warmCaveatService(b, sets[0].caveats)
	ctx := context.Background()
	gated, err := s.IssueTemporary(ctx, "alice", tokens.Access, sets[1].caveats)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, gated, gateRequest); err != nil {
		b.Fatal(err)
	}
	s.Wait()
	const batch = 256
	hits := func(tok string) time.Duration {
		start := time.Now()
		for range batch {
			if _, err := s.Authenticate(ctx, tok, gateRequest); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var base, with time.Duration
	b.ReportAllocs()
	for b.Loop() {
		base += hits(plain)
		with += hits(gated)
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(base)/n, "ns/hit-time")
	b.ReportMetric(float64(with)/n, "ns/hit-gate-caveats")
	b.ReportMetric(float64(with-base)/n, "ns/caveat-cost")
	b.ReportMetric(0, "ns/op") // one op is two batches: not a hit's cost
}
