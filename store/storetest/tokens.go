package storetest

// Named tokens, handoff tokens and reset tokens.

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

func cfNamedTokens(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	tok := func(id, subject, name string) store.NamedToken {
		return store.NamedToken{ID: id, Subject: subject, Name: name, Type: "client",
			Caveats: json.RawMessage(`{"paths":["/a"],"n":12345678901234567}`), CreatedAt: T0, Secret: []byte{0, 1, 2, 255}}
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
		// Custom metadata is stored with the token, replaced whole, and
		// kept by the other changes.
		{"set metadata", "t2", store.NamedUpdate{Metadata: json.RawMessage(`{"a":1}`)}, nil,
			func(t *store.NamedToken) { t.Metadata = json.RawMessage(`{"a":1}`) }},
		{"rename keeps metadata", "t2", store.NamedUpdate{Name: ptr("build2")}, nil, func(t *store.NamedToken) { t.Name = "build2" }},
		{"replace metadata and rename", "t2", store.NamedUpdate{Name: ptr("build"), Metadata: json.RawMessage(`{"b":{"c":[true]}}`)}, nil,
			func(t *store.NamedToken) { t.Name, t.Metadata = "build", json.RawMessage(`{"b":{"c":[true]}}`) }},
		{"a taken name sets no metadata", "t2", store.NamedUpdate{Name: ptr("deploy"), Metadata: json.RawMessage(`{}`)}, store.ErrExists, nil},
		{"empty metadata", "t2", store.NamedUpdate{Metadata: json.RawMessage(`{}`)}, nil, func(t *store.NamedToken) { t.Metadata = json.RawMessage(`{}`) }},
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

// cfNamedOwner: a named token's subject is found from its id alone,
// from its creation until it is deleted, alone, with all of its
// subject's, or with its subject.
func cfNamedOwner(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	tok := func(id, subject, name string) store.NamedToken {
		return store.NamedToken{ID: id, Subject: subject, Name: name, Type: "act", CreatedAt: T0, Secret: []byte{1}}
	}
	for _, n := range []store.NamedToken{tok("a1", "alice", "ci"), tok("a2", "alice", "cd"), tok("b1", "bob", "ci"), tok("b2", "bob", "cd")} {
		if err := s.CreateNamed(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	// Refused creations leave no owner behind.
	if err := s.CreateNamed(ctx, tok("a3", "alice", "ci")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("a taken name: %v", err)
	}
	if err := s.CreateNamed(ctx, tok("n1", "nobody", "ci")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an unknown subject: %v", err)
	}
	owners := func(step string, want map[string]string) {
		t.Helper()
		for id, subject := range want {
			got, err := s.NamedOwner(ctx, id)
			switch {
			case subject == "" && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: NamedOwner(%s) = %q, %v; want ErrNotFound", step, id, got, err)
			case subject != "" && (err != nil || got != subject):
				t.Errorf("%s: NamedOwner(%s) = %q, %v; want %q", step, id, got, err, subject)
			}
		}
	}
	owners("created", map[string]string{"a1": "alice", "a2": "alice", "b1": "bob", "b2": "bob", "a3": "", "n1": "", "zz": "", "": ""})
	yes := true
	if err := s.UpdateNamed(ctx, "alice", "a1", store.NamedUpdate{Revoked: &yes}); err != nil {
		t.Fatal(err)
	}
	owners("revoked", map[string]string{"a1": "alice"})
	if err := s.DeleteNamed(ctx, "alice", "a1"); err != nil {
		t.Fatal(err)
	}
	owners("one deleted", map[string]string{"a1": "", "a2": "alice", "b1": "bob"})
	if err := s.DeleteNamed(ctx, "bob", ""); err != nil {
		t.Fatal(err)
	}
	owners("bob's deleted", map[string]string{"a2": "alice", "b1": "", "b2": ""})
	if err := s.CreateNamed(ctx, tok("a4", "alice", "ci")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	owners("alice deleted", map[string]string{"a2": "", "a4": ""})
}

func cfHandoffs(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	h := store.Handoff{Digest: strings.Repeat("ab", 32), Subject: "alice", CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)}
	if err := s.CreateHandoff(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateHandoff(ctx, store.Handoff{Digest: "cd", Subject: "nobody", CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)}); !errors.Is(err, store.ErrNotFound) {
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

func cfResetTokens(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice", "bob")
	t1 := cfReset("d1", "alice", T0, time.Hour)
	if err := s.CreateReset(ctx, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReset(ctx, cfReset("dx", "nobody", T0, time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset token of an unknown subject: %v", err)
	}
	if got, err := s.Reset(ctx, "d1", T0.Add(time.Minute)); err != nil || !reflect.DeepEqual(got, t1) {
		t.Fatalf("Reset = %+v, %v; want %+v", got, err, t1)
	}
	for _, tc := range []struct {
		digest string
		now    time.Time
	}{
		{"d1", t1.ExpiresAt}, // expiry is exact
		{"d1", t1.ExpiresAt.Add(time.Hour)},
		{"dx", T0},
		{"nope", T0},
	} {
		if _, err := s.Reset(ctx, tc.digest, tc.now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Reset(%s, %v) = %v, want ErrNotFound", tc.digest, tc.now, err)
		}
	}

	// Only the newest token is active.
	t2 := cfReset("d2", "alice", T0.Add(2*time.Minute), time.Hour)
	if err := s.CreateReset(ctx, t2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reset(ctx, "d1", T0.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("older token after a newer one: %v", err)
	}
	// Tokens of other users are untouched.
	tb := cfReset("db", "bob", T0, time.Hour)
	if err := s.CreateReset(ctx, tb); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Subject(ctx, "alice")

	// An expired token consumes nothing.
	if _, err := s.ConsumeReset(ctx, "d2", "h1", t2.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consuming at expiry: %v", err)
	}
	if _, err := s.ConsumeReset(ctx, "d1", "h1", T0.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consuming a superseded token: %v", err)
	}
	if u, _ := s.User(ctx, "alice"); u.PasswordHash != "" {
		t.Fatalf("a refused ConsumeReset set the password to %q", u.PasswordHash)
	}

	got, err := s.ConsumeReset(ctx, "d2", "h2", T0.Add(4*time.Minute))
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
		if _, err := s.Reset(ctx, d, T0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Reset(%s) after ConsumeReset = %v", d, err)
		}
	}
	if _, err := s.ConsumeReset(ctx, "d2", "h3", T0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second ConsumeReset = %v", err)
	}
	if got, err := s.Reset(ctx, "db", T0.Add(5*time.Minute)); err != nil || got != tb {
		t.Fatalf("bob's token after alice's reset: %+v, %v", got, err)
	}

	// A deleted user's token consumes nothing.
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeReset(ctx, "db", "h", T0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeReset for a deleted user = %v", err)
	}
}
