// Package caddymodule wires tokengate into Caddy: the tokengate app that
// owns shared state, the http.handlers.tokengate handler, and their
// Caddyfile syntax.
package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the tokengate app: the store, server key, users and caches that
// every tokengate handler in the config shares. A handler used without
// the app in the config gets one with the defaults.
type App struct {
	// Where users and token state live: a module of the tokengate.stores
	// namespace, named by its "module" key ("bolt" or "redis"). Default:
	// the embedded bolt store at tokengate/tokengate.db in Caddy's data
	// directory.
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=tokengate.stores inline_key=module"`

	// The server key every signing key is derived from: at least 32 random
	// bytes in standard or URL-safe base64. Placeholders such as
	// {env.TOKENGATE_KEY} are expanded. Default: a key generated once and
	// kept in tokengate/server.key in Caddy's data directory.
	Key string `json:"key,omitempty"`

	// Server keys, newest first, instead of key: new tokens are signed
	// with the first, and tokens of the others verify until they expire.
	// Removing a key kills exactly its tokens. Placeholders are expanded
	// in each ({file./run/secrets/k1} reads a key from a file). See
	// "Rotating keys" in the README.
	Keys []string `json:"keys,omitempty"`

	// A directory whose files each hold one server key, instead of key
	// or keys. Files are ordered by name, the greatest newest (name them
	// by date: 2026-12-03.key); names starting with "." are skipped. It
	// is read when the config loads, so a reload picks up added and
	// removed files.
	KeyDir string `json:"key_dir,omitempty"`

	// The longest lifetime a temporary token may be created with.
	// Default: 720h (30 days, as Onezone ships).
	TemporaryMaxTTL caddy.Duration `json:"temporary_max_ttl,omitempty"`

	// Bytes of memory the caches of verified tokens and user state may
	// use. Default: 64 MiB.
	CacheSize int64 `json:"cache_size,omitempty"`

	// Name of the browser session cookie, without a __Host- or __Secure-
	// prefix: over HTTPS (see the handler's session_cookie_secure) the
	// cookie is Secure and named __Host-<name>. Default: tokengate_session.
	SessionCookie string `json:"session_cookie,omitempty"`

	// The parent domain whose hosts share the session cookie, for single
	// sign-on: with example.com, the cookie is set with Domain=example.com
	// on example.com and every host under it, so that signing in on
	// auth.example.com signs the browser in on app.example.com too, and
	// signing out on any of them ends the one session everywhere. Over
	// HTTPS the shared cookie is named __Secure-<name> (__Host- forbids a
	// Domain). Every host under the domain then sees the session cookie:
	// give it only a domain whose hosts are all trusted. On a host outside
	// it (an IP address) the cookie stays host-only. A name of at least
	// two labels, without a leading dot: browsers refuse Domain=localhost
	// or a public suffix. Default: none, a host-only cookie.
	SessionCookieDomain string `json:"session_cookie_domain,omitempty"`

	// How long a browser session lasts. Default: 12h.
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`

	// Lifetime of an OpenPaaS authentication (handoff) token.
	// Default: 60s, as OpenPaaS.
	AuthenticationTokenTTL caddy.Duration `json:"authentication_token_ttl,omitempty"`

	// Link sent for a password reset; {token} is replaced by the token,
	// URL-escaped. Default: /reset-password?token={token}.
	ResetURL string `json:"reset_url,omitempty"`

	// How long a password-reset token stays valid. Default: 24h.
	ResetTokenTTL caddy.Duration `json:"reset_token_ttl,omitempty"`

	// Shortest password accepted when one is set or reset. Default: 10.
	PasswordMinLength int `json:"password_min_length,omitempty"`

	// Fewest character kinds (lower, upper, digit, other) a new password
	// must mix. Default: 2.
	PasswordMinClasses int `json:"password_min_classes,omitempty"`

	// Failed credentials a client IP may present per failure_window before
	// it gets 429; a target user may take ten times as many. Default: 10.
	FailureBudget int `json:"failure_budget,omitempty"`

	// The brute-force window. Default: 5m.
	FailureWindow caddy.Duration `json:"failure_window,omitempty"`

	// Leading bits of a client's IPv4 address that name its brute-force
	// budget: 32 counts each address, 24 each /24. Default: 32.
	FailureIPv4Prefix int `json:"failure_ipv4_prefix,omitempty"`

	// Likewise for IPv6; a subscriber usually holds a whole /64, so
	// counting per address would give one host 2^64 budgets. Default: 64.
	FailureIPv6Prefix int `json:"failure_ipv6_prefix,omitempty"`

	// Password hashes computed or checked at once, so that a password
	// flood cannot starve token checks. Default: half the CPUs, at least 1.
	PasswordConcurrency int `json:"password_concurrency,omitempty"`

	// How long cached user state may be trusted after a shared store's
	// change notifications stop arriving (Redis subscription broken).
	// Default: 2s.
	MaxStaleness caddy.Duration `json:"max_staleness,omitempty"`

	// The user role that may manage every user's tokens through the
	// Onezone API (/api/v3/onezone/users/{id}/tokens/..., and another
	// user's /tokens/named/{id}), as Onezone's oz_tokens_manage privilege
	// does. Default: "", no role may; each user manages only their own.
	TokensAdminRole string `json:"tokens_admin_role,omitempty"`

	// How long an assertion signing key signs before the next replaces
	// it (the rotation happens as a gate signs, by whichever instance
	// sharing the store comes first). A new key is published in the JWKS
	// a tenth of this before it signs, and a retired one stays for one
	// more period. Default: 24h.
	AssertionKeyRotation caddy.Duration `json:"assertion_key_rotation,omitempty"`

	// The iss claim of the assertions. Default: tokengate.
	AssertionIssuer string `json:"assertion_issuer,omitempty"`

	// Users declared in the config. They are written to the store when
	// the config starts (never by `caddy validate`), marked as
	// config-managed; a config-managed user no longer declared is blocked
	// and marked orphaned, not deleted: declaring it again restores it,
	// and `caddy tokengate user delete` removes it for good. Default: none.
	Users []UserConfig `json:"users,omitempty"`

	// Built by Provision, without touching the store or the data directory.
	store   StoreModule        // loaded from StoreRaw
	keys    []tokens.ServerKey // newest first; none: the key file, read in Start
	metrics *metrics
	reg     *prometheus.Registry
	logger  *zap.Logger
	ctx     caddy.Context // to read the http app and the logs in Start

	run *running
}

// running is what Start acquires (or the first request, if the http app
// starts first: Caddy starts apps in no fixed order) and Cleanup
// releases. Provision makes it, so that the App itself stays a plain
// config value.
type running struct {
	once    sync.Once
	err     error
	auth    atomic.Pointer[auth.Service]
	release []func() error // in order of acquisition
	stop    chan struct{}
	done    chan struct{}

	// A degraded start (degraded.go): retrying says the retries run;
	// quit ends them, retried is closed once they have ended.
	retrying atomic.Bool
	quit     chan struct{}
	quitOnce sync.Once
	retried  chan struct{}

	// The service names of this config's gated routes, which each
	// handler adds as it is provisioned: a token is not created with a
	// service caveat that no route of the config could accept.
	servicesMu sync.RWMutex
	services   map[string]struct{}
	// algorithms are those the config's assertions sign with (under
	// servicesMu, which guards what handlers record as provisioned).
	algorithms []string
}

// Defaults.
const (
	defaultSessionCookie = "tokengate_session"
	defaultSessionTTL    = 12 * time.Hour
	defaultHandoffTTL    = 60 * time.Second
	// purgeEvery is how often expired sessions and handoff tokens are
	// removed from the store. Expiry itself is exact; this only bounds
	// the store's growth.
	purgeEvery = time.Minute
)

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tokengate",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision sets the defaults and builds what needs neither the store
// nor the data directory: `caddy validate` runs it, and so does a reload
// that Caddy may still reject. Opening the store, generating the key file
// and syncing the declared users wait for Start.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.ctx = ctx
	if a.StoreRaw == nil {
		a.StoreRaw = json.RawMessage(`{"module":"bolt"}`)
	}
	mod, err := ctx.LoadModule(a, "StoreRaw")
	if err != nil {
		return fmt.Errorf("loading store module: %w", err)
	}
	st, ok := mod.(StoreModule)
	if !ok {
		return fmt.Errorf("store module %T is not a tokengate store", mod)
	}
	a.store = st
	if a.TemporaryMaxTTL == 0 {
		a.TemporaryMaxTTL = caddy.Duration(auth.DefaultMaxTemporaryTTL)
	}
	if a.CacheSize == 0 {
		a.CacheSize = auth.DefaultCacheSize
	}
	if a.SessionCookie == "" {
		a.SessionCookie = defaultSessionCookie
	}
	if a.SessionTTL == 0 {
		a.SessionTTL = caddy.Duration(defaultSessionTTL)
	}
	if a.AuthenticationTokenTTL == 0 {
		a.AuthenticationTokenTTL = caddy.Duration(defaultHandoffTTL)
	}
	if a.ResetURL == "" {
		a.ResetURL = "/reset-password?token={token}"
	}
	if a.ResetTokenTTL == 0 {
		a.ResetTokenTTL = caddy.Duration(auth.DefaultResetTTL)
	}
	if a.PasswordMinLength == 0 {
		a.PasswordMinLength = auth.DefaultPolicy.MinLength
	}
	if a.PasswordMinClasses == 0 {
		a.PasswordMinClasses = auth.DefaultPolicy.MinClasses
	}
	if a.FailureBudget == 0 {
		a.FailureBudget = auth.DefaultBudget.Max
	}
	if a.FailureIPv4Prefix == 0 {
		a.FailureIPv4Prefix = auth.DefaultIPv4Prefix
	}
	if a.FailureIPv6Prefix == 0 {
		a.FailureIPv6Prefix = auth.DefaultIPv6Prefix
	}
	if a.FailureWindow == 0 {
		a.FailureWindow = caddy.Duration(auth.DefaultBudget.Window)
	}
	if a.PasswordConcurrency == 0 {
		a.PasswordConcurrency = max(runtime.NumCPU()/2, 1)
	}
	if a.MaxStaleness == 0 {
		a.MaxStaleness = caddy.Duration(auth.DefaultMaxStaleness)
	}
	if a.AssertionKeyRotation == 0 {
		a.AssertionKeyRotation = caddy.Duration(auth.DefaultAssertionRotation)
	}
	if a.AssertionIssuer == "" {
		a.AssertionIssuer = auth.DefaultAssertionIssuer
	}
	if a.store.Shared() && !a.keysConfigured() {
		return fmt.Errorf("key is required with a shared store: every instance must derive the same signing keys " +
			"(set it from a secret, e.g. key {env.TOKENGATE_KEY})")
	}
	if a.keys, err = a.configuredKeys(); err != nil {
		return err
	}
	a.run = new(running)
	a.reg = ctx.GetMetricsRegistry()
	if a.metrics, err = loadMetrics(a.reg); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Validate checks the config.
func (a *App) Validate() error {
	if a.CacheSize <= 0 {
		return fmt.Errorf("cache_size must be positive")
	}
	// In a fixed order, so that a config with two bad durations always
	// names the same one.
	for _, d := range [...]struct {
		name string
		d    caddy.Duration
	}{
		{"temporary_max_ttl", a.TemporaryMaxTTL}, {"session_ttl", a.SessionTTL},
		{"authentication_token_ttl", a.AuthenticationTokenTTL}, {"reset_token_ttl", a.ResetTokenTTL},
		{"failure_window", a.FailureWindow}, {"max_staleness", a.MaxStaleness},
		{"assertion_key_rotation", a.AssertionKeyRotation},
	} {
		if err := auth.CheckTTL(d.name, time.Duration(d.d)); err != nil {
			return err
		}
	}
	if a.PasswordMinLength < 1 || a.PasswordMinClasses < 1 || a.PasswordMinClasses > 4 ||
		a.FailureBudget < 1 || a.PasswordConcurrency < 1 {
		return fmt.Errorf("password_min_length, failure_budget and password_concurrency must be positive; password_min_classes 1-4")
	}
	if a.FailureIPv4Prefix < 1 || a.FailureIPv4Prefix > 32 || a.FailureIPv6Prefix < 1 || a.FailureIPv6Prefix > 128 {
		return fmt.Errorf("failure_prefixes: IPv4 prefix 1-32, IPv6 prefix 1-128")
	}
	if p := cookiePrefix(a.SessionCookie); p != "" {
		return fmt.Errorf("session_cookie %q: give the name without %s; tokengate adds __Host- itself whenever the cookie is Secure",
			a.SessionCookie, p)
	}
	if err := checkCookieDomain(a.SessionCookieDomain); err != nil {
		return err
	}
	if !strings.Contains(a.ResetURL, "{token}") {
		return fmt.Errorf("reset_url must contain {token}")
	}
	for i, u := range a.Users {
		if err := u.declared().Check(); err != nil {
			return fmt.Errorf("users[%d]: %w", i, err)
		}
	}
	return nil
}

// cookiePrefix returns the cookie-name prefix that browsers give a
// meaning (RFC 6265bis: __Host-, __Secure-, in any case) name begins
// with, or "".
func cookiePrefix(name string) string {
	for _, p := range []string{"__Host-", "__Secure-"} {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return name[:len(p)]
		}
	}
	return ""
}

// checkCookieDomain checks session_cookie_domain: empty, or a lower-case
// DNS name of two labels or more. A browser ignores a cookie whose
// Domain it will not take (a single label, an IP address), and the
// sign-in would then silently not stick.
func checkCookieDomain(d string) error {
	if d == "" {
		return nil
	}
	if !isDomainName(d) || !strings.Contains(d, ".") {
		return fmt.Errorf("session_cookie_domain %q: want a lower-case domain name of two labels or more, "+
			"without a leading dot, such as example.com", d)
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return fmt.Errorf("session_cookie_domain %q: want a domain name, not an IP address", d)
	}
	return nil
}

// isDomainName reports whether s is a lower-case ASCII DNS name: labels
// of letters, digits and inner hyphens, joined by single dots.
func isDomainName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ResetLink builds the link for a password-reset token.
func (a *App) ResetLink(tok string) string {
	return strings.ReplaceAll(a.ResetURL, "{token}", url.QueryEscape(tok))
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
