// Command xbuild builds a custom Caddy from xcaddy.json:
//
//	go run ./internal/xbuild -o ./caddy
//
// xcaddy's CLI takes the build as flags (--with, --replace), not as the
// JSON of its own Builder, so the pin would otherwise live in whatever
// shell line someone typed. This program decodes xcaddy.json into
// xcaddy.Builder and calls Build, which keeps the pin (Caddy version,
// plugins, replacements) in one reviewed file and the xcaddy version in
// go.mod.
//
// Two things it does that xcaddy's library does not:
//
//   - xcaddy runs `go mod edit -replace` in a temporary module, so a
//     relative replacement such as "." would point at that temporary
//     folder. Relative replacements are resolved against the directory of
//     the config file (xcaddy's CLI resolves them against the current
//     directory). -o is relative to the current directory.
//   - A module replaced by a local directory is never looked up remotely:
//     its path is added to GONOPROXY and GOVCS (as "off") for the go
//     commands xcaddy runs. Otherwise `go get` asks the module proxy about
//     it, and a proxy that answers anything but 404/410 for an unpublished
//     module (the proxy on this project's machines answers 403) fails the
//     build.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/caddyserver/xcaddy"
)

func main() {
	config := flag.String("config", "xcaddy.json", "xcaddy builder JSON")
	output := flag.String("o", "./caddy", "where to write the caddy binary")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *config, *output); err != nil {
		fmt.Fprintln(os.Stderr, "xbuild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, config, output string) error {
	b, local, err := load(config)
	if err != nil {
		return err
	}
	if err := keepLocal(local); err != nil {
		return err
	}
	return b.Build(ctx, output)
}

// load decodes the builder JSON strictly (a misspelt field is an error,
// not a silently unpinned build), makes relative replacements absolute and
// returns the module paths that are replaced by local directories.
func load(config string) (b xcaddy.Builder, local []string, err error) {
	data, err := os.ReadFile(config)
	if err != nil {
		return b, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, nil, fmt.Errorf("%s: %w", config, err)
	}
	if b.CaddyVersion == "" {
		return b, nil, fmt.Errorf("%s: caddy_version is empty; the build would not be pinned", config)
	}
	dir, err := filepath.Abs(filepath.Dir(config))
	if err != nil {
		return b, nil, err
	}
	for i, r := range b.Replacements {
		p := string(r.New)
		if isRelativeDir(p) {
			p = filepath.Join(dir, p)
			b.Replacements[i].New = xcaddy.ReplacementPath(p)
		}
		if filepath.IsAbs(p) {
			// Old is "path" or "path@version" (or "path version").
			mod, _, _ := strings.Cut(strings.Replace(string(r.Old), " ", "@", 1), "@")
			local = append(local, mod)
		}
	}
	return b, local, nil
}

// isRelativeDir reports whether a replacement is a relative directory in
// go.mod's sense (".", "..", or starting with "./" or "../"), as opposed
// to an absolute directory or a module path with a version.
func isRelativeDir(p string) bool {
	p = filepath.ToSlash(p)
	return p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../")
}

// keepLocal adds the module paths to GONOPROXY and, as "path:off", in
// front of GOVCS, keeping whatever the go command already has there.
func keepLocal(mods []string) error {
	if len(mods) == 0 {
		return nil
	}
	goCmd := os.Getenv("XCADDY_WHICH_GO") // the go command xcaddy runs
	if goCmd == "" {
		goCmd = "go"
	}
	out, err := exec.Command(goCmd, "env", "GONOPROXY", "GOVCS").Output()
	if err != nil {
		return fmt.Errorf("go env: %w", err)
	}
	cur := strings.Split(string(out), "\n")
	if len(cur) < 2 {
		return fmt.Errorf("go env: unexpected output %q", out)
	}
	noproxy := strings.Join(mods, ",")
	govcs := strings.Join(mods, ":off,") + ":off"
	if cur[0] != "" {
		noproxy += "," + cur[0]
	}
	if cur[1] != "" {
		govcs += "," + cur[1]
	}
	log.Printf("[INFO] Local modules, never looked up remotely: GONOPROXY=%s GOVCS=%s", noproxy, govcs)
	if err := os.Setenv("GONOPROXY", noproxy); err != nil {
		return err
	}
	return os.Setenv("GOVCS", govcs)
}
