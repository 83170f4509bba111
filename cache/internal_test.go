package cache

import (
	"strings"
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
			h := c.hash(key)
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

// TestHashTail: long keys of one length that share their tail share a
// slot, and one never stands for the other; keys of other lengths or
// other tails get other slots.
func TestHashTail(t *testing.T) {
	tail := strings.Repeat("s", hashedTail)
	a, b := strings.Repeat("a", 300)+tail, strings.Repeat("b", 300)+tail
	c, err := New[string](1<<20, NewEpochs())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.hash(a) != c.hash(b) {
		t.Fatal("keys sharing length and tail should share a slot")
	}
	if c.hash(a) == c.hash("x"+a) || c.hash(a) == c.hash(a[:len(a)-1]+"t") {
		t.Fatal("a longer key or another tail got the same slot")
	}
	c.Set(a, c.epochs.Stamp("alice"), "A", 1, 0)
	c.Wait()
	if v, ok := c.Get(a); !ok || v != "A" {
		t.Fatalf("Get(a) = %q, %v; want A", v, ok)
	}
	if v, ok := c.Get(b); ok {
		t.Fatalf("Get(b) = %q: a key sharing a's slot stood for it", v)
	}
}
