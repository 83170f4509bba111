package stores_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/caddymodule/stores"
	"github.com/tokengate/tokengate/store/bolt"
)

// TestOpenShares: two configs (the old and the new of a reload) share one
// handle of a bolt file, which a second open would find locked; the last
// release closes it, so that the file can be opened again.
func TestOpenShares(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tg.db")
	opens := 0
	open := func() (stores.Closer, error) { opens++; return bolt.Open(path, 100*time.Millisecond) }
	a, releaseA, err := stores.Open("bolt:"+path, open)
	if err != nil {
		t.Fatal(err)
	}
	b, releaseB, err := stores.Open("bolt:"+path, open)
	if err != nil || a != b || opens != 1 {
		t.Fatalf("second Open: same handle %v, opens %d, err %v", a == b, opens, err)
	}
	if err := releaseA(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Users(t.Context()); err != nil {
		t.Fatalf("the other config's handle closed with the first release: %v", err)
	}
	if _, err := bolt.Open(path, 100*time.Millisecond); !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("file not held while in use: %v", err)
	}
	if err := releaseB(); err != nil {
		t.Fatal(err)
	}
	again, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatalf("the last release did not close the file: %v", err)
	}
	again.Close()
}
