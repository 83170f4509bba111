package integration

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestXcaddyBuild builds Caddy from xcaddy.json the way the README says
// and checks that the result lists tokengate's modules.
func TestXcaddyBuild(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "caddy")
	build := exec.Command("go", "run", "./internal/xbuild", "-o", bin)
	build.Dir = modRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/xbuild: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "list-modules").Output()
	if err != nil {
		t.Fatalf("caddy list-modules: %v", err)
	}
	modules := strings.Fields(string(out))
	for _, m := range []string{"tokengate", "http.handlers.tokengate", "admin.api.tokengate", "caddy.adapters.caddyfile"} {
		if !slices.Contains(modules, m) {
			t.Errorf("the xcaddy build does not list module %s", m)
		}
	}
}
