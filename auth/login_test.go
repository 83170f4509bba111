package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// loginService is a Service over openStore's users (alice and bob,
// password "secret-password" at bcrypt's least cost) with a budget of max
// failures per client.
func loginService(t *testing.T, max int, opts ...auth.Option) *auth.Service {
	t.Helper()
	opts = append([]auth.Option{auth.WithBudget(auth.Budget{Max: max, Window: time.Hour, UserFactor: 10})}, opts...)
	s, err := auth.New(openStore(t), tokens.NewServerKey(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestParallelGuessesHoldTheBudget: 40 parallel wrong guesses from one
// client get at most the budget's worth of password checks; every other
// one is refused with a Retry-After, and a correct login from another
// client still works.
func TestParallelGuessesHoldTheBudget(t *testing.T) {
	const guesses, budget = 40, 10
	var exhausted atomic.Int32
	s := loginService(t, budget, auth.WithExhaustedHook(func(string) { exhausted.Add(1) }))
	attacker := netip.MustParseAddr("198.51.100.7")
	var wg sync.WaitGroup
	var bad, refused atomic.Int32
	start := make(chan struct{})
	for range guesses {
		wg.Go(func() {
			<-start
			_, err := s.Login(ctx, attacker, "alice", "wrong-guess")
			tm, isTooMany := auth.IsTooManyFailures(err)
			switch {
			case errors.Is(err, auth.ErrBadCredentials):
				bad.Add(1)
			case isTooMany && tm.RetryAfter > 0:
				refused.Add(1)
			default:
				t.Errorf("guess: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if checks := s.PasswordChecks(); checks > budget || int(bad.Load()) != int(checks) {
		t.Fatalf("%d password checks, %d bad-credential answers; want at most %d checks, one answer each", checks, bad.Load(), budget)
	}
	if bad.Load()+refused.Load() != guesses {
		t.Fatalf("%d bad + %d refused of %d", bad.Load(), refused.Load(), guesses)
	}
	// Guessing on, one at a time, uses up exactly the rest of the budget.
	for bad.Load() < budget+1 {
		_, err := s.Login(ctx, attacker, "alice", "wrong-guess")
		if _, ok := auth.IsTooManyFailures(err); ok {
			break
		}
		bad.Add(1)
	}
	if bad.Load() != budget || s.PasswordChecks() != budget {
		t.Fatalf("%d wrong guesses checked in all (%d checks), want the budget, %d", bad.Load(), s.PasswordChecks(), budget)
	}
	if _, err := s.Login(ctx, attacker, "alice", "secret-password"); err == nil {
		t.Fatal("the attacker's client logged in past its budget")
	}
	if id, err := s.Login(ctx, netip.MustParseAddr("203.0.113.9"), "alice", "secret-password"); err != nil || id.ID != "alice" {
		t.Fatalf("another client's correct login: %v, %v", id, err)
	}
	if exhausted.Load() != 1 {
		t.Fatalf("exhaustion reported %d times, want once", exhausted.Load())
	}
}

// TestCorrectLoginGivesBack: a correct password takes nothing from the
// budget, so a user who logs in often is never locked out.
func TestCorrectLoginGivesBack(t *testing.T) {
	s := loginService(t, 2)
	client := netip.MustParseAddr("192.0.2.44")
	for i := range 10 {
		if _, err := s.Login(ctx, client, "alice", "secret-password"); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if bans, err := s.Bans(ctx); err != nil || len(bans) != 0 {
		t.Fatalf("bans after correct logins: %v, %v", bans, err)
	}
	// Gone before the check: nothing counted either.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for range 3 {
		if _, err := s.Login(gone, client, "alice", "x"); !errors.Is(err, auth.ErrCanceled) {
			t.Fatalf("canceled login: %v", err)
		}
	}
	if _, err := s.Login(ctx, client, "alice", "secret-password"); err != nil {
		t.Fatalf("after canceled logins: %v", err)
	}
}

func TestClientKey(t *testing.T) {
	def := loginService(t, 10)
	wide := loginService(t, 10, auth.WithClientPrefixes(24, 48))
	for _, tc := range []struct {
		s    *auth.Service
		addr string
		want string
	}{
		{def, "192.0.2.7", "ip:192.0.2.7"},
		{def, "::ffff:192.0.2.7", "ip:192.0.2.7"},
		{def, "2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"},
		{def, "2001:db8:1:2::ffff", "ip:2001:db8:1:2::/64"},
		{def, "2001:0db8:0001:0002:0000:0000:0000:0001", "ip:2001:db8:1:2::/64"},
		{def, "fe80::1%eth0", "ip:fe80::/64"},
		{wide, "192.0.2.7", "ip:192.0.2.0/24"},
		{wide, "2001:db8:1:2::1", "ip:2001:db8:1::/48"},
	} {
		if got := tc.s.ClientKey(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("ClientKey(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if got := def.ClientKey(netip.Addr{}); got == "" {
		t.Error("the unknown address has no key")
	}
}

// TestOneBudgetPerIPv6Subnet: every address of a /64 shares one budget.
func TestOneBudgetPerIPv6Subnet(t *testing.T) {
	s := loginService(t, 3)
	for i := range 3 {
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
		if _, err := s.Login(ctx, addr, "alice", "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, err := s.Login(ctx, netip.MustParseAddr("2001:db8::99"), "alice", "secret-password")
	if _, ok := auth.IsTooManyFailures(err); !ok {
		t.Fatalf("a fourth address of the /64: %v, want the budget used up", err)
	}
}

// TestLoginTimingPadded: an unknown user's check takes at least as long
// as the slowest real check seen, though its dummy compare is cheap.
func TestLoginTimingPadded(t *testing.T) {
	slow, _ := bcrypt.GenerateFromPassword([]byte("carol-password"), 7)
	s := loginService(t, 100)
	h := string(slow)
	for _, u := range []auth.NewUser{{ID: "carol", Password: auth.Password{Hash: &h}}, {ID: "dave"}} {
		if _, err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	s.Learn(ctx, []string{h})
	realStart := time.Now()
	_, _ = s.Login(ctx, testClient, "carol", "wrong")
	real := time.Since(realStart)
	// An unknown user, a user without a password, a user whose hash is
	// cheaper than carol's.
	for _, user := range []string{"nobody", "dave", "alice"} {
		start := time.Now()
		_, _ = s.Login(ctx, testClient, user, "wrong")
		if d := time.Since(start); d < real/2 {
			t.Fatalf("%s's check took %s, bob's %s: not padded", user, d, real)
		}
	}
}
