package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

func TestBanKey(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	wide, err := auth.New(openStore(t), tokens.NewServerKey(), auth.WithClientPrefixes(24, 48))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wide.Close)
	for _, tc := range []struct {
		s    *auth.Service
		in   string
		want string // "": ErrBadValue
	}{
		{s, "ip:192.0.2.1", "ip:192.0.2.1"},
		{s, "192.0.2.1", "ip:192.0.2.1"},
		{s, "ip:::ffff:192.0.2.1", "ip:192.0.2.1"},
		{s, "::ffff:192.0.2.1", "ip:192.0.2.1"},
		// IPv6 clients count per /64 (auth.ClientKey): any address of
		// it, spelled in any way, lifts the /64.
		{s, "ip:2001:db8::1", "ip:2001:db8::/64"},
		{s, "2001:db8:0:0::1", "ip:2001:db8::/64"},
		{s, "ip:2001:DB8:0000::0001", "ip:2001:db8::/64"},
		{s, "fe80::1%eth0", "ip:fe80::/64"},
		// Exactly as Bans lists a /64.
		{s, "ip:2001:db8::/64", "ip:2001:db8::/64"},
		{s, "ip:2001:db8:0:0::/64", "ip:2001:db8::/64"},
		{wide, "198.51.100.7", "ip:198.51.100.0/24"},
		{wide, "ip:198.51.100.0/24", "ip:198.51.100.0/24"},
		{s, "user:alice", "user:alice"},
		// A user key is the name someone tried to sign in with, as
		// typed: whatever Bans lists is lifted as listed.
		{s, "user:Zoë Ünal", "user:Zoë Ünal"},
		{s, "user:ip:1.2.3.4", "user:ip:1.2.3.4"},
		{s, "", ""},
		{s, "alice", ""},
		{s, "user:", ""},
		{s, "ip:", ""},
		{s, "ip:alice", ""},
		{s, "ip:192.0.2.256", ""},
		{s, "10.0.0.0/8", ""}, // a network only as listed, with ip:
		{s, "IP:192.0.2.1", ""},
		{s, " 192.0.2.1", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := tc.s.BanKey(tc.in)
			if tc.want == "" {
				var ve *auth.ValueError
				if !errors.As(err, &ve) || !errors.Is(err, auth.ErrBadValue) {
					t.Fatalf("got %q, %v; want a *ValueError", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestLiftBan: a ban is lifted by any spelling of its key; a key with no
// failures counted in an open window is ErrNotFound, not "lifted"
// (issue 14, finding 3: the admin API said "lifted" while the ban
// stayed).
func TestLiftBan(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	s, err := auth.New(openStore(t), tokens.NewServerKey(), auth.WithClock(clk.Now),
		auth.WithBudget(auth.Budget{Max: 2, Window: time.Minute, UserFactor: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	fail := func(key string) {
		t.Helper()
		for range 2 {
			if _, err := s.Failed(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct{ key, lift, lifted string }{
		{"ip:192.0.2.1", "ip:192.0.2.1", "ip:192.0.2.1"},
		{"ip:192.0.2.1", "192.0.2.1", "ip:192.0.2.1"},
		{"ip:192.0.2.1", "::ffff:192.0.2.1", "ip:192.0.2.1"},
		{"ip:2001:db8::/64", "2001:db8:0:0::1", "ip:2001:db8::/64"},
		{"ip:2001:db8::/64", "ip:2001:db8::/64", "ip:2001:db8::/64"},
		{"user:alice", "user:alice", "user:alice"},
		// Counted before ClientKey unmapped and grouped: lifted as
		// Bans lists it.
		{"ip:::ffff:192.0.2.9", "ip:::ffff:192.0.2.9", "ip:::ffff:192.0.2.9"},
		{"ip:2001:db8::9", "ip:2001:db8::9", "ip:2001:db8::9"},
	} {
		t.Run(tc.lift, func(t *testing.T) {
			fail(tc.key)
			if err := s.Admit(ctx, tc.key); err == nil {
				t.Fatal("not banned")
			}
			if got, err := s.LiftBan(ctx, tc.lift); err != nil || got != tc.lifted {
				t.Fatalf("LiftBan = %q, %v; want %q", got, err, tc.lifted)
			}
			if err := s.Admit(ctx, tc.key); err != nil {
				t.Fatalf("still banned: %v", err)
			}
			if _, err := s.LiftBan(ctx, tc.lift); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("lifting again = %v, want ErrNotFound", err)
			}
		})
	}
	if _, err := s.LiftBan(ctx, "ip:198.51.100.9"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an unknown key = %v, want ErrNotFound", err)
	}
	if _, err := s.LiftBan(ctx, "nonsense"); !errors.Is(err, auth.ErrBadValue) {
		t.Fatalf("a bad key = %v, want ErrBadValue", err)
	}
	// Failures whose window is over are nothing to lift.
	fail("ip:198.51.100.1")
	clk.Add(time.Minute)
	if _, err := s.LiftBan(ctx, "198.51.100.1"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an expired counter = %v, want ErrNotFound", err)
	}
}
