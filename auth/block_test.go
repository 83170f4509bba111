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

// TestBlockEndsSessions: blocking a user refuses all its credentials and
// destroys its sessions; once unblocked, its named and temporary tokens
// work again, its old session token is tokenSessionInvalid. The tokens as
// in oz-worker's test_distributed/access_and_identity_tokens_test_SUITE.erl
// (check_user_blocking: userBlocked, then accepted after the unblock); the
// session as gui_tokens_test_SUITE.erl has an ended one
// (gui_tokens_are_invalidated_upon_logout: tokenSessionInvalid).
func TestBlockEndsSessions(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	sess, err := s.StartSession(ctx, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, named, err := s.IssueNamed(ctx, "alice", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	temp := issue(t, s, "alice")
	bobs, err := s.StartSession(ctx, "bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, want map[string]error) {
		t.Helper()
		for name, tok := range map[string]string{"session": sess, "named": named, "temporary": temp, "bob's session": bobs} {
			if err := authenticate(s, tok); !errors.Is(err, want[name]) { // nil: accepted
				t.Errorf("%s: %s token: got %v, want %v", step, name, err, want[name])
			}
		}
		s.Wait()
	}
	check("before", map[string]error{})

	if _, err := s.SetBlocked(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	blocked := auth.ErrUserBlocked
	check("blocked", map[string]error{"session": blocked, "named": blocked, "temporary": blocked})
	if live, err := s.Sessions(ctx, "alice"); err != nil || len(live) != 0 {
		t.Fatalf("alice's sessions while blocked: %+v, %v; want none", live, err)
	}

	if _, err := s.SetBlocked(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	check("unblocked", map[string]error{"session": tokens.ErrSessionInvalid})
	if _, err := s.StartSession(ctx, "alice", time.Hour); err != nil {
		t.Fatalf("a new session after unblocking: %v", err)
	}
}

// TestBlockEndsSessionsUnderLoad authenticates session tokens from
// several goroutines while their user is blocked and unblocked, on two
// Services sharing the store (as during a reload), and counts acceptances
// by requests that started after SetBlocked returned: there must be none,
// not while blocked and not after the unblock either.
func TestBlockEndsSessionsUnderLoad(t *testing.T) {
	key := tokens.NewServerKey()
	st := openStore(t)
	gate := newService(t, st, key)
	other := newService(t, st, key)

	const rounds, workers, after = 10, 6, 200
	var late atomic.Int64
	for round := range rounds {
		sess, err := gate.StartSession(ctx, "alice", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// Cached on both before the block.
		for _, s := range []*auth.Service{gate, other} {
			if err := authenticate(s, sess); err != nil {
				t.Fatalf("round %d: the fresh session: %v", round, err)
			}
			s.Wait()
		}
		var blockedAt, unblockedAt atomic.Bool
		var seenBlocked, seenUnblocked atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := gate
				if w%2 == 1 {
					s = other
				}
				for n := 0; n < after; {
					done, undone := blockedAt.Load(), unblockedAt.Load()
					err := authenticate(s, sess)
					switch {
					case undone:
						n++
						seenUnblocked.Add(1)
					case done:
						seenBlocked.Add(1)
					}
					if done && err == nil {
						late.Add(1)
					}
					if done && err != nil && !errors.Is(err, auth.ErrUserBlocked) && !errors.Is(err, tokens.ErrSessionInvalid) {
						t.Errorf("round %d: %v, want userBlocked or sessionInvalid", round, err)
						return
					}
				}
			}()
		}
		if _, err := gate.SetBlocked(ctx, "alice", true); err != nil {
			t.Fatal(err)
		}
		blockedAt.Store(true)
		// Let the workers try while blocked before unblocking.
		waitFor(t, "attempts while blocked", func() bool { return seenBlocked.Load() >= workers*10 })
		if _, err := other.SetBlocked(ctx, "alice", false); err != nil {
			t.Fatal(err)
		}
		unblockedAt.Store(true)
		wg.Wait()
		if seenUnblocked.Load() == 0 {
			t.Fatalf("round %d: no attempt after the unblock", round)
		}
	}
	if n := late.Load(); n != 0 {
		t.Fatalf("%d acceptances of a session token after SetBlocked returned", n)
	}
}

// blockingStore runs before, once, just before a session is created: a
// block whose sweep of the user's sessions ran between the login's check
// of the user and its creation of the session.
type blockingStore struct {
	store.Store
	before func()
}

func (b *blockingStore) CreateSession(ctx context.Context, sess store.Session) error {
	if f := b.before; f != nil {
		b.before = nil
		f()
	}
	return b.Store.CreateSession(ctx, sess)
}

// TestLoginRacingBlock: a login that checked the user before the block and
// created its session after the block ended the user's sessions ends that
// session itself, so that it does not come back with an unblock.
func TestLoginRacingBlock(t *testing.T) {
	key := tokens.NewServerKey()
	bolt := openStore(t)
	admin := newService(t, bolt, key)
	st := &blockingStore{Store: bolt}
	login := newService(t, st, key)
	st.before = func() {
		if _, err := admin.SetBlocked(ctx, "alice", true); err != nil {
			t.Error(err)
		}
	}
	if tok, err := login.StartSession(ctx, "alice", time.Hour); !errors.Is(err, auth.ErrUserBlocked) {
		t.Fatalf("login racing the block: %q, %v; want ErrUserBlocked", tok, err)
	}
	if _, err := admin.SetBlocked(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if live, err := admin.Sessions(ctx, "alice"); err != nil || len(live) != 0 {
		t.Fatalf("sessions after the unblock: %+v, %v; want none", live, err)
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
