package storetest

// Creating and changing users: numbers, usernames, odd ids, atomic
// create and update.

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/store"
)

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
