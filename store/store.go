// Package store defines where tokengate keeps its state and implements it.
// Every call takes a context so that a networked store can honour
// deadlines; every mutation that others must see is announced to
// subscribers before the call returns.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound: no such user (or record).
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable: the store could not answer; callers fail closed.
	ErrUnavailable = errors.New("store: unavailable")
)

// User is an account that can hold tokens.
type User struct {
	ID            string    `json:"id"`
	PasswordHash  string    `json:"password_hash,omitempty"`
	Name          string    `json:"name,omitempty"`
	Email         string    `json:"email,omitempty"`
	Role          string    `json:"role,omitempty"`
	ConfigManaged bool      `json:"config_managed,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
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
)

// Event announces a change to one subject.
type Event struct {
	Kind    EventKind
	Subject string
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
	// PutUser creates or replaces a user.
	PutUser(ctx context.Context, u User) error
	// DeleteUser removes a user and its secret. ErrNotFound if there is none.
	DeleteUser(ctx context.Context, id string) error
	// Users lists every user, ordered by id.
	Users(ctx context.Context) ([]User, error)

	// Subscribe calls fn for every change, synchronously with the change
	// for changes made through this process. It returns a function that
	// stops the calls.
	Subscribe(fn func(Event)) (cancel func())
}
