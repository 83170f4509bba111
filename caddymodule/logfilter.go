package caddymodule

import (
	"regexp"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/api/openpaas"
)

// Caddy's access and error logs record each request as it arrived,
// before any handler runs (so no handler can redact it), and redact only
// Authorization, Cookie and Set-Cookie themselves. A tokengate secret can
// be in a token header, in a query parameter (a query token source, a
// reset link's token) and in the path of an OpenPaaS handoff token; the
// reset page's own requests carry its URL in Referer. logFilterSnippet is
// the Caddyfile snippet of log filters that covers them all; the README's
// security notes show it for the defaults.

// The names every snippet covers: Onezone's token headers (x-auth-token
// and the deprecated macaroon, both default sources, and the consumer
// token a consumer caveat asks for), the reset link's token and the
// customary access_token.
var (
	defaultSecretHeaders = []string{"X-Auth-Token", "Macaroon", consumerTokenHeader}
	defaultSecretQueries = []string{"token", "access_token"}
)

// logFilterSnippet returns the lines of the tokengate_log_filter snippet
// for token headers and query parameters beyond the defaults, and for
// headers that hold a URI as the request line does (a forward-auth
// subrequest's original URI).
func logFilterSnippet(headers, queries []string, uriHeaders ...string) []string {
	lines := []string{"(tokengate_log_filter) {", "\tformat filter {"}
	for _, h := range union(defaultSecretHeaders, headers) {
		lines = append(lines, "\t\trequest>headers>"+h+" delete")
	}
	var names []string
	for _, q := range union(defaultSecretQueries, queries) {
		names = append(names, regexp.QuoteMeta(q))
	}
	query := `"([?&](?:` + strings.Join(names, "|") + `)=)[^&#]*" "${1}REDACTED"`
	path := `"` + openpaas.Prefix + `/[^/?#]+" "` + openpaas.Prefix + `/REDACTED"`
	fields := []string{"request>uri", "request>headers>Referer"}
	for _, h := range uriHeaders {
		fields = append(fields, "request>headers>"+h)
	}
	for _, field := range fields {
		lines = append(lines, "\t\t"+field+" regexp "+query, "\t\t"+field+" regexp "+path)
	}
	return append(lines, "\t}", "}")
}

// logFilterAdvice is the snippet and where to import it: the default
// log takes the requests no site's log does (an unknown Host) and the
// error log's entries, which carry the request too.
func logFilterAdvice(headers, queries []string, uriHeaders ...string) []string {
	return append(logFilterSnippet(headers, queries, uriHeaders...),
		"# in the global options:",
		"log default {",
		"\timport tokengate_log_filter",
		"}",
		"# in every site's log block:",
		"import tokengate_log_filter")
}

// union returns a followed by the elements of b not in it.
func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
