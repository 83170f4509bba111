// Command caddy is Caddy with Caddy's standard modules and tokengate.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/tokengate/tokengate"
)

func main() {
	caddycmd.Main()
}
