// Package dist holds what operators install beside the binary: the
// Dockerfile, the systemd unit, the Prometheus rules and the Grafana
// dashboard. Its tests check them with the tools that read them
// (systemd-analyze, promtool, jq), and against the code: the metric
// names the rules and the dashboard use are the ones tokengate
// registers, and the Dockerfile's build line is the one CI builds
// (integration TestXcaddyBuild runs it) and the README shows.
//
// The tests live here, not in integration, because none of them needs a
// running Caddy: they stay quick, and run with `go test ./dist`.
package dist

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/caddymodule"
	"github.com/tokengate/tokengate/internal/dockerfile"
)

// tool returns the path of a command the checks need, failing the test
// with how to get it: they must not pass by being skipped.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (Debian package %s): run .ci/run, which installs what the tests need, or apt-get install -y %s",
			name, pkg, pkg)
	}
	return p
}

// run runs a command and returns its combined output, failing the test
// if it fails.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSystemdUnit: systemd-analyze verify finds nothing to say about the
// unit (an unknown or misspelt directive is only a warning, so any output
// fails), and the unit carries the hardening the README promises.
// verify needs ExecStart's binary to exist: a copy of the unit runs this
// test's own binary instead of /usr/bin/caddy, which verify only checks
// is an executable.
func TestSystemdUnit(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	unit := read(t, filepath.Join("systemd", "tokengate.service"))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "tokengate.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(unit, "/usr/bin/caddy", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", copyPath)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	lines := strings.Split(unit, "\n")
	for _, want := range []string{
		"ExecStart=/usr/bin/caddy run --config /etc/caddy/Caddyfile",
		"ExecReload=/usr/bin/caddy reload --config /etc/caddy/Caddyfile --force",
		"Type=notify", "User=caddy", "ProtectSystem=strict", "NoNewPrivileges=true", "ReadWritePaths=/var/lib/caddy",
		"StateDirectory=caddy", "PrivateTmp=true", "ProtectHome=true",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("the unit lacks the line %q", want)
		}
	}
	// --environ would print the environment, the shared store's key
	// among it, to the journal.
	for _, l := range lines {
		if strings.HasPrefix(l, "Exec") && strings.Contains(l, "--environ") {
			t.Errorf("the unit runs caddy with --environ: %s", l)
		}
	}
}

// metricRef is a metric name in a PromQL expression: an identifier
// followed by a selector, a range or the end of a function's argument.
var metricRef = regexp.MustCompile(`\b(tokengate_[a-z0-9_]+)\b`)

// registered returns the series names tokengate can serve: each family's
// name, and a histogram's _bucket, _count and _sum.
func registered() map[string]bool {
	ok := map[string]bool{}
	for _, n := range caddymodule.MetricNames() {
		ok[n] = true
		if strings.HasSuffix(n, "_seconds") {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				ok[n+s] = true
			}
		}
	}
	return ok
}

// checkNames fails the test for each tokengate metric expr names that
// the code does not register, and for an expression naming none.
func checkNames(t *testing.T, where, expr string, ok map[string]bool) {
	t.Helper()
	refs := metricRef.FindAllString(expr, -1)
	if len(refs) == 0 {
		t.Errorf("%s: %q names no tokengate metric", where, expr)
	}
	for _, r := range refs {
		if !ok[r] {
			t.Errorf("%s: %s is not a metric tokengate registers (expr %q)", where, r, expr)
		}
	}
}

// TestPrometheusRules: promtool reads the rules and their unit tests
// pass (each alert fires on the series it is about, with its
// annotations), and every rule names only metrics tokengate registers.
func TestPrometheusRules(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	run(t, "prometheus", promtool, "check", "rules", "rules.yml")
	run(t, "prometheus", promtool, "test", "rules", "rules_test.yml")

	ok := registered()
	var exprs []string
	for _, line := range strings.Split(read(t, filepath.Join("prometheus", "rules.yml")), "\n") {
		if e, found := strings.CutPrefix(strings.TrimSpace(line), "expr:"); found {
			exprs = append(exprs, strings.TrimSpace(e))
		}
	}
	if len(exprs) < 4 {
		t.Fatalf("%d rules in rules.yml, want the 4 alerts at least", len(exprs))
	}
	for _, e := range exprs {
		checkNames(t, "rules.yml", e, ok)
	}
	for _, want := range []string{"tokengate_invalidation_subscription_up", "tokengate_store_errors_total",
		`tokengate_gate_requests_total{result="unavailable"}`, "tokengate_bans_total"} {
		if !slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("no rule on %s", want)
		}
	}
}

// TestGrafanaDashboard: jq reads the dashboard; every panel but the rows
// has a query on the data source variable; panel ids are unique; every
// query and template variable names only metrics tokengate registers;
// and the panels the README lists are there.
func TestGrafanaDashboard(t *testing.T) {
	jq := tool(t, "jq", "jq")
	const path = "grafana/tokengate.json"
	run(t, ".", jq, "-e", `.title == "tokengate" and .uid == "tokengate" and (.panels | length > 0)`, path)
	if out := run(t, ".", jq, "-r",
		`.panels[] | select(.type != "row") | select(([.targets[]?.expr] | length == 0) or .datasource.uid != "${datasource}") | .title`,
		path); strings.TrimSpace(out) != "" {
		t.Errorf("panels without a query on ${datasource}: %s", out)
	}
	if out := run(t, ".", jq, "-r", `[.panels[].id] | group_by(.) | map(select(length > 1)[0]) | .[]`, path); strings.TrimSpace(out) != "" {
		t.Errorf("panel ids used twice: %s", out)
	}
	var exprs []string
	if err := json.Unmarshal([]byte(run(t, ".", jq, "-c",
		`[(.panels[].targets[]?.expr), (.templating.list[] | select(.type == "query") | .definition)]`, path)), &exprs); err != nil {
		t.Fatal(err)
	}
	ok := registered()
	for _, e := range exprs {
		checkNames(t, path, e, ok)
	}
	titles := run(t, ".", jq, "-r", `.panels[].title`, path)
	for _, want := range []string{"Gate decisions", "Cache hit ratio", "Store latency (p99)", "Store errors", "Revocations",
		"Propagation lag", "Brute-force bans"} {
		if !slices.Contains(strings.Split(titles, "\n"), want) {
			t.Errorf("the dashboard has no panel %q", want)
		}
	}
}

// TestDockerfile: the build stage runs xcaddy at go.mod's version, for
// the Caddy version xcaddy.json pins, with tokengate from the checkout
// at the image's version; the README shows the same line; the runtime is
// distroless, non-root, with its data on a volume and a health check.
func TestDockerfile(t *testing.T) {
	b, err := dockerfile.Parse("Dockerfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pin struct {
		CaddyVersion string `json:"caddy_version"`
	}
	if err := json.Unmarshal([]byte(read(t, "../xcaddy.json")), &pin); err != nil {
		t.Fatal(err)
	}
	want := []string{"xcaddy", "build", pin.CaddyVersion, "--with", "github.com/tokengate/tokengate@v0.9.0=./", "--output", "/out/caddy"}
	if !slices.Equal(b.Command, want) {
		t.Errorf("the build line is %q, want %q", b.Command, want)
	}
	gomod := read(t, "../go.mod")
	if m := regexp.MustCompile(`github\.com/caddyserver/xcaddy (v\S+)`).FindStringSubmatch(gomod); m == nil || b.XcaddyVersion != m[1] {
		t.Errorf("the Dockerfile installs xcaddy %q, go.mod pins %v", b.XcaddyVersion, m)
	}
	if m := regexp.MustCompile(`github\.com/caddyserver/caddy/v2 (v\S+)`).FindStringSubmatch(gomod); m == nil || m[1] != pin.CaddyVersion {
		t.Errorf("xcaddy.json builds Caddy %s, go.mod requires %v", pin.CaddyVersion, m)
	}
	for _, e := range []string{"CGO_ENABLED=0", "GONOPROXY=github.com/tokengate/tokengate", "GOVCS=github.com/tokengate/tokengate:off"} {
		k, v, _ := strings.Cut(e, "=")
		if b.Env[k] != v {
			t.Errorf("the build stage's %s is %q, want %q", k, b.Env[k], v)
		}
	}
	// A build of another version: the build arg is the version.
	if v, err := dockerfile.Parse("Dockerfile", map[string]string{"TOKENGATE_VERSION": "v1.2.3"}); err != nil ||
		v.Command[4] != "github.com/tokengate/tokengate@v1.2.3=./" {
		t.Errorf("with TOKENGATE_VERSION=v1.2.3: %v, %v", v, err)
	}

	// The README's line for a checkout is this one without the version.
	readme := read(t, "../README.md")
	line := strings.Join([]string{"xcaddy", "build", pin.CaddyVersion, "--with", "github.com/tokengate/tokengate=./"}, " ")
	if !strings.Contains(readme, line) {
		t.Errorf("the README does not show %q", line)
	}

	df := read(t, "Dockerfile")
	for _, want := range []string{
		"FROM gcr.io/distroless/static-debian12:nonroot", "USER nonroot:nonroot", "VOLUME /data",
		"ENV XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config",
		`CMD ["/usr/bin/caddy", "tokengate", "bans", "list", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]`,
		`ENTRYPOINT ["/usr/bin/caddy"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	if !strings.Contains(df, "HEALTHCHECK") {
		t.Error("the Dockerfile has no HEALTHCHECK")
	}
}
