package pages

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrRedirectHost: an allowed_redirect_hosts entry is not a host name
// or a *.<domain> pattern.
var ErrRedirectHost = errors.New("bad redirect host")

// SafeRedirect returns target if it is a path on this site, else "/", so
// that the sign-in page cannot be used to send people elsewhere (an open
// redirect). A path on this site starts with exactly one "/", has no
// scheme or host, holds no backslash or control character, and its path
// holds no "//", raw or percent-decoded: browsers read "\" as "/" and
// drop tabs and newlines, and an app behind the gate may decode "%2F"
// before redirecting in turn.
func SafeRedirect(target string) string {
	if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || hasControlOrBackslash(target) {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.Contains(u.Path, "//") || hasControlOrBackslash(u.Path) {
		return "/"
	}
	return target
}

// RedirectHosts are the hosts other than its own that the sign-in page
// may send a browser back to once signed in (single sign-on: the page
// on auth.example.com signs in for app.example.com): exact names, or
// "*.example.com" for every name under example.com (not example.com
// itself). Names are compared without case and without the port.
type RedirectHosts []string

// Check reports whether every entry is a host name or a *. pattern.
func (hs RedirectHosts) Check() error {
	for _, h := range hs {
		name := strings.TrimPrefix(h, "*.")
		if !validHostname(name) || strings.Contains(name, "*") {
			return fmt.Errorf("%w: %q: want a host name such as app.example.com or a pattern such as *.example.com",
				ErrRedirectHost, h)
		}
	}
	return nil
}

// allows reports whether host (a name without port) is one of hs.
func (hs RedirectHosts) allows(host string) bool {
	for _, h := range hs {
		if suffix, ok := strings.CutPrefix(h, "*"); ok {
			// suffix is ".example.com": at least one label before it.
			if len(host) > len(suffix) && strings.EqualFold(host[len(host)-len(suffix):], suffix) {
				return true
			}
		} else if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// SafeRedirectTo returns target if it is a path on this site
// (SafeRedirect), or an absolute http or https URL of ownHost (the
// request's Host, port and all) or of a host allowed lists; anything
// else gives "/". Only the plainest spelling of an absolute URL passes:
// "http://" or "https://", a host of letters, digits, dots and hyphens
// with an optional numeric port, no user info, no percent-escape,
// backslash, white space or control character anywhere, and a path as
// SafeRedirect wants one. Browsers repair many other spellings into a
// host other than the one a parser here would see.
func SafeRedirectTo(target, ownHost string, allowed RedirectHosts) string {
	if strings.HasPrefix(target, "/") {
		return SafeRedirect(target)
	}
	rest, ok := cutPrefixFold(target, "https://")
	if !ok {
		if rest, ok = cutPrefixFold(target, "http://"); !ok {
			return "/"
		}
	}
	if hasControlOrBackslash(target) || strings.ContainsAny(target, " ") {
		return "/"
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	host, port, hasPort := strings.Cut(authority, ":")
	if !validHostname(strings.ToLower(host)) || (hasPort && !validPort(port)) {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.User != nil || u.Opaque != "" || !strings.EqualFold(u.Host, authority) ||
		strings.Contains(u.Path, "//") || hasControlOrBackslash(u.Path) {
		return "/"
	}
	own, _, _ := strings.Cut(ownHost, ":")
	if !strings.EqualFold(host, own) && !allowed.allows(host) {
		return "/"
	}
	return target
}

// validHostname reports whether s is a DNS name (or a dotted IPv4
// address) in lower case: labels of letters, digits and hyphens
// joined by single dots.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
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

// validPort reports whether s is a port number of 1 to 5 digits.
func validPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func hasControlOrBackslash(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f })
}
