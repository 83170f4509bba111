package storetest

// Change events and subscriptions.

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

func cfEvents(t *testing.T, open Opener) {
	named := store.NamedToken{ID: "n1", Subject: "alice", Name: "ci"}
	ptr := func(s string) *string { return &s }
	for _, tc := range []struct {
		name    string
		do      func(ctx context.Context, s store.Store) error
		wantErr error
		want    []store.Event
	}{
		{name: "RevokeTemp", do: func(ctx context.Context, s store.Store) error { return Err(s.RevokeTemp(ctx, "alice")) },
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
		{name: "DeleteSessions", do: func(ctx context.Context, s store.Store) error { return Err(s.DeleteSessions(ctx, "bob")) },
			want: []store.Event{{Kind: store.SessionEnded, Subject: "bob"}}},
		{name: "DeleteSessions of a subject without sessions", do: func(ctx context.Context, s store.Store) error {
			return Err(s.DeleteSessions(ctx, "alice"))
		}},
		{name: "ConsumeReset", do: func(ctx context.Context, s store.Store) error {
			return Err(s.ConsumeReset(ctx, "rb", "h", T0))
		}, want: []store.Event{{Kind: store.TempRevoked, Subject: "bob"}}},
		{name: "SetPassword", do: func(ctx context.Context, s store.Store) error { return s.SetPassword(ctx, "bob", "h", T0) },
			want: []store.Event{{Kind: store.TempRevoked, Subject: "bob"}}},
		{name: "RevokeTemp of an unknown user", do: func(ctx context.Context, s store.Store) error {
			return Err(s.RevokeTemp(ctx, "nobody"))
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
			return Err(s.ConsumeReset(ctx, "x", "h", T0))
		}, wantErr: store.ErrNotFound},
		{name: "reads and creations announce nothing", do: func(ctx context.Context, s store.Store) error {
			_, err := s.Subject(ctx, "alice") // first use creates generation 1
			return errors.Join(err,
				s.CreateSession(ctx, store.Session{ID: "sa", Subject: "alice", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}),
				s.CreateHandoff(ctx, store.Handoff{Digest: "ha", Subject: "alice", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}),
				s.CreateReset(ctx, cfReset("ra", "alice", T0, time.Hour)),
				Err(s.Fail(ctx, "k", time.Minute, T0)),
				s.ClearCounter(ctx, "k", T0),
				Err(s.PurgeExpired(ctx, T0)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := cfWith(t, open, "alice", "bob")
			setup := errors.Join(
				s.CreateNamed(ctx, store.NamedToken{ID: "b1", Subject: "bob", Name: "ci"}),
				s.CreateSession(ctx, store.Session{ID: "sb", Subject: "bob", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}),
				s.CreateReset(ctx, cfReset("rb", "bob", T0, time.Hour)))
			if setup != nil {
				t.Fatal(setup)
			}
			var r Recorder
			cancel := s.Subscribe(r.Record)
			defer cancel()
			err := tc.do(ctx, s)
			got := r.Take() // synchronous: no waiting
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func cfEventsSeeCommittedState(t *testing.T, open Opener) {
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

func cfSubscribeCancel(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	var kept, dropped Recorder
	cancelKept := s.Subscribe(kept.Record)
	defer cancelKept()
	cancel := s.Subscribe(dropped.Record)
	if _, err := s.RevokeTemp(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if len(kept.Take()) != 1 || len(dropped.Take()) != 1 {
		t.Fatal("both subscribers should have one event before cancel")
	}
	cancel()
	cancel()
	if _, err := s.RevokeTemp(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := dropped.Take(); len(got) != 0 {
		t.Fatalf("cancelled subscriber got %+v", got)
	}
	if got := kept.Take(); len(got) != 1 {
		t.Fatalf("remaining subscriber got %+v, want one event", got)
	}
}

// cfSubscribeCancelInCallback: a one-shot subscriber cancels itself from
// its callback without deadlocking the mutation that called it (publish
// must not hold its lock while calling subscribers), and is called once.
func cfSubscribeCancelInCallback(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	var calls int
	var cancel func()
	cancel = s.Subscribe(func(store.Event) { calls++; cancel() })
	done := make(chan error, 1)
	go func() { done <- errors.Join(Err(s.RevokeTemp(ctx, "alice")), Err(s.RevokeTemp(ctx, "alice"))) }()
	select {
	case err := <-done:
		if err != nil || calls != 1 {
			t.Fatalf("err %v, one-shot subscriber called %d times", err, calls)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling from inside a callback deadlocks")
	}
}
