package caddymodule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"

	"github.com/tokengate/tokengate/auth"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("tokengate", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("tokengate", parseDirective)
	// With the authentication directives, so that it runs before handle,
	// route, respond, reverse_proxy and file_server without an order line.
	httpcaddyfile.RegisterDirectiveOrder("tokengate", httpcaddyfile.Before, "basic_auth")
}

// parseGlobalOption sets up the tokengate app:
//
//	tokengate {
//		store bolt [<path>] | store redis { ... }
//		max_staleness <duration>
//		key <base64>
//		temporary_max_ttl <duration>
//		cache_size <bytes>
//		session_cookie <name>
//		session_cookie_domain <domain>
//		session_ttl <duration>
//		authentication_token_ttl <duration>
//		reset_url <url with {token}>
//		reset_token_ttl <duration>
//		password_min_length <n>
//		password_min_classes <n>
//		password_concurrency <n>
//		failure_budget <count> [<window>]
//		failure_prefixes <ipv4 bits> <ipv6 bits>
//		tokens_admin_role <role>
//		assertion_key_rotation <duration>
//		assertion_issuer <name>
//		user <id> {
//			password <bcrypt hash>
//			name <name>
//			email <email>
//			role <role>
//		}
//	}
func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "tokengate", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "store":
			if err := parseStore(d, a); err != nil {
				return err
			}
		case "max_staleness":
			if err := parseDuration(d, &a.MaxStaleness); err != nil {
				return err
			}
		case "key":
			// One key stays the key field, as before key lists existed.
			switch args := d.RemainingArgs(); len(args) {
			case 0:
				return d.ArgErr()
			case 1:
				a.Key = args[0]
			default:
				a.Keys = args
			}
		case "key_dir":
			if !d.AllArgs(&a.KeyDir) {
				return d.ArgErr()
			}
		case "temporary_max_ttl":
			if err := parseDuration(d, &a.TemporaryMaxTTL); err != nil {
				return err
			}
		case "session_ttl":
			if err := parseDuration(d, &a.SessionTTL); err != nil {
				return err
			}
		case "authentication_token_ttl":
			if err := parseDuration(d, &a.AuthenticationTokenTTL); err != nil {
				return err
			}
		case "reset_token_ttl":
			if err := parseDuration(d, &a.ResetTokenTTL); err != nil {
				return err
			}
		case "reset_url":
			if !d.AllArgs(&a.ResetURL) {
				return d.ArgErr()
			}
		case "password_min_length", "password_min_classes", "password_concurrency":
			dst := map[string]*int{"password_min_length": &a.PasswordMinLength,
				"password_min_classes": &a.PasswordMinClasses, "password_concurrency": &a.PasswordConcurrency}[d.Val()]
			if err := parseInt(d, dst); err != nil {
				return err
			}
		case "failure_budget":
			// failure_budget <count> [<window>]
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return d.Errf("bad failure_budget count %q", args[0])
			}
			a.FailureBudget = n
			if len(args) == 2 {
				dur, err := checkedDuration("failure_budget window", args[1])
				if err != nil {
					return d.Err(err.Error())
				}
				a.FailureWindow = caddy.Duration(dur)
			}
		case "failure_prefixes":
			var v4, v6 string
			if !d.AllArgs(&v4, &v6) {
				return d.ArgErr()
			}
			n4, err4 := strconv.Atoi(v4)
			n6, err6 := strconv.Atoi(v6)
			if err4 != nil || err6 != nil || n4 < 1 || n4 > 32 || n6 < 1 || n6 > 128 {
				return d.Errf("bad failure_prefixes %s %s: want IPv4 bits 1-32 and IPv6 bits 1-128", v4, v6)
			}
			a.FailureIPv4Prefix, a.FailureIPv6Prefix = n4, n6
		case "session_cookie":
			if !d.AllArgs(&a.SessionCookie) {
				return d.ArgErr()
			}
		case "session_cookie_domain":
			if !d.AllArgs(&a.SessionCookieDomain) {
				return d.ArgErr()
			}
		case "tokens_admin_role":
			if !d.AllArgs(&a.TokensAdminRole) {
				return d.ArgErr()
			}
		case "assertion_key_rotation":
			if err := parseDuration(d, &a.AssertionKeyRotation); err != nil {
				return err
			}
		case "assertion_issuer":
			if !d.AllArgs(&a.AssertionIssuer) {
				return d.ArgErr()
			}
		case "cache_size":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(s)
			if err != nil || n == 0 {
				return d.Errf("bad cache_size %q: want a size such as 64MiB", s)
			}
			a.CacheSize = int64(n)
		case "user":
			u, err := parseUser(d)
			if err != nil {
				return err
			}
			a.Users = append(a.Users, u)
		default:
			return d.Errf("unrecognized tokengate option %q", d.Val())
		}
	}
	return nil
}

// parseStore reads `store <module> ...`: the module (tokengate.stores.<module>)
// reads the rest. A second store line is an error, not a silent override.
func parseStore(d *caddyfile.Dispenser, a *App) error {
	if a.StoreRaw != nil {
		return d.Err("store given twice: a tokengate block has one store")
	}
	if !d.NextArg() {
		return d.ArgErr()
	}
	name := d.Val()
	if _, err := caddy.GetModule(storeNamespace + "." + name); err != nil {
		var have []string
		for _, m := range caddy.GetModules(storeNamespace) {
			have = append(have, m.ID.Name())
		}
		return d.Errf("unknown store %q (this build has: %s)", name, strings.Join(have, ", "))
	}
	mod, err := caddyfile.UnmarshalModule(d, storeNamespace+"."+name)
	if err != nil {
		return err
	}
	a.StoreRaw = caddyconfig.JSONModuleObject(mod, "module", name, nil)
	return nil
}

// parseDuration reads the option's one argument as a duration that
// auth.CheckTTL accepts.
func parseDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	opt := d.Val()
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	dur, err := checkedDuration(opt, s)
	if err != nil {
		return d.Err(err.Error())
	}
	*dst = caddy.Duration(dur)
	return nil
}

// checkedDuration parses s as Caddy does (days included) and checks it
// with auth.CheckTTL; an error names opt and says what is wanted. Caddy
// refuses what time.Duration cannot hold (292 years) with only "invalid
// duration": the message says the bound.
func checkedDuration(opt, s string) (time.Duration, error) {
	dur, err := caddy.ParseDuration(s)
	if err == nil {
		err = auth.CheckTTL(opt, dur)
	}
	if err != nil {
		return 0, fmt.Errorf("bad %s %q: want a positive duration of at most %s (100 years)", opt, s, auth.MaxTTL)
	}
	return dur, nil
}

// parseInt reads the option's one argument as a positive integer.
func parseInt(d *caddyfile.Dispenser, dst *int) error {
	opt := d.Val()
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return d.Errf("bad %s %q: want a positive integer", opt, s)
	}
	*dst = n
	return nil
}

func parseUser(d *caddyfile.Dispenser) (UserConfig, error) {
	var u UserConfig
	if !d.AllArgs(&u.ID) {
		return u, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var dst *string
		switch d.Val() {
		case "password":
			dst = &u.Password
		case "name":
			dst = &u.Name
		case "email":
			dst = &u.Email
		case "role":
			dst = &u.Role
		default:
			return u, d.Errf("unrecognized user option %q", d.Val())
		}
		if !d.AllArgs(dst) {
			return u, d.ArgErr()
		}
	}
	if err := u.declared().Check(); err != nil {
		return u, d.Err(err.Error())
	}
	return u, nil
}
