package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// TestRevokeEverything: one call ends every kind of credential the user
// holds (temporary, session, named, handoff, reset), and nobody else's.
func TestRevokeEverything(t *testing.T) {
	st := openStore(t)
	rec := &recorder{}
	s, err := auth.New(st, tokens.NewServerKey(), auth.WithDummyPasswordHash(string(minCostHash)), auth.WithAudit(rec.audit))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
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

	rec.take()
	got, err := s.RevokeEverything(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// One summary entry in the audit trail, after the generation's own.
	if evs := rec.take(); len(evs) == 0 || evs[len(evs)-1].Event != auth.EventEverythingRevoked ||
		evs[len(evs)-1].Target != "alice" || evs[len(evs)-1].Outcome != auth.OutcomeOK ||
		!strings.Contains(evs[len(evs)-1].Detail, "2 named tokens revoked, 1 sessions ended") {
		t.Errorf("audit events %+v, want everything_revoked last", evs)
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
