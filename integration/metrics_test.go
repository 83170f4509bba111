package integration

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// series is one scrape of the admin endpoint's /metrics: each sample's
// value by its name and labels as printed, e.g.
// tokengate_revocations_total{kind="temporary"}.
type series map[string]float64

func (c *caddyProc) scrape(t testing.TB) series {
	t.Helper()
	resp, err := c.client.Get("http://" + c.admin + "/metrics")
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %s\n%s", resp.Status, b)
	}
	s := series{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// storeKind is the store label of this pass's store.
func storeKind() string {
	if storeUnderTest != "" {
		return "redis"
	}
	return "bolt"
}

// metricsServer is the server label of the harness's one site: the
// Caddyfile adapter names the servers srv0, srv1, … by listener.
const metricsServer = "srv0"

// metricsSite is gatedSite with a small brute-force budget, per client
// address taken from X-Forwarded-For, so that a test can use one
// client's up while the rest of it logs in from 127.0.0.1.
var metricsSite = caddyfile{Global: []string{trustLoopbackProxy}, App: []string{"temporary_max_ttl 1h", "failure_budget 2 5m"}}

// TestMetrics: /metrics on the admin endpoint counts what the gate, the
// endpoints and the store did, the request series under the server the
// request came through, by bound label values; it carries no empty label
// value and no series of a store kind not in use, and keeps counting
// across a reload.
func TestMetrics(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, metricsSite)
	base := c.site(0)
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	srv := `server="` + metricsServer + `"`
	gate := func(result string) string {
		return `tokengate_gate_requests_total{result="` + result + `",` + srv + `}`
	}
	refusal := func(reason string) string {
		return `tokengate_gate_refusals_total{reason="` + reason + `",` + srv + `}`
	}
	login := func(method, result string) string {
		return `tokengate_logins_total{method="` + method + `",result="` + result + `",` + srv + `}`
	}
	issued := func(kind string) string { return `tokengate_issued_tokens_total{kind="` + kind + `",` + srv + `}` }
	revokeOps := `tokengate_store_operation_duration_seconds_count{operation="revoke_temp",store="` + storeKind() + `"}`
	var tok string

	for _, step := range []struct {
		name string
		do   func()
		want map[string]float64 // increase of each series
	}{
		{"mint", func() { tok = c.mintTemporary(t, base, "alice", alicePassword, 600) },
			map[string]float64{login("basic", "success"): 1, issued("temporary"): 1}},
		{"wrong password", func() {
			r := c.do(t, http.MethodPost, base+tempPath, fromIP("203.0.113.7", hdr{"Authorization": basic("alice", "wrong")}),
				map[string]any{"caveats": timeCaveats(600)})
			wantRefused(t, r, "badBasicCredentials")
		}, map[string]float64{login("basic", "failure"): 1, issued("temporary"): 0}},
		{"budget used up", func() {
			// The second failure uses up the budget of 2; the third is 429.
			for i, want := range []int{http.StatusUnauthorized, http.StatusTooManyRequests} {
				r := c.do(t, http.MethodPost, base+tempPath, fromIP("203.0.113.7", hdr{"Authorization": basic("alice", "wrong")}),
					map[string]any{"caveats": timeCaveats(600)})
				if r.Status != want {
					t.Fatalf("wrong password %d: %s, want %d", i+2, r, want)
				}
			}
		}, map[string]float64{login("basic", "failure"): 1, `tokengate_too_many_requests_total{` + srv + `}`: 1,
			`tokengate_bans_total{scope="client"}`: 1}},
		{"no token", func() {
			wantError(t, c.do(t, http.MethodGet, base+"/app", nil, nil), http.StatusUnauthorized, "unauthorized")
		}, map[string]float64{gate("refused"): 1, refusal("unauthorized"): 1}},
		{"undecodable token", func() {
			wantRefused(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": "not.a.token"}, nil), "badToken")
		}, map[string]float64{gate("refused"): 1, refusal("badToken"): 1}},
		{"valid token", func() {
			upstreamSaw(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": tok}, nil))
		}, map[string]float64{gate("accepted"): 1, gate("refused"): 0}},
		{"revoke all", func() {
			if r := c.do(t, http.MethodDelete, base+tempPath, alice, nil); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE: %s", r)
			}
		}, map[string]float64{`tokengate_revocations_total{kind="temporary"}`: 1, revokeOps: 1}},
		{"revoked token", func() {
			wantRefused(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
		}, map[string]float64{gate("refused"): 1, refusal("tokenRevoked"): 1, gate("accepted"): 0}},
		{"ended session", func() {
			sess := cookieHdr(defaultSessionCk, c.handoffLogin(t, base, "alice", alicePassword, defaultSessionCk, defaultSessionTTL))
			if r := c.do(t, http.MethodPost, base+"/logout", sess, nil); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %s", r)
			}
			wantRefused(t, c.do(t, http.MethodGet, base+"/app", sess, nil), "tokenSessionInvalid")
		}, map[string]float64{refusal("tokenSessionInvalid"): 1, `tokengate_revocations_total{kind="session"}`: 1,
			issued("handoff"): 1, login("handoff", "success"): 1, issued("session"): 1}},
	} {
		before := c.scrape(t)
		step.do()
		after := c.scrape(t)
		for name, inc := range step.want {
			if _, ok := after[name]; !ok {
				t.Fatalf("%s: /metrics has no %s", step.name, name)
			}
			if got := after[name] - before[name]; got != inc {
				t.Errorf("%s: %s rose by %v, want %v", step.name, name, got, inc)
			}
		}
	}

	// A token used again is answered from the cache (ristretto applies
	// the first use's fill asynchronously, so poll).
	fresh := c.mintTemporary(t, base, "alice", alicePassword, 600)
	hits := `tokengate_cache_hits_total{cache="tokens"}`
	start := c.scrape(t)[hits]
	eventually(t, 5*time.Second, "a cache hit", func() bool {
		upstreamSaw(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": fresh}, nil))
		return c.scrape(t)[hits] > start
	})

	m := c.scrape(t)
	wantShape(t, m)
	for name := range m {
		if strings.Contains(name, tok) || strings.Contains(name, fresh) || strings.Contains(name, alicePassword) {
			t.Fatalf("/metrics shows a secret in %s", name)
		}
	}
	lintMetrics(t, c)
	c.reload(metricsSite)
	if got, want := c.scrape(t)[gate("accepted")], m[gate("accepted")]; got < want {
		t.Errorf("accepted requests after a reload: %v, was %v: the counters started over", got, want)
	}
	wantShape(t, c.scrape(t))
}

// perServer are the tokengate families that count requests, which carry
// the server label.
var perServer = []string{"tokengate_gate_requests_total", "tokengate_gate_refusals_total", "tokengate_logins_total",
	"tokengate_issued_tokens_total", "tokengate_too_many_requests_total"}

// wantShape checks a scrape's tokengate series: no empty label value,
// the server label on every request series, none of a store kind other
// than this pass's, the subscription gauge up with Redis (and absent
// with bolt), and tokengate_build_info 1.
func wantShape(t *testing.T, m series) {
	t.Helper()
	info := 0
	for name, v := range m {
		if !strings.HasPrefix(name, "tokengate_") {
			continue
		}
		if strings.Contains(name, `=""`) {
			t.Errorf("series with an empty label value: %s", name)
		}
		if strings.Contains(name, "store=") && !strings.Contains(name, `store="`+storeKind()+`"`) {
			t.Errorf("series of a store kind not in use: %s", name)
		}
		for _, f := range perServer {
			if strings.HasPrefix(name, f+"{") && !strings.Contains(name, `server="`) {
				t.Errorf("request series without a server label: %s", name)
			}
		}
		if strings.HasPrefix(name, "tokengate_build_info{version=") {
			info++
			if v != 1 {
				t.Errorf("%s = %v, want 1", name, v)
			}
		}
	}
	if info != 1 {
		t.Errorf("%d tokengate_build_info series, want 1", info)
	}
	up, ok := m[`tokengate_invalidation_subscription_up{store="redis"}`]
	switch {
	case storeKind() == "redis" && (!ok || up != 1):
		t.Errorf("tokengate_invalidation_subscription_up{store=\"redis\"} = %v (present: %v), want 1", up, ok)
	case storeKind() == "bolt" && ok:
		t.Errorf("tokengate_invalidation_subscription_up with a bolt store")
	}
}

// lintMetrics runs promtool's linter over tokengate's part of a scrape
// (Caddy's own series are not ours to fix): names, suffixes, help texts.
func lintMetrics(t *testing.T, c *caddyProc) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found (Debian package prometheus): run .ci/run, which installs what the tests need")
	}
	resp, err := c.client.Get("http://" + c.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ours strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) > 2 && f[0] == "#" && strings.HasPrefix(f[2], "tokengate_") ||
			strings.HasPrefix(line, "tokengate_") {
			ours.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(ours.String())
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics on tokengate's series: %v\n%s", err, out)
	}
}
