package cache_test

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/cache"
)

func TestEpochs(t *testing.T) {
	e := cache.NewEpochs()
	s1 := e.Stamp("alice")
	if !e.Current(s1) || e.Stamp("alice") != s1 {
		t.Fatal("a fresh stamp is not current or not stable")
	}

	e.Invalidate("alice")
	if e.Current(s1) {
		t.Fatal("stamp current after Invalidate")
	}
	s2 := e.Stamp("alice")
	if !e.Current(s2) || s2 == s1 {
		t.Fatal("stamp taken after Invalidate is not current, or equals the old one")
	}
	e.Invalidate("alice")
	if e.Current(s1) || e.Current(s2) {
		t.Fatal("a second Invalidate left a stamp current")
	}

	// Invalidating other subjects leaves alice alone, except for the
	// rare one sharing her stripe (1 in 4096 each; 6 or more of 200 would
	// happen about once in 10^12 runs).
	shared := 0
	for i := range 200 {
		s := e.Stamp("alice")
		e.Invalidate("other-" + strconv.Itoa(i))
		if !e.Current(s) {
			shared++
		}
	}
	if shared > 5 {
		t.Fatalf("invalidating 200 other subjects made alice's stamp stale %d times", shared)
	}

	// Another Epochs has its own counters.
	other := cache.NewEpochs()
	s3 := e.Stamp("alice")
	other.Invalidate("alice")
	other.InvalidateAll()
	if !e.Current(s3) {
		t.Fatal("invalidating one Epochs affected another")
	}

	stamps := make([]cache.Stamp, 50)
	for i := range stamps {
		stamps[i] = e.Stamp("subject-" + strconv.Itoa(i))
	}
	e.InvalidateAll()
	for i, s := range stamps {
		if e.Current(s) {
			t.Fatalf("subject-%d current after InvalidateAll", i)
		}
		if !e.Current(e.Stamp("subject-" + strconv.Itoa(i))) {
			t.Fatalf("subject-%d: stamp after InvalidateAll not current", i)
		}
	}
}

func newCache(t testing.TB, e *cache.Epochs) *cache.Cache[string] {
	t.Helper()
	c, err := cache.New[string](1<<20, e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		ok   bool
	}{
		{"zero", 0, false},
		{"negative", -1, false},
		{"one byte", 1, true},
		{"64 MiB", 64 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := cache.New[int](tc.size, cache.NewEpochs())
			c.Close() // nil-safe when New failed
			if (err == nil) != tc.ok || (c == nil) == tc.ok {
				t.Fatalf("New(%d) = %v, %v; want ok=%v", tc.size, c, err, tc.ok)
			}
		})
	}
	var nilCache *cache.Cache[string]
	nilCache.Close()
}

func TestCache(t *testing.T) {
	const key = "eyJhbGciOiJIUzI1NiJ9.token.sig"
	for _, tc := range []struct {
		name string
		// run sets (or not) and returns the key to look up.
		run func(c *cache.Cache[string], e *cache.Epochs) string
		hit bool
	}{
		{"set then get", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set(key, e.Stamp("alice"), "v", 1, 0)
			return key
		}, true},
		{"unknown key", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set(key, e.Stamp("alice"), "v", 1, 0)
			return key + "x"
		}, false},
		{"empty key", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set("", e.Stamp("alice"), "v", 1, 0)
			return ""
		}, true},
		{"invalidated after set", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set(key, e.Stamp("alice"), "v", 1, 0)
			c.Wait()
			e.Invalidate("alice")
			return key
		}, false},
		// The revocation race: the state was read under a stamp, the
		// subject was invalidated, and only then does the fill land.
		{"stamp before invalidate, set after", func(c *cache.Cache[string], e *cache.Epochs) string {
			stamp := e.Stamp("alice")
			e.Invalidate("alice")
			c.Set(key, stamp, "v", 1, 0)
			return key
		}, false},
		{"stamp after invalidate", func(c *cache.Cache[string], e *cache.Epochs) string {
			e.Invalidate("alice")
			c.Set(key, e.Stamp("alice"), "v", 1, 0)
			return key
		}, true},
		{"invalidate all", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set(key, e.Stamp("alice"), "v", 1, 0)
			c.Wait()
			e.InvalidateAll()
			return key
		}, false},
		{"stale overwrite of a fresh entry", func(c *cache.Cache[string], e *cache.Epochs) string {
			old := e.Stamp("alice")
			e.Invalidate("alice")
			c.Set(key, e.Stamp("alice"), "v", 1, 0)
			c.Wait()
			c.Set(key, old, "stale", 1, 0)
			return key
		}, false},
		{"fresh overwrite", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set(key, e.Stamp("alice"), "old", 1, 0)
			c.Wait()
			c.Set(key, e.Stamp("alice"), "v", 1, 0)
			return key
		}, true},
		{"larger than the cache", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set(key, e.Stamp("alice"), "v", 2<<20, 0)
			return key
		}, false},
		{"negative ttl", func(c *cache.Cache[string], e *cache.Epochs) string {
			c.Set(key, e.Stamp("alice"), "v", 1, -time.Second)
			return key
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := cache.NewEpochs()
			c := newCache(t, e)
			k := tc.run(c, e)
			c.Wait()
			v, ok := c.Get(k)
			if ok != tc.hit || (ok && v != "v") {
				t.Fatalf("Get = %q, %v; want hit=%v", v, ok, tc.hit)
			}
			want := cache.Stats{Misses: 1}
			if tc.hit {
				want = cache.Stats{Hits: 1}
			}
			if got := c.Stats(); got != want {
				t.Fatalf("Stats = %+v, want %+v", got, want)
			}
		})
	}
}

// TestEvictions: entries pushed out for room are counted.
func TestEvictions(t *testing.T) {
	e := cache.NewEpochs()
	c := newCache(t, e)
	const n, cost = 200, 64 << 10 // 12.5 MiB into the test cache's 1 MiB
	for i := range n {
		// Repeated sets of each key raise its admission frequency, so
		// that ristretto admits newcomers by evicting.
		for range 3 {
			c.Set(fmt.Sprint("k", i), e.Stamp("alice"), "v", cost, 0)
		}
		c.Wait()
	}
	if s := c.Stats(); s.Evictions == 0 {
		t.Fatalf("Stats = %+v after %d entries of %d bytes: no evictions", s, n, cost)
	}
}

func TestCacheTTL(t *testing.T) {
	const ttl = 100 * time.Millisecond
	e := cache.NewEpochs()
	c := newCache(t, e)
	set := time.Now()
	c.Set("k", e.Stamp("alice"), "v", 1, ttl)
	c.Wait()
	if _, ok := c.Get("k"); !ok && time.Since(set) < ttl {
		t.Fatal("miss before the TTL ran out")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok := c.Get("k")
		if !ok {
			if d := time.Since(set); d < ttl {
				t.Fatalf("expired after %v, before its %v TTL", d, ttl)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("entry still served 10s after a 100ms TTL")
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
}

// TestInvalidateRace: readers fill the cache from a "store" (a generation
// counter per subject) under stamps while a writer bumps generations and
// invalidates. Once Invalidate has returned for generation g, no Get may
// return a value read before g. Run with -race.
func TestInvalidateRace(t *testing.T) {
	const (
		subjects = 4
		keys     = 16 // per subject
		writes   = 1000
		readers  = 4
		// Readers get this many operations between two writes, so that
		// the cache has time to fill and hit.
		opsPerWrite = 200
	)
	e := cache.NewEpochs()
	c, err := cache.New[uint64](1<<20, e)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var (
		store      [subjects]atomic.Uint64 // current generation
		confirmed  [subjects]atomic.Uint64 // generation whose Invalidate has returned
		stop       atomic.Bool
		violations atomic.Int64
		hits       atomic.Int64
		ops        atomic.Int64
		wg         sync.WaitGroup
	)
	name := func(s int) string { return "subject-" + strconv.Itoa(s) }
	key := func(s, k int) string { return name(s) + "/token-" + strconv.Itoa(k) }

	wg.Go(func() { // the writer: change the store, then invalidate
		defer stop.Store(true)
		for i := range writes {
			for ops.Load() < int64(i*opsPerWrite) {
				runtime.Gosched()
			}
			s := i % subjects
			g := store[s].Add(1)
			e.Invalidate(name(s))
			confirmed[s].Store(g)
		}
	})
	for r := range readers {
		wg.Go(func() {
			for i := r; !stop.Load(); i++ {
				ops.Add(1)
				s, k := i%subjects, (i/subjects)%keys
				floor := confirmed[s].Load() // read before Get
				if v, ok := c.Get(key(s, k)); ok {
					hits.Add(1)
					if v < floor {
						violations.Add(1)
					}
					continue
				}
				// A miss: stamp, read the store, fill.
				stamp := e.Stamp(name(s))
				v := store[s].Load()
				runtime.Gosched() // let invalidations slip in before the fill
				c.Set(key(s, k), stamp, v, 1, 0)
			}
		})
	}
	wg.Wait()
	if n := violations.Load(); n != 0 {
		t.Fatalf("%d Gets returned a value older than a completed invalidation", n)
	}
	if hits.Load() == 0 {
		t.Fatal("no cache hits: the test exercised nothing")
	}
	t.Logf("%d hits over %d invalidations", hits.Load(), writes)
}

// TestCloseWhileInUse closes a cache that other goroutines are still
// reading and writing, as a config reload's Cleanup can while requests of
// the old config finish: lookups must miss and writes be dropped, never
// panic (ristretto alone sends on its closed channels).
func TestCloseWhileInUse(t *testing.T) {
	for round := range 20 {
		c, err := cache.New[string](1<<20, cache.NewEpochs())
		if err != nil {
			t.Fatal(err)
		}
		e := cache.NewEpochs()
		var wg sync.WaitGroup
		var started sync.WaitGroup
		stop := make(chan struct{})
		for g := range 4 {
			wg.Add(1)
			started.Add(1)
			go func() {
				defer wg.Done()
				started.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					k := fmt.Sprintf("k%d-%d", g, i%64)
					c.Set(k, e.Stamp(k), "v", 1, 0)
					c.Get(k)
				}
			}()
		}
		started.Wait()
		c.Close()
		c.Close() // twice is harmless
		if _, ok := c.Get("k0-0"); ok {
			t.Fatalf("round %d: a closed cache answered a hit", round)
		}
		close(stop)
		wg.Wait()
	}
}
