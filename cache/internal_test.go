package cache

import (
	"strings"
	"testing"
)

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
