package store_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokengate/tokengate/store"
)

var ctx = context.Background()

// open opens a fresh store in a temporary directory, closed at the end of
// the test.
func open(t *testing.T) (*store.Bolt, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "tokengate.db")
	s, err := store.OpenBolt(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// withUsers opens a store holding users with the given ids (username =
// id).
func withUsers(t *testing.T, ids ...string) *store.Bolt {
	t.Helper()
	s, _ := open(t)
	for _, id := range ids {
		if err := s.PutUser(ctx, store.User{ID: id, Username: id}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestSubject(t *testing.T) {
	s := withUsers(t, "alice")
	if _, err := s.Subject(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: err = %v, want ErrNotFound", err)
	}
	first, err := s.Subject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if first.User.ID != "alice" || first.Temp.Generation != 1 || len(first.Temp.Secret) != 32 || bytes.Equal(first.Temp.Secret, make([]byte, 32)) {
		t.Fatalf("first Subject = %+v, want alice at generation 1 with a random 32-byte secret", first)
	}
	again, err := s.Subject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Fatalf("second Subject = %+v, want %+v", again, first)
	}
	// The caller owns the secret it got: scribbling on it changes nothing.
	clear(again.Temp.Secret)
	if third, _ := s.Subject(ctx, "alice"); !reflect.DeepEqual(third, first) {
		t.Fatalf("Subject after the caller changed its copy = %+v", third)
	}
}

func TestRevokeTemp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		id       string
		initial  bool     // call Subject first
		wantGens []uint64 // generations returned by successive RevokeTemp
		wantErr  error
	}{
		{name: "after first use", id: "alice", initial: true, wantGens: []uint64{2, 3, 4}},
		{name: "never initialized", id: "alice", wantGens: []uint64{1, 2}},
		{name: "unknown user", id: "nobody", wantErr: store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := withUsers(t, "alice")
			var secrets [][]byte
			if tc.initial {
				sub, err := s.Subject(ctx, tc.id)
				if err != nil {
					t.Fatal(err)
				}
				secrets = append(secrets, sub.Temp.Secret)
			}
			if tc.wantErr != nil {
				if _, err := s.RevokeTemp(ctx, tc.id); !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if _, err := s.Subject(ctx, tc.id); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("RevokeTemp of an unknown user created it: %v", err)
				}
				return
			}
			for _, want := range tc.wantGens {
				got, err := s.RevokeTemp(ctx, tc.id)
				if err != nil {
					t.Fatal(err)
				}
				if got.Generation != want || len(got.Secret) != 32 {
					t.Fatalf("RevokeTemp = generation %d, %d-byte secret; want generation %d, 32 bytes", got.Generation, len(got.Secret), want)
				}
				for _, old := range secrets {
					if bytes.Equal(old, got.Secret) {
						t.Fatalf("generation %d reuses an earlier secret", got.Generation)
					}
				}
				secrets = append(secrets, got.Secret)
				// Subject now reads exactly what RevokeTemp returned.
				sub, err := s.Subject(ctx, tc.id)
				if err != nil || !reflect.DeepEqual(sub.Temp, got) {
					t.Fatalf("Subject after RevokeTemp = %+v, %v; want %+v", sub.Temp, err, got)
				}
			}
		})
	}
}

func TestDeleteUser(t *testing.T) {
	s := withUsers(t, "alice", "bob")
	if err := s.DeleteUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting an unknown user: err = %v, want ErrNotFound", err)
	}

	if _, err := s.Subject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	last, err := s.RevokeTemp(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateNamed(ctx, store.NamedToken{ID: "n1", Subject: "alice", Name: "ci", Type: "act", Secret: []byte("x")}); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		err, want error
	}{
		{"User", errOnly(s.User(ctx, "alice")), store.ErrNotFound},
		{"UserByName", errOnly(s.UserByName(ctx, "alice")), store.ErrNotFound},
		{"Subject", errOnly(s.Subject(ctx, "alice")), store.ErrNotFound},
		{"RevokeTemp", errOnly(s.RevokeTemp(ctx, "alice")), store.ErrNotFound},
		{"DeleteUser again", s.DeleteUser(ctx, "alice"), store.ErrNotFound},
		{"Named", errOnly(s.Named(ctx, "alice", "n1")), store.ErrNotFound},
		{"other user untouched", errOnly(s.User(ctx, "bob")), nil},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s after DeleteUser: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	// The username is free for someone else.
	if err := s.PutUser(ctx, store.User{ID: "carol", Username: "alice"}); err != nil {
		t.Fatalf("reusing a deleted user's username: %v", err)
	}

	// Re-created under the same id, alice never gets an old generation back.
	if err := s.PutUser(ctx, store.User{ID: "alice", Username: "alice2"}); err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Temp.Generation <= last.Generation || bytes.Equal(sub.Temp.Secret, last.Secret) {
		t.Fatalf("re-created user at generation %d (secret reused: %v), last was %d",
			sub.Temp.Generation, bytes.Equal(sub.Temp.Secret, last.Secret), last.Generation)
	}
	if named, err := s.NamedTokens(ctx, "alice"); err != nil || len(named) != 0 {
		t.Fatalf("re-created user inherits named tokens %v (%v)", named, err)
	}
}

func errOnly[T any](_ T, err error) error { return err }

// profile is the part of a User its caller sets; fields the store fills
// in itself are left out of comparisons.
func profile(u store.User) store.User {
	return store.User{
		ID: u.ID, Username: u.Username, PasswordHash: u.PasswordHash, Name: u.Name, Email: u.Email,
		Role: u.Role, CreatedBy: u.CreatedBy, CreatedAt: u.CreatedAt, ConfigManaged: u.ConfigManaged, Blocked: u.Blocked,
	}
}

func profiles(us []store.User) []store.User {
	out := make([]store.User, len(us))
	for i, u := range us {
		out[i] = profile(u)
	}
	return out
}

func TestUsers(t *testing.T) {
	s, _ := open(t)
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	users := []store.User{
		{ID: "carol", Username: "c", Name: "Carol", Email: "c@example.com", Role: "Editor", CreatedBy: "admin", CreatedAt: created, PasswordHash: "$argon2id$x", ConfigManaged: true},
		{ID: "alice", Username: "a", CreatedAt: created, Blocked: true},
		{ID: "Zed", Username: "z", CreatedAt: created},
		{ID: "bob", Username: "b", CreatedAt: created},
	}
	for _, u := range users {
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range users {
		got, err := s.User(ctx, want.ID)
		if err != nil || !reflect.DeepEqual(profile(got), want) {
			t.Errorf("User(%q) = %+v, %v; want %+v", want.ID, got, err, want)
		}
		got, err = s.UserByName(ctx, want.Username)
		if err != nil || got.ID != want.ID {
			t.Errorf("UserByName(%q) = %q, %v", want.Username, got.ID, err)
		}
	}
	list, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(users)
	slices.SortFunc(want, func(a, b store.User) int { return bytes.Compare([]byte(a.ID), []byte(b.ID)) })
	if !reflect.DeepEqual(profiles(list), want) {
		t.Fatalf("Users = %+v\nwant %+v", list, want)
	}

	for _, tc := range []struct {
		name    string
		put     store.User
		wantErr error
		gone    string // a username that must no longer resolve
	}{
		{name: "username taken", put: store.User{ID: "bob", Username: "a"}, wantErr: store.ErrExists},
		{name: "rename", put: store.User{ID: "bob", Username: "bobby"}, gone: "b"},
		{name: "replace keeps username", put: store.User{ID: "bob", Username: "bobby", Name: "Bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.User(ctx, tc.put.ID)
			err := s.PutUser(ctx, tc.put)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got, _ := s.User(ctx, tc.put.ID)
			if tc.wantErr != nil {
				if !reflect.DeepEqual(got, before) {
					t.Fatalf("a refused PutUser changed %+v to %+v", before, got)
				}
				return
			}
			if !reflect.DeepEqual(profile(got), tc.put) {
				t.Fatalf("User = %+v, want %+v", got, tc.put)
			}
			if tc.gone != "" {
				if _, err := s.UserByName(ctx, tc.gone); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("old username %q still resolves: %v", tc.gone, err)
				}
			}
		})
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(unknown) err = %v", err)
	}
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []store.Event
}

func (r *recorder) record(e store.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// take returns the events so far and forgets them.
func (r *recorder) take() []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func TestSubscribe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		do      func(s *store.Bolt) error
		wantErr error
		want    []store.Event // nil: none
	}{
		{
			name: "RevokeTemp",
			do:   func(s *store.Bolt) error { _, err := s.RevokeTemp(ctx, "alice"); return err },
			want: []store.Event{{Kind: store.TempRevoked, Subject: "alice"}},
		},
		{
			name: "PutUser creates",
			do:   func(s *store.Bolt) error { return s.PutUser(ctx, store.User{ID: "carol", Username: "carol"}) },
			want: []store.Event{{Kind: store.UserChanged, Subject: "carol"}},
		},
		{
			name: "PutUser updates",
			do: func(s *store.Bolt) error {
				return s.PutUser(ctx, store.User{ID: "alice", Username: "alice", Blocked: true})
			},
			want: []store.Event{{Kind: store.UserChanged, Subject: "alice"}},
		},
		{
			name: "DeleteUser",
			do:   func(s *store.Bolt) error { return s.DeleteUser(ctx, "alice") },
			want: []store.Event{{Kind: store.UserChanged, Subject: "alice"}},
		},
		{
			name:    "RevokeTemp of an unknown user",
			do:      func(s *store.Bolt) error { _, err := s.RevokeTemp(ctx, "nobody"); return err },
			wantErr: store.ErrNotFound,
		},
		{
			name:    "DeleteUser of an unknown user",
			do:      func(s *store.Bolt) error { return s.DeleteUser(ctx, "nobody") },
			wantErr: store.ErrNotFound,
		},
		{
			name:    "PutUser with a taken username",
			do:      func(s *store.Bolt) error { return s.PutUser(ctx, store.User{ID: "carol", Username: "bob"}) },
			wantErr: store.ErrExists,
		},
		{
			name: "reads announce nothing",
			do: func(s *store.Bolt) error {
				_, err := s.Subject(ctx, "bob") // first use creates generation 1
				return err
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := withUsers(t, "alice", "bob")
			var r recorder
			cancel := s.Subscribe(r.record)
			defer cancel()

			err := tc.do(s)
			// Delivery is synchronous: the events are there when the call
			// returns, with no waiting.
			got := r.take()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSubscribeSeesCommittedState: a subscriber runs after the change is
// durable, so a cache refilled from inside the callback cannot read the
// old state (the epochs in package cache rely on this order).
func TestSubscribeSeesCommittedState(t *testing.T) {
	s := withUsers(t, "alice")
	var seen []uint64
	cancel := s.Subscribe(func(e store.Event) {
		sub, err := s.Subject(ctx, e.Subject)
		if err != nil {
			t.Errorf("Subject in callback: %v", err)
		}
		seen = append(seen, sub.Temp.Generation)
	})
	defer cancel()
	got, err := s.RevokeTemp(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []uint64{got.Generation}) {
		t.Fatalf("subscriber saw generations %v, RevokeTemp returned %d", seen, got.Generation)
	}
}

func TestSubscribeCancel(t *testing.T) {
	s := withUsers(t, "alice")
	var kept, dropped recorder
	cancelKept := s.Subscribe(kept.record)
	defer cancelKept()
	cancel := s.Subscribe(dropped.record)

	if _, err := s.RevokeTemp(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if len(kept.take()) != 1 || len(dropped.take()) != 1 {
		t.Fatal("both subscribers should have one event before cancel")
	}
	cancel()
	cancel() // idempotent
	if _, err := s.RevokeTemp(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := dropped.take(); len(got) != 0 {
		t.Fatalf("cancelled subscriber got %+v", got)
	}
	if got := kept.take(); len(got) != 1 {
		t.Fatalf("remaining subscriber got %+v, want one event", got)
	}
}

// TestSubscribeCancelInCallback: a one-shot subscriber cancels itself from
// its callback. BUG (notify.go publish): publish holds n.mu.RLock while it
// calls subscribers and cancel takes n.mu.Lock, so the mutation never
// returns (and every later Subscribe, cancel and mutation blocks behind
// it).
func TestSubscribeCancelInCallback(t *testing.T) {
	s := withUsers(t, "alice")
	var calls int
	var cancel func()
	cancel = s.Subscribe(func(store.Event) { calls++; cancel() })
	done := make(chan error, 1)
	go func() {
		_, err := s.RevokeTemp(ctx, "alice")
		if err == nil {
			_, err = s.RevokeTemp(ctx, "alice")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Fatalf("one-shot subscriber called %d times", calls)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RevokeTemp still blocked after 5s: cancelling from inside a callback deadlocks")
	}
}

func TestPersistence(t *testing.T) {
	s, path := open(t)
	users := []store.User{
		{ID: "alice", Username: "alice", Name: "Alice", CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{ID: "bob", Username: "bob", Email: "bob@example.com", CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, u := range users {
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	bob, err := s.Subject(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	var alice store.TempSecret
	for range 3 {
		if alice, err = s.RevokeTemp(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := store.OpenBolt(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	list, err := s2.Users(ctx)
	if err != nil || !reflect.DeepEqual(profiles(list), users) {
		t.Fatalf("Users after reopen = %+v, %v; want %+v", list, err, users)
	}
	for _, tc := range []struct {
		id   string
		want store.Subject
	}{
		{"alice", store.Subject{User: users[0], Temp: alice}},
		{"bob", store.Subject{User: users[1], Temp: bob.Temp}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			got, err := s2.Subject(ctx, tc.id)
			got.User = profile(got.User)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Subject after reopen = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestConcurrentRevokeTemp(t *testing.T) {
	const workers, each = 8, 50
	s := withUsers(t, "alice")
	start, err := s.Subject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	gens := make(chan uint64, workers*each)
	secrets := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ts, err := s.RevokeTemp(ctx, "alice")
				if err != nil {
					t.Error(err)
					return
				}
				gens <- ts.Generation
				secrets <- string(ts.Secret)
			}
		})
	}
	wg.Wait()
	close(gens)
	close(secrets)

	seen := map[uint64]bool{}
	for g := range gens {
		if seen[g] || g <= start.Temp.Generation || g > start.Temp.Generation+workers*each {
			t.Fatalf("generation %d returned twice or out of range", g)
		}
		seen[g] = true
	}
	distinct := map[string]bool{}
	for s := range secrets {
		distinct[s] = true
	}
	if len(seen) != workers*each || len(distinct) != workers*each {
		t.Fatalf("%d distinct generations, %d distinct secrets; want %d", len(seen), len(distinct), workers*each)
	}
	final, err := s.Subject(ctx, "alice")
	if err != nil || final.Temp.Generation != start.Temp.Generation+workers*each {
		t.Fatalf("final generation %d (%v), want %d", final.Temp.Generation, err, start.Temp.Generation+workers*each)
	}
}

// TestConcurrentFirstSubject: racing first uses agree on one secret.
func TestConcurrentFirstSubject(t *testing.T) {
	const workers, rounds = 8, 20
	s, _ := open(t)
	for round := range rounds {
		id := "user" + string(rune('a'+round))
		if err := s.PutUser(ctx, store.User{ID: id, Username: id}); err != nil {
			t.Fatal(err)
		}
		got := make([]store.Subject, workers)
		ready := make(chan struct{})
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				<-ready
				var err error
				if got[i], err = s.Subject(ctx, id); err != nil {
					t.Error(err)
				}
			})
		}
		close(ready)
		wg.Wait()
		for i, g := range got {
			if g.Temp.Generation != 1 || len(g.Temp.Secret) != 32 || !bytes.Equal(g.Temp.Secret, got[0].Temp.Secret) {
				t.Fatalf("%s: caller %d got generation %d, secret equal to caller 0's: %v",
					id, i, g.Temp.Generation, bytes.Equal(g.Temp.Secret, got[0].Temp.Secret))
			}
		}
	}
}

// TestOpenLocked: a second open of the same file in this process fails
// after its timeout instead of hanging (bbolt's flock is per open file).
func TestOpenLocked(t *testing.T) {
	_, path := open(t)
	type result struct {
		s   *store.Bolt
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := store.OpenBolt(path, 100*time.Millisecond)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			r.s.Close()
			t.Fatal("second open of a locked file succeeded")
		}
		if !errors.Is(r.err, bolt.ErrTimeout) {
			t.Fatalf("err = %v, want bbolt's timeout", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second open still blocked after 10s")
	}
}
