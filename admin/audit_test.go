package admin_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/auth"
)

// TestAuditActor: every change made through the admin API is the
// admin's, at the client's address.
func TestAuditActor(t *testing.T) {
	var mu sync.Mutex
	var events []auth.AuditEvent
	e := newEnv(t, auth.WithAudit(func(_ context.Context, ev auth.AuditEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	mu.Lock()
	events = nil // the env's own setup
	mu.Unlock()
	e.want("POST", "/tokengate/users/alice/block", "", 200, "")
	e.want("DELETE", "/tokengate/users/alice/tokens/temporary", "", 200, "")
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Event != auth.EventUserBlocked || events[1].Event != auth.EventTemporaryTokensRevoked {
		t.Fatalf("events %+v, want user_blocked, temporary_tokens_revoked", events)
	}
	for _, ev := range events {
		// httptest's requests come from 192.0.2.1:1234.
		if a := ev.Actor; a.ID != auth.ActorAdmin || a.Addr != "192.0.2.1:1234" || a.ClientIP != "192.0.2.1" || ev.Target != "alice" {
			t.Errorf("%s: actor %+v, target %q; want the admin at 192.0.2.1:1234, alice", ev.Event, a, ev.Target)
		}
	}
}
