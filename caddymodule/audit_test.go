package caddymodule

import (
	"context"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	zapobserver "go.uber.org/zap/zaptest/observer"

	"github.com/tokengate/tokengate/auth"
)

// TestAuditSink: this instance's changes are INFO entries with the
// actor, client, request id, target and outcome; a change heard from
// another instance is a DEBUG entry naming its origin and no actor.
func TestAuditSink(t *testing.T) {
	core, logs := zapobserver.New(zapcore.DebugLevel)
	sink := auditSink(zap.New(core).Named("tokengate").Named("audit"), "inst-a")
	actor := auth.Actor{ID: "admin", Addr: "127.0.0.1:5000", ClientIP: "127.0.0.1", RequestID: func() string { return "req-1" }}
	sink(context.Background(), auth.AuditEvent{Event: auth.EventUserBlocked, Actor: actor, Target: "carol", Outcome: "ok"})
	sink(context.Background(), auth.AuditEvent{Event: auth.EventRemoteChange, Target: "carol", Kind: "user", Outcome: "ok", Origin: "inst-b"})

	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	for i, c := range []struct {
		level  zapcore.Level
		fields map[string]any
	}{
		{zapcore.InfoLevel, map[string]any{"event": "user_blocked", "instance": "inst-a", "actor": "admin", "actor_addr": "127.0.0.1:5000",
			"client_ip": "127.0.0.1", "request_id": "req-1", "target": "carol", "outcome": "ok"}},
		{zapcore.DebugLevel, map[string]any{"event": "remote_change", "origin": "inst-b", "target": "carol", "kind": "user", "outcome": "ok"}},
	} {
		e := entries[i]
		if e.Level != c.level || e.LoggerName != auditLoggerName {
			t.Errorf("entry %d: %s by %q, want %s by %s", i, e.Level, e.LoggerName, c.level, auditLoggerName)
		}
		if got := e.ContextMap(); len(got) != len(c.fields) {
			t.Errorf("entry %d: fields %v, want %v", i, got, c.fields)
		} else {
			for k, v := range c.fields {
				if got[k] != v {
					t.Errorf("entry %d: %s = %v, want %v", i, k, got[k], v)
				}
			}
		}
	}
}
