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
	bearer            // one HS256 JWT minted by the harness, as Authorization: Bearer (wrk -H)
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
	// global is extra global options (a peer's security block); SECRET
	// stands for the shared HS256 secret.
	global string
	// peer names the peers entry whose binary serves this configuration;
	// "" is tokengate's own cmd/caddy.
	peer string
	// control is the row this one's ratio is taken against: a bare
	// reverse_proxy served by the same binary. "" is baseline.
	control string
	// skip, when set, says why the row is not measured; the table shows
	// it in place of numbers.
	skip string
}

// gated configurations refuse a request without a token.
func (c config) gated() bool { return c.store != "" || c.tokens == bearer }

// controlName is the row c's ratio is taken against.
func (c config) controlName() string {
	if c.control == "" {
		return baseline
	}
	return c.control
}

// baseline is the configuration ratios are taken to.
const baseline = "reverse_proxy"

// peerControl is the bare reverse_proxy served by a peer's binary.
func peerControl(p string) string { return "reverse_proxy (" + p + " binary)" }

// caddySecurityGlobal is caddy-security's authorization policy: HS256
// with the shared secret, the token taken from a Bearer Authorization
// header only, 401 rather than a redirect to a login portal without one
// (what an API gate does), and any token with the bench role allowed.
const caddySecurityGlobal = `security {
		authorization policy benchpolicy {
			crypto key verify SECRET
			set token sources header
			validate bearer header
			disable auth redirect
			allow roles ` + peerRole + `
		}
	}`

// peerConfigurations are the other projects' plugins, each with its own
// binary's control row just before it. Quick mode keeps only the first
// peer, so that CI proves a peer build still works without building
// every one; skipped peers appear only in the full run's table.
func peerConfigurations(quick bool) []config {
	cs := []config{
		// Its own control: it runs before the row it controls, not
		// against tokengate's baseline.
		{name: peerControl(caddySecurity), site: "reverse_proxy UPSTREAM", path: "/",
			peer: caddySecurity, control: peerControl(caddySecurity)},
		{name: "caddy-security (authorize, HS256 Bearer)", global: caddySecurityGlobal,
			site: "route {\n\t\tauthorize with benchpolicy\n\t\treverse_proxy UPSTREAM\n\t}",
			path: "/", tokens: bearer, peer: caddySecurity, control: peerControl(caddySecurity)},
	}
	if quick {
		return cs
	}
	return append(cs, config{name: "ggicci/caddy-jwt", skip: skippedJWT})
}

// configurations lists every configuration in the order each round runs
// them: the ungated references (a bare respond, the bare reverse_proxy
// every ratio is taken to, and plain Caddy's forward_auth), then each
// gated one per store, then the peers (peerConfigurations).
func configurations(quick bool) []config {
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
	return append(cs, peerConfigurations(quick)...)
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
	Port   int
	Global string // extra global options
	Site   string // the site block's directives
	Store  string // the tokengate store option; "" when ungated
	Key    string // base64 server key
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
{{- if .Global}}
	{{.Global}}
{{- end}}
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
// of a gated configuration; secret is the peers' HS256 secret.
func (c config) caddyfile(port int, upstream, storeOption, key, secret string) (string, error) {
	t, err := template.New("Caddyfile").Option("missingkey=error").Parse(caddyfileTmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, caddyfileData{
		Port:   port,
		Global: strings.ReplaceAll(c.global, "SECRET", secret),
		Site:   strings.ReplaceAll(c.site, "UPSTREAM", upstream),
		Store:  storeOption,
		Key:    key,
	})
	return b.String(), err
}
