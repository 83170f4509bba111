package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/dockerfile"
)

// xcaddyVersion is the version the Dockerfile's build line asks for
// tokengate at (its TOKENGATE_VERSION default).
const xcaddyVersion = "v0.9.0"

// TestXcaddyBuild runs dist/Dockerfile's build-stage xcaddy line, in that
// stage's environment, from the checkout (as the image's WORKDIR holds
// it), with xcaddy at the version go.mod pins: the versioned local-path
// build `xcaddy build v2.11.9 --with
// github.com/tokengate/tokengate@v0.9.0=./`. The result lists
// tokengate's modules at that version, and a Caddy running it reports
// the version in tokengate_build_info. One build, the slow one (minutes):
// dist's tests compare the line with xcaddy.json and the README without
// building.
func TestXcaddyBuild(t *testing.T) {
	t.Parallel()
	b, err := dockerfile.Parse(filepath.Join(modRoot, "dist", "Dockerfile"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Command[0] != "xcaddy" {
		t.Fatalf("the build line runs %q, want xcaddy", b.Command[0])
	}
	if _, ok := b.Flag("--output"); !ok {
		t.Fatalf("the build line %q has no --output", b.Command)
	}
	bin := filepath.Join(t.TempDir(), "caddy")
	args := append([]string{"run", "github.com/caddyserver/xcaddy/cmd/xcaddy"}, b.Command[1:]...)
	for i, a := range args {
		if a == "--output" {
			args[i+1] = bin
		}
	}
	build := exec.Command("go", args...)
	build.Dir = modRoot
	build.Env = os.Environ()
	for k, v := range b.Env {
		build.Env = append(build.Env, k+"="+v)
	}
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s (env %v): %v\n%s", strings.Join(b.Command, " "), b.Env, err, out)
	}

	out, err := exec.Command(bin, "list-modules", "--versions").Output()
	if err != nil {
		t.Fatalf("caddy list-modules --versions: %v", err)
	}
	versions := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			versions[f[0]] = f[1]
		}
	}
	for _, m := range []string{"tokengate", "http.handlers.tokengate", "admin.api.tokengate", "tokengate.stores.bolt"} {
		if v, ok := versions[m]; !ok {
			t.Errorf("the xcaddy build does not list module %s", m)
		} else if v != xcaddyVersion {
			t.Errorf("module %s is at %q, want %s", m, v, xcaddyVersion)
		}
	}
	if _, ok := versions["caddy.adapters.caddyfile"]; !ok {
		t.Error("the xcaddy build lacks Caddy's standard modules")
	}
	if t.Failed() {
		t.Logf("caddy list-modules --versions:\n%s", out)
	}

	c := prepareCaddy(t, gatedSite)
	c.bin = bin
	if err := c.start(); err != nil {
		t.Fatalf("starting the xcaddy build: %v", err)
	}
	m := c.scrape(t)
	if v := m[`tokengate_build_info{version="`+xcaddyVersion+`"}`]; v != 1 {
		t.Errorf("tokengate_build_info{version=%q} = %v, want 1", xcaddyVersion, v)
		for name, v := range m {
			if strings.HasPrefix(name, "tokengate_build_info") {
				t.Logf("%s %v", name, v)
			}
		}
	}
}
