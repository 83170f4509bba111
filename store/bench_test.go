package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

// BenchmarkSubject is the store read on the gate's cold path (a token of a
// user whose state is not cached), for each store.
func BenchmarkSubject(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"bolt", func(b *testing.B) store.Store {
			s, err := store.OpenBolt(filepath.Join(b.TempDir(), "tg.db"), time.Second)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"redis", func(b *testing.B) store.Store { return openRedis(b, startRedis(b), "") }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := tc.open(b)
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
		})
	}
}
