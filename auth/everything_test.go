package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/tokens"
)

// TestRevokeEverything: one call ends every kind of credential the user
// holds (temporary, session, named, handoff, reset), and nobody else's.
func TestRevokeEverything(t *testing.T) {
	st := openStore(t)
	s := newService(t, st, tokens.NewServerKey())
	temp := issue(t, s, "alice")
	sess, err := s.StartSession(ctx, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, named, err := s.IssueNamed(ctx, "alice", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.IssueNamed(ctx, "alice", "laptop", tokens.Access, nil); err != nil {
		t.Fatal(err)
	}
	handoff, _, err := s.IssueHandoff(ctx, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	reset, err := s.IssueReset(ctx, "alice", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bobs := issue(t, s, "bob")
	for _, tok := range []string{temp, sess, named, bobs} {
		if err := authenticate(s, tok); err != nil {
			t.Fatalf("before: %v", err)
		}
	}

	got, err := s.RevokeEverything(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Generation != 2 || got.Named != 2 || got.Sessions != 1 || !got.Reset {
		t.Errorf("RevokeEverything = %+v, want generation 2, 2 named, 1 session, the reset", got)
	}
	for name, tok := range map[string]string{"temporary": temp, "session": sess, "named": named} {
		if err := authenticate(s, tok); !errors.Is(err, tokens.ErrRevoked) && !errors.Is(err, tokens.ErrSessionInvalid) {
			t.Errorf("%s token after: %v, want revoked", name, err)
		}
	}
	if _, err := s.Handoff(ctx, handoff); err == nil {
		t.Error("the handoff token still resolves")
	}
	if _, _, err := s.ResetUser(ctx, reset); err == nil {
		t.Error("the reset token still works")
	}
	if err := authenticate(s, bobs); err != nil {
		t.Errorf("bob's token after alice's revoke: %v", err)
	}
	// Again: nothing left to revoke but a generation.
	if again, err := s.RevokeEverything(ctx, "alice"); err != nil || again.Named != 0 || again.Sessions != 0 {
		t.Errorf("again: %+v, %v", again, err)
	}
	if _, err := s.RevokeEverything(ctx, "nobody"); err == nil {
		t.Error("RevokeEverything of an unknown user succeeded")
	}
}
