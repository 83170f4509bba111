package cache

import (
	"runtime"
	"sync/atomic"
)

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

// users counts calls in progress, striped like counter so that a lookup
// costs two uncontended atomic adds, and lets close wait for them. Go's
// atomics are sequentially consistent: a call that saw closing unset had
// already counted itself, so close's sum sees it.
type users struct {
	closing atomic.Bool
	s       [counterStripes]struct {
		n atomic.Int64
		_ [56]byte
	}
}

// enter reports whether the call may go on; if so, exit must follow.
func (u *users) enter(h uint64) bool {
	n := &u.s[h%counterStripes].n
	n.Add(1)
	if u.closing.Load() {
		n.Add(-1)
		return false
	}
	return true
}

func (u *users) exit(h uint64) { u.s[h%counterStripes].n.Add(-1) }

// close stops new calls and waits for those in progress, which take
// microseconds. It reports whether this call closed (false: already closed).
func (u *users) close() bool {
	if u.closing.Swap(true) {
		return false
	}
	for {
		var n int64
		for i := range u.s {
			n += u.s[i].n.Load()
		}
		if n == 0 {
			return true
		}
		runtime.Gosched()
	}
}
