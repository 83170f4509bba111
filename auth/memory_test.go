package auth

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/proc"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

// fill verifies n distinct tokens of alice, so that the cache takes each
// in (or evicts for it), and keeps no reference to them.
func fill(tb testing.TB, s *Service, n int) {
	tb.Helper()
	ctx := context.Background()
	cav := []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}}
	for i := range n {
		tok, err := s.IssueTemporary(ctx, "alice", tokens.Access, cav)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok, tokens.Request{}); err != nil {
			tb.Fatal(err)
		}
		if i%512 == 0 {
			s.Wait() // ristretto drops sets when its buffer is full
		}
	}
	s.Wait()
}

// heap is the live heap after a full collection.
func heap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func memoryService(tb testing.TB, budget int64) *Service {
	tb.Helper()
	st, err := bolt.Open(tb.TempDir()+"/tg.db", time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.PutUser(context.Background(), store.User{ID: "alice", Name: "Alice Example", Email: "alice@example.com"}); err != nil {
		tb.Fatal(err)
	}
	s, err := New(st, tokens.NewServerKey(), WithCacheSize(budget))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// TestCacheStaysWithinBudget: filled with three times the tokens it can
// hold, the cache's memory (everything it allocated, its fixed structures
// included) is within 10 % of cache_size, and most of it is in use.
func TestCacheStaysWithinBudget(t *testing.T) {
	const budget = 8 << 20
	before := heap()
	s := memoryService(t, budget)
	fill(t, s, 3*budget/600)
	used := heap() - before
	toks, _ := s.CacheStats()
	t.Logf("cache_size %d: heap %d (%.2f×), evictions %d", budget, used, float64(used)/budget, toks.Evictions)
	if used > budget*11/10 || used < budget/2 {
		t.Fatalf("heap used by a full cache: %d bytes, want %d ± 10%% (at least half in use)", used, budget)
	}
	if toks.Evictions == 0 {
		t.Fatal("no evictions: the cache was never full")
	}
	runtime.KeepAlive(s)
}

// BenchmarkCacheMemory fills the default 64 MiB cache with more tokens
// than it holds (TOKENGATE_BENCH_TOKENS, default 1,000,000) and reports
// the heap it uses against its budget, and the process's peak RSS:
//
//	go test -run '^$' -bench CacheMemory -benchtime 1x ./auth/
func BenchmarkCacheMemory(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("TOKENGATE_BENCH_TOKENS")); err == nil {
		n = v
	}
	for b.Loop() {
		before := heap()
		s := memoryService(b, DefaultCacheSize)
		fill(b, s, n)
		used := heap() - before
		toks, _ := s.CacheStats()
		b.ReportMetric(float64(used)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(used)/DefaultCacheSize, "of-budget")
		b.ReportMetric(float64(toks.Evictions), "evictions")
		rss, err := proc.PeakRSS(os.Getpid())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		runtime.KeepAlive(s)
	}
}
