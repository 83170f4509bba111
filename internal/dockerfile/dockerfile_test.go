package dockerfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestParse: the build command with ARG defaults (or --build-arg
// overrides) and ENV expanded, the stage's environment, the xcaddy
// version installed; continuation lines and comments are read as Docker
// reads them.
func TestParse(t *testing.T) {
	const file = `# a comment
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION} AS build
ARG V=v0.9.0
ENV CGO_ENABLED=0 GOVCS=m:off
RUN go install github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5
RUN xcaddy build v2.11.9 \
  --with example.com/m@${V}=./ \
  --output /out/caddy
FROM scratch
ENV X=1
HEALTHCHECK --interval=30s \
  CMD ["/bin/check", "--quick"]
`
	path := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args map[string]string
		with string
	}{
		{"defaults", nil, "example.com/m@v0.9.0=./"},
		{"a build arg", map[string]string{"V": "v1.0.0"}, "example.com/m@v1.0.0=./"},
	} {
		b, err := Parse(path, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"xcaddy", "build", "v2.11.9", "--with", tc.with, "--output", "/out/caddy"}
		if !slices.Equal(b.Command, want) {
			t.Errorf("%s: command %q, want %q", tc.name, b.Command, want)
		}
		if out, _ := b.Flag("--output"); out != "/out/caddy" {
			t.Errorf("%s: --output %q", tc.name, out)
		}
		if b.Env["CGO_ENABLED"] != "0" || b.Env["GOVCS"] != "m:off" || len(b.Env) != 2 {
			t.Errorf("%s: env %v, want the build stage's two", tc.name, b.Env)
		}
		if !slices.Equal(b.HealthCheck, []string{"/bin/check", "--quick"}) {
			t.Errorf("%s: health check %q", tc.name, b.HealthCheck)
		}
		if b.Stage != "build" || b.XcaddyVersion != "v0.4.5" {
			t.Errorf("%s: stage %q, xcaddy %q", tc.name, b.Stage, b.XcaddyVersion)
		}
	}

	for name, bad := range map[string]string{
		"no build":  "FROM scratch\nRUN true\n",
		"two steps": "FROM x\nRUN cd /src && xcaddy build v2.11.9\n",
	} {
		p := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(p, nil); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
