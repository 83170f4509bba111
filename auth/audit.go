package auth

import (
	"context"
	"errors"
	"sync"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// The audit trail: every state change the Service makes is announced to
// an audit sink (WithAudit), from the one method that makes it, so that
// no front door can forget to report one. Who asked comes from the
// request's context, where the front doors put it (WithActor,
// AuthenticatedAs); the Service knows nothing of HTTP.

// Actor ids that are not users.
const (
	// ActorAdmin: the admin API, whose caller is known only by its
	// address (Actor.Addr).
	ActorAdmin = "admin"
	// ActorConfig: the server's config, applied as it starts.
	ActorConfig = "config"
)

// Actor is who asks for a change, and from where.
type Actor struct {
	// ID is the authenticated user's id, ActorAdmin or ActorConfig; ""
	// when the request proved no identity (a sign-in, a reset by
	// token): the event then names the user the credential belongs to.
	ID string
	// Addr is the admin client's address (ActorAdmin only).
	Addr string
	// ClientIP is the client's address as the server determined it.
	ClientIP string
	// RequestID is the id the server gave the request (Caddy's
	// {http.request.uuid}), resolved only when an event is emitted, so
	// that requests that change nothing never pay for one.
	RequestID func() string
}

// actorBox holds a request's actor. A front door learns who the caller
// is only after it put the box in the context (AuthenticatedAs), so the
// box is filled in place; a request's handlers may do so concurrently.
type actorBox struct {
	mu sync.Mutex
	a  Actor
}

type actorKey struct{}

// WithActor returns ctx carrying a: the actor of every change made with
// the returned context.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, &actorBox{a: a})
}

// AuthenticatedAs records, in the actor WithActor put in ctx, that the
// request proved to be user id. A context without an actor is left as
// it is: nothing would read it.
func AuthenticatedAs(ctx context.Context, id string) {
	if b, ok := ctx.Value(actorKey{}).(*actorBox); ok {
		b.mu.Lock()
		b.a.ID = id
		b.mu.Unlock()
	}
}

// ActorFrom returns the actor in ctx; the zero Actor if there is none.
func ActorFrom(ctx context.Context) Actor {
	if b, ok := ctx.Value(actorKey{}).(*actorBox); ok {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.a
	}
	return Actor{}
}

// Audit event names: stable, snake_case, what operators filter on.
const (
	EventUserCreated            = "user_created"
	EventUserUpdated            = "user_updated"
	EventUserDeleted            = "user_deleted"
	EventUserBlocked            = "user_blocked"
	EventUserUnblocked          = "user_unblocked"
	EventUserOrphaned           = "user_orphaned"
	EventPasswordChanged        = "password_changed"
	EventPasswordReset          = "password_reset"
	EventTokenIssued            = "token_issued"
	EventTokenRevoked           = "token_revoked"
	EventTokenUnrevoked         = "token_unrevoked"
	EventTokenUpdated           = "token_updated"
	EventTokenDeleted           = "token_deleted"
	EventTemporaryTokensRevoked = "temporary_tokens_revoked"
	EventNamedTokensDeleted     = "named_tokens_deleted"
	// EventEverythingRevoked: RevokeEverything; Detail has the counts.
	EventEverythingRevoked = "everything_revoked"
	EventSessionStarted    = "session_started"
	EventSessionEnded      = "session_ended"
	EventBanned            = "banned"
	EventBanLifted         = "ban_lifted"
	EventConfigSynced      = "config_synced"
	// EventKeyRotated and EventKeyRemoved: a server key was added to or
	// removed from the store-held ring; Target is its id.
	EventKeyRotated = "server_key_rotated"
	EventKeyRemoved = "server_key_removed"
	// EventRemoteChange: another instance sharing the store changed a
	// subject's state; that instance logged the change itself.
	EventRemoteChange = "remote_change"
)

// Token kinds as the audit trail names them (tokens.Kind is terser, for
// the wire); handoff and reset tokens have no tokens.Kind.
const (
	kindTemporary = "temporary"
	kindNamed     = "named"
	kindSession   = "session"
	kindHandoff   = "handoff"
	kindReset     = "reset"
)

func kindName(k tokens.Kind) string {
	switch k {
	case tokens.Temporary:
		return kindTemporary
	case tokens.Named:
		return kindNamed
	case tokens.Session:
		return kindSession
	}
	return string(k)
}

// typeName is a token type as an audit entry's detail says it.
func typeName(t tokens.Type) string {
	switch t {
	case tokens.Access:
		return "access token"
	case tokens.Identity:
		return "identity token"
	}
	return string(t)
}

// OutcomeOK is the outcome of a change that was made.
const OutcomeOK = "ok"

// AuditEvent is one state change, or an attempt at one. It never holds
// a secret: no token, password, hash or key.
type AuditEvent struct {
	Event string // one of the Event* names
	Actor Actor
	// Target is what changed: a user id, a named token's or a session's
	// id, a ban key.
	Target string
	// User is the user a token or session target belongs to, if Target
	// is not that user.
	User string
	// Kind is the token kind (temporary, named, session, handoff, reset)
	// for token events; for EventRemoteChange, what changed (temp, user,
	// named, session).
	Kind string
	// Name is a named token's name.
	Name string
	// Outcome is OutcomeOK or the failure's id (see ErrorID).
	Outcome string
	// Detail is a short note: for a confined token, "confined"; for a
	// config sync, the counts.
	Detail string
	// Origin is the instance that made a remote change; "" for a change
	// made by this Service.
	Origin string
}

// WithAudit sets the audit sink: fn hears of every state change, made
// or refused, after it happened, on the goroutine that made it. It must
// not block for long. Default: nothing.
func WithAudit(fn func(context.Context, AuditEvent)) Option {
	return func(s *Service) { s.audit = fn }
}

// ErrorID names a failure in an audit event's outcome, in snake_case:
// the sentinel it wraps, or "error".
func ErrorID(err error) string {
	if err == nil {
		return OutcomeOK
	}
	if _, ok := IsTooManyFailures(err); ok {
		return "too_many_failures"
	}
	for _, e := range [...]struct {
		err error
		id  string
	}{
		{ErrCanceled, "canceled"}, {ErrUnavailable, "unavailable"},
		{ErrNotFound, "not_found"}, {ErrExists, "exists"},
		{ErrConfigManaged, "config_managed"}, {ErrForbidden, "forbidden"},
		{ErrUserBlocked, "user_blocked"}, {ErrBadValue, "bad_value"},
		{ErrBadCredentials, "bad_credentials"}, {ErrInvalidResetToken, "invalid_reset_token"},
		{ErrWeakPassword, "weak_password"}, {ErrNoPassword, "no_password"},
		{ErrBadHash, "bad_hash"}, {ErrHashCost, "hash_cost"}, {ErrBusy, "busy"},
		{tokens.ErrTimeCaveatRequired, "time_caveat_required"}, {tokens.ErrBadCaveat, "bad_caveat"},
		{tokens.ErrBadData, "bad_caveat"}, {tokens.ErrBadType, "bad_type"},
		{tokens.ErrSubjectGone, "subject_gone"}, {tokens.ErrNotAccessToken, "not_access_token"},
		{tokens.ErrSubjectInvalid, "subject_invalid"}, {tokens.ErrRevoked, "token_revoked"},
		{tokens.ErrSessionInvalid, "session_invalid"}, {tokens.ErrInvalid, "token_invalid"},
		{tokens.ErrMalformed, "token_malformed"},
	} {
		if errors.Is(err, e.err) {
			return e.id
		}
	}
	return "error"
}

// emit reports e, with the actor and outcome filled in, to the sink.
// self is the user the change is made for, the actor of a request that
// proved no identity.
func (s *Service) emit(ctx context.Context, e AuditEvent, self string, err error) {
	if s.audit == nil {
		return
	}
	e.Actor = ActorFrom(ctx)
	if e.Actor.ID == "" {
		e.Actor.ID = self
	}
	e.Outcome = ErrorID(err)
	s.audit(ctx, e)
}

// heardRemote reports a change another instance sharing the store made:
// that instance logged it as its own; this one only heard of it.
func (s *Service) heardRemote(e store.Event) {
	if s.audit == nil || e.Origin == "" {
		return
	}
	s.audit(context.Background(), AuditEvent{Event: EventRemoteChange, Target: e.Subject, Kind: e.Kind.String(),
		Outcome: OutcomeOK, Origin: e.Origin})
}
