package storetest

// The assertion key ring: a versioned record swapped with compare-and-swap.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/store"
)

// ringKey returns a key record whose fields all round-trip.
func ringKey(id string) store.AssertionKey {
	return store.AssertionKey{ID: id, Algorithm: "EdDSA", Private: []byte("der-" + id), CreatedAt: T0}
}

// sameKeys compares key lists field by field (times with Equal).
func sameKeys(a, b []store.AssertionKey) bool {
	return slices.EqualFunc(a, b, func(x, y store.AssertionKey) bool {
		return x.ID == y.ID && x.Algorithm == y.Algorithm && string(x.Private) == string(y.Private) &&
			x.CreatedAt.Equal(y.CreatedAt)
	})
}

func cfAssertionKeys(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	if ring, err := s.AssertionKeys(ctx); err != nil || ring.Version != 0 || len(ring.Keys) != 0 {
		t.Fatalf("AssertionKeys on a fresh store = %+v, %v; want version 0, no keys", ring, err)
	}
	one := []store.AssertionKey{ringKey("a")}
	two := []store.AssertionKey{ringKey("b"), ringKey("a")}
	for _, c := range []struct {
		name    string
		prev    uint64
		keys    []store.AssertionKey
		err     error
		version uint64               // of the ring returned
		want    []store.AssertionKey // the ring stored afterwards
	}{
		{"first write", 0, one, nil, 1, one},
		{"first write again: conflict", 0, two, store.ErrConflict, 1, one},
		{"stale version: conflict", 5, two, store.ErrConflict, 1, one},
		{"next version", 1, two, nil, 2, two},
		{"replaced version: conflict", 1, one, store.ErrConflict, 2, two},
	} {
		ring, err := s.SwapAssertionKeys(ctx, c.prev, c.keys)
		if !errors.Is(err, c.err) || ring.Version != c.version || !sameKeys(ring.Keys, c.want) {
			t.Fatalf("%s: SwapAssertionKeys(%d) = %+v, %v; want version %d, %v", c.name, c.prev, ring, err, c.version, c.err)
		}
		got, err := s.AssertionKeys(ctx)
		if err != nil || got.Version != c.version || !sameKeys(got.Keys, c.want) {
			t.Fatalf("%s: AssertionKeys = %+v, %v; want version %d, %+v", c.name, got, err, c.version, c.want)
		}
	}
}

// cfConcurrentSwapAssertionKeys: of n instances rotating from the same
// version at once, exactly one wins; the others see its ring.
func cfConcurrentSwapAssertionKeys(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	if _, err := s.SwapAssertionKeys(ctx, 0, []store.AssertionKey{ringKey("base")}); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	rings := make([]store.AssertionKeyRing, n)
	for i := range n {
		wg.Go(func() {
			rings[i], errs[i] = s.SwapAssertionKeys(ctx, 1, []store.AssertionKey{ringKey(fmt.Sprint("k", i)), ringKey("base")})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("two swaps from version 1 succeeded: %d and %d", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("swap %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no swap succeeded")
	}
	for i := range n {
		if rings[i].Version != 2 || rings[i].Keys[0].ID != fmt.Sprint("k", winner) {
			t.Fatalf("swap %d returned %+v; want the winner's ring k%d at version 2", i, rings[i], winner)
		}
	}
}
