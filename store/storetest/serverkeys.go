package storetest

// The server key ring: a versioned record written by compare-and-swap.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/store"
)

// cfServerKeys: an unwritten ring is zero; a swap at the current version
// writes and bumps it, and is announced; a swap at an old version is
// ErrConflict and changes nothing.
func cfServerKeys(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	var mu sync.Mutex
	var heard []store.Event
	defer s.Subscribe(func(e store.Event) {
		mu.Lock()
		heard = append(heard, e)
		mu.Unlock()
	})()

	k, err := s.ServerKeys(ctx)
	if err != nil || k.Version != 0 || len(k.Keys) != 0 {
		t.Fatalf("fresh store: %+v, %v; want the zero ring", k, err)
	}
	for _, step := range []struct {
		version uint64
		keys    []string
		wantErr error
		want    store.ServerKeys // the ring afterwards
	}{
		{0, []string{"k1"}, nil, store.ServerKeys{Keys: []string{"k1"}, Version: 1}},
		{1, []string{"k2", "k1"}, nil, store.ServerKeys{Keys: []string{"k2", "k1"}, Version: 2}},
		{1, []string{"lost"}, store.ErrConflict, store.ServerKeys{Keys: []string{"k2", "k1"}, Version: 2}},
		{0, []string{"lost"}, store.ErrConflict, store.ServerKeys{Keys: []string{"k2", "k1"}, Version: 2}},
		{2, []string{"k2"}, nil, store.ServerKeys{Keys: []string{"k2"}, Version: 3}},
	} {
		got, err := s.SwapServerKeys(ctx, step.version, step.keys)
		if !errors.Is(err, step.wantErr) {
			t.Fatalf("swap at %d to %v: err = %v, want %v", step.version, step.keys, err, step.wantErr)
		}
		if err == nil && (got.Version != step.want.Version || !slices.Equal(got.Keys, step.want.Keys)) {
			t.Fatalf("swap at %d returned %+v, want %+v", step.version, got, step.want)
		}
		read, err := s.ServerKeys(ctx)
		if err != nil || read.Version != step.want.Version || !slices.Equal(read.Keys, step.want.Keys) {
			t.Fatalf("after swap at %d: read %+v (%v), want %+v", step.version, read, err, step.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, e := range heard {
		if e.Kind == store.KeysChanged {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("heard %d KeysChanged events, want 3 (one per successful swap): %+v", n, heard)
	}
}

// cfConcurrentSwapServerKeys: writers that each add keys by read, swap,
// retry on conflict lose none of them.
func cfConcurrentSwapServerKeys(t *testing.T, open Opener) {
	const workers, each = 4, 10
	ctx := t.Context()
	s := open(t)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				for {
					cur, err := s.ServerKeys(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					_, err = s.SwapServerKeys(ctx, cur.Version, append([]string{key}, cur.Keys...))
					if err == nil {
						break
					}
					if !errors.Is(err, store.ErrConflict) {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	k, err := s.ServerKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(k.Keys)
	if k.Version != workers*each || len(slices.Compact(k.Keys)) != workers*each {
		t.Fatalf("version %d with %d distinct keys, want %d of each", k.Version, len(k.Keys), workers*each)
	}
}
