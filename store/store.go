// Package store defines where tokengate keeps its state: the Store
// interface, its records and events. The backends are subpackages (bolt,
// redis); storetest is the conformance suite each of them runs. Every
// call takes a context so that a networked store can honour
// deadlines; every mutation that others must see is announced to
// subscribers before the call returns.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

var (
	// ErrNotFound: no such user (or record).
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable: the store could not answer; callers fail closed.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrExists: a unique name (user name, a user's token name) is taken.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: a compare-and-swap found the record changed since the
	// version the caller read (another instance wrote first).
	ErrConflict = errors.New("store: changed concurrently")
)

// AssertionKey is one key of the ring that signs the assertions the gate
// hands upstreams (package assertion). It is kept in the store so that
// every instance sharing the store signs with, and publishes, the same
// keys.
type AssertionKey struct {
	// ID is the key's kid: the JWT header and the JWKS entry name it.
	ID string `json:"kid"`
	// Algorithm is the JWS algorithm: "EdDSA" (Ed25519) or "ES256".
	Algorithm string `json:"alg"`
	// Private is the private key, PKCS #8 DER.
	Private   []byte    `json:"private"`
	CreatedAt time.Time `json:"created_at"`
}

// AssertionKeyRing is the stored key ring, newest key first. Version
// counts its writes (0: never written), so that a swap can tell whether
// another instance rotated in between.
type AssertionKeyRing struct {
	Version uint64         `json:"version"`
	Keys    []AssertionKey `json:"keys"`
}

// User is an account that can hold tokens. ID is permanent; Username is
// what Basic authentication names and can change.
type User struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	PasswordHash  string    `json:"password_hash,omitempty"`
	Name          string    `json:"name,omitempty"`
	Email         string    `json:"email,omitempty"`
	Role          string    `json:"role,omitempty"`
	CreatedBy     string    `json:"created_by,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	ConfigManaged bool      `json:"config_managed,omitempty"`
	Blocked       bool      `json:"blocked,omitempty"`
	// Orphaned marks a config-managed user that the config no longer
	// declares: it cannot authenticate, but keeps its record and tokens
	// until an operator deletes it or the config declares it again.
	Orphaned bool `json:"orphaned,omitempty"`
	// Number is a stable numeric id, assigned by the store on creation,
	// for APIs whose user ids are integers (Unleash).
	Number int64 `json:"number,omitempty"`
}

// ResetToken is a password-reset token, stored under the SHA-256 of its
// value. Only the newest of a user's tokens is active.
type ResetToken struct {
	Digest    string    `json:"digest"`
	Subject   string    `json:"subject"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Counter is a brute-force budget's state: failures in the window that
// ends at Until.
type Counter struct {
	Key   string    `json:"key"`
	Count int       `json:"count"`
	Until time.Time `json:"until"`
}

// NamedToken is the record of one named token: long-lived, revocable on
// its own, signed with its own secret.
type NamedToken struct {
	ID        string          `json:"id"`
	Subject   string          `json:"subject"`
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	Caveats   json.RawMessage `json:"caveats,omitempty"`
	Revoked   bool            `json:"revoked"`
	CreatedAt time.Time       `json:"created_at"`
	Secret    []byte          `json:"secret"`
	// Metadata is the owner's custom metadata, a JSON object stored as
	// given (Onezone's metadata.custom); nil if never set.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// Session is a browser login: its token is stamped with the subject's
// temporary generation, and the record lets one session end on its own.
type Session struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Generation is the subject's temporary generation at creation: a
	// session of an older generation was revoked, though its record may
	// remain until it expires.
	Generation uint64 `json:"generation,omitempty"`
}

// Handoff is a short-lived authentication token (OpenPaaS's), stored under
// the SHA-256 of its value so a copy of the store reveals none.
type Handoff struct {
	Digest    string    `json:"digest"` // hex SHA-256 of the token
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Generation is the subject's temporary generation at creation:
	// revoking all temporary tokens, or deleting the user, ends handoff
	// tokens too.
	Generation uint64 `json:"generation"`
}

// NamedUpdate changes a named token; nil fields stay as they are.
type NamedUpdate struct {
	Name    *string
	Revoked *bool
	// Metadata, if not nil, replaces the token's custom metadata.
	Metadata json.RawMessage
}

// Apply changes t as u says: the one rule every backend follows, which
// checks only the name's uniqueness itself.
func (u NamedUpdate) Apply(t *NamedToken) {
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.Revoked != nil {
		t.Revoked = *u.Revoked
	}
	if u.Metadata != nil {
		t.Metadata = u.Metadata
	}
}

// TempSecret is a subject's shared temporary-token secret and its
// generation. Generations start at 1 and only ever grow.
type TempSecret struct {
	Generation uint64
	Secret     []byte
}

// Subject is what verifying a token needs about its subject, read in one
// round trip.
type Subject struct {
	User User
	Temp TempSecret
}

// EventKind says what changed.
type EventKind uint8

const (
	// TempRevoked: the subject's temporary generation was bumped.
	TempRevoked EventKind = iota + 1
	// UserChanged: the user was created, updated or deleted.
	UserChanged
	// NamedChanged: one of the subject's named tokens changed.
	NamedChanged
	// SessionEnded: one of the subject's sessions was ended.
	SessionEnded
	// KeysChanged: the store-held server key ring changed (SwapServerKeys);
	// the event names no subject.
	KeysChanged
)

// String names the kind as the audit trail and the event messages of
// shared stores do: temp, user, named, session.
func (k EventKind) String() string {
	switch k {
	case TempRevoked:
		return "temp"
	case UserChanged:
		return "user"
	case NamedChanged:
		return "named"
	case SessionEnded:
		return "session"
	case KeysChanged:
		return "keys"
	}
	return "unknown"
}

// Event announces a change to one subject.
type Event struct {
	Kind    EventKind
	Subject string
	// Sent is when another process published the change; zero for a
	// change made through this handle. Clocks of different hosts may
	// differ, so time.Since(Sent) is only an estimate of the delay.
	Sent time.Time
	// Origin is the id of the process (store handle) that made the
	// change, for a change heard from another; "" for one made through
	// this handle. The audit trail names it.
	Origin string
}

// ServerKeys is the store-held ring of server keys, which `caddy
// tokengate key rotate` adds to so that every instance sharing the store
// signs with the new key (auth combines it with the configured keys).
// Keys are newest first, as tokens.ServerKey.Encode writes them: the
// store holds key material once a ring is written. Version counts the
// changes, 0: never written.
type ServerKeys struct {
	Keys    []string `json:"keys"`
	Version uint64   `json:"version"`
}

// Store is tokengate's state.
type Store interface {
	// Subject returns the user and its temporary secret, creating the
	// secret at generation 1 on first use. ErrNotFound if no such user.
	Subject(ctx context.Context, id string) (Subject, error)
	// RevokeTemp atomically replaces the subject's secret and increments
	// its generation, returning the new state; subscribers have been told
	// before it returns.
	RevokeTemp(ctx context.Context, id string) (TempSecret, error)

	// User returns one user. ErrNotFound if there is none.
	User(ctx context.Context, id string) (User, error)
	// UserByName returns the user with that username. ErrNotFound if none.
	UserByName(ctx context.Context, username string) (User, error)
	// PutUser creates or replaces a user; ErrExists if another user has
	// the username. For seeding and imports: tokengate's own changes go
	// through CreateUser and UpdateUser, which cannot lose a concurrent
	// change.
	PutUser(ctx context.Context, u User) error
	// CreateUser stores a new user, assigning its Number; ErrExists if a
	// user has the id or another user has the username.
	CreateUser(ctx context.Context, u User) error
	// UpdateUser changes a user atomically: fn changes the current record
	// in place, and the result is written only if nothing changed the
	// user in between (else fn runs again on the newer record, so it must
	// have no side effects). ErrNotFound if there is no such user; an
	// error from fn aborts and is returned; ErrExists if the new username
	// is taken. The id and number cannot change. It returns the record
	// as written.
	UpdateUser(ctx context.Context, id string, fn func(*User) error) (User, error)
	// DeleteUser removes a user and its named tokens, and bumps its
	// temporary generation. ErrNotFound if there is none.
	DeleteUser(ctx context.Context, id string) error
	// Users lists every user, ordered by id.
	Users(ctx context.Context) ([]User, error)

	// CreateNamed stores a new named token; ErrExists if the subject has a
	// token of that name, ErrNotFound if the subject does not exist.
	CreateNamed(ctx context.Context, t NamedToken) error
	// Named returns one of the subject's named tokens. ErrNotFound if none.
	Named(ctx context.Context, subject, id string) (NamedToken, error)
	// NamedOwner returns the subject of the named token with that id,
	// which an id-only address (Onezone's /tokens/named/{id}) needs;
	// ErrNotFound if none is known. Ids are unique across subjects. The
	// answer is an index kept beside the tokens, which a backend may keep
	// outside the tokens' own atomic unit (Redis Cluster: another slot):
	// callers treat it as a hint and read Named(subject, id) for the truth.
	NamedOwner(ctx context.Context, id string) (subject string, err error)
	// NamedTokens lists the subject's named tokens, ordered by id.
	NamedTokens(ctx context.Context, subject string) ([]NamedToken, error)
	// UpdateNamed renames, (un)revokes or sets the metadata of a named
	// token. ErrNotFound if
	// none, ErrExists if the new name is taken.
	UpdateNamed(ctx context.Context, subject, id string, u NamedUpdate) error
	// DeleteNamed removes one named token (ErrNotFound if none), or all
	// of the subject's when id is "".
	DeleteNamed(ctx context.Context, subject, id string) error

	// CreateSession stores a session; ErrNotFound if the subject does not
	// exist.
	CreateSession(ctx context.Context, s Session) error
	// Session returns a session, expired or not. ErrNotFound if none.
	Session(ctx context.Context, id string) (Session, error)
	// DeleteSession ends a session. ErrNotFound if none.
	DeleteSession(ctx context.Context, id string) error
	// Sessions lists the subject's sessions that have not ended and
	// expire after now, ordered by id.
	Sessions(ctx context.Context, subject string, now time.Time) ([]Session, error)
	// DeleteSessions ends every session of the subject, as blocking the
	// user does (Onezone destroys a blocked user's sessions, so that its
	// session cookies stay dead once it is unblocked). It returns how many
	// it ended; an expired session not yet purged may count. Subscribers
	// hear one SessionEnded for the subject if any was ended, before it
	// returns. A subject with no sessions, or no such subject, is 0 and no
	// error.
	DeleteSessions(ctx context.Context, subject string) (int, error)

	// CreateHandoff stores a handoff token; ErrNotFound if the subject
	// does not exist.
	CreateHandoff(ctx context.Context, h Handoff) error
	// Handoff returns a handoff token by digest, expired or not (callers
	// compare ExpiresAt: expiry is exact, purging is not). ErrNotFound if
	// none.
	Handoff(ctx context.Context, digest string) (Handoff, error)

	// CreateReset stores a reset token and expires the subject's older
	// ones. ErrNotFound if the subject does not exist.
	CreateReset(ctx context.Context, t ResetToken) error
	// Reset returns an active (unexpired, unused) reset token. ErrNotFound
	// if there is none.
	Reset(ctx context.Context, digest string, now time.Time) (ResetToken, error)
	// ConsumeReset atomically checks that the reset token is active, sets
	// its subject's password hash, expires all of the subject's reset
	// tokens and bumps its temporary generation (ending its sessions and
	// temporary tokens). ErrNotFound if the token is not active.
	ConsumeReset(ctx context.Context, digest, passwordHash string, now time.Time) (ResetToken, error)
	// SetPassword sets a user's password hash with the same effects as
	// a reset: reset tokens expired, generation bumped. ErrNotFound if no
	// such user.
	SetPassword(ctx context.Context, id, passwordHash string, now time.Time) error

	// Fail counts one failure against key in a window of the given
	// length that starts at the first failure, and returns the counter.
	Fail(ctx context.Context, key string, window time.Duration, now time.Time) (Counter, error)
	// Take reserves an attempt against key's budget: if the counter of
	// the open window is below limit, it counts one more exactly as Fail
	// does and ok is true; otherwise nothing changes and ok is false. The
	// check and the count are one atomic step, on every instance sharing
	// the store, so n parallel attempts never get more than limit.
	Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (c Counter, ok bool, err error)
	// Return gives back an attempt Take counted in the window of c (the
	// attempt turned out not to be a failure). Nothing if that window is
	// over or the counter was cleared.
	Return(ctx context.Context, c Counter) error
	// Counter returns key's counter; zero if none or its window is over.
	Counter(ctx context.Context, key string, now time.Time) (Counter, error)
	// Counters lists the counters whose windows are still open.
	Counters(ctx context.Context, now time.Time) ([]Counter, error)
	// ClearCounter forgets key's failures: ErrNotFound if it had none
	// in a window open at now (a counter whose window is over, or whose
	// places were all given back, is removed all the same).
	ClearCounter(ctx context.Context, key string, now time.Time) error

	// AssertionKeys returns the assertion key ring; Version 0 and no keys
	// if none was ever written.
	AssertionKeys(ctx context.Context) (AssertionKeyRing, error)
	// SwapAssertionKeys replaces the ring's keys if its version is still
	// prev (0: none written yet), and returns the ring as written, at
	// version prev+1. If another write came first it changes nothing and
	// returns the stored ring with ErrConflict, so that the caller can
	// adopt it instead of retrying blindly.
	SwapAssertionKeys(ctx context.Context, prev uint64, keys []AssertionKey) (AssertionKeyRing, error)

	// PurgeExpired removes sessions, handoff and reset tokens and
	// counters that expired before now, and returns how many.
	PurgeExpired(ctx context.Context, now time.Time) (int, error)

	// ServerKeys returns the store-held ring of server keys; the zero
	// ServerKeys if it was never written.
	ServerKeys(ctx context.Context) (ServerKeys, error)
	// SwapServerKeys replaces the ring with keys if its version is still
	// version (compare-and-swap), and returns the ring as written, its
	// version one more; ErrConflict if another change came first.
	// Subscribers hear KeysChanged before it returns.
	SwapServerKeys(ctx context.Context, version uint64, keys []string) (ServerKeys, error)

	// Subscribe calls fn for every change, synchronously with the change
	// for changes made through this process. It returns a function that
	// stops the calls.
	Subscribe(fn func(Event)) (cancel func())
}
