package main

import (
	"bytes"
	"net/http"
	"strings"
	"text/template"
)

// tokenUse is how wrk presents tokens to a configuration.
type tokenUse int

const (
	noToken  tokenUse = iota
	hot               // one token on every request (wrk -H)
	rotating          // rotatingTokens distinct tokens in turn (rotate.lua)
	cold              // every request a token never sent before (cold.lua)
)

// generationPath is Onezone's temporary-token endpoint; GET answers 200
// {"generation": N} to an authenticated caller.
const generationPath = "/api/v3/onezone/user/tokens/temporary"

// config is one Caddy process and the load wrk puts on it.
type config struct {
	name   string   // the table row
	store  string   // "bolt" or "redis" for a gated configuration, else ""
	site   string   // the site block's directives; UPSTREAM stands for the upstream
	path   string   // what wrk requests
	tokens tokenUse // what wrk sends
}

func (c config) gated() bool { return c.store != "" }

// baseline is the configuration ratios are taken to.
const baseline = "reverse_proxy"

// configurations lists every configuration in the order each round runs
// them: the ungated references (a bare respond, the bare reverse_proxy
// every ratio is taken to, and plain Caddy's forward_auth), then each
// gated one per store.
func configurations() []config {
	cs := []config{
		{name: "respond", site: `respond "ok" 200`, path: "/"},
		{name: baseline, site: "reverse_proxy UPSTREAM", path: "/"},
		// The cheapest forward-auth design: every request first asks an
		// endpoint that always says yes (the upstream answers 200 on any
		// path). Authelia, oauth2-proxy and Oathkeeper's /decisions can
		// only cost more than this row.
		{name: "forward_auth (always 200)", site: "forward_auth UPSTREAM {\n\t\turi /auth\n\t}\n\treverse_proxy UPSTREAM", path: "/"},
	}
	gated := []config{
		{name: "tokengate hot", site: "tokengate\n\treverse_proxy UPSTREAM", path: "/", tokens: hot},
		{name: "tokengate 10k rotating", site: "tokengate\n\treverse_proxy UPSTREAM", path: "/", tokens: rotating},
		{name: "tokengate cold", site: "tokengate\n\treverse_proxy UPSTREAM", path: "/", tokens: cold},
		{name: "tokengate + respond", site: "tokengate\n\trespond \"ok\" 200", path: "/", tokens: hot},
		{name: "generation endpoint", site: "tokengate\n\treverse_proxy UPSTREAM", path: generationPath, tokens: hot},
	}
	for _, store := range []string{"bolt", "redis"} {
		for _, g := range gated {
			g.name += " (" + store + ")"
			g.store = store
			cs = append(cs, g)
		}
	}
	return cs
}

// expected is the status a request gets, with and without a valid token.
// Ungated configurations answer 200 either way.
func (c config) expected(withToken bool) int {
	if c.gated() && !withToken {
		return http.StatusUnauthorized
	}
	return http.StatusOK
}

// caddyfileData fills caddyfileTmpl.
type caddyfileData struct {
	Port  int
	Site  string // the site block's directives
	Store string // the tokengate store option; "" when ungated
	Key   string // base64 server key
}

// The admin endpoint is off: nothing here reloads, and twelve processes
// would need twelve admin ports. cache_size comfortably holds the rotating
// set; the store option gives each process its own bolt file or prefix.
const caddyfileTmpl = `{
	admin off
	auto_https off
	persist_config off
	default_bind 127.0.0.1
	grace_period 1s
{{- if .Store}}
	tokengate {
		{{.Store}}
		key {{.Key}}
		cache_size 64MiB
	}
{{- end}}
}

http://127.0.0.1:{{.Port}} {
	{{.Site}}
}
`

// caddyfile renders c's Caddyfile. storeOption is the `store ...` option
// of a gated configuration.
func (c config) caddyfile(port int, upstream, storeOption, key string) (string, error) {
	t, err := template.New("Caddyfile").Option("missingkey=error").Parse(caddyfileTmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, caddyfileData{
		Port:  port,
		Site:  strings.ReplaceAll(c.site, "UPSTREAM", upstream),
		Store: storeOption,
		Key:   key,
	})
	return b.String(), err
}
