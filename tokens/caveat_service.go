package tokens

import (
	"fmt"
	"strings"
)

// Service names as service and api caveats match them.

// CheckServicePattern reports whether s can name services in a service
// caveat: a name, or a name prefix ending in the one "*" (a lone "*" is
// every service).
func CheckServicePattern(s string) error {
	if s == "" || strings.Contains(strings.TrimSuffix(s, "*"), "*") {
		return fmt.Errorf("service %q: want a name, optionally ending in *", s)
	}
	return nil
}

// ServiceMatches reports whether service matches pattern, which is a
// name or a prefix ending in "*".
func ServiceMatches(pattern, service string) bool {
	// Small enough to inline: the gate asks for every entry of a
	// service or api caveat on every request.
	if n := len(pattern) - 1; n >= 0 && pattern[n] == '*' {
		return len(service) >= n && service[:n] == pattern[:n]
	}
	return pattern == service
}
