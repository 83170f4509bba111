package cache_test

import (
	"strings"
	"testing"

	"github.com/tokengate/tokengate/cache"
)

// benchHit returns a cache holding one entry under a token-sized key.
func benchHit(b *testing.B) (*cache.Cache[*int], string) {
	b.Helper()
	e := cache.NewEpochs()
	c, err := cache.New[*int](64<<20, e)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	// About the size of a temporary token with one caveat.
	key := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + strings.Repeat("eyJzdWIiOiJ1LTNmOWMyYTdlNWQxYjRjOGE5ZTBmNmEyYjdjNGQxZThm", 4) + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	if len(key) < 280 || len(key) > 320 {
		b.Fatalf("key is %d bytes, want about 300", len(key))
	}
	v := 42
	c.Set(key, e.Stamp("u-3f9c2a7e"), &v, 64, 0)
	c.Wait()
	if _, ok := c.Get(key); !ok {
		b.Fatal("no hit")
	}
	return c, key
}

func BenchmarkGetHit(b *testing.B) {
	c, key := benchHit(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(key); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	c, key := benchHit(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.Get(key); !ok {
				b.Error("miss")
				return
			}
		}
	})
}
