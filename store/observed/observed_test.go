package observed

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
)

// TestObservedStore: changes are logged without secrets and revocations
// counted; failures are logged at most once a second, with a count of
// those left out.
func TestObservedStore(t *testing.T) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	var ops [NumOps]prometheus.Observer
	for i := range ops {
		ops[i] = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "op"})
	}
	var revocations [NumRevocationKinds]prometheus.Counter
	for i := range revocations {
		revocations[i] = prometheus.NewCounter(prometheus.CounterOpts{Name: "revoked"})
	}
	var errs [NumOps][NumErrorKinds]prometheus.Counter
	for i := range errs {
		for k := range errs[i] {
			errs[i][k] = prometheus.NewCounter(prometheus.CounterOpts{Name: "errors"})
		}
	}
	failed := func(op Op) (n float64) {
		for _, c := range errs[op] {
			n += testutil.ToFloat64(c)
		}
		return n
	}
	st := Wrap(b, &ops, &errs, &revocations, zap.New(core)).(*observed)
	now := time.Unix(1_700_000_000, 0)
	st.now = func() time.Time { return now }
	ctx := context.Background()

	const hash = "$2a$04$secret-hash-must-not-be-logged"
	for _, step := range []struct {
		do      func() error
		msg     string
		revoked string // kind counted, if any
	}{
		{func() error { return st.PutUser(ctx, store.User{ID: "alice", Username: "al", PasswordHash: hash}) }, "user saved", ""},
		{func() error { return st.SetPassword(ctx, "alice", hash, now) }, "password set; the user's sessions and temporary tokens revoked", "password"},
		{func() error { _, err := st.RevokeTemp(ctx, "alice"); return err }, "revoked all temporary tokens and sessions", "temporary"},
		{func() error {
			return st.CreateNamed(ctx, store.NamedToken{ID: "t1", Subject: "alice", Name: "ci", Secret: []byte("named-secret")})
		}, "named token created", ""},
		{func() error { return st.UpdateNamed(ctx, "alice", "t1", store.NamedUpdate{Revoked: new(true)}) }, "named token updated", "named"},
		{func() error {
			if err := st.CreateSession(ctx, store.Session{ID: "s1", Subject: "alice", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			_, err := st.DeleteSessions(ctx, "alice") // as blocking the user does
			return err
		}, "all sessions ended", "session"},
		{func() error { return st.DeleteUser(ctx, "alice") }, "user deleted; its tokens revoked", "user"},
		{func() error { return st.CreateUser(ctx, store.User{ID: "alice", PasswordHash: hash}) }, "user created", ""},
	} {
		counts := revocationCounts(&revocations)
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.msg, err)
		}
		entries := logs.TakeAll()
		if len(entries) != 1 || entries[0].Message != step.msg {
			t.Fatalf("logged %v, want one %q", entries, step.msg)
		}
		if fields := entries[0].ContextMap(); fields["user"] != "alice" || strings.Contains(fmt.Sprint(fields), "secret") {
			t.Fatalf("%q logged fields %v: want user alice and no secret", step.msg, fields)
		}
		after := revocationCounts(&revocations)
		for kind, n := range after {
			want := counts[kind]
			if kind == step.revoked {
				want++
			}
			if n != want {
				t.Fatalf("%q: revocations{kind=%q} = %v, want %v", step.msg, kind, n, want)
			}
		}
	}

	// An update the caller's function refuses is the caller's answer: not
	// logged as a store failure, not logged as a change.
	errNo := errors.New("refused by the caller")
	if _, err := st.UpdateUser(ctx, "alice", func(*store.User) error { return errNo }); !errors.Is(err, errNo) {
		t.Fatalf("UpdateUser = %v, want the function's error", err)
	}
	if got := logs.TakeAll(); len(got) != 0 {
		t.Fatalf("a refused update logged %v", got)
	}

	// Not found is an answer, not a failure.
	if _, err := st.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(nobody) = %v, want ErrNotFound", err)
	}
	if n := failed(opUser); n != 0 {
		t.Fatalf("store_errors_total{operation=user} = %v after a not-found, want 0", n)
	}

	// A store that cannot answer: bbolt refuses every call once closed.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	failures := func(n int) []observer.LoggedEntry {
		for range n {
			if _, err := st.User(ctx, "alice"); err == nil {
				t.Fatal("a closed store answered")
			}
		}
		return logs.TakeAll()
	}
	if got := failures(5); len(got) != 1 || got[0].Level != zap.ErrorLevel || got[0].ContextMap()["operation"] != "user" {
		t.Fatalf("5 failures within a second logged %v, want one error", got)
	}
	now = now.Add(time.Second)
	got := failures(1)
	if len(got) != 1 || got[0].ContextMap()["failures_not_logged"] != int64(4) {
		t.Fatalf("a failure a second later logged %v, want one with failures_not_logged 4", got)
	}
	// Every failure is counted, logged or not.
	if n := failed(opUser); n != 6 {
		t.Fatalf("store_errors_total{operation=user} = %v after 6 failures, want 6", n)
	}
}

func revocationCounts(revocations *[NumRevocationKinds]prometheus.Counter) map[string]float64 {
	c := make(map[string]float64)
	for k, name := range RevocationKinds {
		c[name] = testutil.ToFloat64(revocations[k])
	}
	return c
}

// TestEveryStoreOperationObserved: a store operation added to the
// interface needs its op, or the decorator would pass it through untimed.
func TestEveryStoreOperationObserved(t *testing.T) {
	iface := reflect.TypeFor[store.Store]()
	if got := iface.NumMethod() - 1; got != int(NumOps) { // all but Subscribe
		t.Fatalf("store.Store has %d operations, observed times %d", got, NumOps)
	}
	for i := range NumOps {
		name := strings.ReplaceAll(OpNames[i], "_", "")
		var found bool
		for m := range iface.Methods() {
			found = found || strings.EqualFold(m.Name, name)
		}
		if !found {
			t.Errorf("op %q names no store operation", OpNames[i])
		}
	}
}
