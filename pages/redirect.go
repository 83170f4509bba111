package pages

import (
	"net/url"
	"strings"
)

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

func hasControlOrBackslash(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f })
}
