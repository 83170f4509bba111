package caddymodule

import (
	"context"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tokengate/tokengate/auth"
)

// auditLoggerName is the audit trail's logger, which an operator routes
// to its own file with Caddy's `log { include tokengate.audit }`.
const auditLoggerName = "tokengate.audit"

// auditSink writes each of the service's audit events as one entry of
// the audit logger: this instance's changes at INFO, those it heard of
// from another instance sharing the store at DEBUG (that one logged
// them at INFO). instance is this instance's id in a shared store's
// change notifications ("" for a store of its own): its entries carry
// it, so that another instance's origin names them.
func auditSink(log *zap.Logger, instance string) func(context.Context, auth.AuditEvent) {
	return func(_ context.Context, e auth.AuditEvent) {
		level := zapcore.InfoLevel
		if e.Origin != "" {
			level = zapcore.DebugLevel
		}
		ce := log.Check(level, e.Event)
		if ce == nil {
			return
		}
		fields := make([]zap.Field, 0, 13)
		fields = append(fields, zap.String("event", e.Event))
		if e.Origin != "" {
			fields = append(fields, zap.String("origin", e.Origin))
		} else {
			if instance != "" {
				fields = append(fields, zap.String("instance", instance))
			}
			a := e.Actor
			var reqID string
			if a.RequestID != nil {
				reqID = a.RequestID()
			}
			fields = append(fields, zap.String("actor", a.ID))
			if a.Addr != "" {
				fields = append(fields, zap.String("actor_addr", a.Addr))
			}
			fields = append(fields, zap.String("client_ip", a.ClientIP), zap.String("request_id", reqID))
		}
		fields = append(fields, zap.String("target", e.Target))
		for _, f := range [...]struct{ k, v string }{{"user", e.User}, {"kind", e.Kind}, {"name", e.Name}, {"detail", e.Detail}} {
			if f.v != "" {
				fields = append(fields, zap.String(f.k, f.v))
			}
		}
		ce.Write(append(fields, zap.String("outcome", e.Outcome))...)
	}
}

// withActor returns r with an actor for the audit trail: its client
// address as Caddy determined it and its request id ({http.request.uuid},
// which is also put in the access log's uuid field), read only if a
// change is audited. Who the caller is, the front door learns later
// (auth.AuthenticatedAs).
func withActor(r *http.Request) *http.Request {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	a := auth.Actor{RequestID: func() string {
		if repl == nil {
			return ""
		}
		id, _ := repl.GetString("http.request.uuid")
		return id
	}}
	if ip := clientIP(r); ip.IsValid() {
		a.ClientIP = ip.String()
	}
	return r.WithContext(auth.WithActor(r.Context(), a))
}

// showUser puts the user the endpoint authenticated in Caddy's access
// log (its user_id field reads {http.auth.user.id}), as Caddy's own
// authentication handler does: the endpoints answer themselves, so the
// gate's identity placeholders were never set for them.
func showUser(r *http.Request) {
	id := auth.ActorFrom(r.Context()).ID
	if id == "" {
		return
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.auth.user.id", id)
	}
}

// auditLogger is the audit trail's logger, auditLoggerName: a child of
// the app's (the module "tokengate"), so that it writes to this config's
// logs, which a reload replaces.
func (a *App) auditLogger() *zap.Logger {
	return a.logger.Named("audit")
}
