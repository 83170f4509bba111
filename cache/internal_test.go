package cache

import (
	"hash/maphash"
	"testing"
)

func TestEqual(t *testing.T) {
	// Every length from 0 to 100 covers the 32-byte rounds, the word
	// loop, the byte tail and their mixes; every position of a
	// difference is tried.
	for n := 0; n <= 100; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		a := string(b)
		if !equal(a, string(b)) { // same bytes, different memory
			t.Fatalf("len %d: equal strings compare unequal", n)
		}
		if !equal(a, a) {
			t.Fatalf("len %d: a string is not equal to itself", n)
		}
		for i := range n {
			for _, flip := range []byte{0x01, 0x80, 0xff} {
				c := []byte(a)
				c[i] ^= flip
				if equal(a, string(c)) || equal(string(c), a) {
					t.Fatalf("len %d: difference %#x at %d not seen", n, flip, i)
				}
			}
		}
		for _, other := range []string{a + "a", a + "\x00", "\x00" + a} {
			if equal(a, other) || equal(other, a) {
				t.Fatalf("len %d vs %d: different lengths compare equal", n, len(other))
			}
		}
		if n > 0 && (equal(a, a[:n-1]) || equal(a[:n-1], a)) {
			t.Fatalf("len %d: a proper prefix compares equal", n)
		}
	}
}

// TestGetConfirmsKey: an entry found under a key's hash but holding
// another key is never returned, as after a 64-bit hash collision.
func TestGetConfirmsKey(t *testing.T) {
	const key = "token-A"
	e := NewEpochs()
	for _, tc := range []struct {
		name   string
		stored string // the key in the entry placed under hash(key)
		hit    bool
	}{
		{"same key", key, true},
		{"other key", "token-B", false},
		{"longer key", key + "\x00", false},
		{"prefix", key[:len(key)-1], false},
		{"empty key", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New[string](1<<20, e)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h := maphash.String(c.seed, key)
			if !c.rc.Set(h, &entry[string]{key: tc.stored, stamp: e.Stamp("alice"), val: "value of " + tc.stored}, 1) {
				t.Fatal("ristretto dropped the set")
			}
			c.Wait()
			if _, ok := c.rc.Get(h); !ok {
				t.Fatal("entry not stored; the test would prove nothing")
			}
			v, ok := c.Get(key)
			if ok != tc.hit || (ok && v != "value of "+key) {
				t.Fatalf("Get(%q) = %q, %v; want hit=%v", key, v, ok, tc.hit)
			}
		})
	}
}
