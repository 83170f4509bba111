// Package dockerfile reads what CI needs of dist/Dockerfile: the xcaddy
// command of its build stage and the environment it runs in, so that CI
// runs the very build the image does, without Docker. It knows only the
// little of the format that file uses: ARG and ENV with defaults, FROM,
// RUN in shell form, continuation lines and comments.
package dockerfile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// ErrNoBuild: the Dockerfile has no RUN of `xcaddy build`.
var ErrNoBuild = errors.New("no RUN xcaddy build in the Dockerfile")

// Build is the xcaddy build of a Dockerfile's build stage.
type Build struct {
	// Command is the xcaddy command line, its ARG and ENV references
	// expanded: ["xcaddy", "build", "v2.11.9", "--with", …].
	Command []string
	// Env is what the stage's ENV lines set before the command.
	Env map[string]string
	// Stage is the name of the stage (FROM … AS <name>).
	Stage string
	// XcaddyVersion is the version the stage installs xcaddy at
	// (`go install github.com/caddyserver/xcaddy/cmd/xcaddy@<version>`),
	// "" if it installs none.
	XcaddyVersion string
	// HealthCheck is the image's HEALTHCHECK command, in exec form
	// (HEALTHCHECK [options] CMD ["…", …]); nil if it has none.
	HealthCheck []string
}

// Flag returns the value of the command's flag name (as "--output"),
// and whether it is there.
func (b *Build) Flag(name string) (string, bool) {
	for i, a := range b.Command {
		if a == name && i+1 < len(b.Command) {
			return b.Command[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

var (
	ref          = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	xcaddInstall = regexp.MustCompile(`go install github\.com/caddyserver/xcaddy/cmd/xcaddy@(\S+)`)
)

// Parse reads the Dockerfile at path, expanding ARG defaults (overridden
// by args, as --build-arg does) and ENV values in the build command.
func Parse(path string, args map[string]string) (*Build, error) {
	insts, err := instructions(path)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	var b *Build
	var health []string
	stage, env, xcaddy := "", map[string]string{}, ""
	for _, in := range insts {
		word, rest, _ := strings.Cut(in, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			stage, env, xcaddy = "", map[string]string{}, ""
			if f := strings.Fields(rest); len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stage = f[2]
			}
		case "ARG":
			name, def, _ := strings.Cut(rest, "=")
			if v, ok := args[name]; ok {
				def = v
			} else if _, seen := vars[name]; seen && def == "" {
				continue // a stage's bare ARG takes the global default
			}
			vars[name] = expand(def, vars)
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("%s: ENV %q: want key=value", path, rest)
				}
				v = expand(strings.Trim(v, `"`), vars)
				env[k], vars[k] = v, v
			}
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, "CMD ")
			if !ok {
				continue // HEALTHCHECK NONE
			}
			if err := json.Unmarshal([]byte(cmd), &health); err != nil {
				return nil, fmt.Errorf("%s: HEALTHCHECK CMD %s: want the exec form, a JSON array: %w", path, cmd, err)
			}
		case "RUN":
			if m := xcaddInstall.FindStringSubmatch(rest); m != nil {
				xcaddy = m[1]
			}
			if !strings.Contains(rest, "xcaddy build") {
				continue
			}
			if b != nil {
				return nil, fmt.Errorf("%s: more than one RUN xcaddy build", path)
			}
			if strings.ContainsAny(rest, `"'&|;`) {
				return nil, fmt.Errorf("%s: the xcaddy build RUN must be the one command, unquoted: %q", path, rest)
			}
			b = &Build{Command: strings.Fields(expand(rest, vars)), Env: clone(env), Stage: stage, XcaddyVersion: xcaddy}
		}
	}
	if b == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrNoBuild)
	}
	b.HealthCheck = health
	return b, nil
}

// instructions returns the file's instructions, continuation lines
// joined and comments dropped.
func instructions(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		more := strings.HasSuffix(line, `\`)
		cur.WriteString(strings.TrimSuffix(line, `\`))
		cur.WriteByte(' ')
		if !more {
			out = append(out, strings.Join(strings.Fields(cur.String()), " "))
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		out = append(out, strings.Join(strings.Fields(cur.String()), " "))
	}
	return out, sc.Err()
}

func expand(s string, vars map[string]string) string {
	return ref.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		return vars[name]
	})
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
