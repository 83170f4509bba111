// Package observed wraps a store.Store so that every operation is timed,
// every change made through this instance is logged (who and what, never
// a secret) and every revocation counted. It knows Prometheus and zap but
// not Caddy: caddymodule registers the collectors and hands them in.
package observed

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tokengate/tokengate/store"
)

// Op is a store operation; OpNames has its label value.
type Op int

// Store operations, as the operation label names them.
const (
	opSubject Op = iota
	opRevokeTemp
	opUser
	opUserByName
	opPutUser
	opCreateUser
	opUpdateUser
	opDeleteUser
	opUsers
	opCreateNamed
	opNamed
	opNamedTokens
	opUpdateNamed
	opDeleteNamed
	opNamedOwner
	opCreateSession
	opSession
	opDeleteSession
	opSessions
	opDeleteSessions
	opCreateHandoff
	opHandoff
	opCreateReset
	opReset
	opConsumeReset
	opSetPassword
	opFail
	opTake
	opReturn
	opCounter
	opCounters
	opClearCounter
	opPurgeExpired
	opAssertionKeys
	opSwapAssertionKeys
	opServerKeys
	opSwapServerKeys
	NumOps
)

var OpNames = [NumOps]string{
	"subject", "revoke_temp", "user", "user_by_name", "put_user", "create_user", "update_user", "delete_user", "users",
	"create_named", "named", "named_tokens", "update_named", "delete_named", "named_owner",
	"create_session", "session", "delete_session", "sessions", "delete_sessions", "create_handoff", "handoff",
	"create_reset", "reset", "consume_reset", "set_password",
	"fail", "take", "return", "counter", "counters", "clear_counter", "purge_expired",
	"assertion_keys", "swap_assertion_keys",
	"server_keys", "swap_server_keys",
}

// Kinds of store failure, as the error label names them: the store could
// not answer (store.ErrUnavailable), or anything else. Not found and
// already exists are answers, not failures; a caller that went away
// (context.Canceled) is not the store's failure either.
const (
	ErrUnavailable = iota
	ErrOther
	NumErrorKinds
)

var ErrorKinds = [NumErrorKinds]string{"unavailable", "other"}

// Revocation kinds, as the kind label names them.
const (
	RevokeTemporary = iota
	RevokeNamed
	RevokeSession
	RevokeUser
	RevokePassword
	NumRevocationKinds
)

var RevocationKinds = [NumRevocationKinds]string{"temporary", "named", "session", "user", "password"}

// observed is the store as the app uses it: every operation is timed,
// revocations are counted, changes are logged (who and what, never a
// secret), and failures are logged at most once a second, so that an
// outage under load does not flood the log.
type observed struct {
	store.Store
	ops         *[NumOps]prometheus.Observer
	errs        *[NumOps][NumErrorKinds]prometheus.Counter
	revocations *[NumRevocationKinds]prometheus.Counter
	log         *zap.Logger
	now         func() time.Time
	lastErr     atomic.Int64 // Unix nanoseconds of the last failure logged
	quiet       atomic.Int64 // failures not logged since
}

// Wrap returns st observed: ops times each operation (indexed by Op),
// errs counts its failures (by Op and ErrUnavailable…), revocations
// counts each kind (indexed by RevokeTemporary…), log takes the changes
// and the failures.
func Wrap(st store.Store, ops *[NumOps]prometheus.Observer, errs *[NumOps][NumErrorKinds]prometheus.Counter,
	revocations *[NumRevocationKinds]prometheus.Counter, log *zap.Logger) store.Store {
	o := &observed{Store: st, ops: ops, errs: errs, revocations: revocations, log: log, now: time.Now}
	if n, ok := st.(notifying); ok {
		return &observedNotifying{observed: o, notifying: n}
	}
	return o
}

// notifying is auth.Notifications (a store whose notifications can
// break): a wrapped store keeps showing it to auth.
type notifying interface {
	LastHeard() time.Time
	OnReconnect(fn func()) (cancel func())
}

type observedNotifying struct {
	*observed
	notifying
}

// done records an operation that started at start; use as
// defer o.done(op, time.Now(), &err).
func (o *observed) done(op Op, start time.Time, err *error) {
	o.ops[op].Observe(o.now().Sub(start).Seconds())
	if *err == nil || errors.Is(*err, store.ErrNotFound) || errors.Is(*err, store.ErrExists) ||
		errors.Is(*err, store.ErrConflict) {
		return
	}
	switch {
	case errors.Is(*err, store.ErrUnavailable):
		o.errs[op][ErrUnavailable].Inc()
	case !errors.Is(*err, context.Canceled):
		o.errs[op][ErrOther].Inc()
	}
	now := o.now().UnixNano()
	last := o.lastErr.Load()
	if now-last < int64(time.Second) || !o.lastErr.CompareAndSwap(last, now) {
		o.quiet.Add(1)
		return
	}
	o.log.Error("store operation failed", zap.String("operation", OpNames[op]),
		zap.Int64("failures_not_logged", o.quiet.Swap(0)), zap.Error(*err))
}

// changed logs a change made through this instance and counts it if it
// revokes something.
func (o *observed) changed(err error, revoked int, msg string, fields ...zap.Field) {
	if err != nil {
		return
	}
	if revoked >= 0 {
		o.revocations[revoked].Inc()
	}
	o.log.Info(msg, fields...)
}

const noRevocation = -1

func (o *observed) Subject(ctx context.Context, id string) (_ store.Subject, err error) {
	defer o.done(opSubject, o.now(), &err)
	return o.Store.Subject(ctx, id)
}

func (o *observed) RevokeTemp(ctx context.Context, id string) (t store.TempSecret, err error) {
	defer o.done(opRevokeTemp, o.now(), &err)
	t, err = o.Store.RevokeTemp(ctx, id)
	o.changed(err, RevokeTemporary, "revoked all temporary tokens and sessions",
		zap.String("user", id), zap.Uint64("generation", t.Generation))
	return t, err
}

func (o *observed) User(ctx context.Context, id string) (_ store.User, err error) {
	defer o.done(opUser, o.now(), &err)
	return o.Store.User(ctx, id)
}

func (o *observed) UserByName(ctx context.Context, username string) (_ store.User, err error) {
	defer o.done(opUserByName, o.now(), &err)
	return o.Store.UserByName(ctx, username)
}

func (o *observed) PutUser(ctx context.Context, u store.User) (err error) {
	defer o.done(opPutUser, o.now(), &err)
	err = o.Store.PutUser(ctx, u)
	o.changed(err, noRevocation, "user saved", zap.String("user", u.ID), zap.String("username", u.Username),
		zap.Bool("blocked", u.Blocked), zap.Bool("config_managed", u.ConfigManaged))
	return err
}

func (o *observed) CreateUser(ctx context.Context, u store.User) (err error) {
	defer o.done(opCreateUser, o.now(), &err)
	err = o.Store.CreateUser(ctx, u)
	o.changed(err, noRevocation, "user created", zap.String("user", u.ID), zap.String("username", u.Username),
		zap.Bool("config_managed", u.ConfigManaged))
	return err
}

func (o *observed) UpdateUser(ctx context.Context, id string, fn func(*store.User) error) (u store.User, err error) {
	start := o.now()
	// An error of fn's own is the caller's answer, not a store failure.
	var fnErr error
	u, err = o.Store.UpdateUser(ctx, id, func(u *store.User) error { fnErr = fn(u); return fnErr })
	failure := err
	if fnErr != nil && errors.Is(err, fnErr) {
		failure = nil
	}
	o.done(opUpdateUser, start, &failure)
	o.changed(err, noRevocation, "user saved", zap.String("user", id), zap.String("username", u.Username),
		zap.Bool("blocked", u.Blocked), zap.Bool("orphaned", u.Orphaned), zap.Bool("config_managed", u.ConfigManaged))
	return u, err
}

func (o *observed) DeleteUser(ctx context.Context, id string) (err error) {
	defer o.done(opDeleteUser, o.now(), &err)
	err = o.Store.DeleteUser(ctx, id)
	o.changed(err, RevokeUser, "user deleted; its tokens revoked", zap.String("user", id))
	return err
}

func (o *observed) Users(ctx context.Context) (_ []store.User, err error) {
	defer o.done(opUsers, o.now(), &err)
	return o.Store.Users(ctx)
}

func (o *observed) CreateNamed(ctx context.Context, t store.NamedToken) (err error) {
	defer o.done(opCreateNamed, o.now(), &err)
	err = o.Store.CreateNamed(ctx, t)
	o.changed(err, noRevocation, "named token created", zap.String("user", t.Subject),
		zap.String("token_id", t.ID), zap.String("name", t.Name))
	return err
}

func (o *observed) Named(ctx context.Context, subject, id string) (_ store.NamedToken, err error) {
	defer o.done(opNamed, o.now(), &err)
	return o.Store.Named(ctx, subject, id)
}

func (o *observed) NamedOwner(ctx context.Context, id string) (_ string, err error) {
	defer o.done(opNamedOwner, o.now(), &err)
	return o.Store.NamedOwner(ctx, id)
}

func (o *observed) NamedTokens(ctx context.Context, subject string) (_ []store.NamedToken, err error) {
	defer o.done(opNamedTokens, o.now(), &err)
	return o.Store.NamedTokens(ctx, subject)
}

func (o *observed) UpdateNamed(ctx context.Context, subject, id string, u store.NamedUpdate) (err error) {
	defer o.done(opUpdateNamed, o.now(), &err)
	err = o.Store.UpdateNamed(ctx, subject, id, u)
	kind, fields := noRevocation, []zap.Field{zap.String("user", subject), zap.String("token_id", id)}
	if u.Name != nil {
		fields = append(fields, zap.String("name", *u.Name))
	}
	if u.Revoked != nil {
		fields = append(fields, zap.Bool("revoked", *u.Revoked))
		if *u.Revoked {
			kind = RevokeNamed
		}
	}
	o.changed(err, kind, "named token updated", fields...)
	return err
}

func (o *observed) DeleteNamed(ctx context.Context, subject, id string) (err error) {
	defer o.done(opDeleteNamed, o.now(), &err)
	err = o.Store.DeleteNamed(ctx, subject, id)
	if id == "" {
		o.changed(err, RevokeNamed, "all named tokens deleted", zap.String("user", subject))
	} else {
		o.changed(err, RevokeNamed, "named token deleted", zap.String("user", subject), zap.String("token_id", id))
	}
	return err
}

func (o *observed) CreateSession(ctx context.Context, s store.Session) (err error) {
	defer o.done(opCreateSession, o.now(), &err)
	return o.Store.CreateSession(ctx, s)
}

func (o *observed) Session(ctx context.Context, id string) (_ store.Session, err error) {
	defer o.done(opSession, o.now(), &err)
	return o.Store.Session(ctx, id)
}

func (o *observed) DeleteSession(ctx context.Context, id string) (err error) {
	defer o.done(opDeleteSession, o.now(), &err)
	err = o.Store.DeleteSession(ctx, id)
	if err == nil {
		o.revocations[RevokeSession].Inc() // one per logout: not worth a log line
	}
	return err
}

func (o *observed) Sessions(ctx context.Context, subject string, now time.Time) (_ []store.Session, err error) {
	defer o.done(opSessions, o.now(), &err)
	return o.Store.Sessions(ctx, subject, now)
}

func (o *observed) DeleteSessions(ctx context.Context, subject string) (n int, err error) {
	defer o.done(opDeleteSessions, o.now(), &err)
	n, err = o.Store.DeleteSessions(ctx, subject)
	if err == nil && n > 0 {
		// One revocation per session, as logouts count; one line for all.
		o.revocations[RevokeSession].Add(float64(n))
		o.log.Info("all sessions ended", zap.String("user", subject), zap.Int("sessions", n))
	}
	return n, err
}

func (o *observed) CreateHandoff(ctx context.Context, h store.Handoff) (err error) {
	defer o.done(opCreateHandoff, o.now(), &err)
	return o.Store.CreateHandoff(ctx, h)
}

func (o *observed) Handoff(ctx context.Context, digest string) (_ store.Handoff, err error) {
	defer o.done(opHandoff, o.now(), &err)
	return o.Store.Handoff(ctx, digest)
}

func (o *observed) CreateReset(ctx context.Context, t store.ResetToken) (err error) {
	defer o.done(opCreateReset, o.now(), &err)
	err = o.Store.CreateReset(ctx, t)
	o.changed(err, noRevocation, "password reset token issued", zap.String("user", t.Subject),
		zap.String("created_by", t.CreatedBy), zap.Time("expires_at", t.ExpiresAt))
	return err
}

func (o *observed) Reset(ctx context.Context, digest string, now time.Time) (_ store.ResetToken, err error) {
	defer o.done(opReset, o.now(), &err)
	return o.Store.Reset(ctx, digest, now)
}

func (o *observed) ConsumeReset(ctx context.Context, digest, hash string, now time.Time) (t store.ResetToken, err error) {
	defer o.done(opConsumeReset, o.now(), &err)
	t, err = o.Store.ConsumeReset(ctx, digest, hash, now)
	o.changed(err, RevokePassword, "password reset; the user's sessions and temporary tokens revoked",
		zap.String("user", t.Subject))
	return t, err
}

func (o *observed) SetPassword(ctx context.Context, id, hash string, now time.Time) (err error) {
	defer o.done(opSetPassword, o.now(), &err)
	err = o.Store.SetPassword(ctx, id, hash, now)
	o.changed(err, RevokePassword, "password set; the user's sessions and temporary tokens revoked",
		zap.String("user", id))
	return err
}

func (o *observed) Fail(ctx context.Context, key string, window time.Duration, now time.Time) (_ store.Counter, err error) {
	defer o.done(opFail, o.now(), &err)
	return o.Store.Fail(ctx, key, window, now)
}

func (o *observed) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (_ store.Counter, ok bool, err error) {
	defer o.done(opTake, o.now(), &err)
	return o.Store.Take(ctx, key, limit, window, now)
}

func (o *observed) Return(ctx context.Context, c store.Counter) (err error) {
	defer o.done(opReturn, o.now(), &err)
	return o.Store.Return(ctx, c)
}

func (o *observed) Counter(ctx context.Context, key string, now time.Time) (_ store.Counter, err error) {
	defer o.done(opCounter, o.now(), &err)
	return o.Store.Counter(ctx, key, now)
}

func (o *observed) Counters(ctx context.Context, now time.Time) (_ []store.Counter, err error) {
	defer o.done(opCounters, o.now(), &err)
	return o.Store.Counters(ctx, now)
}

func (o *observed) ClearCounter(ctx context.Context, key string, now time.Time) (err error) {
	defer o.done(opClearCounter, o.now(), &err)
	err = o.Store.ClearCounter(ctx, key, now)
	o.changed(err, noRevocation, "brute-force ban lifted", zap.String("key", key))
	return err
}

func (o *observed) PurgeExpired(ctx context.Context, now time.Time) (_ int, err error) {
	defer o.done(opPurgeExpired, o.now(), &err)
	return o.Store.PurgeExpired(ctx, now)
}

func (o *observed) AssertionKeys(ctx context.Context) (_ store.AssertionKeyRing, err error) {
	defer o.done(opAssertionKeys, o.now(), &err)
	return o.Store.AssertionKeys(ctx)
}

func (o *observed) SwapAssertionKeys(ctx context.Context, prev uint64, keys []store.AssertionKey) (_ store.AssertionKeyRing, err error) {
	defer o.done(opSwapAssertionKeys, o.now(), &err)
	ring, err := o.Store.SwapAssertionKeys(ctx, prev, keys)
	if err == nil && len(ring.Keys) > 0 {
		o.changed(err, noRevocation, "assertion keys rotated", zap.Uint64("version", ring.Version), zap.String("kid", ring.Keys[0].ID))
	}
	return ring, err
}

// CountRemote counts the changes other instances announce through st,
// and observes their delay from publish to here, until cancel is called.
// Changes made through this instance are counted where they are made.
func CountRemote(st store.Store, changes prometheus.Counter, lag prometheus.Observer) (cancel func()) {
	return st.Subscribe(func(e store.Event) {
		if e.Sent.IsZero() {
			return
		}
		changes.Inc()
		lag.Observe(max(time.Since(e.Sent), 0).Seconds())
	})
}

func (o *observed) ServerKeys(ctx context.Context) (_ store.ServerKeys, err error) {
	defer o.done(opServerKeys, o.now(), &err)
	return o.Store.ServerKeys(ctx)
}

// SwapServerKeys logs the ring's new version and size, never a key.
func (o *observed) SwapServerKeys(ctx context.Context, version uint64, keys []string) (k store.ServerKeys, err error) {
	defer o.done(opSwapServerKeys, o.now(), &err)
	k, err = o.Store.SwapServerKeys(ctx, version, keys)
	o.changed(err, noRevocation, "changed the store-held server key ring",
		zap.Uint64("version", k.Version), zap.Int("keys", len(k.Keys)))
	return k, err
}
