package auth_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// TestNoOracleForForgedTokens: a token the server did not mint is
// invalid whatever its subject's state; a genuine one still says what
// its state is (issue 14, finding 3).
func TestNoOracleForForgedTokens(t *testing.T) {
	key := tokens.NewServerKey()
	s := newService(t, openStore(t), key)
	caveats := []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}}
	genuine := func(user string) string {
		t.Helper()
		tok, err := s.IssueTemporary(ctx, user, tokens.Access, caveats)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// A forger knows the format but not the server key: it tags and signs
	// with keys of its own, for any subject and generation.
	forge := func(user string, gen uint64) string {
		other := tokens.NewServerKey()
		tok, err := other.Mint(&tokens.Claims{Subject: user, Kind: tokens.Temporary, Type: tokens.Access,
			Generation: gen, IssuedAt: time.Now().Unix(), Caveats: caveats}, other.SigningKey(tokens.Temporary, user, nil))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	aliceOld := genuine("alice")
	if _, err := s.RevokeTemporary(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	bobs := genuine("bob")
	if _, err := s.SetBlocked(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, auth.NewUser{ID: "carol"}); err != nil {
		t.Fatal(err)
	}
	carols := genuine("carol")
	if err := s.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  string
		want error
	}{
		{"forged, unknown subject", forge("nobody", 1), tokens.ErrInvalid},
		{"forged, existing subject", forge("alice", 2), tokens.ErrInvalid},
		{"forged, old generation", forge("alice", 1), tokens.ErrInvalid},
		{"forged, blocked subject", forge("bob", 1), tokens.ErrInvalid},
		{"genuine, revoked generation", aliceOld, tokens.ErrRevoked},
		{"genuine, blocked subject", bobs, auth.ErrUserBlocked},
		{"genuine, deleted subject", carols, tokens.ErrSubjectGone},
	} {
		_, err := s.Authenticate(ctx, tc.tok, tokens.Request{ClientIP: netip.MustParseAddr("192.0.2.9")})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		// The forged ones say nothing more: the same error, whatever
		// their subject.
		if tc.want == tokens.ErrInvalid && (errors.Is(err, tokens.ErrRevoked) || errors.Is(err, auth.ErrUserBlocked) ||
			errors.Is(err, tokens.ErrSubjectGone) || errors.Is(err, tokens.ErrSessionInvalid)) {
			t.Errorf("%s: %v tells the subject's state", tc.name, err)
		}
	}
}

// TestGarbageTokenBudget: a client whose tokens keep failing as forged is
// refused once past its budget, before its tokens are even checked;
// another client is not, and stale genuine tokens do not count.
func TestGarbageTokenBudget(t *testing.T) {
	const max = 3 * 2 // Budget.Max × UserFactor
	clk := &clock{now: time.Now()}
	s, err := auth.New(openStore(t), tokens.NewServerKey(), auth.WithClock(clk.Now),
		auth.WithBudget(auth.Budget{Max: 3, Window: time.Minute, UserFactor: 2}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	attacker, other := netip.MustParseAddr("198.51.100.3"), netip.MustParseAddr("198.51.100.4")
	caveats := []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: clk.Now().Add(time.Hour).Unix()}}
	old, err := s.IssueTemporary(ctx, "alice", tokens.Access, caveats)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeTemporary(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	// An ended session's token (tokenSessionInvalid) and a deleted user's
	// (tokenInvalid to clients) are stale too: genuine, so not guesses.
	ended, err := s.StartSession(ctx, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.Authenticate(ctx, ended, tokens.Request{ClientIP: attacker})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, auth.NewUser{ID: "carol"}); err != nil {
		t.Fatal(err)
	}
	deleted, err := s.IssueTemporary(ctx, "carol", tokens.Access, caveats)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	for _, stale := range []struct {
		name string
		tok  string
		want error
	}{
		{"revoked generation", old, tokens.ErrRevoked},
		{"ended session", ended, tokens.ErrSessionInvalid},
		{"deleted user", deleted, tokens.ErrSubjectGone},
	} {
		for range 2 * max { // stale, not guessed: never counted
			if _, err := s.Authenticate(ctx, stale.tok, tokens.Request{ClientIP: attacker}); !errors.Is(err, stale.want) {
				t.Fatalf("%s: %v, want %v", stale.name, err, stale.want)
			}
		}
	}
	for i := range max {
		if _, err := s.Authenticate(ctx, "garbage."+string(rune('a'+i))+".x", tokens.Request{ClientIP: attacker}); !errors.Is(err, tokens.ErrMalformed) {
			t.Fatalf("garbage %d: %v", i, err)
		}
	}
	_, err = s.Authenticate(ctx, old, tokens.Request{ClientIP: attacker})
	if tm, ok := auth.IsTooManyFailures(err); !ok || tm.RetryAfter != time.Minute {
		t.Fatalf("past the budget: %v, want too many failures, retry after 1m", err)
	}
	if _, err := s.Authenticate(ctx, old, tokens.Request{ClientIP: other}); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("another client: %v", err)
	}
	clk.Add(time.Minute)
	if _, err := s.Authenticate(ctx, old, tokens.Request{ClientIP: attacker}); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("after the window: %v", err)
	}
}

// TestUntaggedTokens: a token minted before tags existed still works
// while its state allows, and any refusal of it says only "invalid".
func TestUntaggedTokens(t *testing.T) {
	key := tokens.NewServerKey()
	st := openStore(t)
	s := newService(t, st, key)
	sub, err := st.Subject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	legacy := func() string {
		tok, err := tokens.Mint(&tokens.Claims{Subject: "alice", Kind: tokens.Temporary, Type: tokens.Access,
			Generation: sub.Temp.Generation, IssuedAt: time.Now().Unix(),
			Caveats: []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}}},
			key.SigningKey(tokens.Temporary, "alice", sub.Temp.Secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := legacy()
	if got, err := s.Authenticate(ctx, tok, tokens.Request{}); err != nil || got.Identity.ID != "alice" {
		t.Fatalf("untagged genuine token: %v, %v", got, err)
	}
	if _, err := s.RevokeTemporary(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, tok, tokens.Request{})
	if !errors.Is(err, tokens.ErrInvalid) || errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("untagged token of a revoked generation: %v, want only invalid", err)
	}
}
