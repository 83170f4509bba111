package caddymodule

import (
	"context"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/tokens"
)

// TestVersionIn: build_info's version is what the go command recorded for
// tokengate's module, as a dependency (xcaddy) or as the main module.
func TestVersionIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"xcaddy build of a version", debug.BuildInfo{Main: debug.Module{Path: "caddy"},
			Deps: []*debug.Module{{Path: "github.com/caddyserver/caddy/v2", Version: "v2.11.9"}, {Path: modulePath, Version: "v0.9.0"}}}, "v0.9.0"},
		{"that version replaced by a checkout", debug.BuildInfo{Main: debug.Module{Path: "caddy"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v0.9.0", Replace: &debug.Module{Path: "/src/tokengate"}}}}, "v0.9.0"},
		{"a checkout without a version", debug.BuildInfo{Main: debug.Module{Path: "caddy"},
			Deps: []*debug.Module{{Path: modulePath, Version: "", Replace: &debug.Module{Path: "/src/tokengate"}}}}, "(devel)"},
		{"tokengate's own build", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v1.2.3"}}, "v1.2.3"},
		{"tokengate's own build, untagged", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}, "(devel)"},
		{"not in the build", debug.BuildInfo{Main: debug.Module{Path: "other"}}, "(devel)"},
	} {
		if got := versionIn(&tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// namedServers returns caddyhttp servers of these names, as Caddy hands
// them to handlers in the request context. The http app names its
// servers as it provisions them, which needs a whole running config;
// the integration tests see the real names (srv0), this sets the field.
func namedServers(t *testing.T, names ...string) map[string]*caddyhttp.Server {
	t.Helper()
	srvs := map[string]*caddyhttp.Server{}
	for _, n := range names {
		srv := new(caddyhttp.Server)
		f := reflect.ValueOf(srv).Elem().FieldByName("name")
		reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().SetString(n)
		if got := srv.Name(); got != n {
			t.Fatalf("server %q is named %q", n, got)
		}
		srvs[n] = srv
	}
	return srvs
}

// inServer is r as srv hands it to its handlers.
func inServer(r *http.Request, srv *caddyhttp.Server) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.ServerCtxKey, srv))
}

// TestMetricsByServer: each handler counts under the server it runs in;
// counting a gated request allocates nothing; credentials issued through
// the admin API (no caddyhttp server) count under server "admin".
func TestMetricsByServer(t *testing.T) {
	app := newTestApp(t)
	srvs := namedServers(t, "metrics-front", "metrics-back")
	tok, err := app.service().IssueTemporary(inServer(gateRequest(""), srvs["metrics-back"]).Context(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]*Handler{}
	for name := range srvs {
		h := new(Handler)
		if err := h.setup(app); err != nil {
			t.Fatal(err)
		}
		handlers[name] = h
	}
	m := app.metrics
	for _, tc := range []struct {
		server, token string
		result        string
		reason        string // "" for accepted: no refusal counted
	}{
		{"metrics-front", "", "refused", "unauthorized"},
		{"metrics-front", "not.a.token", "refused", "badToken"},
		{"metrics-back", tok, "accepted", ""},
	} {
		before := testutil.ToFloat64(m.gate.WithLabelValues(tc.server, tc.result))
		r := inServer(gateRequest(tc.token), srvs[tc.server])
		if tc.token == "" {
			r.Header.Del("X-Auth-Token")
		}
		serveGate(t, handlers[tc.server], r)
		if got := testutil.ToFloat64(m.gate.WithLabelValues(tc.server, tc.result)) - before; got != 1 {
			t.Errorf("%s %s: gate_requests_total{server=%q,result=%q} rose by %v, want 1", tc.server, tc.reason, tc.server, tc.result, got)
		}
		if tc.reason != "" {
			if got := testutil.ToFloat64(m.refusals.WithLabelValues(tc.server, tc.reason)); got < 1 {
				t.Errorf("gate_refusals_total{server=%q,reason=%q} = %v, want ≥ 1", tc.server, tc.reason, got)
			}
		}
	}
	for _, other := range []struct{ server, result string }{{"metrics-back", "refused"}, {"metrics-front", "accepted"}} {
		if got := testutil.ToFloat64(m.gate.WithLabelValues(other.server, other.result)); got != 0 {
			t.Errorf("gate_requests_total{server=%q,result=%q} = %v: counted under the wrong server", other.server, other.result, got)
		}
	}
	if got := testutil.ToFloat64(m.issued.WithLabelValues("metrics-back", "temporary")); got != 1 {
		t.Errorf("issued_tokens_total{server=metrics-back,kind=temporary} = %v, want 1", got)
	}

	// The gate's own counting, once the server's counters are bound.
	h, r := handlers["metrics-back"], inServer(gateRequest(tok), srvs["metrics-back"])
	if n := testing.AllocsPerRun(100, func() { h.serverMetrics(r).accepted.Inc() }); n != 0 {
		t.Errorf("counting an accepted request allocates %v times", n)
	}

	// The admin API's requests come through no caddyhttp server.
	before := testutil.ToFloat64(m.issued.WithLabelValues(adminServer, "temporary"))
	if _, err := app.service().IssueTemporary(context.Background(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}}); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.issued.WithLabelValues(adminServer, "temporary")) - before; got != 1 {
		t.Errorf("issued_tokens_total{server=admin,kind=temporary} rose by %v, want 1", got)
	}
}

// TestLoginMetrics: LoginDone counts successes and refused credentials
// by method, and nothing for an answer that decided nothing.
func TestLoginMetrics(t *testing.T) {
	app := newTestApp(t)
	srv := namedServers(t, "metrics-logins")["metrics-logins"]
	ctx := inServer(gateRequest(""), srv).Context()
	svc := app.service()
	for _, tc := range []struct {
		method auth.LoginMethod
		err    error
		result string // "" : not counted
	}{
		{auth.LoginBasic, nil, "success"},
		{auth.LoginForm, auth.ErrBadCredentials, "failure"},
		{auth.LoginForm, auth.ErrUserBlocked, "failure"},
		{auth.LoginHandoff, auth.ErrNotFound, "failure"},
		{auth.LoginBasic, &auth.ErrTooManyFailures{}, ""},
		{auth.LoginBasic, auth.ErrUnavailable, ""},
	} {
		name := auth.LoginMethodNames[tc.method]
		total := func() float64 {
			return testutil.ToFloat64(app.metrics.logins.WithLabelValues("metrics-logins", name, "success")) +
				testutil.ToFloat64(app.metrics.logins.WithLabelValues("metrics-logins", name, "failure"))
		}
		var counted prometheus.Counter
		if tc.result != "" {
			counted = app.metrics.logins.WithLabelValues("metrics-logins", name, tc.result)
		}
		before, beforeAll := 0.0, total()
		if counted != nil {
			before = testutil.ToFloat64(counted)
		}
		svc.LoginDone(ctx, tc.method, tc.err)
		switch {
		case counted == nil && total() != beforeAll:
			t.Errorf("%s %v: counted as a login", name, tc.err)
		case counted != nil && testutil.ToFloat64(counted)-before != 1:
			t.Errorf("%s %v: logins_total{result=%q} did not rise by 1", name, tc.err, tc.result)
		}
	}
}

// TestStoreKindSeries: a store kind's series are made when a config
// using it starts and go with the last one, so that a reload onto
// another kind leaves none of the old.
func TestStoreKindSeries(t *testing.T) {
	m := newMetrics()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range m.collectors {
		reg.MustRegister(c)
	}
	count := func(kind string) int {
		n := 0
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "store" && l.GetValue() == kind {
						n++
					}
				}
			}
		}
		return n
	}
	a := m.storeKind("bolt", false)
	a.ops[0].Observe(0.001)
	b := m.storeKind("bolt", false) // the next config, during a reload
	if b != a {
		t.Fatal("two configs of one kind got different series")
	}
	r := m.storeKind("redis", true)
	if r.heard == nil {
		t.Fatal("a shared kind has no invalidation series")
	}
	if a.heard != nil {
		t.Fatal("an unshared kind has invalidation series")
	}
	m.releaseStoreKind("bolt")
	if count("bolt") == 0 {
		t.Fatal("bolt's series went while a config still uses it")
	}
	m.releaseStoreKind("bolt")
	if n := count("bolt"); n != 0 {
		t.Fatalf("%d bolt series after its last use", n)
	}
	if count("redis") == 0 {
		t.Fatal("redis's series went with bolt's")
	}
}

// TestMetricNames: every family is listed, whether or not it has series
// yet.
func TestMetricNames(t *testing.T) {
	names := MetricNames()
	for _, want := range []string{"tokengate_gate_requests_total", "tokengate_gate_refusals_total", "tokengate_logins_total",
		"tokengate_issued_tokens_total", "tokengate_too_many_requests_total", "tokengate_bans_total",
		"tokengate_store_operation_duration_seconds", "tokengate_store_errors_total", "tokengate_revocations_total",
		"tokengate_invalidation_events_total", "tokengate_invalidation_lag_seconds", "tokengate_invalidation_subscription_up",
		"tokengate_build_info", "tokengate_cache_hits_total", "tokengate_cache_misses_total", "tokengate_cache_evictions_total",
		"tokengate_password_checks_total"} {
		if !slices.Contains(names, want) {
			t.Errorf("MetricNames lacks %s: %v", want, names)
		}
	}
	if len(names) != 17 {
		t.Errorf("MetricNames: %d names, want 17: %v", len(names), names)
	}
}
