package caddymodule

import (
	"github.com/tokengate/tokengate/caddymodule/stores/boltstore"
	"github.com/tokengate/tokengate/caddymodule/stores/redisstore"
)

// The two store modules that ship with tokengate; a third registers
// itself from its own package, added to the build with xcaddy --with.
var (
	_ StoreModule = (*boltstore.Module)(nil)
	_ StoreModule = (*redisstore.Module)(nil)

	_ storeLocator = (*boltstore.Module)(nil)
	_ storeLocator = (*redisstore.Module)(nil)

	_ degradedStarter = (*redisstore.Module)(nil)
)
