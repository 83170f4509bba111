package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

// caddyfile is a test's Caddyfile. Every test gets the same preamble —
// the global options that tie Caddy to this test's admin port (no
// automatic HTTPS, no persisted config, a short grace period, loopback
// only) and a global tokengate block declaring alice and bob — and adds
// its own global options, app options, users and sites.
//
// Every string is a Caddyfile fragment: one option, directive or block,
// written at column 0 (nested lines indented with tabs, as in a
// Caddyfile); rendering indents it to its place. Fragments may use the
// fields of cfgData, which differ per process: {{.Upstream}} (the test's
// upstream), {{.Dir}} (its scratch directory), {{index .Site 1}} (the
// address of site 1), {{.AliceHash}}.
type caddyfile struct {
	// Snippets, written before the global options block.
	Snippets []string
	// Global options after the preamble's own, e.g. a servers block.
	Global []string
	// Options of the global tokengate block, before the users.
	App []string
	// Users declared in the tokengate block; nil: alice and bob
	// (aliceUser, bobUser). noUsers declares none.
	Users []string
	// NoApp leaves the global tokengate block out, so that a tokengate
	// directive gets an app with the defaults.
	NoApp bool
	// Sites, one per site port of the process, in order; nil: one gated
	// site in front of the upstream (the zero site).
	Sites []site
}

// site is one site block. The zero site is gated by a bare tokengate
// directive in front of the test's upstream.
type site struct {
	// Host is the site address's host; default 127.0.0.1. A name ending
	// in .test resolves to loopback for the harness's clients (see
	// dialLoopback); a browser needs a host-resolver rule.
	Host string
	// Before holds directives written before the tokengate directive.
	Before []string
	// Gate holds the options of the tokengate directive's block; none:
	// a bare `tokengate`.
	Gate []string
	// NoGate leaves the tokengate directive out.
	NoGate bool
	// Body holds the directives after the tokengate directive; nil:
	// reverse_proxy to the upstream.
	Body []string
}

// The users every test knows.
const (
	aliceUser = `user alice {
	password {{.AliceHash}}
	name "Alice Example"
	email alice@example.com
	role Editor
}`
	bobUser = `user bob {
	password {{.BobHash}}
	name "Bob Builder"
	email bob@example.com
	role Viewer
}`
)

// noUsers declares no user (a nil Users declares alice and bob).
var noUsers = []string{}

// proxyToUpstream is a site body's default.
const proxyToUpstream = "reverse_proxy {{.Upstream}}"

// gatedSite is one gated site in front of the upstream, with alice and
// bob and a one-hour maximum TTL.
var gatedSite = caddyfile{App: []string{"temporary_max_ttl 1h"}}

// withApp returns a copy of cf with more app options after its own.
func (cf caddyfile) withApp(opts ...string) caddyfile {
	cf.App = append(append([]string(nil), cf.App...), opts...)
	return cf
}

// withUsers returns a copy of cf declaring exactly users.
func (cf caddyfile) withUsers(users ...string) caddyfile {
	cf.Users = append([]string{}, users...)
	return cf
}

func (cf caddyfile) sites() []site {
	if cf.Sites == nil {
		return []site{{}}
	}
	return cf.Sites
}

func (cf caddyfile) users() []string {
	if cf.Users == nil {
		return []string{aliceUser, bobUser}
	}
	return cf.Users
}

// cfgData is what the fragments of a caddyfile are rendered with.
type cfgData struct {
	Admin    string   // 127.0.0.1:<port> of the admin endpoint
	Site     []string // http://<host>:<port> site addresses, one per port
	Upstream string   // host:port of this test's upstream
	Dir      string   // the test's scratch directory (logs, extra files)

	AliceHash, BobHash string
}

// sharedStore is what the Redis pass adds to a config's tokengate block
// (see bothStores).
type sharedStore struct {
	addr   string // the Redis under test
	prefix string // the process's own key prefix
}

// redisPrefix is the key prefix of a process whose scratch directory is
// scope: its own, so that the tests sharing the pass's Redis do not meet.
func redisPrefix(scope string) string {
	sum := sha256.Sum256([]byte(scope))
	return "t" + strconv.FormatUint(uint64(sum[0])<<16|uint64(sum[1])<<8|uint64(sum[2]), 36) + ":"
}

// render writes cf out for one process. With a shared store (the Redis
// pass) the tokengate block gets it, with the shared test key, unless the
// config sets a store itself; a config without the block that gates a
// site gets one holding just those.
func (cf caddyfile) render(d cfgData, shared *sharedStore) (string, error) {
	sites := cf.sites()
	if len(sites) > len(d.Site) {
		return "", fmt.Errorf("%d sites, but a process has %d site ports", len(sites), len(d.Site))
	}
	var app []string
	if !cf.NoApp {
		app = append(append(app, cf.App...), cf.users()...)
	}
	if shared != nil && !hasOption(app, "store") && (!cf.NoApp || gates(sites)) {
		extra := []string{"store redis {\n\taddress " + shared.addr + "\n\tkey_prefix " + shared.prefix + "\n}"}
		if !hasOption(app, "key") {
			extra = append(extra, "key "+testKey)
		}
		app = append(extra, app...)
	}
	var b strings.Builder
	write(&b, 0, cf.Snippets...)
	b.WriteString("{\n")
	write(&b, 1, "admin {{.Admin}}", "auto_https off", "persist_config off", "grace_period 1s", "default_bind 127.0.0.1")
	write(&b, 1, cf.Global...)
	if !cf.NoApp || len(app) > 0 {
		write(&b, 1, "tokengate {")
		write(&b, 2, app...)
		write(&b, 1, "}")
	}
	b.WriteString("}\n")
	for i, s := range sites {
		b.WriteString("\n{{index .Site " + strconv.Itoa(i) + "}} {\n")
		write(&b, 1, s.Before...)
		switch {
		case s.NoGate:
		case len(s.Gate) == 0:
			write(&b, 1, "tokengate")
		default:
			write(&b, 1, "tokengate {")
			write(&b, 2, s.Gate...)
			write(&b, 1, "}")
		}
		body := s.Body
		if body == nil {
			body = []string{proxyToUpstream}
		}
		write(&b, 1, body...)
		b.WriteString("}\n")
	}
	tp, err := template.New("Caddyfile").Option("missingkey=error").Parse(b.String())
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := tp.Execute(&out, d); err != nil {
		return "", err
	}
	return out.String(), nil
}

// host is the host of site i's address.
func (cf caddyfile) host(i int) string {
	if s := cf.sites(); i < len(s) && s[i].Host != "" {
		return s[i].Host
	}
	return "127.0.0.1"
}

// write writes fragments, each line indented by depth tabs.
func write(b *strings.Builder, depth int, fragments ...string) {
	for _, f := range fragments {
		for _, line := range strings.Split(strings.Trim(f, "\n"), "\n") {
			if strings.TrimSpace(line) != "" {
				b.WriteString(strings.Repeat("\t", depth))
			}
			b.WriteString(line + "\n")
		}
	}
}

// hasOption reports whether one of opts is the option name.
func hasOption(opts []string, name string) bool {
	for _, o := range opts {
		if f := strings.Fields(o); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

// gates reports whether a site has the tokengate directive.
func gates(sites []site) bool {
	for _, s := range sites {
		if !s.NoGate {
			return true
		}
	}
	return false
}

// trustLoopbackProxy makes Caddy take the client address from
// X-Forwarded-For when the request comes from 127.0.0.1, so that a test
// can play several clients.
const trustLoopbackProxy = "servers {\n\ttrusted_proxies static 127.0.0.1/32\n}"
