// Package storetest is the store conformance suite: the behaviour every
// store.Store must have, exported so that any backend, in this repository
// or outside it, proves itself with one call:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// The bolt backend is the reference: a case that fails on bolt is a wrong
// case.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

// T0 is the suite's clock: a fixed time in the past, so that expiry is
// decided by the times passed in, never by the wall clock.
var T0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// Opener returns a fresh, empty store that lives until the test ends.
type Opener func(t *testing.T) store.Store

// Run runs every case as a subtest, each on a fresh store from open.
func Run(t *testing.T, open Opener) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Subject", cfSubject},
		{"RevokeTemp", cfRevokeTemp},
		{"DeleteUser", cfDeleteUser},
		{"Users", cfUsersCase},
		{"UserNumbers", cfUserNumbers},
		{"Usernames", cfUsernames},
		{"OddIDs", cfOddIDs},
		{"NamedTokens", cfNamedTokens},
		{"NamedOwner", cfNamedOwner},
		{"Sessions", cfSessions},
		{"SessionList", cfSessionList},
		{"DeleteSessions", cfDeleteSessions},
		{"Handoffs", cfHandoffs},
		{"ResetTokens", cfResetTokens},
		{"SetPassword", cfSetPassword},
		{"Counters", cfCounters},
		{"PurgeExpired", cfPurgeExpired},
		{"Events", cfEvents},
		{"EventsSeeCommittedState", cfEventsSeeCommittedState},
		{"SubscribeCancel", cfSubscribeCancel},
		{"SubscribeCancelInCallback", cfSubscribeCancelInCallback},
		{"ConcurrentRevokeTemp", cfConcurrentRevokeTemp},
		{"ConcurrentFirstSubject", cfConcurrentFirstSubject},
		{"ConcurrentConsumeReset", cfConcurrentConsumeReset},
		{"ConcurrentCreateNamed", cfConcurrentCreateNamed},
		{"ConcurrentUsernames", cfConcurrentUsernames},
		{"ConcurrentRenames", cfConcurrentRenames},
		{"ConcurrentFail", cfConcurrentFail},
		{"CreateUser", cfCreateUser},
		{"UpdateUser", cfUpdateUser},
		{"ConcurrentCreateUser", cfConcurrentCreateUser},
		{"ConcurrentUpdateUser", cfConcurrentUpdateUser},
		{"TakeReturn", cfTakeReturn},
		{"ConcurrentTake", cfConcurrentTake},
		{"AssertionKeys", cfAssertionKeys},
		{"ConcurrentSwapAssertionKeys", cfConcurrentSwapAssertionKeys},
		{"ServerKeys", cfServerKeys},
		{"ConcurrentSwapServerKeys", cfConcurrentSwapServerKeys},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

// cfWith opens a store holding users with the given ids (username = id).
func cfWith(t *testing.T, open Opener, ids ...string) store.Store {
	t.Helper()
	s := open(t)
	for _, id := range ids {
		if err := s.PutUser(t.Context(), store.User{ID: id, Username: id}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// Err drops a result, keeping the error, to check several calls at once.
func Err[T any](_ T, err error) error { return err }

// cfProfile is the part of a User its caller sets.
func cfProfile(u store.User) store.User {
	u.Number = 0
	return u
}

// Recorder collects events; subscribe its Record method.
type Recorder struct {
	mu     sync.Mutex
	events []store.Event
}

func (r *Recorder) Record(e store.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *Recorder) Take() []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}
