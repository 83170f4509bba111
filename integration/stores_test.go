package integration

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/tokengate/tokengate/internal/redistest"
)

// The suite of parts 1–4 runs once per store, from one table: TestMain
// runs every test with the embedded bolt store, then runs this same test
// binary again with storeUnderTest set to a Redis it started, and the
// harness adds that store to every Caddyfile it renders (caddyfile.render).
var stores = []struct {
	name string
	run  func() int // nil: the tests of this process
}{
	{"bolt", nil},
	{"redis", redisPass},
}

// storeUnderTest is the Redis address the tests of this process use, or
// "" for bolt.
var storeUnderTest = os.Getenv("TOKENGATE_TEST_REDIS")

// bothStores names the tests that run against each store. Left out are
// tests of bolt itself (the data-directory lock, the generated key file,
// the key's own errors), of config parsing, and the Redis tests proper.
const bothStores = "^(TestGeneration|TestCreateTemporaryToken|TestCreateTemporaryTokenErrors|TestMethodNotAllowed|" +
	"TestRevokeTemporaryTokens|TestVerifyAccessToken|TestGateWithoutToken|TestGateTokenHeaders|TestGateRefusedTokens|" +
	"TestGateRemovedUser|TestGateCachedTokenExpires|TestGateIdentityHeaders|TestQueryTokenSource|TestCookieTokenSource|" +
	"TestHandleErrorsOption|TestGateCoversHandleBlocks|TestIdentityPlaceholders|TestRevocationIsImmediateUnderLoad|" +
	"TestIPCaveatBehindTrustedProxy|TestPersistenceAcrossRestart|TestReloadKeepsState|TestTwoSitesShareState|" +
	"TestAdminUsers|TestAdminBlockAndDelete|TestAdminTokens|TestAdminPersistence|TestCLITokens|TestNamedTokensOnezoneAPI|TestMetrics)$"

// testKey is the server key every instance shares in the Redis pass: a
// shared store requires one.
const testKey = "dG9rZW5nYXRlLWludGVncmF0aW9uLXRlc3Qta2V5LTMyYg"

// runStores runs the tests once per store and returns the first failure.
func runStores(m interface{ Run() int }) int {
	if storeUnderTest != "" {
		return m.Run()
	}
	for _, s := range stores {
		run := s.run
		if run == nil {
			run = m.Run
		} else if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
			continue // a chosen subset runs with bolt only
		}
		if code := run(); code != 0 {
			return code
		}
	}
	return 0
}

// redisPass starts a redis-server and runs bothStores again against it in
// a child process of this test binary.
func redisPass() int {
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
	fmt.Println("=== the same tests, with the Redis store")
	child := exec.Command(os.Args[0], append(os.Args[1:], "-test.run="+bothStores)...)
	child.Env = append(os.Environ(), "TOKENGATE_TEST_REDIS="+srv.Addr)
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

// storeFor returns the shared store of a process whose scratch directory
// is scope: nil (bolt) in the bolt pass, the Redis under test with a key
// prefix of the process's own in the Redis pass.
func storeFor(_ *testing.T, scope string) *sharedStore {
	if storeUnderTest == "" {
		return nil
	}
	return &sharedStore{addr: storeUnderTest, prefix: redisPrefix(scope)}
}
