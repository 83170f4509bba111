package integration

// A misplaced gate (issue 14, finding 3): in `route { reverse_proxy …;
// tokengate }` the gate never runs. Caddy must refuse such a config
// instead of serving the upstream ungated, and say where the gate is.

import (
	"net/http"
	"strings"
	"testing"
)

// misplaced is a site whose gate comes after a handler that answers
// every request: inside a route block, directives keep their order.
func misplaced(first string) caddyfile {
	return caddyfile{Sites: []site{{NoGate: true, Body: []string{"route {\n\t" + first + "\n\ttokengate\n}"}}}}
}

// The gate's place in misplaced's config, and the place of the handler
// before it.
const (
	misplacedGate  = "apps/http/servers/srv0/routes/0/handle/0/routes/0/handle/0/routes/0/handle/1 (site 127.0.0.1)"
	misplacedFirst = "apps/http/servers/srv0/routes/0/handle/0/routes/0/handle/0/routes/0/handle/0"
)

func TestMisplacedGateRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, first, module string }{
		{"reverse_proxy first", "reverse_proxy {{.Upstream}}", "reverse_proxy"},
		{"respond first", `respond "hello"`, "static_response"},
		{"file_server first", "file_server", "file_server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := prepareCaddy(t, misplaced(tc.first))
			c.writeConfig(c.cfg)
			if err := c.spawn("run", "--config", c.cfgPath, "--adapter", "caddyfile"); err != nil {
				t.Fatal(err)
			}
			if err := c.waitReady(1); err == nil {
				r := c.do(t, http.MethodGet, c.site(0)+"/app", nil, nil)
				t.Fatalf("caddy runs a config whose gate never runs; GET /app without a token: %s", r)
			}
			if c.exitErr() == nil {
				t.Errorf("caddy exited with status 0")
			}
			want := "tokengate at " + misplacedGate + " never runs: " + tc.module + " at " + misplacedFirst + " answers every request first"
			if logs := c.logs(); !strings.Contains(logs, want) {
				t.Errorf("caddy's output does not say %q:\n%s", want, logs)
			}
		})
	}
}

// TestMisplacedGateReloadRefused: a reload to such a config fails and the
// running config, with its gate, goes on.
func TestMisplacedGateReloadRefused(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, gatedSite)
	wantError(t, c.do(t, http.MethodGet, c.site(0)+"/app", nil, nil), http.StatusUnauthorized, "unauthorized")

	c.writeConfig(misplaced("reverse_proxy {{.Upstream}}"))
	out, code := c.runCLI("reload", "--config", c.cfgPath, "--adapter", "caddyfile", "--address", c.admin)
	if code == 0 {
		t.Fatalf("caddy reload accepted a gate that never runs:\n%s", out)
	}
	if !strings.Contains(out, "tokengate at "+misplacedGate+" never runs") {
		t.Errorf("caddy reload does not say where the gate is:\n%s", out)
	}
	wantError(t, c.do(t, http.MethodGet, c.site(0)+"/app", nil, nil), http.StatusUnauthorized, "unauthorized")
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("the upstream was reached %d times", n)
	}
}

// TestPartlyGatedWarning: a gate whose route matcher leaves the rest of
// the site to the same upstream is warned of, at startup.
func TestPartlyGatedWarning(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caddyfile{Sites: []site{{NoGate: true, Body: []string{"tokengate /api/*", proxyToUpstream}}}})
	want := "reverse_proxy to " + c.up.addr() + " is reached through tokengate, and around it at " +
		"apps/http/servers/srv0/routes/0/handle/0/routes/1/handle/0 (site 127.0.0.1)"
	var found bool
	for _, e := range logLines(t, c.logPath) {
		if e["logger"] == "tokengate" && e["level"] == "warn" && e["where"] == want {
			found = true
			// It says how to close the gap for a part meant to be public.
			if msg, _ := e["msg"].(string); !strings.Contains(msg, "tokengate optional") {
				t.Errorf("the warning %q does not point to tokengate optional", msg)
			}
		}
	}
	if !found {
		t.Errorf("no warning that %q:\n%s", want, c.logs())
	}
	// It is a warning, not a refusal: the config runs as written.
	upstreamSaw(t, c.do(t, http.MethodGet, c.site(0)+"/public", nil, nil))
	wantError(t, c.do(t, http.MethodGet, c.site(0)+"/api/x", nil, nil), http.StatusUnauthorized, "unauthorized")
}
