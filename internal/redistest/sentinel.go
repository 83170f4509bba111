package redistest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ErrNoSentinel: there is no redis-sentinel on PATH.
var ErrNoSentinel = errors.New("redis-sentinel is not installed")

// SentinelTimings are a Sentinel's failure detection settings: short ones
// make a test's failover take seconds instead of a minute.
type SentinelTimings struct {
	DownAfter       time.Duration // down-after-milliseconds
	FailoverTimeout time.Duration // failover-timeout
}

// FastSentinel detects a dead primary after a second.
var FastSentinel = SentinelTimings{DownAfter: time.Second, FailoverTimeout: 3 * time.Second}

// StartSentinel runs a redis-sentinel until the test ends, monitoring the
// primary at addr as master name with the quorum. Its sentinel.conf,
// which Sentinel rewrites, is in its own t.TempDir(). Without
// redis-sentinel it fails the test under CI and skips it elsewhere. conf
// lines go at the end of sentinel.conf (for example "requirepass pw").
func StartSentinel(tb testing.TB, name, primary string, quorum int, tm SentinelTimings, conf ...string) *Server {
	tb.Helper()
	s, err := runSentinel(tb.TempDir(), name, primary, quorum, tm, conf)
	switch {
	case errors.Is(err, ErrNoSentinel) && os.Getenv("CI") == "":
		tb.Skip(err)
	case errors.Is(err, ErrNoSentinel):
		tb.Fatal("redis-sentinel is not installed; .ci/run installs it")
	case err != nil:
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func runSentinel(dir, name, primary string, quorum int, tm SentinelTimings, extra []string) (*Server, error) {
	if _, err := exec.LookPath("redis-sentinel"); err != nil {
		return nil, ErrNoSentinel
	}
	host, port, ok := strings.Cut(primary, ":")
	if !ok {
		return nil, fmt.Errorf("bad primary address %q", primary)
	}
	conf := filepath.Join(dir, "sentinel.conf")
	lines := []string{
		"bind 127.0.0.1",
		"dir " + dir,
		fmt.Sprintf("sentinel monitor %s %s %s %d", name, host, port, quorum),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", name, tm.DownAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s %d", name, tm.FailoverTimeout.Milliseconds()),
		fmt.Sprintf("sentinel parallel-syncs %s 1", name),
	}
	lines = append(lines, extra...)
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: "redis-sentinel", pre: []string{conf}}
	return s, s.startOnFreePort()
}
