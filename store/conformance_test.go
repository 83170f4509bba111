package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

// The conformance suite: behaviour every Store must have, run against
// each implementation (TestBoltConformance here, TestRedisConformance in
// redis_test.go). Bolt is the reference: a case that fails on Bolt is a
// wrong case.

// cfT0 is the suite's clock: a fixed time in the past, so that expiry is
// decided by the times passed in, never by the wall clock.
var cfT0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

type cfOpener func(t *testing.T) store.Store

func TestBoltConformance(t *testing.T) {
	runConformance(t, func(t *testing.T) store.Store {
		s, err := store.OpenBolt(filepath.Join(t.TempDir(), "tokengate.db"), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// runConformance runs every case, each on a fresh store from open.
func runConformance(t *testing.T, open cfOpener) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, open cfOpener)
	}{
		{"Subject", cfSubject},
		{"RevokeTemp", cfRevokeTemp},
		{"DeleteUser", cfDeleteUser},
		{"Users", cfUsersCase},
		{"UserNumbers", cfUserNumbers},
		{"Usernames", cfUsernames},
		{"OddIDs", cfOddIDs},
		{"NamedTokens", cfNamedTokens},
		{"Sessions", cfSessions},
		{"SessionList", cfSessionList},
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
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

// cfWith opens a store holding users with the given ids (username = id).
func cfWith(t *testing.T, open cfOpener, ids ...string) store.Store {
	t.Helper()
	s := open(t)
	for _, id := range ids {
		if err := s.PutUser(t.Context(), store.User{ID: id, Username: id}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func cfErr[T any](_ T, err error) error { return err }

// cfProfile is the part of a User its caller sets.
func cfProfile(u store.User) store.User {
	u.Number = 0
	return u
}

// cfRecorder collects events.
type cfRecorder struct {
	mu     sync.Mutex
	events []store.Event
}

func (r *cfRecorder) record(e store.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *cfRecorder) take() []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func cfSubject(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
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
	if err != nil || !reflect.DeepEqual(again, first) {
		t.Fatalf("second Subject = %+v, %v; want %+v", again, err, first)
	}
	clear(again.Temp.Secret)
	if third, _ := s.Subject(ctx, "alice"); !reflect.DeepEqual(third, first) {
		t.Fatalf("Subject after the caller changed its copy = %+v", third)
	}
}

func cfRevokeTemp(t *testing.T, open cfOpener) {
	for _, tc := range []struct {
		name     string
		id       string
		initial  bool
		wantGens []uint64
		wantErr  error
	}{
		{name: "after first use", id: "alice", initial: true, wantGens: []uint64{2, 3, 4}},
		{name: "never initialized", id: "alice", wantGens: []uint64{1, 2}},
		{name: "unknown user", id: "nobody", wantErr: store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := cfWith(t, open, "alice")
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
					t.Fatalf("RevokeTemp = generation %d, %d-byte secret; want %d, 32 bytes", got.Generation, len(got.Secret), want)
				}
				for _, old := range secrets {
					if bytes.Equal(old, got.Secret) {
						t.Fatalf("generation %d reuses an earlier secret", got.Generation)
					}
				}
				secrets = append(secrets, got.Secret)
				sub, err := s.Subject(ctx, tc.id)
				if err != nil || !reflect.DeepEqual(sub.Temp, got) {
					t.Fatalf("Subject after RevokeTemp = %+v, %v; want %+v", sub.Temp, err, got)
				}
			}
		})
	}
}

func cfDeleteUser(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
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
		{"User", cfErr(s.User(ctx, "alice")), store.ErrNotFound},
		{"UserByName", cfErr(s.UserByName(ctx, "alice")), store.ErrNotFound},
		{"Subject", cfErr(s.Subject(ctx, "alice")), store.ErrNotFound},
		{"RevokeTemp", cfErr(s.RevokeTemp(ctx, "alice")), store.ErrNotFound},
		{"DeleteUser again", s.DeleteUser(ctx, "alice"), store.ErrNotFound},
		{"Named", cfErr(s.Named(ctx, "alice", "n1")), store.ErrNotFound},
		{"CreateNamed", s.CreateNamed(ctx, store.NamedToken{ID: "n2", Subject: "alice", Name: "x"}), store.ErrNotFound},
		{"other user untouched", cfErr(s.User(ctx, "bob")), nil},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s after DeleteUser: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if list, err := s.Users(ctx); err != nil || len(list) != 1 || list[0].ID != "bob" {
		t.Fatalf("Users after DeleteUser = %+v, %v; want bob alone", list, err)
	}
	if err := s.PutUser(ctx, store.User{ID: "carol", Username: "alice"}); err != nil {
		t.Fatalf("reusing a deleted user's username: %v", err)
	}
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
	// The deleted token's name is free again.
	if err := s.CreateNamed(ctx, store.NamedToken{ID: "n3", Subject: "alice", Name: "ci"}); err != nil {
		t.Fatalf("name of a token deleted with its user: %v", err)
	}
}

func cfUsersCase(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := open(t)
	users := []store.User{
		{ID: "carol", Username: "c", Name: "Carol", Email: "c@example.com", Role: "Editor", CreatedBy: "admin", CreatedAt: cfT0, PasswordHash: "$argon2id$x", ConfigManaged: true},
		{ID: "alice", Username: "a", CreatedAt: cfT0, Blocked: true},
		{ID: "Zed", Username: "z", CreatedAt: cfT0},
		{ID: "bob", Username: "b", CreatedAt: cfT0},
	}
	for _, u := range users {
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range users {
		got, err := s.User(ctx, want.ID)
		if err != nil || !reflect.DeepEqual(cfProfile(got), want) {
			t.Errorf("User(%q) = %+v, %v; want %+v", want.ID, got, err, want)
		}
		byName, err := s.UserByName(ctx, want.Username)
		if err != nil || !reflect.DeepEqual(byName, got) {
			t.Errorf("UserByName(%q) = %+v, %v; want %+v", want.Username, byName, err, got)
		}
	}
	list, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(users)
	slices.SortFunc(want, func(a, b store.User) int { return strings.Compare(a.ID, b.ID) })
	got := make([]store.User, len(list))
	for i, u := range list {
		got[i] = cfProfile(u)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Users = %+v\nwant %+v", got, want)
	}

	for _, tc := range []struct {
		name    string
		put     store.User
		wantErr error
		gone    string
	}{
		{name: "username taken", put: store.User{ID: "bob", Username: "a"}, wantErr: store.ErrExists},
		{name: "rename", put: store.User{ID: "bob", Username: "bobby"}, gone: "b"},
		{name: "replace keeps username", put: store.User{ID: "bob", Username: "bobby", Name: "Bob"}},
		{name: "empty username is the id", put: store.User{ID: "dave"}},
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
			want := tc.put
			if want.Username == "" {
				want.Username = want.ID
			}
			if !reflect.DeepEqual(cfProfile(got), want) {
				t.Fatalf("User = %+v, want %+v", got, want)
			}
			if byName, err := s.UserByName(ctx, want.Username); err != nil || byName.ID != want.ID {
				t.Fatalf("UserByName(%q) = %q, %v", want.Username, byName.ID, err)
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
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByName(unknown) err = %v", err)
	}
}

// cfUserNumbers: each user gets a number once, from a sequence.
func cfUserNumbers(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := open(t)
	numbers := map[int64]string{}
	for _, id := range []string{"a", "b", "c"} {
		if err := s.PutUser(ctx, store.User{ID: id, Number: 999}); err != nil {
			t.Fatal(err)
		}
		u, err := s.User(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if u.Number <= 0 || u.Number == 999 || numbers[u.Number] != "" {
			t.Fatalf("%s got number %d (taken by %q)", id, u.Number, numbers[u.Number])
		}
		numbers[u.Number] = id
	}
	b, _ := s.User(ctx, "b")
	for _, put := range []store.User{{ID: "b", Username: "bee", Number: 1}, {ID: "b", Username: "b", Name: "B"}} {
		if err := s.PutUser(ctx, put); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.User(ctx, "b"); got.Number != b.Number {
			t.Fatalf("number changed from %d to %d on update", b.Number, got.Number)
		}
	}
	if got, _ := s.UserByName(ctx, "b"); got.Number != b.Number {
		t.Fatalf("UserByName number %d, want %d", got.Number, b.Number)
	}
	if err := s.DeleteUser(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, store.User{ID: "b"}); err != nil {
		t.Fatal(err)
	}
	again, _ := s.User(ctx, "b")
	for n := range numbers {
		if again.Number <= n {
			t.Fatalf("re-created user got number %d, not above earlier %d", again.Number, n)
		}
	}
}

// cfUsernames: usernames move between users and come back.
func cfUsernames(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "u1", "u2")
	steps := []struct {
		id, username string
		want         error
	}{
		{"u1", "x", nil},
		{"u2", "x", store.ErrExists},
		{"u1", "y", nil},
		{"u2", "x", nil}, // free again
		{"u1", "x", store.ErrExists},
		{"u1", "u1", nil},
		{"u2", "y", nil},
		{"u1", "x", nil},
	}
	for i, st := range steps {
		if err := s.PutUser(ctx, store.User{ID: st.id, Username: st.username}); !errors.Is(err, st.want) {
			t.Fatalf("step %d: PutUser(%s, %s) = %v, want %v", i, st.id, st.username, err, st.want)
		}
	}
	for name, id := range map[string]string{"x": "u1", "y": "u2"} {
		if u, err := s.UserByName(ctx, name); err != nil || u.ID != id {
			t.Fatalf("UserByName(%s) = %q, %v; want %s", name, u.ID, err, id)
		}
	}
	for _, name := range []string{"u1", "u2"} {
		if _, err := s.UserByName(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByName(%s) = %v, want ErrNotFound", name, err)
		}
	}
}

// cfOddIDs: ids and names with characters that mean something to a
// key-value store.
func cfOddIDs(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := open(t)
	ids := []string{"{x}", "}{", "~7b", "~", "a:b", "a b", "ünï", "a*", "a\x00b", "{", "}"}
	for _, id := range ids {
		if err := s.PutUser(ctx, store.User{ID: id, Username: "n" + id}); err != nil {
			t.Fatalf("PutUser(%q): %v", id, err)
		}
	}
	for _, id := range ids {
		ts, err := s.RevokeTemp(ctx, id)
		if err != nil || ts.Generation != 1 {
			t.Fatalf("RevokeTemp(%q) = %d, %v", id, ts.Generation, err)
		}
		if err := s.CreateNamed(ctx, store.NamedToken{ID: id, Subject: id, Name: id}); err != nil {
			t.Fatalf("CreateNamed(%q): %v", id, err)
		}
		if u, err := s.UserByName(ctx, "n"+id); err != nil || u.ID != id {
			t.Fatalf("UserByName(%q) = %q, %v", "n"+id, u.ID, err)
		}
	}
	list, err := s.Users(ctx)
	if err != nil || len(list) != len(ids) {
		t.Fatalf("Users = %d users, %v; want %d", len(list), err, len(ids))
	}
	for _, id := range ids {
		named, err := s.NamedTokens(ctx, id)
		if err != nil || len(named) != 1 || named[0].ID != id {
			t.Fatalf("NamedTokens(%q) = %+v, %v", id, named, err)
		}
	}
}

func cfNamedTokens(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	tok := func(id, subject, name string) store.NamedToken {
		return store.NamedToken{ID: id, Subject: subject, Name: name, Type: "client",
			Caveats: json.RawMessage(`{"paths":["/a"],"n":12345678901234567}`), CreatedAt: cfT0, Secret: []byte{0, 1, 2, 255}}
	}
	for _, tc := range []struct {
		tok  store.NamedToken
		want error
	}{
		{tok("t2", "alice", "ci"), nil},
		{tok("t1", "alice", "deploy"), nil},
		{tok("t3", "alice", "ci"), store.ErrExists},
		{tok("t4", "bob", "ci"), nil},
		{tok("t5", "nobody", "ci"), store.ErrNotFound},
	} {
		if err := s.CreateNamed(ctx, tc.tok); !errors.Is(err, tc.want) {
			t.Fatalf("CreateNamed(%s/%s) = %v, want %v", tc.tok.Subject, tc.tok.Name, err, tc.want)
		}
	}
	got, err := s.Named(ctx, "alice", "t2")
	if err != nil || !reflect.DeepEqual(got, tok("t2", "alice", "ci")) {
		t.Fatalf("Named = %+v, %v", got, err)
	}
	for _, q := range [][2]string{{"alice", "t4"}, {"bob", "t2"}, {"nobody", "t1"}, {"alice", "t3"}} {
		if _, err := s.Named(ctx, q[0], q[1]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Named(%s, %s) = %v, want ErrNotFound", q[0], q[1], err)
		}
	}
	list, err := s.NamedTokens(ctx, "alice")
	if err != nil || len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t2" {
		t.Fatalf("NamedTokens = %+v, %v; want t1, t2", list, err)
	}
	if list, err := s.NamedTokens(ctx, "nobody"); err != nil || len(list) != 0 {
		t.Fatalf("NamedTokens(nobody) = %+v, %v", list, err)
	}

	ptr := func(s string) *string { return &s }
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		id      string
		u       store.NamedUpdate
		want    error
		wantTok func(*store.NamedToken)
	}{
		{"rename to a taken name", "t2", store.NamedUpdate{Name: ptr("deploy")}, store.ErrExists, nil},
		{"rename", "t2", store.NamedUpdate{Name: ptr("build")}, nil, func(t *store.NamedToken) { t.Name = "build" }},
		{"revoke", "t2", store.NamedUpdate{Revoked: &yes}, nil, func(t *store.NamedToken) { t.Revoked = true }},
		{"same name and unrevoke", "t2", store.NamedUpdate{Name: ptr("build"), Revoked: &no}, nil, func(t *store.NamedToken) { t.Revoked = false }},
		{"nothing", "t2", store.NamedUpdate{}, nil, func(*store.NamedToken) {}},
		{"unknown", "t9", store.NamedUpdate{Revoked: &yes}, store.ErrNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.Named(ctx, "alice", "t2")
			if err := s.UpdateNamed(ctx, "alice", tc.id, tc.u); !errors.Is(err, tc.want) {
				t.Fatalf("UpdateNamed = %v, want %v", err, tc.want)
			}
			after, _ := s.Named(ctx, "alice", "t2")
			want := before
			if tc.wantTok != nil {
				tc.wantTok(&want)
			}
			if !reflect.DeepEqual(after, want) {
				t.Fatalf("token = %+v, want %+v", after, want)
			}
		})
	}
	// The old name is free, the new one taken.
	if err := s.CreateNamed(ctx, tok("t6", "alice", "ci")); err != nil {
		t.Fatalf("creating with a renamed token's old name: %v", err)
	}
	if err := s.CreateNamed(ctx, tok("t7", "alice", "build")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("creating with a renamed token's new name: %v", err)
	}

	if err := s.DeleteNamed(ctx, "alice", "t9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteNamed(unknown) = %v", err)
	}
	if err := s.DeleteNamed(ctx, "alice", "t2"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateNamed(ctx, tok("t8", "alice", "build")); err != nil {
		t.Fatalf("name of a deleted token: %v", err)
	}
	if err := s.DeleteNamed(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if list, err := s.NamedTokens(ctx, "alice"); err != nil || len(list) != 0 {
		t.Fatalf("after deleting all: %+v, %v", list, err)
	}
	if err := s.CreateNamed(ctx, tok("t9", "alice", "deploy")); err != nil {
		t.Fatalf("names after deleting all: %v", err)
	}
	if list, err := s.NamedTokens(ctx, "bob"); err != nil || len(list) != 1 {
		t.Fatalf("bob's tokens after deleting alice's: %+v, %v", list, err)
	}
}

func cfSessions(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	live := store.Session{ID: "s1", Subject: "alice", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Hour)}
	expired := store.Session{ID: "s2", Subject: "alice", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Second)}
	for _, sess := range []store.Session{live, expired} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, store.Session{ID: "s3", Subject: "nobody", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
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
func cfSessionList(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	now := cfT0.Add(time.Minute)
	sess := func(id, subject string, life time.Duration) store.Session {
		return store.Session{ID: id, Subject: subject, CreatedAt: cfT0, ExpiresAt: cfT0.Add(life), Generation: 3}
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

func cfHandoffs(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	h := store.Handoff{Digest: strings.Repeat("ab", 32), Subject: "alice", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Minute)}
	if err := s.CreateHandoff(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateHandoff(ctx, store.Handoff{Digest: "cd", Subject: "nobody", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Minute)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("handoff of an unknown subject: %v", err)
	}
	if got, err := s.Handoff(ctx, h.Digest); err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("Handoff = %+v, %v; want %+v", got, err, h)
	}
	for _, d := range []string{"cd", "ef"} {
		if _, err := s.Handoff(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Handoff(%s) = %v, want ErrNotFound", d, err)
		}
	}
}

func cfReset(digest, subject string, created time.Time, life time.Duration) store.ResetToken {
	return store.ResetToken{Digest: digest, Subject: subject, CreatedBy: "admin", CreatedAt: created, ExpiresAt: created.Add(life)}
}

func cfResetTokens(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	t1 := cfReset("d1", "alice", cfT0, time.Hour)
	if err := s.CreateReset(ctx, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReset(ctx, cfReset("dx", "nobody", cfT0, time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset token of an unknown subject: %v", err)
	}
	if got, err := s.Reset(ctx, "d1", cfT0.Add(time.Minute)); err != nil || !reflect.DeepEqual(got, t1) {
		t.Fatalf("Reset = %+v, %v; want %+v", got, err, t1)
	}
	for _, tc := range []struct {
		digest string
		now    time.Time
	}{
		{"d1", t1.ExpiresAt}, // expiry is exact
		{"d1", t1.ExpiresAt.Add(time.Hour)},
		{"dx", cfT0},
		{"nope", cfT0},
	} {
		if _, err := s.Reset(ctx, tc.digest, tc.now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Reset(%s, %v) = %v, want ErrNotFound", tc.digest, tc.now, err)
		}
	}

	// Only the newest token is active.
	t2 := cfReset("d2", "alice", cfT0.Add(2*time.Minute), time.Hour)
	if err := s.CreateReset(ctx, t2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reset(ctx, "d1", cfT0.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("older token after a newer one: %v", err)
	}
	// Tokens of other users are untouched.
	tb := cfReset("db", "bob", cfT0, time.Hour)
	if err := s.CreateReset(ctx, tb); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Subject(ctx, "alice")

	// An expired token consumes nothing.
	if _, err := s.ConsumeReset(ctx, "d2", "h1", t2.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consuming at expiry: %v", err)
	}
	if _, err := s.ConsumeReset(ctx, "d1", "h1", cfT0.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consuming a superseded token: %v", err)
	}
	if u, _ := s.User(ctx, "alice"); u.PasswordHash != "" {
		t.Fatalf("a refused ConsumeReset set the password to %q", u.PasswordHash)
	}

	got, err := s.ConsumeReset(ctx, "d2", "h2", cfT0.Add(4*time.Minute))
	if err != nil || !reflect.DeepEqual(got, t2) {
		t.Fatalf("ConsumeReset = %+v, %v; want %+v", got, err, t2)
	}
	if u, _ := s.User(ctx, "alice"); u.PasswordHash != "h2" {
		t.Fatalf("password hash after ConsumeReset = %q", u.PasswordHash)
	}
	if after, _ := s.Subject(ctx, "alice"); after.Temp.Generation != before.Temp.Generation+1 || bytes.Equal(after.Temp.Secret, before.Temp.Secret) {
		t.Fatalf("generation %d → %d after ConsumeReset, want +1 with a new secret", before.Temp.Generation, after.Temp.Generation)
	}
	for _, d := range []string{"d1", "d2"} {
		if _, err := s.Reset(ctx, d, cfT0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Reset(%s) after ConsumeReset = %v", d, err)
		}
	}
	if _, err := s.ConsumeReset(ctx, "d2", "h3", cfT0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second ConsumeReset = %v", err)
	}
	if got, err := s.Reset(ctx, "db", cfT0.Add(5*time.Minute)); err != nil || got != tb {
		t.Fatalf("bob's token after alice's reset: %+v, %v", got, err)
	}

	// A deleted user's token consumes nothing.
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeReset(ctx, "db", "h", cfT0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeReset for a deleted user = %v", err)
	}
}

func cfSetPassword(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	if err := s.CreateReset(ctx, cfReset("d1", "alice", cfT0, time.Hour)); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Subject(ctx, "alice")
	if err := s.SetPassword(ctx, "alice", "h1", cfT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(ctx, "alice"); u.PasswordHash != "h1" {
		t.Fatalf("password hash = %q", u.PasswordHash)
	}
	if after, _ := s.Subject(ctx, "alice"); after.Temp.Generation != before.Temp.Generation+1 {
		t.Fatalf("generation %d → %d, want +1", before.Temp.Generation, after.Temp.Generation)
	}
	if _, err := s.Reset(ctx, "d1", cfT0.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset token after SetPassword: %v", err)
	}
	if err := s.SetPassword(ctx, "nobody", "h", cfT0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPassword(unknown) = %v", err)
	}
	// PutUser replaces the hash too.
	if err := s.PutUser(ctx, store.User{ID: "alice", PasswordHash: "h2"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(ctx, "alice"); u.PasswordHash != "h2" {
		t.Fatalf("password hash after PutUser = %q", u.PasswordHash)
	}
}

func cfCounters(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := open(t)
	check := func(what string, got store.Counter, err error, count int, until time.Time) {
		t.Helper()
		if err != nil || got.Count != count || !got.Until.Equal(until) {
			t.Fatalf("%s = %+v, %v; want count %d until %v", what, got, err, count, until)
		}
	}
	w := time.Minute
	c, err := s.Fail(ctx, "k", w, cfT0)
	check("first Fail", c, err, 1, cfT0.Add(w))
	if c.Key != "k" {
		t.Fatalf("key %q", c.Key)
	}
	c, err = s.Fail(ctx, "k", w, cfT0.Add(30*time.Second))
	check("second Fail", c, err, 2, cfT0.Add(w)) // fixed window
	c, err = s.Counter(ctx, "k", cfT0.Add(w-time.Nanosecond))
	check("Counter in the window", c, err, 2, cfT0.Add(w))
	c, err = s.Counter(ctx, "k", cfT0.Add(w))
	if err != nil || c != (store.Counter{Key: "k"}) {
		t.Fatalf("Counter at the end of the window = %+v, %v; want zero", c, err)
	}
	c, err = s.Fail(ctx, "k", w, cfT0.Add(w))
	check("Fail in a new window", c, err, 1, cfT0.Add(2*w))
	c, err = s.Fail(ctx, "j", 10*time.Second, cfT0.Add(w))
	check("Fail j", c, err, 1, cfT0.Add(w+10*time.Second))
	if c, err := s.Counter(ctx, "none", cfT0); err != nil || c != (store.Counter{Key: "none"}) {
		t.Fatalf("Counter(none) = %+v, %v", c, err)
	}

	keys := func(now time.Time) []string {
		list, err := s.Counters(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, fmt.Sprintf("%s=%d", c.Key, c.Count))
		}
		return out
	}
	if got := keys(cfT0.Add(w + time.Second)); !slices.Equal(got, []string{"j=1", "k=1"}) {
		t.Fatalf("Counters = %v", got)
	}
	if got := keys(cfT0.Add(w + 10*time.Second)); !slices.Equal(got, []string{"k=1"}) {
		t.Fatalf("Counters after j's window = %v", got)
	}
	if err := s.ClearCounter(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearCounter(ctx, "none"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Counter(ctx, "k", cfT0.Add(w)); err != nil || c.Count != 0 {
		t.Fatalf("Counter after ClearCounter = %+v, %v", c, err)
	}
	if got := keys(cfT0.Add(w + time.Second)); !slices.Equal(got, []string{"j=1"}) {
		t.Fatalf("Counters after ClearCounter = %v", got)
	}
}

// cfPurgeExpired: purging never removes what is still valid, and what
// expired stays expired whether or not the store removed it (Redis leaves
// that to key TTLs).
func cfPurgeExpired(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	now := cfT0.Add(time.Hour)
	for _, sess := range []store.Session{
		{ID: "old", Subject: "alice", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Minute)},
		{ID: "new", Subject: "alice", CreatedAt: cfT0, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateReset(ctx, cfReset("d", "alice", now, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fail(ctx, "k", time.Hour, now); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeExpired(ctx, now)
	if err != nil || n < 0 {
		t.Fatalf("PurgeExpired = %d, %v", n, err)
	}
	if _, err := s.Session(ctx, "new"); err != nil {
		t.Fatalf("live session purged: %v", err)
	}
	if old, err := s.Session(ctx, "old"); err == nil && old.ExpiresAt.After(now) {
		t.Fatalf("expired session came back live: %+v", old)
	}
	if _, err := s.Reset(ctx, "d", now); err != nil {
		t.Fatalf("live reset token purged: %v", err)
	}
	if c, err := s.Counter(ctx, "k", now); err != nil || c.Count != 1 {
		t.Fatalf("live counter purged: %+v, %v", c, err)
	}
}

func cfEvents(t *testing.T, open cfOpener) {
	named := store.NamedToken{ID: "n1", Subject: "alice", Name: "ci"}
	ptr := func(s string) *string { return &s }
	for _, tc := range []struct {
		name    string
		do      func(ctx context.Context, s store.Store) error
		wantErr error
		want    []store.Event
	}{
		{name: "RevokeTemp", do: func(ctx context.Context, s store.Store) error { return cfErr(s.RevokeTemp(ctx, "alice")) },
			want: []store.Event{{Kind: store.TempRevoked, Subject: "alice"}}},
		{name: "PutUser creates", do: func(ctx context.Context, s store.Store) error {
			return s.PutUser(ctx, store.User{ID: "carol", Username: "carol"})
		}, want: []store.Event{{Kind: store.UserChanged, Subject: "carol"}}},
		{name: "PutUser updates", do: func(ctx context.Context, s store.Store) error {
			return s.PutUser(ctx, store.User{ID: "alice", Username: "alice", Blocked: true})
		}, want: []store.Event{{Kind: store.UserChanged, Subject: "alice"}}},
		{name: "DeleteUser", do: func(ctx context.Context, s store.Store) error { return s.DeleteUser(ctx, "alice") },
			want: []store.Event{{Kind: store.UserChanged, Subject: "alice"}}},
		{name: "CreateNamed", do: func(ctx context.Context, s store.Store) error { return s.CreateNamed(ctx, named) },
			want: []store.Event{{Kind: store.NamedChanged, Subject: "alice"}}},
		{name: "UpdateNamed", do: func(ctx context.Context, s store.Store) error {
			return s.UpdateNamed(ctx, "bob", "b1", store.NamedUpdate{Name: ptr("x")})
		}, want: []store.Event{{Kind: store.NamedChanged, Subject: "bob"}}},
		{name: "DeleteNamed", do: func(ctx context.Context, s store.Store) error { return s.DeleteNamed(ctx, "bob", "b1") },
			want: []store.Event{{Kind: store.NamedChanged, Subject: "bob"}}},
		{name: "DeleteNamed all", do: func(ctx context.Context, s store.Store) error { return s.DeleteNamed(ctx, "bob", "") },
			want: []store.Event{{Kind: store.NamedChanged, Subject: "bob"}}},
		{name: "DeleteSession", do: func(ctx context.Context, s store.Store) error { return s.DeleteSession(ctx, "sb") },
			want: []store.Event{{Kind: store.SessionEnded, Subject: "bob"}}},
		{name: "ConsumeReset", do: func(ctx context.Context, s store.Store) error {
			return cfErr(s.ConsumeReset(ctx, "rb", "h", cfT0))
		}, want: []store.Event{{Kind: store.TempRevoked, Subject: "bob"}}},
		{name: "SetPassword", do: func(ctx context.Context, s store.Store) error { return s.SetPassword(ctx, "bob", "h", cfT0) },
			want: []store.Event{{Kind: store.TempRevoked, Subject: "bob"}}},
		{name: "RevokeTemp of an unknown user", do: func(ctx context.Context, s store.Store) error {
			return cfErr(s.RevokeTemp(ctx, "nobody"))
		}, wantErr: store.ErrNotFound},
		{name: "DeleteUser of an unknown user", do: func(ctx context.Context, s store.Store) error { return s.DeleteUser(ctx, "nobody") },
			wantErr: store.ErrNotFound},
		{name: "PutUser with a taken username", do: func(ctx context.Context, s store.Store) error {
			return s.PutUser(ctx, store.User{ID: "carol", Username: "bob"})
		}, wantErr: store.ErrExists},
		{name: "CreateNamed with a taken name", do: func(ctx context.Context, s store.Store) error {
			return s.CreateNamed(ctx, store.NamedToken{ID: "b2", Subject: "bob", Name: "ci"})
		}, wantErr: store.ErrExists},
		{name: "DeleteSession of an unknown session", do: func(ctx context.Context, s store.Store) error { return s.DeleteSession(ctx, "x") },
			wantErr: store.ErrNotFound},
		{name: "ConsumeReset of an unknown token", do: func(ctx context.Context, s store.Store) error {
			return cfErr(s.ConsumeReset(ctx, "x", "h", cfT0))
		}, wantErr: store.ErrNotFound},
		{name: "reads and creations announce nothing", do: func(ctx context.Context, s store.Store) error {
			_, err := s.Subject(ctx, "alice") // first use creates generation 1
			return errors.Join(err,
				s.CreateSession(ctx, store.Session{ID: "sa", Subject: "alice", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Hour)}),
				s.CreateHandoff(ctx, store.Handoff{Digest: "ha", Subject: "alice", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Hour)}),
				s.CreateReset(ctx, cfReset("ra", "alice", cfT0, time.Hour)),
				cfErr(s.Fail(ctx, "k", time.Minute, cfT0)),
				s.ClearCounter(ctx, "k"),
				cfErr(s.PurgeExpired(ctx, cfT0)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := cfWith(t, open, "alice", "bob")
			setup := errors.Join(
				s.CreateNamed(ctx, store.NamedToken{ID: "b1", Subject: "bob", Name: "ci"}),
				s.CreateSession(ctx, store.Session{ID: "sb", Subject: "bob", CreatedAt: cfT0, ExpiresAt: cfT0.Add(time.Hour)}),
				s.CreateReset(ctx, cfReset("rb", "bob", cfT0, time.Hour)))
			if setup != nil {
				t.Fatal(setup)
			}
			var r cfRecorder
			cancel := s.Subscribe(r.record)
			defer cancel()
			err := tc.do(ctx, s)
			got := r.take() // synchronous: no waiting
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func cfEventsSeeCommittedState(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
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

func cfSubscribeCancel(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	var kept, dropped cfRecorder
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
	cancel()
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

// cfSubscribeCancelInCallback: a one-shot subscriber cancels itself from
// its callback without deadlocking the mutation that called it (publish
// must not hold its lock while calling subscribers), and is called once.
func cfSubscribeCancelInCallback(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	var calls int
	var cancel func()
	cancel = s.Subscribe(func(store.Event) { calls++; cancel() })
	done := make(chan error, 1)
	go func() { done <- errors.Join(cfErr(s.RevokeTemp(ctx, "alice")), cfErr(s.RevokeTemp(ctx, "alice"))) }()
	select {
	case err := <-done:
		if err != nil || calls != 1 {
			t.Fatalf("err %v, one-shot subscriber called %d times", err, calls)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling from inside a callback deadlocks")
	}
}

func cfConcurrentRevokeTemp(t *testing.T, open cfOpener) {
	const workers, each = 8, 50
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	start, err := s.Subject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	gens := map[uint64]bool{}
	secrets := map[string]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ts, err := s.RevokeTemp(ctx, "alice")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if gens[ts.Generation] || ts.Generation <= start.Temp.Generation || ts.Generation > start.Temp.Generation+workers*each {
					t.Errorf("generation %d returned twice or out of range", ts.Generation)
				}
				gens[ts.Generation] = true
				secrets[string(ts.Secret)] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(gens) != workers*each || len(secrets) != workers*each {
		t.Fatalf("%d distinct generations, %d distinct secrets; want %d", len(gens), len(secrets), workers*each)
	}
	final, err := s.Subject(ctx, "alice")
	if err != nil || final.Temp.Generation != start.Temp.Generation+workers*each {
		t.Fatalf("final generation %d (%v), want %d", final.Temp.Generation, err, start.Temp.Generation+workers*each)
	}
}

// cfConcurrentFirstSubject: racing first uses agree on one secret.
func cfConcurrentFirstSubject(t *testing.T, open cfOpener) {
	const workers, rounds = 8, 20
	ctx := t.Context()
	s := open(t)
	for round := range rounds {
		id := fmt.Sprintf("user%d", round)
		if err := s.PutUser(ctx, store.User{ID: id}); err != nil {
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
				t.Fatalf("%s: caller %d got generation %d, same secret as caller 0: %v",
					id, i, g.Temp.Generation, bytes.Equal(g.Temp.Secret, got[0].Temp.Secret))
			}
		}
	}
}

// cfRace runs fn on n goroutines at once and returns their errors.
func cfRace(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-ready
			errs[i] = fn(i)
		})
	}
	close(ready)
	wg.Wait()
	return errs
}

// cfOneWins checks that exactly one error is nil and the others are lose.
func cfOneWins(t *testing.T, errs []error, lose error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("callers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, lose):
			t.Fatalf("caller %d: %v, want %v", i, err, lose)
		}
	}
	if winner < 0 {
		t.Fatalf("no caller succeeded: %v", errs)
	}
	return winner
}

func cfConcurrentConsumeReset(t *testing.T, open cfOpener) {
	const workers = 8
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	for round := range 5 {
		digest := fmt.Sprintf("d%d", round)
		if err := s.CreateReset(ctx, cfReset(digest, "alice", cfT0, time.Hour)); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Subject(ctx, "alice")
		errs := cfRace(workers, func(i int) error {
			return cfErr(s.ConsumeReset(ctx, digest, fmt.Sprintf("h%d", i), cfT0.Add(time.Minute)))
		})
		winner := cfOneWins(t, errs, store.ErrNotFound)
		after, _ := s.Subject(ctx, "alice")
		if after.Temp.Generation != before.Temp.Generation+1 {
			t.Fatalf("generation %d → %d, want exactly +1", before.Temp.Generation, after.Temp.Generation)
		}
		if after.User.PasswordHash != fmt.Sprintf("h%d", winner) {
			t.Fatalf("password hash %q, winner was %d", after.User.PasswordHash, winner)
		}
	}
}

func cfConcurrentCreateNamed(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	errs := cfRace(8, func(i int) error {
		return s.CreateNamed(ctx, store.NamedToken{ID: fmt.Sprintf("t%d", i), Subject: "alice", Name: "same"})
	})
	cfOneWins(t, errs, store.ErrExists)
	if list, err := s.NamedTokens(ctx, "alice"); err != nil || len(list) != 1 {
		t.Fatalf("NamedTokens = %+v, %v; want one", list, err)
	}
}

// cfConcurrentUsernames: of users racing for one username, one gets it.
func cfConcurrentUsernames(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := open(t)
	for round := range 5 {
		name := fmt.Sprintf("shared%d", round)
		errs := cfRace(8, func(i int) error {
			return s.PutUser(ctx, store.User{ID: fmt.Sprintf("r%d-%d", round, i), Username: name})
		})
		winner := cfOneWins(t, errs, store.ErrExists)
		if u, err := s.UserByName(ctx, name); err != nil || u.ID != fmt.Sprintf("r%d-%d", round, winner) {
			t.Fatalf("UserByName = %q, %v; winner %d", u.ID, err, winner)
		}
	}
	list, err := s.Users(ctx)
	if err != nil || len(list) != 5 {
		t.Fatalf("Users = %d, %v; want 5", len(list), err)
	}
}

// cfConcurrentRenames: one user renamed many ways at once ends with one
// of the names, and every other name is free.
func cfConcurrentRenames(t *testing.T, open cfOpener) {
	const n = 8
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	for round := range 5 {
		name := func(i int) string { return fmt.Sprintf("a%d-%d", round, i) }
		for _, err := range cfRace(n, func(i int) error { return s.PutUser(ctx, store.User{ID: "alice", Username: name(i)}) }) {
			if err != nil {
				t.Fatal(err)
			}
		}
		u, err := s.User(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if byName, err := s.UserByName(ctx, u.Username); err != nil || byName.ID != "alice" {
			t.Fatalf("UserByName(%q) = %q, %v", u.Username, byName.ID, err)
		}
		for i := range n {
			if name(i) == u.Username {
				continue
			}
			if _, err := s.UserByName(ctx, name(i)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("UserByName(%s) = %v", name(i), err)
			}
			other := fmt.Sprintf("o%d-%d", round, i)
			if err := s.PutUser(ctx, store.User{ID: other, Username: name(i)}); err != nil {
				t.Fatalf("name %s not freed: %v", name(i), err)
			}
		}
		if err := s.PutUser(ctx, store.User{ID: "other", Username: u.Username}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("alice's name %s given away: %v", u.Username, err)
		}
	}
}

func cfConcurrentFail(t *testing.T, open cfOpener) {
	const workers, each = 8, 25
	ctx := t.Context()
	s := open(t)
	for _, err := range cfRace(workers, func(int) error {
		for range each {
			if _, err := s.Fail(ctx, "k", time.Hour, cfT0); err != nil {
				return err
			}
		}
		return nil
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c, err := s.Counter(ctx, "k", cfT0); err != nil || c.Count != workers*each {
		t.Fatalf("Counter = %+v, %v; want %d", c, err, workers*each)
	}
}

func cfCreateUser(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	if err := s.CreateUser(ctx, store.User{ID: "bob", Username: "bobby", Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	bob, err := s.User(ctx, "bob")
	if err != nil || bob.Name != "Bob" || bob.Number == 0 {
		t.Fatalf("User(bob) = %+v, %v", bob, err)
	}
	alice, _ := s.User(ctx, "alice")
	for name, u := range map[string]store.User{
		"existing id":    {ID: "alice", Username: "new-name", Name: "Impostor"},
		"taken username": {ID: "carol", Username: "bobby"},
	} {
		if err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrExists) {
			t.Fatalf("%s: CreateUser = %v, want ErrExists", name, err)
		}
	}
	if got, _ := s.User(ctx, "alice"); got != alice {
		t.Fatalf("alice changed by a refused create: %+v", got)
	}
	if _, err := s.User(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("carol = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByName(ctx, "new-name"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused create kept its username claim: %v", err)
	}
}

func cfUpdateUser(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	before, _ := s.User(ctx, "alice")
	got, err := s.UpdateUser(ctx, "alice", func(u *store.User) error {
		u.Name, u.Username = "Alice", "ali"
		u.ID, u.Number = "mallory", 999 // ignored: both are permanent
		return nil
	})
	if err != nil || got.ID != "alice" || got.Number != before.Number || got.Name != "Alice" {
		t.Fatalf("UpdateUser = %+v, %v", got, err)
	}
	if u, err := s.UserByName(ctx, "ali"); err != nil || u != got {
		t.Fatalf("UserByName(ali) = %+v, %v; want %+v", u, err, got)
	}
	if _, err := s.UserByName(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old username still claimed: %v", err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateUser(ctx, "alice", func(u *store.User) error { u.Name = "x"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if _, err := s.UpdateUser(ctx, "alice", func(u *store.User) error { u.Username = "bob"; return nil }); !errors.Is(err, store.ErrExists) {
		t.Fatalf("rename to a taken name: %v", err)
	}
	if u, _ := s.User(ctx, "alice"); u != got {
		t.Fatalf("refused updates changed alice: %+v, want %+v", u, got)
	}
	if _, err := s.UpdateUser(ctx, "nobody", func(*store.User) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUser(nobody) = %v", err)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUser created a user: %v", err)
	}
}

// cfConcurrentCreateUser: of instances creating one user at once, one
// succeeds; the record is the winner's.
func cfConcurrentCreateUser(t *testing.T, open cfOpener) {
	ctx := t.Context()
	s := open(t)
	for round := range 5 {
		id := fmt.Sprintf("u%d", round)
		errs := cfRace(8, func(i int) error {
			return s.CreateUser(ctx, store.User{ID: id, Username: fmt.Sprintf("%s-%d", id, i), Name: fmt.Sprint(i)})
		})
		winner := cfOneWins(t, errs, store.ErrExists)
		if u, err := s.User(ctx, id); err != nil || u.Name != fmt.Sprint(winner) {
			t.Fatalf("User(%s) = %+v, %v; winner %d", id, u, err, winner)
		}
	}
}

// cfConcurrentUpdateUser: concurrent read-modify-writes lose nothing.
// Each adds one to a counter kept in Name; the result must equal the
// number of updates that reported success, and an update may fail only
// as unavailable (a store that gives up under contention).
func cfConcurrentUpdateUser(t *testing.T, open cfOpener) {
	const workers, each = 4, 20
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	var mu sync.Mutex
	done := 0
	for _, err := range cfRace(workers, func(int) error {
		for range each {
			_, err := s.UpdateUser(ctx, "alice", func(u *store.User) error {
				n := 0
				fmt.Sscan(u.Name, &n)
				u.Name = fmt.Sprint(n + 1)
				return nil
			})
			if errors.Is(err, store.ErrUnavailable) {
				continue
			}
			if err != nil {
				return err
			}
			mu.Lock()
			done++
			mu.Unlock()
		}
		return nil
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.User(ctx, "alice")
	if err != nil || u.Name != fmt.Sprint(done) || done < each {
		t.Fatalf("counter = %q, %v after %d successful updates", u.Name, err, done)
	}
}
