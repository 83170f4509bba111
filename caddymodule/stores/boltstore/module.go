// Package boltstore is the tokengate.stores.bolt module: the embedded
// store (store/bolt), one file in Caddy's data directory, nothing to set
// up. It is the default when a config names no store.
package boltstore

import (
	"context"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/tokengate/tokengate/caddymodule/stores"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
)

func init() { caddy.RegisterModule(Module{}) }

// Module configures the bolt store.
type Module struct {
	// The database file; placeholders such as {env.HOME} are expanded.
	// Default: tokengate/tokengate.db in Caddy's data directory.
	Path string `json:"path,omitempty"`

	path string // absolute, set by Provision
}

// Interface guards; caddymodule checks the store-module interface.
var (
	_ caddy.Provisioner     = (*Module)(nil)
	_ caddyfile.Unmarshaler = (*Module)(nil)
)

// CaddyModule returns the Caddy module information.
func (Module) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "tokengate.stores.bolt", New: func() caddy.Module { return new(Module) }}
}

// Provision resolves the path. It touches no file: `caddy validate` runs
// it next to a Caddy that holds the file's lock.
func (m *Module) Provision(caddy.Context) error {
	path := m.Path
	if path == "" {
		path = filepath.Join(caddy.AppDataDir(), "tokengate", "tokengate.db")
	}
	var err error
	m.path, err = filepath.Abs(caddy.NewReplacer().ReplaceAll(path, ""))
	return err
}

// Kind names the backend in metrics and logs.
func (*Module) Kind() string { return "bolt" }

// Location is the database file's absolute path.
func (m *Module) Location() string { return m.path }

// Shared is false: one process at a time holds a bolt file.
func (*Module) Shared() bool { return false }

// lockTimeout is how long opening waits for another process's lock
// before it answers bolt.ErrLocked.
const lockTimeout = 3 * time.Second

// OpenStore opens the file, or takes this process's open handle of it.
func (m *Module) OpenStore(context.Context) (store.Store, func() error, error) {
	return stores.Open("bolt:"+m.path, func() (stores.Closer, error) { return bolt.Open(m.path, lockTimeout) })
}

// UnmarshalCaddyfile reads `store bolt [<path>]`.
func (m *Module) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		m.Path = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(0) {
		return d.Err("store bolt takes no block")
	}
	return nil
}
