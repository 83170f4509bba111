package integration

import (
	"bufio"
	"io"
	"net/http"
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

// TestMetrics: /metrics on the admin endpoint counts what the gate and
// the store did, by bound label values, and keeps counting across a
// reload.
func TestMetrics(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	gate := func(result, reason string) string {
		return `tokengate_gate_requests_total{reason="` + reason + `",result="` + result + `"}`
	}
	revokeOps := `tokengate_store_operation_duration_seconds_count{operation="revoke_temp",store="` + storeKind() + `"}`

	for _, step := range []struct {
		name string
		do   func()
		want map[string]float64 // increase of each series
	}{
		{"no token", func() {
			wantError(t, c.do(t, http.MethodGet, base+"/app", nil, nil), http.StatusUnauthorized, "unauthorized")
		}, map[string]float64{gate("refused", "unauthorized"): 1}},
		{"undecodable token", func() {
			wantRefused(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": "not.a.token"}, nil), "badToken")
		}, map[string]float64{gate("refused", "badToken"): 1}},
		{"valid token", func() {
			upstreamSaw(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": tok}, nil))
		}, map[string]float64{gate("accepted", ""): 1}},
		{"revoke all", func() {
			if r := c.do(t, http.MethodDelete, base+tempPath, alice, nil); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE: %s", r)
			}
		}, map[string]float64{`tokengate_revocations_total{kind="temporary"}`: 1, revokeOps: 1}},
		{"revoked token", func() {
			wantRefused(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
		}, map[string]float64{gate("refused", "tokenRevoked"): 1, gate("accepted", ""): 0}},
		{"ended session", func() {
			sess := cookieHdr(defaultSessionCk, c.handoffLogin(t, base, "alice", alicePassword, defaultSessionCk, defaultSessionTTL))
			if r := c.do(t, http.MethodPost, base+"/logout", sess, nil); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %s", r)
			}
			wantRefused(t, c.do(t, http.MethodGet, base+"/app", sess, nil), "tokenSessionInvalid")
		}, map[string]float64{gate("refused", "tokenSessionInvalid"): 1, `tokengate_revocations_total{kind="session"}`: 1}},
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
	for name := range m {
		if strings.Contains(name, tok) || strings.Contains(name, fresh) || strings.Contains(name, alicePassword) {
			t.Fatalf("/metrics shows a secret in %s", name)
		}
	}
	c.reload(gatedSite)
	if got, want := c.scrape(t)[gate("accepted", "")], m[gate("accepted", "")]; got < want {
		t.Errorf("accepted requests after a reload: %v, was %v: the counters started over", got, want)
	}
}
