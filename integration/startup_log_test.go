package integration

// The one INFO line a start logs: which store, where, and where the
// server key came from; never a password.

import (
	"path/filepath"
	"strings"
	"testing"
)

// startedEntries are the "tokengate started" entries of c's log.
func startedEntries(t *testing.T, c *caddyProc) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range logLines(t, c.logPath) {
		if e["msg"] == "tokengate started" {
			out = append(out, e)
		}
	}
	return out
}

func TestStartupLogLine(t *testing.T) {
	t.Parallel()
	t.Run("bolt and a generated key", func(t *testing.T) {
		t.Parallel()
		c := newCaddy(t, caddyfile{NoApp: true})
		c.restart()
		got := startedEntries(t, c)
		if len(got) != 2 {
			t.Fatalf("%d tokengate started entries, want 2 (start, restart):\n%s", len(got), c.logs())
		}
		dir := filepath.Join(c.dataDir(), "tokengate")
		for i, generated := range []bool{true, false} {
			e := got[i]
			if e["level"] != "info" || e["store"] != "bolt" || e["store_location"] != filepath.Join(dir, "tokengate.db") ||
				e["key_from"] != "file" || e["key_file"] != filepath.Join(dir, "server.key") || e["key_generated"] != generated {
				t.Errorf("start %d: %v, want bolt in %s, key generated %t in %s", i, e, dir, generated, dir)
			}
		}
	})
	t.Run("redis and a key from the environment", func(t *testing.T) {
		t.Parallel()
		rs := newRedis(t)
		const password = "do-not-log-Zq81"
		if _, err := rs.do("CONFIG", "SET", "requirepass", password); err != nil {
			t.Fatal(err)
		}
		cfg := sharedSite(rs.addr(), []string{"password {env.REDIS_PASSWORD}"})
		c := startInstances(t, append(sharedKeyEnv(t), "REDIS_PASSWORD="+password), cfg)[0]
		got := startedEntries(t, c)
		if len(got) != 1 || got[0]["store"] != "redis" || got[0]["store_location"] != rs.addr() || got[0]["key_from"] != "env" {
			t.Errorf("tokengate started entries %v, want one for redis at %s with the key from env", got, rs.addr())
		}
		if out := c.logs(); strings.Contains(out, password) {
			t.Errorf("the log holds the Redis password:\n%s", out)
		}
	})
}
