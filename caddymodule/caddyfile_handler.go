package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/assertion"
	"github.com/tokengate/tokengate/pages"
)

// The http.handlers.tokengate directive: the gate, its modes and pages.

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
// bare optional and verify. A bare login_redirect sends browsers to this
// route's sign-in page (the pages' login path, /login by default).
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
