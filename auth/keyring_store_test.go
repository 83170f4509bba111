package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// sharing returns n Services over one store with the same configured
// key, as instances of one deployment, each with the store ring loaded.
func sharing(t *testing.T, st store.Store, key tokens.ServerKey, n int, opts ...auth.Option) []*auth.Service {
	t.Helper()
	var out []*auth.Service
	for range n {
		s, err := auth.NewWithKeyRing(st, ring(t, key), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		if err := s.LoadKeys(ctx); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func newestID(s *auth.Service) string { id, _ := s.KeyRing().Newest(); return id }

// TestRotateKeySharedStore: RotateKey on one instance makes every
// instance sign with the new key; tokens of the configured key still
// verify; RemoveKey kills exactly the removed key's tokens, everywhere;
// a configured key cannot be removed through the store.
func TestRotateKeySharedStore(t *testing.T) {
	key := tokens.NewServerKey()
	gates := sharing(t, openStore(t), key, 2)
	one, two := gates[0], gates[1]
	before := issue(t, one, "alice")

	kid, err := one.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newestID(one) != kid {
		t.Fatalf("after RotateKey, the rotating instance signs with %s, want %s", newestID(one), kid)
	}
	eventually(t, "the other instance hears of the new key", func() bool { return newestID(two) == kid })
	after := issue(t, two, "alice")
	if c, err := two.Examine(ctx, after); err != nil || c.KeyID != kid {
		t.Fatalf("token minted after rotation: %v (%v), want kid %s", c, err, kid)
	}
	for _, s := range gates {
		for name, tok := range map[string]string{"before": before, "after": after} {
			if err := authenticate(s, tok); err != nil {
				t.Errorf("token minted %s the rotation: %v", name, err)
			}
		}
	}
	if got := one.Keys(); len(got) != 2 || got[0] != (auth.KeyInfo{ID: kid, Source: "store", Newest: true}) ||
		got[1] != (auth.KeyInfo{ID: key.KeyID(), Source: "config"}) {
		t.Errorf("Keys = %+v", got)
	}

	if err := one.RemoveKey(ctx, key.KeyID()); !errors.Is(err, auth.ErrKeyConfigured) {
		t.Errorf("removing the configured key: %v, want ErrKeyConfigured", err)
	}
	if err := one.RemoveKey(ctx, "no-such-key"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("removing an unknown key: %v, want ErrNotFound", err)
	}
	if err := one.RemoveKey(ctx, kid); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other instance hears of the removal", func() bool { return newestID(two) == key.KeyID() })
	for i, s := range gates {
		if err := authenticate(s, after); !errors.Is(err, tokens.ErrInvalid) {
			t.Errorf("instance %d: token of the removed key: %v, want ErrInvalid", i, err)
		}
		if err := authenticate(s, before); err != nil {
			t.Errorf("instance %d: token of the configured key: %v", i, err)
		}
	}
}

// lateStore delays the KeysChanged events other instances hear, as a
// slow bus would; the rotating instance's own events are on time.
type lateStore struct {
	store.Store
	hold atomic.Bool
}

func (l *lateStore) Subscribe(fn func(store.Event)) func() {
	return l.Store.Subscribe(func(e store.Event) {
		if e.Kind == store.KeysChanged && l.hold.Load() {
			return // lost: the instance must find the key some other way
		}
		fn(e)
	})
}

// TestRotateKeyUnderLoadAcrossInstances: while one instance rotates,
// another, which never hears of the rotations, authenticates tokens the
// first mints with each new key: none is refused, since a token of an
// unknown key makes it read the store-held ring.
func TestRotateKeyUnderLoadAcrossInstances(t *testing.T) {
	key := tokens.NewServerKey()
	bolt := openStore(t)
	late := &lateStore{Store: bolt}
	minter := sharing(t, bolt, key, 1)[0]
	gate := sharing(t, late, key, 1)[0]
	late.hold.Store(true)

	const rounds, workers = 6, 4
	var toks atomic.Pointer[[]string]
	toks.Store(&[]string{issue(t, minter, "alice")})
	var refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				list := *toks.Load()
				if err := authenticate(gate, list[i%len(list)]); err != nil {
					refused.Add(1)
					t.Errorf("valid token refused: %v", err)
				}
			}
		})
	}
	for range rounds {
		if _, err := minter.RotateKey(ctx); err != nil {
			t.Fatal(err)
		}
		list := append(append([]string(nil), *toks.Load()...), issue(t, minter, "alice"), issue(t, minter, "bob"))
		toks.Store(&list)
		// Pacing, not waiting for a condition: rotations further apart
		// than the refresh rate limit (100 ms), as real ones are by
		// hours; the workers meet each new key's tokens meanwhile.
		time.Sleep(150 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := refused.Load(); n != 0 {
		t.Fatalf("%d valid tokens refused", n)
	}
}

// countingStore counts reads of the server key ring.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (c *countingStore) ServerKeys(ctx context.Context) (store.ServerKeys, error) {
	c.reads.Add(1)
	return c.Store.ServerKeys(ctx)
}

// TestUnknownKeyReadsAreBounded: tokens naming keys nobody has, sent all
// at once, are refused as invalid and make at most one store read of the
// ring per 100 ms between them.
func TestUnknownKeyReadsAreBounded(t *testing.T) {
	st := &countingStore{Store: openStore(t)}
	gate, err := auth.NewWithKeyRing(st, ring(t, tokens.NewServerKey()),
		auth.WithBudget(auth.Budget{Max: 1 << 30, Window: time.Minute, UserFactor: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gate.Close)
	stranger, err := auth.NewWithKeyRing(st, ring(t, tokens.NewServerKey()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stranger.Close)
	forged := make([]string, 8)
	for i := range forged {
		stranger.SetKeyRing(ring(t, tokens.NewServerKey()))
		forged[i] = issue(t, stranger, "alice")
	}

	start := time.Now()
	base := st.reads.Load()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 10 {
				if err := authenticate(gate, forged[(w+i)%len(forged)]); !errors.Is(err, tokens.ErrInvalid) {
					t.Errorf("token of an unknown key: %v, want ErrInvalid", err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if reads, bound := st.reads.Load()-base, int64(elapsed/(100*time.Millisecond))+2; reads > bound {
		t.Errorf("%d ring reads in %s for 160 forged tokens, want at most %d", reads, elapsed, bound)
	}
}
