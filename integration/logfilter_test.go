package integration

// Secrets in Caddy's logs (issue 14, finding 2): the README's log filter
// keeps every tokengate secret out of every log a request reaches, and a
// Caddy without it says so at startup.

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readmeLogFilter returns the tokengate_log_filter snippet README.md
// documents: the lines from "(tokengate_log_filter) {" to the "}" that
// closes it, both at column 0.
func readmeLogFilter(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case l == "(tokengate_log_filter) {":
			lines = []string{l}
		case lines == nil:
		case l == "}":
			return append(lines, l)
		default:
			lines = append(lines, l)
		}
	}
	t.Fatal("README.md documents no (tokengate_log_filter) snippet")
	return nil
}

// logged reports whether an entry of logger (a prefix) has a request
// whose URI contains uri.
func logged(entries []map[string]any, logger, uri string) bool {
	for _, e := range entries {
		name, _ := e["logger"].(string)
		req, _ := e["request"].(map[string]any)
		u, _ := req["uri"].(string)
		if strings.HasPrefix(name, logger) && strings.Contains(u, uri) {
			return true
		}
	}
	return false
}

// filterWarnings returns tokengate's warnings of unfiltered logs.
func filterWarnings(entries []map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if e["logger"] == "tokengate" && e["level"] == "warn" && strings.Contains(e["msg"].(string), "log filter") {
			out = append(out, e)
		}
	}
	return out
}

// logSite is one gated site whose access log is written to access.log
// with the log block's extra lines, and whose /down/ goes to an upstream
// that refuses connections, so that a request there fails with 502 and
// is written to the error log.
func logSite(logOpts ...string) site {
	block := "log {\n\toutput file {{.Dir}}/access.log"
	for _, o := range logOpts {
		block += "\n\t" + o
	}
	return site{
		Before: []string{block + "\n}"},
		Gate:   []string{"token_source header X-Auth-Token", "token_source bearer", "token_source query access_token"},
		Body:   []string{"handle /down/* {\n\treverse_proxy 127.0.0.1:1\n}", proxyToUpstream},
	}
}

func TestLogFilterKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	snippet := readmeLogFilter(t)
	if ex, err := os.ReadFile(filepath.Join(modRoot, "Caddyfile.example")); err != nil || !strings.Contains(string(ex), strings.Join(snippet, "\n")) {
		t.Errorf("Caddyfile.example does not define the README's tokengate_log_filter (%v)", err)
	}
	c := newCaddy(t, caddyfile{
		Snippets: []string{strings.Join(snippet, "\n")},
		Global:   []string{"log default {\n\timport tokengate_log_filter\n}"},
		App:      []string{"temporary_max_ttl 1h"},
		Sites:    []site{logSite("import tokengate_log_filter")},
	})
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	queryTok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	hand := c.newHandoff(t, base, hdr{"Authorization": basic("alice", alicePassword)})
	// Made-up secrets where tokengate's real ones would be: a reset
	// link's token, the reset page's Referer, a request no site matches.
	const resetTok, refererTok, unmatchedTok, unmatchedQuery = "reset-tok-Jd81", "referer-tok-Lq27", "unmatched-tok-Zr55", "unmatched-query-Wc09"

	wantGateUser(t, c.do(t, http.MethodGet, base+"/app/header", hdr{"X-Auth-Token": tok}, nil), "alice")
	wantGateUser(t, c.do(t, http.MethodGet, base+"/app/query?a=1&access_token="+queryTok, nil, nil), "alice")
	r := c.handoffUser(t, base, hand.Token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("handoff: got %s, want 200", r)
	}
	sess := wantSessionCookie(t, r, defaultSessionCk, defaultSessionTTL)
	if r := c.do(t, http.MethodGet, base+atPath+"/"+hand.Token, hdr{"Cookie": defaultSessionCk + "=" + sess}, nil); r.Status != http.StatusOK {
		t.Fatalf("reading the handoff token: got %s, want 200", r)
	}
	consumerTok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	wantGateUser(t, c.do(t, http.MethodGet, base+"/app/consumer", hdr{"X-Auth-Token": tok, "X-Onedata-Consumer-Token": consumerTok}, nil), "alice")
	c.do(t, http.MethodGet, base+"/reset-password?token="+resetTok, nil, nil)
	c.do(t, http.MethodGet, base+"/app/referer", hdr{"Referer": base + "/reset-password?token=" + refererTok, "X-Auth-Token": tok}, nil)
	if r := c.do(t, http.MethodGet, base+"/down/x", hdr{"X-Auth-Token": tok}, nil); r.Status != http.StatusBadGateway {
		t.Fatalf("GET /down/x: got %s, want 502 from the dead upstream", r)
	}
	c.do(t, http.MethodGet, base+"/unmatched?token="+unmatchedQuery, hdr{"Host": "nosuchsite.test", "X-Auth-Token": unmatchedTok}, nil)

	access := filepath.Join(c.dir, "access.log")
	eventually(t, 10*time.Second, "every request in the logs", func() bool {
		acc, def := logLines(t, access), logLines(t, c.logPath)
		return logged(acc, "http.log.access", "/app/header") && logged(acc, "http.log.access", "/app/query") &&
			logged(acc, "http.log.access", "/user") && logged(acc, "http.log.access", "/reset-password") &&
			logged(acc, "http.log.access", "/app/referer") && logged(acc, "http.log.access", "/down/x") &&
			logged(def, "http.log.error", "/down/x") && logged(def, "http.log.access", "/unmatched")
	})
	for _, f := range []string{access, c.logPath} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for what, secret := range map[string]string{
			"the X-Auth-Token": tok, "the access_token query": queryTok, "the handoff token": hand.Token,
			"the X-Onedata-Consumer-Token": consumerTok,
			"the session":                  sess, "a reset token": resetTok, "a Referer's reset token": refererTok,
			"an unmatched Host's X-Auth-Token": unmatchedTok, "an unmatched Host's token query": unmatchedQuery,
			"alice's password": alicePassword,
		} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %s", filepath.Base(f), what)
			}
		}
	}
	if w := filterWarnings(logLines(t, c.logPath)); len(w) != 0 {
		t.Errorf("warned of unfiltered logs with the README's filter in place: %v", w)
	}
}

func TestLogFilterWarning(t *testing.T) {
	t.Parallel()
	snippet := readmeLogFilter(t)
	for _, tc := range []struct {
		name   string
		cfg    caddyfile
		logs   []string // the loggers the warning names
		unfilt []string // the places it names, a subset
	}{
		{"a site log without the filter", caddyfile{Sites: []site{logSite()}},
			[]string{"http.log.error", "http.log.access", "http.log.access.log0", "http.log.error.log0"},
			[]string{"header X-Auth-Token", "query token", "query access_token", "path /api/authenticationtoken/<token>"}},
		// Filtering the site's log is not enough: unknown Hosts and the
		// error log reach the default log.
		{"the site's log filtered, not the default log", caddyfile{
			Snippets: []string{strings.Join(snippet, "\n")},
			Sites:    []site{logSite("import tokengate_log_filter")},
		}, []string{"http.log.error", "http.log.access", "http.log.error.log0"}, []string{"header X-Auth-Token"}},
		{"no log at all", caddyfile{}, []string{"http.log.error"}, []string{"header X-Auth-Token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCaddy(t, tc.cfg)
			w := filterWarnings(logLines(t, c.logPath))
			if len(w) != 1 {
				t.Fatalf("got %d warnings of unfiltered logs, want 1: %v\n%s", len(w), w, c.logs())
			}
			if w[0]["server"] != "srv0" {
				t.Errorf("warning names server %v, want srv0", w[0]["server"])
			}
			if got := strs(w[0]["logs"]); strings.Join(got, " ") != strings.Join(tc.logs, " ") {
				t.Errorf("warning names logs %q, want %q", got, tc.logs)
			}
			unfilt := strs(w[0]["unfiltered"])
			for _, u := range tc.unfilt {
				if !slices.Contains(unfilt, u) {
					t.Errorf("warning's unfiltered %q lacks %q", unfilt, u)
				}
			}
			// The lines to add are the README's.
			lines := strs(w[0]["caddyfile"])
			if len(lines) < len(snippet) || strings.Join(lines[:len(snippet)], "\n") != strings.Join(snippet, "\n") {
				t.Errorf("warning quotes\n%s\nwant it to begin with the README's\n%s", strings.Join(lines, "\n"), strings.Join(snippet, "\n"))
			}
		})
	}
}

// strs returns a JSON array of strings.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, s := range a {
		out = append(out, s.(string))
	}
	return out
}
