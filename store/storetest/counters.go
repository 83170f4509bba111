package storetest

// Brute-force counters and purging what expired.

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

func cfCounters(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	check := func(what string, got store.Counter, err error, count int, until time.Time) {
		t.Helper()
		if err != nil || got.Count != count || !got.Until.Equal(until) {
			t.Fatalf("%s = %+v, %v; want count %d until %v", what, got, err, count, until)
		}
	}
	w := time.Minute
	c, err := s.Fail(ctx, "k", w, T0)
	check("first Fail", c, err, 1, T0.Add(w))
	if c.Key != "k" {
		t.Fatalf("key %q", c.Key)
	}
	c, err = s.Fail(ctx, "k", w, T0.Add(30*time.Second))
	check("second Fail", c, err, 2, T0.Add(w)) // fixed window
	c, err = s.Counter(ctx, "k", T0.Add(w-time.Nanosecond))
	check("Counter in the window", c, err, 2, T0.Add(w))
	c, err = s.Counter(ctx, "k", T0.Add(w))
	if err != nil || c != (store.Counter{Key: "k"}) {
		t.Fatalf("Counter at the end of the window = %+v, %v; want zero", c, err)
	}
	c, err = s.Fail(ctx, "k", w, T0.Add(w))
	check("Fail in a new window", c, err, 1, T0.Add(2*w))
	c, err = s.Fail(ctx, "j", 10*time.Second, T0.Add(w))
	check("Fail j", c, err, 1, T0.Add(w+10*time.Second))
	if c, err := s.Counter(ctx, "none", T0); err != nil || c != (store.Counter{Key: "none"}) {
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
	if got := keys(T0.Add(w + time.Second)); !slices.Equal(got, []string{"j=1", "k=1"}) {
		t.Fatalf("Counters = %v", got)
	}
	if got := keys(T0.Add(w + 10*time.Second)); !slices.Equal(got, []string{"k=1"}) {
		t.Fatalf("Counters after j's window = %v", got)
	}
	at := T0.Add(w + time.Second)
	if err := s.ClearCounter(ctx, "k", at); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Counter(ctx, "k", T0.Add(w)); err != nil || c.Count != 0 {
		t.Fatalf("Counter after ClearCounter = %+v, %v", c, err)
	}
	if got := keys(at); !slices.Equal(got, []string{"j=1"}) {
		t.Fatalf("Counters after ClearCounter = %v", got)
	}
	// Nothing to clear is ErrNotFound (issue 14, finding 3: the admin
	// API said "lifted" for any key): a key never counted, one cleared
	// already, one whose window is over, and one whose every place was
	// given back (a right password after a reservation).
	held, _, err := s.Take(ctx, "returned", 5, w, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Return(ctx, held); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key string
		now time.Time
	}{{"none", at}, {"k", at}, {"j", T0.Add(w + 10*time.Second)}, {"returned", at}} {
		if err := s.ClearCounter(ctx, tc.key, tc.now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ClearCounter(%s) = %v, want ErrNotFound", tc.key, err)
		}
	}
	// The expired one is gone even so: asked about an earlier time,
	// when it was open, the store no longer has it.
	if got := keys(at); len(got) != 0 {
		t.Fatalf("Counters after clearing an expired counter = %v", got)
	}
}

// cfPurgeExpired: purging never removes what is still valid, and what
// expired stays expired whether or not the store removed it (Redis leaves
// that to key TTLs).
func cfPurgeExpired(t *testing.T, open Opener) {
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	now := T0.Add(time.Hour)
	for _, sess := range []store.Session{
		{ID: "old", Subject: "alice", CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)},
		{ID: "new", Subject: "alice", CreatedAt: T0, ExpiresAt: now.Add(time.Hour)},
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

// cfTakeReturn: Take counts like Fail up to the limit and then refuses
// without counting; Return gives one back in the same window only.
func cfTakeReturn(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	var held []store.Counter
	for i := 1; i <= 3; i++ {
		c, ok, err := s.Take(ctx, "k", 3, time.Hour, T0)
		if err != nil || !ok || c.Count != i || !c.Until.Equal(T0.Add(time.Hour)) {
			t.Fatalf("Take %d = %+v, %v, %v", i, c, ok, err)
		}
		held = append(held, c)
	}
	if c, ok, err := s.Take(ctx, "k", 3, time.Hour, T0.Add(time.Minute)); err != nil || ok || c.Count != 3 {
		t.Fatalf("Take at the limit = %+v, %v, %v; want refused, count 3", c, ok, err)
	}
	if err := s.Return(ctx, held[0]); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Counter(ctx, "k", T0); c.Count != 2 {
		t.Fatalf("after Return: count %d, want 2", c.Count)
	}
	if _, ok, _ := s.Take(ctx, "k", 3, time.Hour, T0); !ok {
		t.Fatal("Take refused after a Return freed a place")
	}
	// A Return of an earlier window leaves the new window alone.
	later := T0.Add(2 * time.Hour)
	if c, ok, err := s.Take(ctx, "k", 3, time.Hour, later); err != nil || !ok || c.Count != 1 {
		t.Fatalf("Take in a new window = %+v, %v, %v", c, ok, err)
	}
	if err := s.Return(ctx, held[1]); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Counter(ctx, "k", later); c.Count != 1 {
		t.Fatalf("a stale Return changed the new window: count %d", c.Count)
	}
	// Fail and Take count in one window.
	if _, err := s.Fail(ctx, "k", time.Hour, later); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Counter(ctx, "k", later); c.Count != 2 {
		t.Fatalf("Fail after Take: count %d, want 2", c.Count)
	}
	// Returning what a cleared counter held does nothing.
	c, _, _ := s.Take(ctx, "other", 5, time.Hour, T0)
	if err := s.ClearCounter(ctx, "other", T0); err != nil {
		t.Fatal(err)
	}
	if err := s.Return(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Counter(ctx, "other", T0); c.Count != 0 {
		t.Fatalf("Return revived a cleared counter: %+v", c)
	}
}
