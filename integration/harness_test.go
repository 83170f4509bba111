// Package integration tests tokengate black-box: it builds the Caddy
// binary with the plugin once, runs it as a subprocess per test with its
// own ports, data directory, server key and bolt file, and talks to it
// over HTTP only.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Passwords of the two declared users. They are distinctive so that a
// test can search logs for them.
const (
	alicePassword = "alice-pw-Qz81vK"
	bobPassword   = "bob-pw-Xk77rT"
)

const (
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
	pollEvery    = 20 * time.Millisecond
)

var (
	caddyBin string // the binary TestMain built
	modRoot  string // the module's root directory
	// bcrypt cost-4 hashes of the passwords, made at start.
	aliceHash, bobHash string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// Every test here builds and runs Caddy: -short is the developer's
		// quick loop, which leaves them out.
		fmt.Println("skipping the integration tests under -short: they build and run Caddy")
		return 0
	}
	tmp, err := os.MkdirTemp("", "tokengate-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	if modRoot, err = moduleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "finding the module root:", err)
		return 1
	}
	// The Redis pass runs the binary its parent built.
	if caddyBin = os.Getenv("TOKENGATE_TEST_CADDY"); caddyBin == "" {
		caddyBin = filepath.Join(tmp, "caddy")
		build := exec.Command("go", "build", "-o", caddyBin, "github.com/tokengate/tokengate/cmd/caddy")
		build.Dir = modRoot
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building caddy: %v\n%s", err, out)
			return 1
		}
	}
	for _, p := range []struct {
		dst *string
		pw  string
	}{{&aliceHash, alicePassword}, {&bobHash, bobPassword}} {
		h, err := bcrypt.GenerateFromPassword([]byte(p.pw), 4)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		*p.dst = string(h)
	}
	return runStores(m)
}

// moduleRoot is the directory of go.mod, found from the package directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// ---------------------------------------------------------------------------
// Upstream: the "existing app". It answers every request with what reached
// it, so tests can assert exactly what the gate passed on.

type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
}

// seen is what the upstream received.
type seen struct {
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	RawQuery string              `json:"rawQuery"`
	Headers  map[string][]string `json:"headers"`
	Trailers map[string][]string `json:"trailers,omitempty"`
	BodyLen  int64               `json:"bodyLen"`
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := new(upstream)
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		// Read the body first: request trailers arrive after it.
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{
			Method:   r.Method,
			Path:     r.URL.Path,
			RawQuery: r.URL.RawQuery,
			Headers:  r.Header,
			Trailers: r.Trailer,
			BodyLen:  n,
		})
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// addr is host:port for reverse_proxy.
func (u *upstream) addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

// ---------------------------------------------------------------------------
// Caddy process.

const sitePorts = 3

type caddyProc struct {
	t       *testing.T
	up      *upstream
	dir     string // scratch: Caddyfile, caddy.log, access logs
	xdg     string // XDG_DATA_HOME / XDG_CONFIG_HOME root
	env     []string
	admin   string
	ports   []int
	cfg     caddyfile    // the config it runs, or is about to
	shared  *sharedStore // the Redis pass's store, or nil: bolt
	cfgPath string
	logPath string
	client  *http.Client
	bin     string // the caddy binary it runs; "": caddyBin

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// newCaddy starts Caddy with the Caddyfile cfg and stops it at the end of
// the test. env entries ("K=V") are added to the environment.
func newCaddy(t *testing.T, cfg caddyfile, env ...string) *caddyProc {
	t.Helper()
	c := prepareCaddy(t, cfg, env...)
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			c.pickPorts()
		}
		if err = c.start(); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting caddy: %v", err)
	}
	return c
}

// prepareCaddy sets a process up without starting it. In the Redis pass
// it gives the process the pass's store if the test opted in with
// bothStores, and skips the test otherwise.
func prepareCaddy(t *testing.T, cfg caddyfile, env ...string) *caddyProc {
	t.Helper()
	c := &caddyProc{
		t:   t,
		up:  newUpstream(t),
		dir: t.TempDir(),
		xdg: t.TempDir(),
		env: env,
		cfg: cfg,
		client: &http.Client{
			Timeout: 15 * time.Second,
			// Fresh connections: the process restarts under the client.
			Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialLoopback},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.cfgPath = filepath.Join(c.dir, "Caddyfile")
	c.logPath = filepath.Join(c.dir, "caddy.log")
	c.shared = storeFor(t, c.dir)
	c.pickPorts()
	t.Cleanup(c.stop)
	return c
}

// dialLoopback dials like net.Dialer, except that host names ending in
// .test or .localhost reach 127.0.0.1, where the test's sites listen.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && (strings.HasSuffix(host, ".test") || strings.HasSuffix(host, ".localhost")) {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (c *caddyProc) pickPorts() {
	c.t.Helper()
	ports := freePorts(c.t, sitePorts+1)
	c.admin = "127.0.0.1:" + strconv.Itoa(ports[0])
	c.ports = ports[1:]
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// data is what cfg's fragments are rendered with for this process.
func (c *caddyProc) data(cfg caddyfile) cfgData {
	d := cfgData{
		Admin:     c.admin,
		Upstream:  c.up.addr(),
		Dir:       c.dir,
		AliceHash: aliceHash,
		BobHash:   bobHash,
	}
	for i, p := range c.ports {
		d.Site = append(d.Site, "http://"+cfg.host(i)+":"+strconv.Itoa(p))
	}
	return d
}

// render writes cfg out for this process.
func (c *caddyProc) render(cfg caddyfile) string {
	c.t.Helper()
	out, err := cfg.render(c.data(cfg), c.shared)
	if err != nil {
		c.t.Fatalf("Caddyfile: %v", err)
	}
	return out
}

// writeConfig renders cfg into the process's Caddyfile, which `caddy run`
// and `caddy reload` read, and returns the text.
func (c *caddyProc) writeConfig(cfg caddyfile) string {
	c.t.Helper()
	out := c.render(cfg)
	if err := os.WriteFile(c.cfgPath, []byte(out), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// site returns the base URL of site i.
func (c *caddyProc) site(i int) string {
	return "http://" + c.cfg.host(i) + ":" + strconv.Itoa(c.ports[i])
}

// start writes the Caddyfile, runs caddy and waits until it serves.
func (c *caddyProc) start() error {
	c.t.Helper()
	c.writeConfig(c.cfg)
	if err := c.spawn("run", "--config", c.cfgPath, "--adapter", "caddyfile"); err != nil {
		return err
	}
	if err := c.waitReady(len(c.cfg.sites())); err != nil {
		c.kill()
		return fmt.Errorf("%w\n--- caddy output ---\n%s", err, c.logs())
	}
	return nil
}

// spawn starts the binary with the test's environment, appending its
// output to caddy.log.
func (c *caddyProc) spawn(args ...string) error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	bin := c.bin
	if bin == "" {
		bin = caddyBin
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = c.environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.dir
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.done, c.waitErr = cmd, done, nil
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		close(done)
	}()
	return nil
}

func (c *caddyProc) environ() []string {
	env := append(os.Environ(),
		"XDG_DATA_HOME="+filepath.Join(c.xdg, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(c.xdg, "config"),
		"HOME="+c.xdg,
	)
	return append(env, c.env...)
}

// dataDir is Caddy's data directory for this process.
func (c *caddyProc) dataDir() string { return filepath.Join(c.xdg, "data", "caddy") }

// waitReady polls the admin endpoint until the config is loaded (GET
// /config/ blocks while a load is in progress), then the first sites site
// ports until they accept connections.
func (c *caddyProc) waitReady(sites int) error {
	deadline := time.Now().Add(startTimeout)
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ready := false
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("caddy exited during startup: %v", c.exitErr())
		default:
		}
		if !ready {
			if resp, err := probe.Get("http://" + c.admin + "/config/"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				ready = resp.StatusCode == http.StatusOK && len(bytes.TrimSpace(b)) > 0 && string(bytes.TrimSpace(b)) != "null"
			}
		}
		if ready {
			all := true
			for _, p := range c.ports[:sites] {
				conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
				if err != nil {
					all = false
					break
				}
				conn.Close()
			}
			if all {
				return nil
			}
		}
		time.Sleep(pollEvery)
	}
	return errors.New("caddy not ready after " + startTimeout.String())
}

func (c *caddyProc) exitErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitErr
}

// stop interrupts Caddy and waits for it to exit, killing it after a
// deadline. Safe to call when not running.
func (c *caddyProc) stop() {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		c.t.Errorf("caddy did not exit within %s of SIGINT; killing it", stopTimeout)
		c.kill()
	}
}

func (c *caddyProc) kill() {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// restart stops Caddy and starts it again with the same ports, data
// directory and Caddyfile.
func (c *caddyProc) restart() {
	c.t.Helper()
	c.stop()
	if err := c.start(); err != nil {
		c.t.Fatalf("restarting caddy: %v", err)
	}
}

// reload loads a new Caddyfile with `caddy reload`.
func (c *caddyProc) reload(cfg caddyfile) {
	c.t.Helper()
	c.cfg = cfg
	c.writeConfig(cfg)
	out, code := c.runCLI("reload", "--config", c.cfgPath, "--adapter", "caddyfile", "--address", c.admin)
	if code != 0 {
		c.t.Fatalf("caddy reload exited %d:\n%s\n--- caddy output ---\n%s", code, out, c.logs())
	}
}

// runCLI runs the binary to completion with the test's environment and
// returns its combined output and exit code.
func (c *caddyProc) runCLI(args ...string) (string, int) {
	c.t.Helper()
	return runBinary(c.t, c.environ(), c.dir, args...)
}

func runBinary(t *testing.T, env []string, dir string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, caddyBin, args...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee) && ctx.Err() == nil:
		return string(out), ee.ExitCode()
	}
	t.Fatalf("running caddy %s: %v\n%s", strings.Join(args, " "), err, out)
	return "", -1
}

// logs returns everything the process wrote to stdout and stderr.
func (c *caddyProc) logs() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// logLines returns the JSON log entries of the file at path.
func logLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// HTTP helpers.

type response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any // the body if it is a JSON object
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// hdr is a set of request headers. Keys are sent exactly as written, so
// that tests can send non-canonical spellings such as X_Auth_User_Id.
type hdr map[string]string

// do sends a request. body may be nil (none), a string or []byte (sent
// as is) or anything else (sent as JSON). A body gets Content-Type
// application/json unless headers name one.
func (c *caddyProc) do(t *testing.T, method, url string, headers hdr, body any) *response {
	t.Helper()
	return doWith(t, c.client, method, url, headers, body)
}

func doWith(t *testing.T, client *http.Client, method, url string, headers hdr, body any) *response {
	t.Helper()
	r, err := tryWith(client, method, url, headers, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryWith is doWith for a request that may fail to get an answer, e.g.
// one the previous config's server took during a reload.
func tryWith(client *http.Client, method, url string, headers hdr, body any) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	hasCT := false
	for k, v := range headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header[k] = append(req.Header[k], v)
		hasCT = hasCT || strings.EqualFold(k, "Content-Type")
	}
	if rd != nil && !hasCT {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading body: %w", method, url, err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		r.JSON = m
	}
	return r, nil
}

// basic is the Authorization header value for Basic credentials.
func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// Paths of the Onezone endpoints.
const (
	tempPath   = "/api/v3/onezone/user/tokens/temporary"
	verifyPath = "/api/v3/onezone/tokens/verify_access_token"
)

// timeCaveats is a caveat list with one time caveat ttl seconds away.
func timeCaveats(ttl int64) []map[string]any {
	return []map[string]any{{"type": "time", "validUntil": time.Now().Unix() + ttl}}
}

// mintTemporary creates a temporary access token with Basic credentials.
func (c *caddyProc) mintTemporary(t *testing.T, base, user, pass string, ttlSeconds int64) string {
	t.Helper()
	return c.mintWith(t, base, user, pass, map[string]any{"caveats": timeCaveats(ttlSeconds)})
}

// mintWith creates a temporary token from an arbitrary creation body.
func (c *caddyProc) mintWith(t *testing.T, base, user, pass string, body any) string {
	t.Helper()
	r := c.do(t, http.MethodPost, base+tempPath, hdr{"Authorization": basic(user, pass)}, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("minting a token for %s: got %s, want 201", user, r)
	}
	tok, _ := r.JSON["token"].(string)
	if tok == "" {
		t.Fatalf("minting a token for %s: no token in %s", user, r)
	}
	return tok
}

// errorID returns body.error.id, or "".
func errorID(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	id, _ := e["id"].(string)
	return id
}

// errorDetails returns body.error.details, or nil.
func errorDetails(body map[string]any) map[string]any {
	e, _ := body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	return d
}

// authErrorID returns body.error.details.authError.id, or "".
func authErrorID(body map[string]any) string {
	a, _ := errorDetails(body)["authError"].(map[string]any)
	id, _ := a["id"].(string)
	return id
}

// wantRefused checks a 401 unauthorized answer whose authError is want.
func wantRefused(t *testing.T, r *response, want string) {
	t.Helper()
	if r.Status != http.StatusUnauthorized || errorID(r.JSON) != "unauthorized" || authErrorID(r.JSON) != want {
		t.Errorf("got %s, want 401 unauthorized with authError %q", r, want)
	}
}

// wantError checks a status and error id.
func wantError(t *testing.T, r *response, status int, id string) {
	t.Helper()
	if r.Status != status || errorID(r.JSON) != id {
		t.Errorf("got %s, want %d %s", r, status, id)
	}
}

// upstreamSaw decodes what the upstream echoed, failing unless the
// request passed the gate.
func upstreamSaw(t *testing.T, r *response) seen {
	t.Helper()
	var s seen
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &s) != nil || s.Headers == nil {
		t.Fatalf("request did not reach the upstream: %s", r)
	}
	return s
}

// header returns the values the upstream saw for name, matched case-
// insensitively and with '_' for '-', and the keys that matched.
func (s seen) header(name string) (vals, keys []string) {
	want := normHeader(name)
	for k, v := range s.Headers {
		if normHeader(k) == want {
			vals = append(vals, v...)
			keys = append(keys, k)
		}
	}
	return vals, keys
}

func normHeader(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "-")) }

// jsonEqual compares a decoded JSON value with a JSON text.
func jsonEqual(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON %s: %v", want, err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollEvery)
	}
}
