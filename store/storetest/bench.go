package storetest

import (
	"context"
	"testing"

	"github.com/tokengate/tokengate/store"
)

// BenchmarkSubject measures the store read on the gate's cold path (a
// token of a user whose state is not cached) on a fresh store from open;
// each backend's package calls it from its own BenchmarkSubject.
func BenchmarkSubject(b *testing.B, open func(b *testing.B) store.Store) {
	s := open(b)
	ctx := context.Background()
	if err := s.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Subject(ctx, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}
