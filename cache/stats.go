package cache

import "sync/atomic"

// Stats counts a cache's lookups and evictions since it was made.
type Stats struct {
	Hits, Misses, Evictions uint64
}

// stripes spreads a counter over cache lines, picked by the key's hash,
// so that cores counting lookups of different keys do not contend.
const counterStripes = 16

type counter struct {
	s [counterStripes]struct {
		n atomic.Uint64
		_ [56]byte // pad to a 64-byte cache line
	}
}

func (c *counter) add(h uint64) { c.s[h%counterStripes].n.Add(1) }

func (c *counter) load() uint64 {
	var n uint64
	for i := range c.s {
		n += c.s[i].n.Load()
	}
	return n
}
