package integration

// The brute-force budget: failed credentials per client IP and window,
// answered with 429 and Retry-After in each API's own format, logged once
// per window, listed and lifted through the admin API and the CLI. Client
// addresses come from X-Forwarded-For, which the sites trust from
// 127.0.0.1 (the server's trusted_proxies), so each test plays several
// clients from one host.
//
// BenchmarkGateDuringPasswordFlood measures the gate's throughput with and
// without a flood of wrong passwords.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// bruteSite trusts X-Forwarded-For from 127.0.0.1 and allows 10 failed
// credentials per client per 5 minutes (users: ten times that).
var bruteSite = bruteSiteBudget("10 5m")

// bruteSiteBudget is bruteSite with another failure_budget.
func bruteSiteBudget(budget string) caddyfile {
	return caddyfile{Global: []string{trustLoopbackProxy}, App: []string{"temporary_max_ttl 1h", "failure_budget " + budget}}
}

const (
	bruteBudget = 10
	bruteWindow = 5 * time.Minute
	bruteLogMsg = "brute-force budget"
)

// loginAPI is an API that takes Basic credentials, with its own answers.
type loginAPI struct {
	name    string
	attempt func(t *testing.T, c *caddyProc, ip, user, pass string) *response
	ok      int                             // status of a successful login
	refused func(t *testing.T, r *response) // checks a wrong password's answer
	banned  func(t *testing.T, r *response) // checks the 429
}

var (
	onezoneLogin = loginAPI{
		name: "onezone",
		attempt: func(t *testing.T, c *caddyProc, ip, user, pass string) *response {
			t.Helper()
			return c.do(t, http.MethodPost, c.site(0)+tempPath, fromIP(ip, hdr{"Authorization": basic(user, pass)}),
				map[string]any{"caveats": timeCaveats(600)})
		},
		ok:      http.StatusCreated,
		refused: func(t *testing.T, r *response) { t.Helper(); wantRefused(t, r, "badBasicCredentials") },
		banned:  wantOnezoneBanned,
	}
	openpaasLogin = loginAPI{
		name: "openpaas",
		attempt: func(t *testing.T, c *caddyProc, ip, user, pass string) *response {
			t.Helper()
			return c.do(t, http.MethodGet, c.site(0)+atPath, fromIP(ip, hdr{"Authorization": basic(user, pass)}), nil)
		},
		ok: http.StatusOK,
		refused: func(t *testing.T, r *response) {
			t.Helper()
			wantOpenPaaSError(t, r, http.StatusUnauthorized, opLoginError)
		},
		banned: wantOpenPaaSBanned,
	}
)

// wantOnezoneBanned checks a 429 in Onezone's envelope, whose
// details.retryAfter is the Retry-After header.
func wantOnezoneBanned(t *testing.T, r *response) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || errorID(r.JSON) != "tooManyRequests" {
		t.Errorf("got %s, want 429 {\"error\":{\"id\":\"tooManyRequests\",...}}", r)
		return
	}
	e, _ := r.JSON["error"].(map[string]any)
	if d, _ := e["description"].(string); d == "" || len(r.JSON) != 1 {
		t.Errorf("429 body %s: want Onezone's envelope with a description", r.Body)
	}
	n := wantRetryAfter(t, r, bruteWindow)
	if ra, ok := errorDetails(r.JSON)["retryAfter"].(float64); !ok || int(ra) != n {
		t.Errorf("details.retryAfter %v, want the Retry-After header's %d", errorDetails(r.JSON)["retryAfter"], n)
	}
}

// wantOpenPaaSBanned checks a 429 in OpenPaaS's error shape:
// {"error":{"code":429,"message":…,"details":…}}.
func wantOpenPaaSBanned(t *testing.T, r *response) {
	t.Helper()
	e, _ := r.JSON["error"].(map[string]any)
	msg, _ := e["message"].(string)
	det, _ := e["details"].(string)
	if r.Status != http.StatusTooManyRequests || len(r.JSON) != 1 || len(e) != 3 || e["code"] != float64(429) ||
		msg == "" || det == "" {
		t.Errorf("got %s, want 429 {\"error\":{\"code\":429,\"message\":…,\"details\":…}}", r)
		return
	}
	wantOpenPaaSJSON(t, r)
	wantRetryAfter(t, r, bruteWindow)
}

// banJSON is one entry of GET /tokengate/bans.
type banJSON struct {
	Key   string    `json:"key"`
	Count int       `json:"count"`
	Until time.Time `json:"until"`
}

// bans lists the admin API's bans by key.
func (c *caddyProc) bans(t *testing.T) map[string]banJSON {
	t.Helper()
	r := c.adminWant(t, http.MethodGet, "/tokengate/bans", nil, http.StatusOK)
	out := map[string]banJSON{}
	for _, b := range decodeInto[[]banJSON](t, r.Body) {
		out[b.Key] = b
	}
	return out
}

// exhaust spends ip's budget with wrong passwords for alice on Onezone's
// API, checking that each is refused as a wrong password.
func (c *caddyProc) exhaust(t *testing.T, ip string, n int) {
	t.Helper()
	for i := range n {
		r := onezoneLogin.attempt(t, c, ip, "alice", "wrong-password-"+strconv.Itoa(i))
		onezoneLogin.refused(t, r)
		if t.Failed() {
			t.Fatalf("wrong password %d from %s: %s", i+1, ip, r)
		}
	}
}

// The 11th wrong password from a client within the window gets 429, in the
// API's own format; so does its right password; other clients are not
// punished.
func TestBruteForceBasicPerIP(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, bruteSite)
	for i, tc := range []struct {
		api        loginAPI
		user, pass string
		other      loginAPI // another API the same client is banned from
	}{
		{onezoneLogin, "alice", alicePassword, openpaasLogin},
		{openpaasLogin, "bob", bobPassword, onezoneLogin},
	} {
		t.Run(tc.api.name, func(t *testing.T) {
			a, b := fmt.Sprintf("198.51.100.%d", 10+i), fmt.Sprintf("198.51.100.%d", 20+i)
			for n := range bruteBudget {
				r := tc.api.attempt(t, c, a, tc.user, "wrong-password-"+strconv.Itoa(n))
				tc.api.refused(t, r)
				if t.Failed() {
					t.Fatalf("wrong password %d of %d: %s", n+1, bruteBudget, r)
				}
			}
			tc.api.banned(t, tc.api.attempt(t, c, a, tc.user, "wrong-password-11"))
			tc.api.banned(t, tc.api.attempt(t, c, a, tc.user, tc.pass))
			tc.other.banned(t, tc.other.attempt(t, c, a, tc.user, tc.pass))

			// Another client: a wrong password is only wrong, the right one works.
			tc.api.refused(t, tc.api.attempt(t, c, b, tc.user, "wrong-password-b"))
			if r := tc.api.attempt(t, c, b, tc.user, tc.pass); r.Status != tc.api.ok {
				t.Errorf("right password from %s: got %s, want %d", b, r, tc.api.ok)
			}
			// The client counted is Caddy's client_ip, not the proxy's address.
			bans := c.bans(t)
			if _, ok := bans["ip:"+a]; !ok {
				t.Errorf("GET /tokengate/bans %v lacks ip:%s", bans, a)
			}
			for _, k := range []string{"ip:127.0.0.1", "ip:" + b} {
				if _, ok := bans[k]; ok {
					t.Errorf("GET /tokengate/bans lists %s: %v", k, bans)
				}
			}
		})
	}
}

// The budget used up is logged once per window, not once per refusal.
func TestBruteForceLoggedOncePerWindow(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, bruteSite)
	const ip = "198.51.100.50"
	for i := range 15 {
		r := onezoneLogin.attempt(t, c, ip, "alice", "wrong-password-"+strconv.Itoa(i))
		if want := map[bool]int{true: 401, false: 429}[i < bruteBudget]; r.Status != want {
			t.Fatalf("wrong password %d: got %s, want %d", i+1, r, want)
		}
	}
	lines := func() (out []string) {
		for _, l := range strings.Split(c.logs(), "\n") {
			if strings.Contains(l, bruteLogMsg) {
				out = append(out, l)
			}
		}
		return out
	}
	// The line is written before the refusal is answered; the poll covers
	// only the log file's own buffering.
	eventually(t, 5*time.Second, "the brute-force log line", func() bool { return len(lines()) > 0 })
	got := lines()
	if len(got) != 1 {
		t.Fatalf("%d lines with %q after 15 wrong passwords from one client, want 1:\n%s",
			len(got), bruteLogMsg, strings.Join(got, "\n"))
	}
	if !strings.Contains(got[0], "ip:"+ip) {
		t.Errorf("log line %q does not name ip:%s", got[0], ip)
	}
	for _, secret := range []string{"wrong-password-", alicePassword} {
		if strings.Contains(c.logs(), secret) {
			t.Errorf("Caddy's log contains %q", secret)
		}
	}
}

// After the window the client has a fresh budget.
func TestBruteForceBudgetResetsAfterWindow(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, bruteSiteBudget("3 2s"))
	const ip = "198.51.100.60"
	const window = 2 * time.Second
	for round := range 2 {
		start := time.Now()
		c.exhaust(t, ip, 3)
		wantOnezoneBanned(t, onezoneLogin.attempt(t, c, ip, "alice", "wrong-password-x"))
		r := onezoneLogin.attempt(t, c, ip, "alice", alicePassword)
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("round %d: right password while banned: got %s, want 429", round, r)
		}
		wantRetryAfter(t, r, window)
		deadline := time.Now().Add(10 * time.Second)
		for {
			r = onezoneLogin.attempt(t, c, ip, "alice", alicePassword)
			if r.Status != http.StatusTooManyRequests {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: still banned %s after the first failure (window %s): %s", round, time.Since(start), window, r)
			}
			time.Sleep(pollEvery)
		}
		if r.Status != http.StatusCreated {
			t.Fatalf("round %d: right password after the window: got %s, want 201", round, r)
		}
		if d := time.Since(start); d < window-100*time.Millisecond {
			t.Errorf("round %d: admitted again %s after the first failure, before the %s window ended", round, d, window)
		}
	}
}

// Invalid reset tokens spend the client's budget too.
func TestBruteForceInvalidResetTokens(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, bruteSite)
	c.addUser(t, "dave", "dave-pw-Old1", "")
	tok, _ := c.issueReset(t, "dave")
	const a, b = "198.51.100.70", "198.51.100.71"
	for i := range bruteBudget {
		r := c.do(t, http.MethodGet, c.site(0)+validatePath+"?token=bad", fromIP(a, nil), nil)
		wantInvalidToken(t, r)
		if t.Failed() {
			t.Fatalf("invalid token %d", i+1)
		}
	}
	r := c.do(t, http.MethodGet, c.site(0)+validatePath+"?token=bad", fromIP(a, nil), nil)
	wantUnleashError(t, r, http.StatusTooManyRequests, "RateLimitError")
	wantRetryAfter(t, r, bruteWindow)
	// Banned is banned: the real token, and a password, from that client.
	r = c.validateReset(t, tok, fromIP(a, nil))
	wantUnleashError(t, r, http.StatusTooManyRequests, "RateLimitError")
	r = c.postReset(t, map[string]string{"token": tok, "password": newPassword}, fromIP(a, nil))
	wantUnleashError(t, r, http.StatusTooManyRequests, "RateLimitError")
	wantOnezoneBanned(t, onezoneLogin.attempt(t, c, a, "alice", alicePassword))
	// Another client is not.
	if r := c.validateReset(t, tok, fromIP(b, nil)); r.Status != http.StatusOK || r.JSON["email"] != "dave@example.com" {
		t.Errorf("the real token from %s: got %s, want 200", b, r)
	}
	if _, ok := c.bans(t)["ip:"+a]; !ok {
		t.Errorf("GET /tokengate/bans lacks ip:%s", a)
	}
}

// Bans are listed and lifted through the admin API and the CLI.
func TestBans(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, bruteSite)

	t.Run("admin API", func(t *testing.T) {
		const ip = "198.51.100.80"
		if bans := c.bans(t); len(bans) != 0 {
			t.Errorf("bans before any failure: %v", bans)
		}
		before := time.Now()
		c.exhaust(t, ip, bruteBudget)
		wantOnezoneBanned(t, onezoneLogin.attempt(t, c, ip, "alice", alicePassword))
		bans := c.bans(t)
		ban, ok := bans["ip:"+ip]
		if !ok || ban.Count != bruteBudget || ban.Until.Before(before.Add(bruteWindow-time.Second)) ||
			ban.Until.After(time.Now().Add(bruteWindow+time.Second)) {
			t.Errorf("GET /tokengate/bans: %v, want ip:%s with count %d until about %s from now", bans, ip, bruteBudget, bruteWindow)
		}
		if len(bans) != 1 {
			t.Errorf("GET /tokengate/bans: %v, want only ip:%s", bans, ip)
		}
		wantAdminError(t, c.adminReq(t, http.MethodDelete, "/tokengate/bans/not-a-key", nil), http.StatusBadRequest, "ip:<address>")
		c.adminWant(t, http.MethodDelete, "/tokengate/bans/ip:"+ip, nil, http.StatusOK)
		if _, ok := c.bans(t)["ip:"+ip]; ok {
			t.Errorf("ip:%s still listed after DELETE", ip)
		}
		if r := onezoneLogin.attempt(t, c, ip, "alice", alicePassword); r.Status != http.StatusCreated {
			t.Errorf("right password after the ban was lifted: got %s, want 201", r)
		}
		// A fresh budget: ten more wrong passwords are only wrong.
		c.exhaust(t, ip, bruteBudget)
		wantOnezoneBanned(t, onezoneLogin.attempt(t, c, ip, "alice", "wrong-password-x"))
	})

	t.Run("CLI", func(t *testing.T) {
		const ip = "198.51.100.90"
		c.exhaust(t, ip, bruteBudget)
		wantOnezoneBanned(t, onezoneLogin.attempt(t, c, ip, "alice", alicePassword))
		out := c.cliOK(t, "", "bans", "list")
		if row := tableRow(out, "KEY"); strings.Join(row, " ") != "KEY FAILURES UNTIL" {
			t.Errorf("bans list header %q:\n%s", row, out)
		}
		if row := tableRow(out, "ip:"+ip); len(row) < 3 || row[1] != strconv.Itoa(bruteBudget) {
			t.Errorf("bans list: row %q for ip:%s, want count %d:\n%s", row, ip, bruteBudget, out)
		}
		if out := c.cliOK(t, "", "bans", "lift", ip); out != "lifted ip:"+ip+"\n" {
			t.Errorf("bans lift printed %q", out)
		}
		if row := tableRow(c.cliOK(t, "", "bans", "list"), "ip:"+ip); row != nil {
			t.Errorf("ip:%s still listed after bans lift: %q", ip, row)
		}
		if r := onezoneLogin.attempt(t, c, ip, "alice", alicePassword); r.Status != http.StatusCreated {
			t.Errorf("right password after bans lift: got %s, want 201", r)
		}
	})
}

// Successful logins spend no budget.
func TestBruteForceSuccessNotCounted(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, bruteSite)
	const ip = "198.51.100.100"
	c.exhaust(t, ip, bruteBudget-1) // one short of a ban
	for i := range 20 {
		if r := onezoneLogin.attempt(t, c, ip, "alice", alicePassword); r.Status != http.StatusCreated {
			t.Fatalf("right password %d of 20 after %d wrong ones: got %s, want 201", i+1, bruteBudget-1, r)
		}
	}
	if _, ok := c.bans(t)["ip:"+ip]; ok {
		t.Errorf("ip:%s banned after successful logins", ip)
	}
}

// ---------------------------------------------------------------------------
// Password flood.

// floodCost is the cost of the flooded user's hash: enough that the flood
// keeps the password slot busy, as a real cost-14 hash would, while the
// benchmark stays short.
const floodCost = 10

// floodSite declares alice and the flood user, whose password hash is
// hash.
func floodSite(hash string) caddyfile {
	return caddyfile{
		Global: []string{trustLoopbackProxy},
		App:    []string{"temporary_max_ttl 1h", "failure_budget 1000000000", "password_concurrency 1"},
		Users:  []string{aliceUser, "user flood {\n\tpassword " + hash + "\n}"},
		Sites:  []site{{Body: []string{`respond "ok" 200`}}},
	}
}

// BenchmarkGateDuringPasswordFlood measures requests/s through the gate
// with a valid token, with and without a concurrent flood of Basic logins
// with wrong passwords from ever new client addresses. With
// password_concurrency 1, the flood's bcrypt work takes one CPU at most.
func BenchmarkGateDuringPasswordFlood(b *testing.B) {
	h, err := bcrypt.GenerateFromPassword([]byte("flood-pw-1"), floodCost)
	if err != nil {
		b.Fatal(err)
	}
	c := startBenchCaddy(b, floodSite(string(h)))
	base := c.site(0)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(client.CloseIdleConnections)
	tok := benchMint(b, client, base)

	b.Run("quiet", func(b *testing.B) { gateRate(b, client, base, tok) })
	b.Run("flood", func(b *testing.B) {
		stop := startFlood(b, base, 8)
		_, rate := stop(gateRate(b, client, base, tok))
		b.ReportMetric(rate, "logins/s")
	})
}

// gateRate sends b.N gated GETs from four goroutines and reports req/s.
// It returns how long that took.
func gateRate(b *testing.B, client *http.Client, base, tok string) time.Duration {
	const workers = 4
	var (
		next   atomic.Int64
		failed atomic.Pointer[string]
		wg     sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				req, _ := http.NewRequest(http.MethodGet, base+"/app", nil)
				req.Header.Set("X-Auth-Token", tok)
				resp, err := client.Do(req)
				if err != nil {
					msg := err.Error()
					failed.Store(&msg)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					msg := "gate answered " + resp.Status
					failed.Store(&msg)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if msg := failed.Load(); msg != nil {
		b.Fatal(*msg)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	return elapsed
}

// startFlood sends Basic logins with a wrong password for user flood from
// workers goroutines, each from a new X-Forwarded-For address, and
// returns once the first was answered, so that the measured requests
// meet a flood under way. stop ends the flood and returns how many
// logins were answered while measuring and their rate.
func startFlood(b *testing.B, base string, workers int) (stop func(measured time.Duration) (int64, float64)) {
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var (
		seq, answered atomic.Int64
		failed        atomic.Pointer[string]
		wg            sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := seq.Add(1)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+tempPath, nil)
				req.Header.Set("Authorization", basic("flood", "wrong-password"))
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						msg := err.Error()
						failed.Store(&msg)
					}
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					msg := "flood login answered " + resp.Status + ", want 401"
					failed.Store(&msg)
					return
				}
				answered.Add(1)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for answered.Load() == 0 && failed.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
	}
	if failed.Load() == nil && answered.Load() == 0 {
		msg := "no flood login answered within 10s"
		failed.Store(&msg)
	}
	first := answered.Load()
	return func(measured time.Duration) (int64, float64) {
		n := answered.Load() - first
		cancel()
		wg.Wait()
		client.CloseIdleConnections()
		if msg := failed.Load(); msg != nil {
			b.Fatal(*msg)
		}
		return n, float64(n) / measured.Seconds()
	}
}

// benchMint gets alice a temporary token for the gate.
func benchMint(b *testing.B, client *http.Client, base string) string {
	req, _ := http.NewRequest(http.MethodPost, base+tempPath,
		strings.NewReader(fmt.Sprintf(`{"caveats":[{"type":"time","validUntil":%d}]}`, time.Now().Unix()+3600)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", basic("alice", alicePassword))
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct{ Token string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &v) != nil || v.Token == "" {
		b.Fatalf("minting a token: %s %s", resp.Status, body)
	}
	return v.Token
}

// startBenchCaddy runs Caddy for a benchmark from a Caddyfile, with the
// harness's process plumbing (the harness's newCaddy wants a *testing.T),
// and stops it when the benchmark ends.
func startBenchCaddy(b *testing.B, cf caddyfile) *caddyProc {
	b.Helper()
	up := httptest.NewServer(http.NotFoundHandler())
	b.Cleanup(up.Close)
	c := &caddyProc{dir: b.TempDir(), xdg: b.TempDir(), up: &upstream{srv: up}, cfg: cf}
	c.cfgPath, c.logPath = filepath.Join(c.dir, "Caddyfile"), filepath.Join(c.dir, "caddy.log")
	var ls []net.Listener
	for range sitePorts + 1 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
	}
	ports := make([]int, len(ls))
	for i, l := range ls {
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	c.admin, c.ports = "127.0.0.1:"+strconv.Itoa(ports[0]), ports[1:]
	cfg, err := cf.render(c.data(cf), nil)
	if err == nil {
		err = os.WriteFile(c.cfgPath, []byte(cfg), 0o600)
	}
	if err == nil {
		err = c.spawn("run", "--config", c.cfgPath, "--adapter", "caddyfile")
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.done:
		case <-time.After(stopTimeout):
			c.kill()
		}
	})
	if err := c.waitReady(1); err != nil {
		b.Fatalf("%v\n--- caddy output ---\n%s", err, c.logs())
	}
	return c
}
