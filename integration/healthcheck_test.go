package integration

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/dockerfile"
)

// TestDockerHealthCheck runs dist/Dockerfile's HEALTHCHECK command, with
// the image's paths replaced by the test's binary and config, against a
// Caddy whose tokengate store is a Redis of the test's own: it passes
// while Caddy runs and its store answers, fails while the store is down
// (when the gates answer 503), passes again once the store is back, and
// fails once Caddy is stopped.
func TestDockerHealthCheck(t *testing.T) {
	t.Parallel()
	b, err := dockerfile.Parse(filepath.Join(modRoot, "dist", "Dockerfile"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.HealthCheck) < 2 || b.HealthCheck[0] != "/usr/bin/caddy" {
		t.Fatalf("HEALTHCHECK CMD %q: want /usr/bin/caddy and its arguments", b.HealthCheck)
	}
	rs := newRedis(t)
	c := startInstances(t, sharedKeyEnv(t), sharedSite(rs.addr(), nil))[0]
	args := append([]string(nil), b.HealthCheck[1:]...)
	for i, a := range args {
		if a == "/etc/caddy/Caddyfile" {
			args[i] = c.cfgPath
		}
	}
	healthy := func() bool {
		_, code := c.runCLI(args...)
		return code == 0
	}
	if out, code := c.runCLI(args...); code != 0 {
		t.Fatalf("health check of a running Caddy: exit %d\n%s", code, out)
	}

	rs.kill()
	eventually(t, 10*time.Second, "the health check failing with the store down", func() bool { return !healthy() })
	rs.restart()
	eventually(t, 10*time.Second, "the health check passing with the store back", healthy)

	c.stop()
	if out, code := c.runCLI(args...); code == 0 {
		t.Fatalf("health check of a stopped Caddy passed\n%s", out)
	}
}
