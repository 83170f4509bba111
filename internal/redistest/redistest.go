// Package redistest starts throwaway redis-server processes on free
// loopback ports: the one launcher for every test, benchmark and the bench
// harness that needs Redis. A server can also crash, restart and hang on
// demand, for the store's fault tests. The topologies are here too:
// Sentinels (sentinel.go), a Cluster made by redis-cli with slot
// migration (cluster.go), and TLS with a generated CA (tls.go).
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ErrNotInstalled: there is no redis-server on PATH.
var ErrNotInstalled = errors.New("redis-server is not installed")

// readyTimeout bounds how long starting waits for the first PONG.
const readyTimeout = 10 * time.Second

// Server is a redis-server child process.
type Server struct {
	Addr string // 127.0.0.1:<port>
	Dir  string // its working directory (AOF, nodes.conf, redis.log)

	args    []string
	bin     string   // redis-server, or redis-sentinel
	pre     []string // arguments before --port: a config file
	cmd     *exec.Cmd
	exited  chan struct{}
	ownsDir bool
}

// Run starts redis-server on a free loopback port without persistence,
// with extra arguments after the defaults (for example "--appendonly",
// "yes"), in a fresh temporary directory, and waits until it answers. The
// caller must Stop it.
func Run(extra ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "tokengate-redis-")
	if err != nil {
		return nil, err
	}
	s, err := run(dir, extra)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.ownsDir = true
	return s, nil
}

// Start runs a Server until the test ends. Without redis-server it fails
// the test under CI (.ci/run installs it) and skips it elsewhere.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s, err := run(tb.TempDir(), extra)
	switch {
	case errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "":
		tb.Skip(err)
	case errors.Is(err, ErrNotInstalled):
		tb.Fatal("redis-server is not installed; .ci/run installs it")
	case err != nil:
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func run(dir string, extra []string) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, ErrNotInstalled
	}
	s := &Server{Dir: dir, bin: "redis-server"}
	s.args = append([]string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, extra...)
	return s, s.startOnFreePort()
}

// startOnFreePort picks a free port and starts the server on it.
func (s *Server) startOnFreePort() error {
	var err error
	for range 5 { // a free port can be taken before redis-server binds it
		if s.Addr, err = freeAddr(); err != nil {
			return err
		}
		if err = s.start(); err == nil {
			return nil
		}
	}
	return err
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs the server and waits until it answers PING.
func (s *Server) start() error {
	log, err := os.OpenFile(filepath.Join(s.Dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := exec.Command(s.bin, append(append(slices.Clone(s.pre), "--port", port), s.args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(readyTimeout)
	for {
		if line, err := Do(s.Addr, "PING"); err == nil && (line == "+PONG" || strings.HasPrefix(line, "-NOAUTH")) {
			// Up: a server with a password answers NOAUTH.
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited: %s", s.bin, s.LogTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("%s did not answer PING within %s: %s", s.bin, readyTimeout, s.LogTail())
		}
	}
}

// Stop kills the server and, if Run made its directory, removes it.
func (s *Server) Stop() {
	s.Kill()
	if s.ownsDir {
		os.RemoveAll(s.Dir)
	}
}

// Kill stops the server with SIGKILL (no shutdown save, like a crash) and
// returns once the process is gone and its port closed.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts the server again on the same port and directory.
func (s *Server) Restart() error {
	var err error
	for range 50 { // the old socket may hold the port for a moment
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// ErrNoSIGSTOP: this system cannot pause a process.
var ErrNoSIGSTOP = errors.New("no SIGSTOP on this system")

// Pause stops the process without closing its connections (SIGSTOP), so
// that the server hangs like a partitioned host; Resume undoes it.
func (s *Server) Pause() error {
	if sigStop == sigCont {
		return ErrNoSIGSTOP
	}
	return s.cmd.Process.Signal(sigStop)
}

// Resume continues a paused server.
func (s *Server) Resume() { _ = s.cmd.Process.Signal(sigCont) }

// Do sends one command and returns the first line of the reply (the
// content, for a bulk string).
func (s *Server) Do(args ...string) (string, error) { return Do(s.Addr, args...) }

// Do sends one command in RESP to addr.
func Do(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") && line != "$-1" {
		line, err = rd.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
	}
	return line, err
}

// Ping returns nil if the server at addr answers PONG.
func Ping(addr string) error {
	line, err := Do(addr, "PING")
	if err == nil && line != "+PONG" {
		err = fmt.Errorf("PING: %s", line)
	}
	return err
}

// WaitPong polls addr until Redis answers PING, or the time is up.
func WaitPong(addr string, within time.Duration) error {
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if Ping(addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG from %s within %s", addr, within)
		}
	}
}

// LogTail is the end of the server's log, for failure messages.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
