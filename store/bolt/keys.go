package bolt

import (
	"context"
	"encoding/json"

	bbolt "go.etcd.io/bbolt"

	"github.com/tokengate/tokengate/store"
)

// keyAssertion names the assertion key ring in bucketKeys.
var keyAssertion = []byte("assertion")

// AssertionKeys implements Store.
func (s *Store) AssertionKeys(ctx context.Context) (store.AssertionKeyRing, error) {
	var ring store.AssertionKeyRing
	err := s.view(func(tx *bbolt.Tx) error { return getRing(tx, &ring) })
	return ring, err
}

// SwapAssertionKeys implements Store: bbolt's one writer at a time makes
// the read, compare and write one atomic step.
func (s *Store) SwapAssertionKeys(ctx context.Context, prev uint64, keys []store.AssertionKey) (store.AssertionKeyRing, error) {
	var ring store.AssertionKeyRing
	err := s.update(func(tx *bbolt.Tx) error {
		if err := getRing(tx, &ring); err != nil {
			return err
		}
		if ring.Version != prev {
			return store.ErrConflict
		}
		ring = store.AssertionKeyRing{Version: prev + 1, Keys: keys}
		b, err := json.Marshal(ring)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketKeys).Put(keyAssertion, b)
	})
	return ring, err
}

// getRing reads the stored ring into ring, leaving it zero if none.
func getRing(tx *bbolt.Tx, ring *store.AssertionKeyRing) error {
	b := tx.Bucket(bucketKeys).Get(keyAssertion)
	if b == nil {
		return nil
	}
	return json.Unmarshal(b, ring)
}
