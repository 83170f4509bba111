package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	startTimeout = 20 * time.Second // from exec to serving the expected answers
	stopTimeout  = 5 * time.Second  // from SIGINT to SIGKILL
	pollEvery    = 20 * time.Millisecond
	portAttempts = 3 // another process may take a free port before Caddy binds it
)

// moduleRoot is the directory of go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the tokengate module: run from its checkout")
	}
	return filepath.Dir(gomod), nil
}

// buildCaddy builds cmd/caddy, without -race or other instrumentation,
// into dir and returns the binary's path.
func buildCaddy(ctx context.Context, modRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "caddy")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/caddy")
	cmd.Dir = modRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building caddy: %w\n%s", err, out)
	}
	return bin, nil
}

// caddyProc is one running Caddy.
type caddyProc struct {
	base string // http://127.0.0.1:<port>
	dir  string // Caddyfile, caddy.log and Caddy's data and config dirs
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and been waited for
}

// startCaddy runs bin on the Caddyfile render returns for a free port,
// in dir, and waits until ready accepts its answers. Should the port be
// taken meanwhile it tries another.
func startCaddy(ctx context.Context, bin, dir string, render func(port int) (string, error),
	ready func(ctx context.Context, base string) error) (*caddyProc, error) {
	for attempt := 1; ; attempt++ {
		p, err := tryCaddy(ctx, bin, dir, render, ready)
		if err == nil || attempt == portAttempts || !strings.Contains(err.Error(), "address already in use") {
			return p, err
		}
	}
}

func tryCaddy(ctx context.Context, bin, dir string, render func(port int) (string, error),
	ready func(ctx context.Context, base string) error) (*caddyProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg, err := render(port)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "caddy.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cfgPath, "--adapter", "caddyfile")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.Env = append(os.Environ(),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"HOME="+dir)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &caddyProc{base: "http://127.0.0.1:" + strconv.Itoa(port), dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // its status says nothing stop does not know
		logf.Close()
		close(p.done)
	}()
	if err := p.waitReady(ctx, ready); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w\n--- caddy output ---\n%s", err, p.logs())
	}
	return p, nil
}

// waitReady polls ready until it succeeds, Caddy exits or the start
// deadline passes.
func (p *caddyProc) waitReady(ctx context.Context, ready func(ctx context.Context, base string) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		err := ready(ctx, p.base)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return errors.New("caddy exited during startup")
		case <-ctx.Done():
			return fmt.Errorf("caddy not ready within %s: %v", startTimeout, err)
		case <-time.After(pollEvery):
		}
	}
}

func (p *caddyProc) pid() int { return p.cmd.Process.Pid }

// stop interrupts Caddy by its PID and waits for it, killing it if it
// has not exited within stopTimeout. Safe to call more than once.
func (p *caddyProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// logs is what Caddy wrote, for error messages.
func (p *caddyProc) logs() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "caddy.log"))
	return string(b)
}

// freePort is a loopback port nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
