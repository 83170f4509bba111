package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

func TestBudgetWindow(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	s, err := auth.New(openStore(t), tokens.NewServerKey(), auth.WithClock(clk.Now),
		auth.WithBudget(auth.Budget{Max: 3, Window: time.Minute, UserFactor: 2}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ipA, ipB, user := auth.IPKey("198.51.100.1"), auth.IPKey("198.51.100.2"), auth.UserKey("alice")

	for i := 1; i <= 3; i++ {
		if err := s.Admit(ctx, ipA, user); err != nil {
			t.Fatalf("failure %d admitted? %v", i, err)
		}
		exhausted, err := s.Failed(ctx, ipA, user)
		if err != nil {
			t.Fatal(err)
		}
		// Reported once, by the failure that used the budget up.
		if want := i == 3; (len(exhausted) == 1 && exhausted[0] == ipA) != want {
			t.Fatalf("failure %d: exhausted %v", i, exhausted)
		}
	}
	clk.Add(20 * time.Second)
	err = s.Admit(ctx, ipA, user)
	tm, ok := auth.IsTooManyFailures(err)
	if !ok || tm.Key != ipA || tm.RetryAfter != 40*time.Second {
		t.Fatalf("4th attempt: got %v, want ip budget used up, retry after 40s", err)
	}
	// Another client is not punished: the user's budget is larger.
	if err := s.Admit(ctx, ipB, user); err != nil {
		t.Fatalf("other client: %v", err)
	}
	if bans, err := s.Bans(ctx); err != nil || len(bans) != 1 || bans[0].Key != ipA {
		t.Fatalf("bans = %v, %v", bans, err)
	}
	// The window ends exactly a minute after the first failure.
	clk.Add(40*time.Second - time.Nanosecond)
	if err := s.Admit(ctx, ipA); err == nil {
		t.Fatal("admitted before the window ended")
	}
	clk.Add(time.Nanosecond)
	if err := s.Admit(ctx, ipA); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// Lifting a ban forgets the failures at once.
	for range 3 {
		s.Failed(ctx, ipB)
	}
	if _, err := s.LiftBan(ctx, ipB); err != nil {
		t.Fatal(err)
	}
	if err := s.Admit(ctx, ipB); err != nil {
		t.Fatalf("after lifting: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want error
	}{
		{"", auth.ErrNoPassword},
		{"short1", auth.ErrWeakPassword},
		{"aaaaaaaaaaaaaa", auth.ErrWeakPassword},
		{"abcdefghij1", nil},
		{"DtUYwi&l5I1KX4@Le", nil},
	} {
		if err := auth.DefaultPolicy.Check(tc.pw); !errors.Is(err, tc.want) {
			t.Errorf("Check(%q) = %v, want %v", tc.pw, err, tc.want)
		}
	}
}
