package caddymodule

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/store"
)

// StoreConfig selects where state lives.
type StoreConfig struct {
	// The store implementation. Only "bolt" (the embedded store) exists
	// so far. Default: bolt.
	Type string `json:"type,omitempty"`

	// For bolt, the database file. Default: tokengate/tokengate.db in
	// Caddy's data directory.
	Path string `json:"path,omitempty"`
}

// stores holds open store handles across config reloads: Caddy provisions
// the new config before cleaning up the old one, and bbolt locks its file,
// so both configs must share one handle.
var stores = caddy.NewUsagePool()

type poolBolt struct{ *store.Bolt }

func (p poolBolt) Destruct() error { return p.Close() }

// boltLockTimeout is how long opening waits for another process's lock.
const boltLockTimeout = 3 * time.Second

// open returns the store and the pool key to release it with.
func (c *StoreConfig) open() (store.Store, string, error) {
	switch c.Type {
	case "", "bolt":
	default:
		return nil, "", fmt.Errorf("unknown store type %q", c.Type)
	}
	path := c.Path
	if path == "" {
		path = filepath.Join(caddy.AppDataDir(), "tokengate", "tokengate.db")
	}
	path, err := filepath.Abs(caddy.NewReplacer().ReplaceAll(path, ""))
	if err != nil {
		return nil, "", err
	}
	key := "bolt:" + path
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		b, err := store.OpenBolt(path, boltLockTimeout)
		if err != nil {
			return nil, err
		}
		return poolBolt{b}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(poolBolt).Bolt, key, nil
}
