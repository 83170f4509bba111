// Package cache holds tokengate's in-memory caches of verified tokens and
// subject state, and the epochs that make invalidating them absolute even
// though ristretto applies writes asynchronously.
package cache

import (
	"hash/maphash"
	"sync/atomic"
)

// stripes is the number of epoch counters. Subjects share a counter when
// their hashes collide, so an invalidation may also drop a few unrelated
// entries; that costs a cache miss, never a wrong answer.
const stripes = 4096

// Epochs are per-subject invalidation counters.
//
// A reader takes a Stamp before it reads the store and keeps it with what
// it caches; an entry is used only while its Stamp is current. A writer
// changes the store first and calls Invalidate after. So an entry filled
// from a read that began before the write carries a stale stamp and is
// never used, however late ristretto applies it.
type Epochs struct {
	seed maphash.Seed
	n    [stripes]atomic.Uint64
}

// Stamp is a subject's epoch at one moment.
type Stamp struct {
	idx uint32
	val uint64
}

// NewEpochs returns counters with a random hash seed, so that no client can
// aim at one stripe.
func NewEpochs() *Epochs { return &Epochs{seed: maphash.MakeSeed()} }

func (e *Epochs) index(subject string) uint32 {
	return uint32(maphash.String(e.seed, subject) % stripes)
}

// Stamp returns the subject's current epoch. Take it before reading the
// state it will guard.
func (e *Epochs) Stamp(subject string) Stamp {
	i := e.index(subject)
	return Stamp{idx: i, val: e.n[i].Load()}
}

// Current reports whether nothing about the stamped subject has been
// invalidated since the stamp was taken.
func (e *Epochs) Current(s Stamp) bool { return e.n[s.idx].Load() == s.val }

// Invalidate makes every stamp of the subject taken so far stale. Call it
// after the change is durable and before acknowledging it.
func (e *Epochs) Invalidate(subject string) { e.n[e.index(subject)].Add(1) }

// InvalidateAll makes every stamp stale, e.g. after losing track of
// remote changes.
func (e *Epochs) InvalidateAll() {
	for i := range e.n {
		e.n[i].Add(1)
	}
}
