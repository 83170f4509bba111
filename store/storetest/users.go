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
