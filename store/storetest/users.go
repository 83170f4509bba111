package storetest

// Users, their temporary state and passwords.

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

func cfSubject(t *testing.T, open Opener) {
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

func cfRevokeTemp(t *testing.T, open Opener) {
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

func cfDeleteUser(t *testing.T, open Opener) {
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
		{"User", Err(s.User(ctx, "alice")), store.ErrNotFound},
		{"UserByName", Err(s.UserByName(ctx, "alice")), store.ErrNotFound},
		{"Subject", Err(s.Subject(ctx, "alice")), store.ErrNotFound},
		{"RevokeTemp", Err(s.RevokeTemp(ctx, "alice")), store.ErrNotFound},
		{"DeleteUser again", s.DeleteUser(ctx, "alice"), store.ErrNotFound},
		{"Named", Err(s.Named(ctx, "alice", "n1")), store.ErrNotFound},
		{"CreateNamed", s.CreateNamed(ctx, store.NamedToken{ID: "n2", Subject: "alice", Name: "x"}), store.ErrNotFound},
		{"other user untouched", Err(s.User(ctx, "bob")), nil},
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

func cfUsersCase(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	users := []store.User{
		{ID: "carol", Username: "c", Name: "Carol", Email: "c@example.com", Role: "Editor", CreatedBy: "admin", CreatedAt: T0, PasswordHash: "$argon2id$x", ConfigManaged: true},
		{ID: "alice", Username: "a", CreatedAt: T0, Blocked: true},
		{ID: "Zed", Username: "z", CreatedAt: T0},
		{ID: "bob", Username: "b", CreatedAt: T0},
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
func cfUserNumbers(t *testing.T, open Opener) {
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
func cfUsernames(t *testing.T, open Opener) {
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
func cfOddIDs(t *testing.T, open Opener) {
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

func cfSetPassword(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	if err := s.CreateReset(ctx, cfReset("d1", "alice", T0, time.Hour)); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Subject(ctx, "alice")
	if err := s.SetPassword(ctx, "alice", "h1", T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(ctx, "alice"); u.PasswordHash != "h1" {
		t.Fatalf("password hash = %q", u.PasswordHash)
	}
	if after, _ := s.Subject(ctx, "alice"); after.Temp.Generation != before.Temp.Generation+1 {
		t.Fatalf("generation %d → %d, want +1", before.Temp.Generation, after.Temp.Generation)
	}
	if _, err := s.Reset(ctx, "d1", T0.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset token after SetPassword: %v", err)
	}
	if err := s.SetPassword(ctx, "nobody", "h", T0); !errors.Is(err, store.ErrNotFound) {
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

func cfCreateUser(t *testing.T, open Opener) {
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

func cfUpdateUser(t *testing.T, open Opener) {
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
