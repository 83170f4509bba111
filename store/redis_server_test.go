package store_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

// redisServer is a redis-server child process on a loopback port.
type redisServer struct {
	tb   testing.TB
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

// startRedis starts redis-server with extra arguments (for example
// "--appendonly", "yes") and stops it at the end of the test. Without the
// binary it skips the test, except in CI, where the binary is installed
// and a missing one is a failure.
func startRedis(tb testing.TB, extra ...string) *redisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "" {
			tb.Skip("redis-server not on PATH")
		}
		tb.Fatalf("CI is set but redis-server is not on PATH: %v", err)
	}
	s := &redisServer{tb: tb, dir: tb.TempDir()}
	s.args = append([]string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir}, extra...)
	var err error
	for range 5 { // a free port can be taken before redis-server binds it
		s.port = freePort(tb)
		if err = s.start(); err == nil {
			tb.Cleanup(s.kill)
			return s
		}
	}
	tb.Fatal(err)
	return nil
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// start runs the server and waits until it answers PING.
func (s *redisServer) start() error {
	log, err := os.OpenFile(filepath.Join(s.dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	args := append([]string{"--port", fmt.Sprint(s.port)}, s.args...)
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.addr()) == nil {
			s.cmd = cmd
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %s", s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return fmt.Errorf("redis-server did not answer PING within 10s: %s", s.logTail())
		}
	}
}

// kill stops the server with SIGKILL (no shutdown save, like a crash).
func (s *redisServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	for ping(s.addr()) == nil { // until the port is closed
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd = nil
}

// restart starts the server again on the same port and directory.
func (s *redisServer) restart() {
	s.tb.Helper()
	var err error
	for range 50 { // the old process may still hold the port for a moment
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatal(err)
}

// pause stops the process without closing its connections (SIGSTOP), so
// that the server hangs like a partitioned host; resume undoes it.
func (s *redisServer) pause() {
	s.tb.Helper()
	if sigStop == sigCont {
		s.tb.Skip("no SIGSTOP on this system")
	}
	_ = s.cmd.Process.Signal(sigStop)
}
func (s *redisServer) resume() { _ = s.cmd.Process.Signal(sigCont) }

// do sends one command in RESP and returns the first line of the reply.
func (s *redisServer) do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.addr(), time.Second)
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
	if strings.HasPrefix(line, "$") && line != "$-1" { // a bulk string: its content
		line, err = rd.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
	}
	return line, err
}

func ping(addr string) error {
	s := &redisServer{}
	_, port, _ := net.SplitHostPort(addr)
	fmt.Sscan(port, &s.port)
	line, err := s.do("PING")
	if err == nil && line != "+PONG" {
		err = fmt.Errorf("PING: %s", line)
	}
	return err
}

func (s *redisServer) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

var prefixes atomic.Int64

// openRedis opens a store on the server with a key prefix of its own, so
// that tests sharing a server do not see each other; prefix "" picks a
// fresh one. It is closed at the end of the test.
func openRedis(tb testing.TB, s *redisServer, prefix string, edit ...func(*store.RedisConfig)) *store.Redis {
	tb.Helper()
	if prefix == "" {
		prefix = fmt.Sprintf("t%d:", prefixes.Add(1))
	}
	cfg := store.RedisConfig{Addrs: []string{s.addr()}, KeyPrefix: prefix}
	for _, e := range edit {
		e(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := store.OpenRedis(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}
