package auth_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

func ring(t testing.TB, keys ...tokens.ServerKey) *tokens.KeyRing {
	t.Helper()
	r, err := tokens.NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// kindTokens issues one token of each kind for alice: temporary,
// session and named.
func kindTokens(t testing.TB, s *auth.Service, tag string) map[string]string {
	t.Helper()
	sess, err := s.StartSession(ctx, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, named, err := s.IssueNamed(ctx, "alice", "named-"+tag, tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"temporary": issue(t, s, "alice"), "session": sess, "named": named}
}

// TestKeyRingKinds: tokens of every kind minted with an older key verify
// once a newer one signs, carry the newest key's id when minted after,
// and are refused as invalid once their key leaves the ring, while the
// newer key's tokens still verify.
func TestKeyRingKinds(t *testing.T) {
	a, b := tokens.NewServerKey(), tokens.NewServerKey()
	s, err := auth.NewWithKeyRing(openStore(t), ring(t, a), auth.WithDummyPasswordHash(string(minCostHash)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	old := kindTokens(t, s, "a")

	s.SetKeyRing(ring(t, b, a))
	fresh := kindTokens(t, s, "b")
	for kind, tok := range fresh {
		c, err := s.Examine(ctx, tok)
		if err != nil || c.KeyID != b.KeyID() {
			t.Errorf("new %s token: kid %v (%v), want %s", kind, c, err, b.KeyID())
		}
	}
	for kind, tok := range old {
		if err := authenticate(s, tok); err != nil {
			t.Errorf("%s token of the older key after rotation: %v", kind, err)
		}
	}

	s.SetKeyRing(ring(t, b))
	for kind, tok := range old {
		if err := authenticate(s, tok); !errors.Is(err, tokens.ErrInvalid) {
			t.Errorf("%s token of the removed key: err = %v, want ErrInvalid", kind, err)
		}
	}
	for kind, tok := range fresh {
		if err := authenticate(s, tok); err != nil {
			t.Errorf("%s token of the remaining key: %v", kind, err)
		}
	}
}

// TestConfinedTokenKeepsItsKey: a token confined after a rotation stays
// of its parent's key, and dies with it.
func TestConfinedTokenKeepsItsKey(t *testing.T) {
	a, b := tokens.NewServerKey(), tokens.NewServerKey()
	s, err := auth.NewWithKeyRing(openStore(t), ring(t, a))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	parent := issue(t, s, "alice")
	s.SetKeyRing(ring(t, b, a))
	confined, err := s.Confine(ctx, parent, []tokens.Caveat{{Type: tokens.CaveatInterface, Interface: "rest"}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Examine(ctx, confined); err != nil || c.KeyID != a.KeyID() {
		t.Fatalf("confined token: %v (%v), want kid %s", c, err, a.KeyID())
	}
	if err := authenticate(s, confined); err != nil {
		t.Fatalf("confined token: %v", err)
	}
	s.SetKeyRing(ring(t, b))
	if err := authenticate(s, confined); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("confined token of a removed key: %v, want ErrInvalid", err)
	}
}

// TestRotateUnderLoad authenticates tokens of every key so far from
// several goroutines while the ring gains a key per round: no valid token
// may be refused. Then the oldest key is removed: a request that started
// after SetKeyRing returned must not accept its token, cached or not,
// and the other keys' tokens must still be accepted.
func TestRotateUnderLoad(t *testing.T) {
	st := openStore(t)
	keys := []tokens.ServerKey{tokens.NewServerKey()}
	// A removed key's tokens are invalid and count as guesses, as any
	// invalid token does; thousands of them from one client would use up
	// its budget and refuse its valid tokens too, which is the budget's
	// job, not the ring's. The budget is out of the way here.
	gate, err := auth.NewWithKeyRing(st, ring(t, keys...), auth.WithBudget(auth.Budget{Max: 1 << 30, Window: time.Minute, UserFactor: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gate.Close)

	const rounds, workers = 8, 6
	type minted struct {
		raw string
		key int // index in keys
	}
	var toks atomic.Pointer[[]minted]
	toks.Store(&[]minted{{issue(t, gate, "alice"), 0}, {issue(t, gate, "bob"), 0}})

	// removing is the index of the key being removed from just before
	// SetKeyRing is called, removed from once it returned; -1 before.
	var removing, removed atomic.Int64
	removing.Store(-1)
	removed.Store(-1)
	var refused, stale, checked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				list := *toks.Load()
				m := list[i%len(list)]
				gone := removed.Load()
				err := authenticate(gate, m.raw)
				checked.Add(1)
				switch {
				case int64(m.key) == gone && err == nil:
					stale.Add(1)
				case err != nil && int64(m.key) != removing.Load():
					// A token of the key being removed may be refused
					// while removal is under way: only keys that stay
					// count.
					refused.Add(1)
					t.Errorf("valid token of key %d refused: %v", m.key, err)
				}
			}
		}()
	}

	// waitChecked returns once the workers made n more checks: the ring
	// is under load between rotations, without sleeping for it.
	waitChecked := func(n int64) {
		target := checked.Load() + n
		deadline := time.Now().Add(10 * time.Second)
		for checked.Load() < target {
			if time.Now().After(deadline) {
				t.Fatal("workers made no progress")
			}
			time.Sleep(time.Millisecond)
		}
	}
	for round := 1; round <= rounds; round++ {
		waitChecked(200)
		keys = append([]tokens.ServerKey{tokens.NewServerKey()}, keys...)
		gate.SetKeyRing(ring(t, keys...))
		// keys grow at the front; minted.key counts from the oldest.
		list := append(append([]minted(nil), *toks.Load()...), minted{issue(t, gate, "alice"), round}, minted{issue(t, gate, "bob"), round})
		toks.Store(&list)
	}
	waitChecked(500)

	// Remove the oldest key (index 0 counted from the oldest).
	removing.Store(0)
	gate.SetKeyRing(ring(t, keys[:len(keys)-1]...))
	removed.Store(0)
	waitChecked(2000)
	close(stop)
	wg.Wait()

	if n := refused.Load(); n != 0 {
		t.Errorf("%d valid tokens refused during rotations", n)
	}
	if n := stale.Load(); n != 0 {
		t.Errorf("%d tokens of the removed key accepted after its removal", n)
	}
	t.Logf("%d checks over %d rotations", checked.Load(), rounds)
}
