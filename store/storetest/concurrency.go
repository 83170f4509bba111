package storetest

// Races: operations that must stay atomic when callers collide.

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

func cfConcurrentRevokeTemp(t *testing.T, open Opener) {
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
func cfConcurrentFirstSubject(t *testing.T, open Opener) {
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

func cfConcurrentConsumeReset(t *testing.T, open Opener) {
	const workers = 8
	ctx := t.Context()
	s := cfWith(t, open, "alice")
	for round := range 5 {
		digest := fmt.Sprintf("d%d", round)
		if err := s.CreateReset(ctx, cfReset(digest, "alice", T0, time.Hour)); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Subject(ctx, "alice")
		errs := cfRace(workers, func(i int) error {
			return Err(s.ConsumeReset(ctx, digest, fmt.Sprintf("h%d", i), T0.Add(time.Minute)))
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

func cfConcurrentCreateNamed(t *testing.T, open Opener) {
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
func cfConcurrentUsernames(t *testing.T, open Opener) {
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
func cfConcurrentRenames(t *testing.T, open Opener) {
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

func cfConcurrentFail(t *testing.T, open Opener) {
	const workers, each = 8, 25
	ctx := t.Context()
	s := open(t)
	for _, err := range cfRace(workers, func(int) error {
		for range each {
			if _, err := s.Fail(ctx, "k", time.Hour, T0); err != nil {
				return err
			}
		}
		return nil
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c, err := s.Counter(ctx, "k", T0); err != nil || c.Count != workers*each {
		t.Fatalf("Counter = %+v, %v; want %d", c, err, workers*each)
	}
}

// cfConcurrentCreateUser: of instances creating one user at once, one
// succeeds; the record is the winner's.
func cfConcurrentCreateUser(t *testing.T, open Opener) {
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
func cfConcurrentUpdateUser(t *testing.T, open Opener) {
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

// cfConcurrentTake: of many attempts racing for a budget, exactly limit
// get a place, however many ask at once.
func cfConcurrentTake(t *testing.T, open Opener) {
	const workers, limit = 40, 10
	ctx := t.Context()
	s := open(t)
	var mu sync.Mutex
	taken := 0
	for _, err := range cfRace(workers, func(int) error {
		_, ok, err := s.Take(ctx, "ip:192.0.2.1", limit, time.Hour, T0)
		if ok {
			mu.Lock()
			taken++
			mu.Unlock()
		}
		return err
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c, err := s.Counter(ctx, "ip:192.0.2.1", T0); taken != limit || err != nil || c.Count != limit {
		t.Fatalf("%d attempts got a place, counter %+v (%v); want exactly %d", taken, c, err, limit)
	}
}
