// Package tokengate is the module root: importing it registers every
// tokengate Caddy module (the tokengate app, the http.handlers.tokengate
// handler, the admin API, the store modules), so that the standard
//
//	xcaddy build v2.11.9 --with github.com/tokengate/tokengate
//
// builds Caddy with all of them, as it does for other plugins whose
// module path is their repository. The modules themselves live in
// caddymodule; this package holds nothing else.
package tokengate

import (
	_ "github.com/tokengate/tokengate/caddymodule"
)
