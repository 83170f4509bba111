// Package stores holds what every store module shares: the pool that
// keeps an open store across config reloads. The modules themselves are
// its subpackages, one per backend.
package stores

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/store"
)

// Closer is an open store that this process must close.
type Closer interface {
	store.Store
	Close() error
}

// pool holds open stores across config reloads: Caddy starts the new
// config before it stops the old one, and a bolt file is locked by its
// first opener, so both configs must share one handle; a Redis client
// with unchanged settings is shared the same way.
var pool = caddy.NewUsagePool()

type pooled struct{ Closer }

func (p pooled) Destruct() error { return p.Close() }

// Open returns the store this process holds under key (the backend's
// kind and every setting that changes the connection), opening it with
// open if it holds none, and the function that gives this use back; the
// last use given back closes it.
func Open(key string, open func() (Closer, error)) (store.Store, func() error, error) {
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		s, err := open()
		if err != nil {
			return nil, err
		}
		return pooled{s}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return v.(pooled).Closer, func() error { _, err := pool.Delete(key); return err }, nil
}
