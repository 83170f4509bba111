// Package redistest starts a throwaway redis-server for tests, benchmarks
// and the bench harness outside the store package.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ErrNotInstalled: there is no redis-server on PATH.
var ErrNotInstalled = errors.New("redis-server is not installed")

// readyTimeout bounds how long Run waits for the first PONG.
const readyTimeout = 10 * time.Second

// Server is a redis-server that Run started.
type Server struct {
	Addr string // 127.0.0.1:<port>
	cmd  *exec.Cmd
	dir  string
}

// Run starts redis-server on a free loopback port, without persistence,
// working in a fresh temporary directory, and waits until it answers.
// The caller must Stop it.
func Run() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	dir, err := os.MkdirTemp("", "tokengate-redis-")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Addr: addr, cmd: cmd, dir: dir}
	if err := WaitPong(addr, readyTimeout); err != nil {
		s.Stop()
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	return s, nil
}

// Stop kills the server by its PID, waits for it and removes its
// directory. It holds nothing worth a graceful shutdown.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	os.RemoveAll(s.dir)
}

// Start runs a Server until the test ends and returns its address.
// Without redis-server it fails the test under CI (.ci/run installs it)
// and skips it elsewhere.
func Start(tb testing.TB) string {
	tb.Helper()
	s, err := Run()
	switch {
	case errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "":
		tb.Skip(err)
	case errors.Is(err, ErrNotInstalled):
		tb.Fatal("redis-server is not installed; .ci/run installs it")
	case err != nil:
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s.Addr
}

// WaitPong polls addr until Redis answers PING, or the time is up.
func WaitPong(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			fmt.Fprint(c, "PING\r\n")
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG from %s within %s", addr, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
