package integration

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/redistest"
)

// The suite runs once per store. TestMain runs the tests with the
// embedded bolt store; then it runs the tests of that run that called
// bothStores once more, in a child process of this test binary with
// storeUnderTest set to a redis-server it started, and the harness adds
// that store to every Caddyfile those tests render.
//
// The Redis pass runs what opted in, by a call in the test, rather than a
// list of test names: a renamed or new test cannot fall out of it. Left
// out are tests of bolt itself (the data-directory lock, the generated
// key file), of config parsing, and the Redis tests proper.

// storeUnderTest is the Redis address the tests of this process use, or
// "" for bolt.
var storeUnderTest = os.Getenv("TOKENGATE_TEST_REDIS")

// testKey is the server key every instance shares in the Redis pass: a
// shared store requires one.
const testKey = "dG9rZW5nYXRlLWludGVncmF0aW9uLXRlc3Qta2V5LTMyYg"

// optIns records, by top-level test, which tests called bothStores and
// which started a Caddy.
var optIns = struct {
	sync.Mutex
	both, started map[string]bool
}{both: map[string]bool{}, started: map[string]bool{}}

// bothStores opts the calling test into the Redis pass: after the bolt
// pass it runs again with every Caddy it starts on a Redis store (a key
// prefix of each process's own, the shared test key). Call it at the top
// of a top-level test, before it starts Caddy.
func bothStores(t *testing.T) {
	t.Helper()
	name, _, sub := strings.Cut(t.Name(), "/")
	optIns.Lock()
	defer optIns.Unlock()
	switch {
	case sub:
		t.Fatal("bothStores: call it in the top-level test, not in a subtest")
	case optIns.started[name]:
		t.Fatal("bothStores: call it before the test starts Caddy")
	}
	optIns.both[name] = true
}

// storeFor returns the shared store of a process that test t starts with
// the scratch directory scope: nil (bolt) in the bolt pass; the Redis
// under test in the Redis pass, which skips tests that did not opt in.
func storeFor(t *testing.T, scope string) *sharedStore {
	t.Helper()
	name, _, _ := strings.Cut(t.Name(), "/")
	optIns.Lock()
	optIns.started[name] = true
	both := optIns.both[name]
	optIns.Unlock()
	switch {
	case storeUnderTest == "":
		return nil
	case !both:
		t.Skip("the Redis pass runs only the tests that call bothStores")
	}
	return &sharedStore{addr: storeUnderTest, prefix: redisPrefix(scope)}
}

// optedIn lists the tests that called bothStores, sorted.
func optedIn() []string {
	optIns.Lock()
	defer optIns.Unlock()
	var names []string
	for n := range optIns.both {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// runStores runs the tests with bolt, then the ones that opted in with
// Redis, even after a failure (so that one run shows both), and returns
// the first failure.
func runStores(m interface{ Run() int }) int {
	code := m.Run()
	if storeUnderTest != "" {
		return code
	}
	if redis := redisPass(optedIn()); code == 0 {
		code = redis
	}
	return code
}

// redisPass starts a redis-server and runs the tests names again against
// it in a child process of this test binary, which reuses the Caddy
// binary built for this one.
func redisPass(names []string) int {
	if len(names) == 0 {
		fmt.Println("=== no test of this run called bothStores: no Redis pass")
		return 0
	}
	srv, err := redistest.Run()
	switch {
	case errors.Is(err, redistest.ErrNotInstalled) && os.Getenv("CI") == "":
		fmt.Println("skipping the Redis pass: redis-server is not installed")
		return 0
	case errors.Is(err, redistest.ErrNotInstalled):
		fmt.Fprintln(os.Stderr, "redis-server is not installed; .ci/run installs it")
		return 1
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Stop()
	var run string
	if f := flag.Lookup("test.run"); f != nil {
		run = f.Value.String()
	}
	fmt.Printf("=== the Redis pass, with the tests that called bothStores (%d): %s\n", len(names), strings.Join(names, " "))
	child := exec.Command(os.Args[0], append(os.Args[1:], "-test.run="+redisRun(names, run))...)
	child.Env = append(os.Environ(), "TOKENGATE_TEST_REDIS="+srv.Addr, "TOKENGATE_TEST_CADDY="+caddyBin)
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	if err := child.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// redisRun is the -test.run pattern of the Redis pass: exactly the
// top-level tests names, and below them what the bolt pass's pattern run
// chose (its levels after the first).
func redisRun(names []string, run string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	pattern := "^(" + strings.Join(quoted, "|") + ")$"
	if _, sub, ok := cutLevel(run); ok {
		pattern += "/" + sub
	}
	return pattern
}

// cutLevel splits a -test.run pattern at its first level separator: a
// slash outside brackets and parentheses, as the testing package splits.
func cutLevel(run string) (first, rest string, ok bool) {
	depth := 0
	for i := 0; i < len(run); i++ {
		switch run[i] {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '\\':
			i++
		case '/':
			if depth == 0 {
				return run[:i], run[i+1:], true
			}
		}
	}
	return run, "", false
}

// ---------------------------------------------------------------------------
// The opt-in, proved: TestStorePasses runs this test binary on the two
// probes below and reads, from its output, which ran in which pass. The
// probes' names were never in a list of names.

// TestStoreProbeBoth opts in. It checks that its Caddy used this pass's
// store: the bolt file in the bolt pass, keys under its own prefix in the
// Redis pass.
func TestStoreProbeBoth(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	c.gateAs(t, c.mintTemporary(t, c.site(0), "alice", alicePassword, 600), "alice")
	t.Logf("probe %s ran with %s", t.Name(), probeStore(t, c))
}

// TestStoreProbeBoltOnly does not opt in: it must never run in the Redis
// pass.
func TestStoreProbeBoltOnly(t *testing.T) {
	t.Parallel()
	if storeUnderTest != "" {
		t.Fatal("a test that did not call bothStores runs in the Redis pass")
	}
	c := newCaddy(t, gatedSite)
	c.gateAs(t, c.mintTemporary(t, c.site(0), "alice", alicePassword, 600), "alice")
	t.Logf("probe %s ran with %s", t.Name(), probeStore(t, c))
}

// probeStore returns the store c used, failing the test unless it is
// this pass's.
func probeStore(t *testing.T, c *caddyProc) string {
	t.Helper()
	if storeUnderTest == "" {
		if c.shared != nil {
			t.Fatalf("the bolt pass gave Caddy a shared store: %+v", c.shared)
		}
		if _, err := os.Stat(filepath.Join(c.dataDir(), "tokengate", "tokengate.db")); err != nil {
			t.Fatalf("bolt store: %v", err)
		}
		return "bolt"
	}
	if c.shared == nil || c.shared.addr != storeUnderTest {
		t.Fatalf("the Redis pass gave Caddy the store %+v, want the Redis at %s", c.shared, storeUnderTest)
	}
	keys, err := redisDo(storeUnderTest, -1, "KEYS", c.shared.prefix+"*")
	if list, _ := keys.([]any); err != nil || len(list) == 0 {
		t.Fatalf("no keys under %s in the pass's Redis (%v)", c.shared.prefix, err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "tokengate", "tokengate.db")); err == nil {
		t.Fatal("the Redis pass's Caddy made a bolt store")
	}
	return "redis"
}

// TestStorePasses: a test that calls bothStores runs with bolt and then
// with Redis; a test that does not runs with bolt only.
func TestStorePasses(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil && os.Getenv("CI") == "" {
		t.Skip("redis-server is not installed, so there is no Redis pass")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^(TestStoreProbeBoth|TestStoreProbeBoltOnly)$", "-test.v", "-test.count=1")
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "TOKENGATE_TEST_REDIS=")
	}), "TOKENGATE_TEST_CADDY="+caddyBin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running the probes: %v\n%s", err, out)
	}
	ran := map[string]int{}
	for _, m := range regexp.MustCompile(`probe (\w+) ran with (\w+)`).FindAllStringSubmatch(string(out), -1) {
		ran[m[1]+" with "+m[2]]++
	}
	want := map[string]int{
		"TestStoreProbeBoth with bolt":     1,
		"TestStoreProbeBoth with redis":    1,
		"TestStoreProbeBoltOnly with bolt": 1,
	}
	if !maps.Equal(ran, want) {
		t.Errorf("the probes ran %v, want %v; output:\n%s", ran, want, out)
	}
	if !strings.Contains(string(out), "=== the Redis pass, with the tests that called bothStores (1): TestStoreProbeBoth\n") {
		t.Errorf("the output does not list the Redis pass's tests:\n%s", out)
	}
}
