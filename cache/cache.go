package cache

import (
	"errors"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Memory accounting, measured on amd64 with Go 1.26 and ristretto v2.4
// (auth's TestCacheStaysWithinBudget and BenchmarkCacheMemory check it):
// a full cache's heap, fixed structures included, is its size ± 10 %.
const (
	// entryOverhead is what an entry costs beyond its key and the
	// caller's value: the entry struct, ristretto's store and policy
	// records.
	entryOverhead = 208
	// typicalEntry sizes the admission counters: about 10 per entry that
	// fits, as ristretto advises, for entries of a token's size.
	typicalEntry = 768
	// bytesPerCounter is the admission sketch's and doorkeeper's share.
	bytesPerCounter = 5
	// fixedBytes is ristretto's buffers, whatever the size.
	fixedBytes = 384 << 10
)

// Cache maps strings (tokens, subject ids) to values guarded by epochs.
// Keys (their tails, see hash) are hashed with a per-process random seed,
// and a hit is confirmed against the whole key, so a hash collision
// never lets one key stand for another.
type Cache[V any] struct {
	rc     *ristretto.Cache[uint64, *entry[V]]
	seed   maphash.Seed
	epochs *Epochs

	hits, misses counter
	evictions    atomic.Uint64
	// inUse lets Close wait for the calls into ristretto in progress:
	// ristretto's own Close races its Get and Set (they send on the
	// channels it closes), and a config reload closes a cache that
	// requests of the old config may still be using.
	inUse users
}

type entry[V any] struct {
	key   string
	stamp Stamp
	val   V
}

// New returns a cache that holds at most about maxBytes of entries.
func New[V any](maxBytes int64, epochs *Epochs) (*Cache[V], error) {
	if maxBytes <= 0 {
		return nil, errors.New("cache size must be positive")
	}
	c := &Cache[V]{seed: maphash.MakeSeed(), epochs: epochs}
	counters := max(maxBytes/typicalEntry*10, 1000)
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, *entry[V]]{
		NumCounters: counters,
		// The counters and buffers come out of the budget too; a tiny
		// budget keeps at least half for entries.
		MaxCost:            max(maxBytes-counters*bytesPerCounter-fixedBytes, maxBytes/2, 1),
		IgnoreInternalCost: true, // in entryOverhead
		BufferItems:        64,
		// The key is already a seeded 64-bit hash; the whole key is
		// compared on every hit, so no conflict hash is needed.
		KeyToHash: func(k uint64) (uint64, uint64) { return k, 0 },
		OnEvict:   func(*ristretto.Item[*entry[V]]) { c.evictions.Add(1) },
	})
	if err != nil {
		return nil, err
	}
	c.rc = rc
	return c, nil
}

// Get returns the value cached for key if its stamp is still current.
func (c *Cache[V]) Get(key string) (V, bool) {
	h := c.hash(key)
	var e *entry[V]
	ok := c.inUse.enter(h)
	if ok {
		e, ok = c.rc.Get(h)
		c.inUse.exit(h)
	}
	// The whole key, with the runtime's vector compare. It need not take
	// constant time: it runs only once the seeded hash of the key's tail
	// matched, and to make that happen for a cached token an attacker
	// would have to know that token's tail, its signature, the one part
	// of it that is secret; the rest (header, claims) the timing could
	// reveal is readable in the token anyway. (A word-at-a-time
	// constant-time loop was a quarter of a 550-byte token's hit.)
	if !ok || e.key != key || !c.epochs.Current(e.stamp) {
		c.misses.add(h)
		var zero V
		return zero, false
	}
	c.hits.add(h)
	return e.val, true
}

// Set caches val under key for at most ttl (0: until evicted). stamp must
// have been taken before the state behind val was read. cost is val's
// approximate size in bytes beyond the key.
func (c *Cache[V]) Set(key string, stamp Stamp, val V, cost int64, ttl time.Duration) {
	h := c.hash(key)
	if !c.inUse.enter(h) {
		return // closed: nothing will read it
	}
	e := &entry[V]{key: key, stamp: stamp, val: val}
	c.rc.SetWithTTL(h, e, int64(len(key))+entryOverhead+cost, ttl)
	c.inUse.exit(h)
}

// hashedTail is how much of a key's end the hash reads.
const hashedTail = 64

// hash is the key's slot: the seeded hash of its last hashedTail bytes
// and its length. A token's tail is its signature, an HMAC nobody can
// choose without the key, so tokens differ there as much as anywhere;
// hashing only it keeps a hit's cost flat as caveats make tokens longer
// (a 550-byte token hashed whole cost a tenth of the hit). Keys that
// share a tail share a slot and evict each other, never stand for each
// other: Get confirms the whole key. Only verified tokens and the
// subjects they name are ever Set, so nobody can fill a slot with keys
// chosen to collide.
func (c *Cache[V]) hash(key string) uint64 {
	n := uint64(len(key))
	if len(key) > hashedTail {
		key = key[len(key)-hashedTail:]
	}
	return maphash.String(c.seed, key) ^ n*0x9e3779b97f4a7c15
}

// Stats returns the cache's counts so far. An entry found but stale
// (its subject changed since) counts as a miss.
func (c *Cache[V]) Stats() Stats {
	return Stats{Hits: c.hits.load(), Misses: c.misses.load(), Evictions: c.evictions.Load()}
}

// Wait blocks until pending writes are applied. For tests and benchmarks.
func (c *Cache[V]) Wait() {
	if c.inUse.enter(0) {
		c.rc.Wait()
		c.inUse.exit(0)
	}
}

// Close stops the cache's goroutines once the lookups and writes in
// progress are done; later ones miss and are dropped. Safe on a nil cache
// and more than once.
func (c *Cache[V]) Close() {
	if c != nil && c.inUse.close() {
		c.rc.Close()
	}
}
