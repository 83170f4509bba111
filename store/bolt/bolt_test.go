package bolt_test

// Tests specific to the bolt store: what survives reopening the file, and
// the file lock. Every behaviour shared with other stores is tested once,
// in the conformance suite (store/storetest).

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/store/storetest"
)

// t0 is a fixed creation time, so that records compare equal.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { s, _ := openBolt(t); return s })
}

func BenchmarkSubject(b *testing.B) {
	storetest.BenchmarkSubject(b, func(b *testing.B) store.Store {
		s, err := bolt.Open(filepath.Join(b.TempDir(), "tg.db"), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}

// openBolt opens a fresh store in a temporary directory (creating the
// missing parent), closed at the end of the test.
func openBolt(t *testing.T) (*bolt.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "tokengate.db")
	s, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestPersistence: users, their numbers and their temporary secrets
// survive closing and reopening the file, and the number sequence carries
// on where it stopped.
func TestPersistence(t *testing.T) {
	ctx := t.Context()
	s, path := openBolt(t)
	for _, u := range []store.User{
		{ID: "alice", Username: "alice", Name: "Alice", CreatedAt: t0},
		{ID: "bob", Username: "bob", Email: "bob@example.com", CreatedAt: t0},
	} {
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	bob, err := s.Subject(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	var aliceTemp store.TempSecret
	for range 3 {
		if aliceTemp, err = s.RevokeTemp(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	users, err := s.Users(ctx) // as stored, Number included
	if err != nil || len(users) != 2 {
		t.Fatalf("Users = %+v, %v", users, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if list, err := s2.Users(ctx); err != nil || !reflect.DeepEqual(list, users) {
		t.Fatalf("Users after reopen = %+v, %v; want %+v", list, err, users)
	}
	for _, tc := range []struct {
		id   string
		want store.Subject
	}{
		{"alice", store.Subject{User: users[0], Temp: aliceTemp}},
		{"bob", store.Subject{User: users[1], Temp: bob.Temp}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			if got, err := s2.Subject(ctx, tc.id); err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Subject after reopen = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if err := s2.PutUser(ctx, store.User{ID: "carol"}); err != nil {
		t.Fatal(err)
	}
	carol, err := s2.User(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if carol.Number <= u.Number {
			t.Fatalf("user created after reopen got number %d, not above %s's %d", carol.Number, u.ID, u.Number)
		}
	}
}

// TestOpenLocked: a second open of the same file in this process fails
// after its timeout instead of hanging (bbolt's flock is per open file).
func TestOpenLocked(t *testing.T) {
	_, path := openBolt(t)
	type result struct {
		s   *bolt.Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := bolt.Open(path, 100*time.Millisecond)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			r.s.Close()
			t.Fatal("second open of a locked file succeeded")
		}
		if !errors.Is(r.err, bolt.ErrLocked) || !errors.Is(r.err, bolterrors.ErrTimeout) {
			t.Fatalf("err = %v, want ErrLocked wrapping bbolt's timeout", r.err)
		}
		// The message says why and what to do, not just "timeout".
		for _, want := range []string{path, "locked by another process", "running Caddy"} {
			if !strings.Contains(r.err.Error(), want) {
				t.Errorf("message %q lacks %q", r.err, want)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second open still blocked after 10s")
	}
}

// TestNamedOwnerBackfill: a database written before the id → subject
// bucket existed gets it on open, from its tokens, so that NamedOwner
// finds the tokens created before.
func TestNamedOwnerBackfill(t *testing.T) {
	ctx := t.Context()
	s, path := openBolt(t)
	err := errors.Join(
		s.PutUser(ctx, store.User{ID: "alice", Username: "alice", CreatedAt: t0}),
		s.PutUser(ctx, store.User{ID: "bob", Username: "bob", CreatedAt: t0}),
		s.CreateNamed(ctx, store.NamedToken{ID: "a1", Subject: "alice", Name: "ci", CreatedAt: t0}),
		s.CreateNamed(ctx, store.NamedToken{ID: "b1", Subject: "bob", Name: "ci", CreatedAt: t0}),
		s.Close(),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Make it an old database: no named_ids bucket.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("named_ids")) }), db.Close()); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for id, want := range map[string]string{"a1": "alice", "b1": "bob"} {
		if got, err := s.NamedOwner(ctx, id); err != nil || got != want {
			t.Errorf("NamedOwner(%s) = %q, %v; want %q", id, got, err, want)
		}
	}
	if _, err := s.NamedOwner(ctx, "zz"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("NamedOwner(zz) = %v, want ErrNotFound", err)
	}
}
