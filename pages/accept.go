package pages

import (
	"strconv"
	"strings"
)

// PrefersHTML reports whether an Accept header ranks text/html above
// application/json: a browser navigating, not an API client. Only an
// explicit text/html counts for HTML; "*/*" alone is what API clients
// send, and counts for JSON as much as for anything.
func PrefersHTML(accept string) bool {
	var html, json float64
	best := 0 // how specific the range that gave json is; 0: none yet
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := quality(fields[1:])
		// The most specific matching range decides (RFC 9110, 12.5.1).
		if s := jsonSpecificity(mt); s > best {
			json, best = q, s
		}
		if mt == "text/html" {
			html = max(html, q)
		}
	}
	return html > 0 && html > json
}

// quality is the q parameter among a media range's parameters: 1 if
// absent, 0 if malformed.
func quality(params []string) float64 {
	for _, p := range params {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 || q > 1 {
				return 0
			}
			return q
		}
	}
	return 1
}

// jsonSpecificity says how specifically a media range names
// application/json: 3 exactly, 2 application/*, 1 */*, 0 not at all.
func jsonSpecificity(mt string) int {
	switch mt {
	case "application/json":
		return 3
	case "application/*":
		return 2
	case "*/*":
		return 1
	}
	return 0
}
