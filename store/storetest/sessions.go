package storetest

// Browser sessions.

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

func cfSessions(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	live := store.Session{ID: "s1", Subject: "alice", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}
	expired := store.Session{ID: "s2", Subject: "alice", CreatedAt: T0, ExpiresAt: T0.Add(time.Second)}
	for _, sess := range []store.Session{live, expired} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, store.Session{ID: "s3", Subject: "nobody", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of an unknown subject: %v", err)
	}
	for _, want := range []store.Session{live, expired} { // expired or not
		if got, err := s.Session(ctx, want.ID); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Session(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	for _, id := range []string{"s3", "nope"} {
		if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Session(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if err := s.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Session after DeleteSession: %v", err)
	}
	if err := s.DeleteSession(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteSession again: %v", err)
	}
	if _, err := s.Session(ctx, "s2"); err != nil {
		t.Fatalf("other session: %v", err)
	}
}

// cfSessionList: Sessions lists a subject's own sessions that expire after
// now and have not ended, ordered by id.
func cfSessionList(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	now := T0.Add(time.Minute)
	sess := func(id, subject string, life time.Duration) store.Session {
		return store.Session{ID: id, Subject: subject, CreatedAt: T0, ExpiresAt: T0.Add(life), Generation: 3}
	}
	b, a, expired, atNow, bobs := sess("b", "alice", time.Hour), sess("a", "alice", 2*time.Hour),
		sess("x", "alice", time.Second), sess("n", "alice", time.Minute), sess("c", "bob", time.Hour)
	for _, sess := range []store.Session{b, a, expired, atNow, bobs} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	list := func(subject string) []store.Session {
		t.Helper()
		got, err := s.Sessions(ctx, subject, now)
		if err != nil {
			t.Fatalf("Sessions(%s): %v", subject, err)
		}
		return got
	}
	for _, c := range []struct {
		name, subject string
		want          []store.Session
	}{
		{"live ones by id", "alice", []store.Session{a, b}},
		{"another subject's", "bob", []store.Session{bobs}},
		{"none", "nobody", nil},
	} {
		if got := list(c.subject); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Sessions(%s) = %+v, want %+v", c.name, c.subject, got, c.want)
		}
	}
	if err := s.DeleteSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := list("alice"); !reflect.DeepEqual(got, []store.Session{b}) {
		t.Errorf("after ending a: %+v, want only b", got)
	}
	if err := s.CreateSession(ctx, sess("a", "alice", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := list("alice"); len(got) != 2 {
		t.Errorf("a session id used again: %+v, want a and b", got)
	}
}

// cfDeleteSessions: DeleteSessions ends every session of one subject, and
// only of that subject, and says how many; the subject can start new
// ones after.
func cfDeleteSessions(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	now := T0.Add(time.Minute)
	sess := func(id, subject string) store.Session {
		return store.Session{ID: id, Subject: subject, CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}
	}
	// "shared" is alice's id taken again by bob: the record is bob's now.
	for _, sess := range []store.Session{sess("a1", "alice"), sess("a2", "alice"), sess("shared", "alice"),
		sess("b1", "bob"), sess("shared", "bob")} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	// a2 ended on its own: it is not counted again.
	if err := s.DeleteSession(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, subject string
		want          int
	}{
		{"alice's", "alice", 1},
		{"again", "alice", 0},
		{"an unknown subject's", "nobody", 0},
	} {
		if n, err := s.DeleteSessions(ctx, c.subject); err != nil || n != c.want {
			t.Fatalf("%s: DeleteSessions(%s) = %d, %v; want %d", c.name, c.subject, n, err, c.want)
		}
	}
	if _, err := s.Session(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Session(a1) after DeleteSessions: %v, want ErrNotFound", err)
	}
	if got, err := s.Sessions(ctx, "alice", now); err != nil || len(got) != 0 {
		t.Fatalf("Sessions(alice) after DeleteSessions = %+v, %v; want none", got, err)
	}
	if got, err := s.Sessions(ctx, "bob", now); err != nil || !reflect.DeepEqual(got, []store.Session{sess("b1", "bob"), sess("shared", "bob")}) {
		t.Fatalf("Sessions(bob) = %+v, %v; want b1 and shared, untouched", got, err)
	}
	if err := s.CreateSession(ctx, sess("a3", "alice")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Sessions(ctx, "alice", now); err != nil || !reflect.DeepEqual(got, []store.Session{sess("a3", "alice")}) {
		t.Fatalf("a session after DeleteSessions: %+v, %v; want a3", got, err)
	}
	if n, err := s.DeleteSessions(ctx, "bob"); err != nil || n != 2 {
		t.Fatalf("DeleteSessions(bob) = %d, %v; want 2", n, err)
	}
}
