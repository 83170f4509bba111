package caddymodule

import (
	"context"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/store"
)

// storeNamespace is where store modules register.
const storeNamespace = "tokengate.stores"

// StoreModule is a store backend: a guest module in the tokengate.stores
// namespace. Its Provision and Validate only read its config; nothing
// touches the backend before OpenStore, which the app calls from Start, so
// `caddy validate` opens and changes nothing.
type StoreModule interface {
	caddy.Module
	// Kind names the backend in metrics and logs: "bolt", "redis".
	Kind() string
	// Shared reports whether other processes use the store too; then
	// every instance needs the same configured server key.
	Shared() bool
	// OpenStore opens the store, or takes a handle this process already
	// holds (bbolt locks its file; Caddy starts a new config before it
	// stops the old one), and returns the function that gives this use
	// of it back.
	OpenStore(ctx context.Context) (st store.Store, release func() error, err error)
}

// storeLocator is a StoreModule that says where its store is, for the
// startup log: a path, or addresses; never a password. Optional, so that
// a third party's store module need not have it.
type storeLocator interface {
	Location() string
}

// storeLocation is the module's Location, or "" without one.
func storeLocation(m StoreModule) string {
	if l, ok := m.(storeLocator); ok {
		return l.Location()
	}
	return ""
}
