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
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/assertion"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/pages"
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

// parseDirective sets up the handler:
//
//	tokengate [optional|verify] {
//		optional
//		verify [{
//			method_header <name>
//			uri_header <name>
//			host_header <name>
//			hosts <name>...
//		}]
//		token_source header <name> | bearer | cookie <name> | query <name>
//		forward_token
//		logout_path <path>
//		handle_errors
//		pages [{
//			login <path>
//			account <path>
//			reset <path>
//			templates <dir>
//			allowed_redirect_hosts <host>...
//		}]
//		login_redirect [<path>|<url>]
//		session_cookie_secure auto|always
//		service <name>
//		assertion [{
//			header <name>
//			ttl <duration>
//			algorithm EdDSA|ES256
//		}]
//	}
//
// `tokengate optional` and `tokengate verify` are short for the block's
// bare optional and verify. A bare login_redirect sends browsers to this route's sign-in page (the
// pages' login path, /login by default).
func parseDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		// The mode as the directive's argument: `tokengate optional`.
		switch d.Val() {
		case "optional":
			h.Optional = true
		case "verify":
			h.Verify = new(VerifyConfig)
		default:
			return d.Errf("unrecognized tokengate argument %q: want optional or verify", d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	bareLoginRedirect := false
	for d.NextBlock(0) {
		switch d.Val() {
		case "optional":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Optional = true
		case "verify":
			v, err := parseVerify(d)
			if err != nil {
				return err
			}
			h.Verify = v
		case "token_source":
			args := d.RemainingArgs()
			src := ""
			switch {
			case len(args) == 1 && args[0] == "bearer":
				src = "bearer"
			case len(args) == 2:
				src = args[0] + ":" + args[1]
			default:
				return d.ArgErr()
			}
			if _, err := caller.ParseSource(src); err != nil {
				return d.Err(err.Error())
			}
			h.TokenSources = append(h.TokenSources, src)
		case "forward_token":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.ForwardToken = true
		case "logout_path":
			if !d.AllArgs(&h.LogoutPath) {
				return d.ArgErr()
			}
		case "handle_errors":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.HandleErrors = true
		case "pages":
			p, err := parsePages(d)
			if err != nil {
				return err
			}
			h.Pages = p
		case "login_redirect":
			args := d.RemainingArgs()
			switch len(args) {
			case 0:
				bareLoginRedirect = true
			case 1:
				h.LoginRedirect = args[0]
			default:
				return d.ArgErr()
			}
		case "session_cookie_secure":
			if !d.AllArgs(&h.SessionCookieSecure) {
				return d.ArgErr()
			}
			if _, err := secureFunc(h.SessionCookieSecure); err != nil {
				return d.Err(err.Error())
			}
		case "service":
			if !d.AllArgs(&h.Service) {
				return d.ArgErr()
			}
		case "assertion":
			a, err := parseAssertion(d)
			if err != nil {
				return err
			}
			h.Assertion = a
		default:
			return d.Errf("unrecognized tokengate subdirective %q", d.Val())
		}
	}
	if bareLoginRedirect {
		h.LoginRedirect = pages.DefaultLogin
		if h.Pages != nil && h.Pages.Login != "" {
			h.LoginRedirect = h.Pages.Login
		}
	}
	return nil
}

// parseVerify reads `verify` and its optional block.
func parseVerify(d *caddyfile.Dispenser) (*VerifyConfig, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	v := new(VerifyConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "method_header", "uri_header", "host_header":
			dst := map[string]*string{"method_header": &v.MethodHeader, "uri_header": &v.URIHeader,
				"host_header": &v.HostHeader}[opt]
			if !d.AllArgs(dst) {
				return nil, d.ArgErr()
			}
			if !isToken(*dst) {
				return nil, d.Errf("bad %s %q: want a header name", opt, *dst)
			}
		case "hosts":
			hosts := d.RemainingArgs()
			if len(hosts) == 0 {
				return nil, d.ArgErr()
			}
			v.Hosts = append(v.Hosts, hosts...)
		default:
			return nil, d.Errf("unrecognized verify option %q", opt)
		}
	}
	if len(v.Hosts) > 0 && v.HostHeader == "" {
		return nil, d.Err("verify: hosts needs host_header")
	}
	return v, nil
}

// parsePages reads `pages` and its optional block.
func parsePages(d *caddyfile.Dispenser) (*PagesConfig, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	p := new(PagesConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() == "allowed_redirect_hosts" {
			hosts := d.RemainingArgs()
			if len(hosts) == 0 {
				return nil, d.ArgErr()
			}
			p.AllowedRedirectHosts = append(p.AllowedRedirectHosts, hosts...)
			continue
		}
		dst := map[string]*string{"login": &p.Login, "account": &p.Account, "reset": &p.Reset,
			"templates": &p.Templates}[d.Val()]
		if dst == nil {
			return nil, d.Errf("unrecognized pages option %q", d.Val())
		}
		if !d.AllArgs(dst) {
			return nil, d.ArgErr()
		}
	}
	return p, nil
}

// parseAssertion reads `assertion` and its optional block.
func parseAssertion(d *caddyfile.Dispenser) (*AssertionConfig, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	a := new(AssertionConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "header":
			if !d.AllArgs(&a.Header) {
				return nil, d.ArgErr()
			}
		case "ttl":
			if err := parseDuration(d, &a.TTL); err != nil {
				return nil, err
			}
		case "algorithm":
			if !d.AllArgs(&a.Algorithm) {
				return nil, d.ArgErr()
			}
			if err := assertion.CheckAlgorithm(a.Algorithm); err != nil {
				return nil, d.Err(err.Error())
			}
		default:
			return nil, d.Errf("unrecognized assertion option %q", d.Val())
		}
	}
	return a, nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
