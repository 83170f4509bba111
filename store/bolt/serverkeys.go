package bolt

import (
	"context"
	"encoding/json"

	bbolt "go.etcd.io/bbolt"

	"github.com/tokengate/tokengate/store"
)

// bucketMeta holds records of the store as a whole: the server key ring
// under metaServerKeys.
var (
	bucketMeta     = []byte("meta")
	metaServerKeys = []byte("server_keys")
)

// ServerKeys implements store.Store.
func (s *Store) ServerKeys(ctx context.Context) (store.ServerKeys, error) {
	var k store.ServerKeys
	err := s.view(func(tx *bbolt.Tx) error { return getServerKeys(tx, &k) })
	return k, err
}

func getServerKeys(tx *bbolt.Tx, k *store.ServerKeys) error {
	v := tx.Bucket(bucketMeta).Get(metaServerKeys)
	if v == nil {
		*k = store.ServerKeys{}
		return nil
	}
	return json.Unmarshal(v, k)
}

// SwapServerKeys implements store.Store: the version check and the write
// are one transaction.
func (s *Store) SwapServerKeys(ctx context.Context, version uint64, keys []string) (store.ServerKeys, error) {
	var k store.ServerKeys
	err := s.update(func(tx *bbolt.Tx) error {
		if err := getServerKeys(tx, &k); err != nil {
			return err
		}
		if k.Version != version {
			return callerError{store.ErrConflict}
		}
		k = store.ServerKeys{Keys: append([]string(nil), keys...), Version: version + 1}
		v, err := json.Marshal(k)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaServerKeys, v)
	})
	if err != nil {
		return store.ServerKeys{}, err
	}
	s.events.Publish(store.Event{Kind: store.KeysChanged})
	return k, nil
}
