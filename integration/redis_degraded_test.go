package integration

// start_degraded: a Caddy started while Redis is down.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// With start_degraded, Caddy starts while Redis is down: the site without
// a gate serves, the gated one answers 503 until Redis is back, then
// works without a reload. Every line Caddy wrote meanwhile, go-redis's
// own included, is JSON. Without the option Caddy refuses to start.
func TestRedisStartDegraded(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	rs.kill() // its port stays the store's address: nothing listens
	sites := []site{{}, {NoGate: true, Body: []string{`respond "plain site"`}}}
	cfg := sharedSite(rs.addr(), []string{"start_degraded"})
	cfg.Sites = sites
	c := startInstances(t, sharedKeyEnv(t), cfg)[0]

	if r := c.do(t, http.MethodGet, c.site(1)+"/", nil, nil); r.Status != http.StatusOK || string(r.Body) != "plain site" {
		t.Errorf("the site without a gate while Redis is down: %s, want 200", r)
	}
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	for _, r := range []*response{
		c.do(t, http.MethodGet, c.site(0)+"/app", nil, nil),
		c.do(t, http.MethodPost, c.site(0)+tempPath, alice, map[string]any{}),
	} {
		if !isUnavailable(r) {
			t.Errorf("the gated site while Redis is down: %s, want 503 temporaryFailure", r)
		}
	}

	rs.restart()
	var tok string
	eventually(t, 15*time.Second, "the gate to work once Redis is back", func() bool {
		r := c.do(t, http.MethodPost, c.site(0)+tempPath, alice, map[string]any{"caveats": timeCaveats(600)})
		if r.Status != http.StatusCreated && !isUnavailable(r) {
			t.Fatalf("minting once Redis is back: %s", r)
		}
		tok, _ = r.JSON["token"].(string)
		return r.Status == http.StatusCreated
	})
	c.gateAs(t, tok, "alice")

	out := c.logs()
	for _, want := range []string{"tokengate started degraded", "no longer degraded", `"msg":"tokengate started"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log has no %q", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a line of Caddy's output is not JSON: %s", line)
		}
	}
}

// Without start_degraded, Redis down is a refused start, as before.
func TestRedisDownRefusesStart(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	rs.kill()
	c := prepareCaddy(t, sharedSite(rs.addr(), nil), sharedKeyEnv(t)...)
	if err := c.start(); err == nil {
		c.kill()
		t.Fatal("caddy started with Redis down and no start_degraded")
	}
}
