package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/store/observed"
)

// metrics are tokengate's Prometheus collectors. Series that count
// requests carry the server label, the name of the caddyhttp server the
// request came through; their children are bound once per server
// (serverMetrics), so that the gate counting a request is one atomic add,
// with no map lookup and no allocation. Series of what every server
// shares (the store, the caches, the subscription) carry no server: one
// store operation or cache entry serves them all.
type metrics struct {
	gate, refusals, tooMany, logins, issued *prometheus.CounterVec
	serversMu                               sync.RWMutex
	servers                                 map[string]*serverMetrics

	// Store operation latency and failures, per store kind and operation
	// (observed.OpNames); the invalidations other instances announced,
	// per kind of shared store. The series of a kind are made when a
	// store of that kind starts and deleted when the last config using
	// it is cleaned up, so an instance carries none for a kind it does
	// not use.
	storeOps        *prometheus.HistogramVec
	storeErrors     *prometheus.CounterVec
	invalidations   *prometheus.CounterVec
	invalidationLag *prometheus.HistogramVec
	kindsMu         sync.Mutex
	kinds           map[string]*kindMetrics

	revocations [observed.NumRevocationKinds]prometheus.Counter
	bans        [len(banScopes)]prometheus.Counter

	collectors []prometheus.Collector
}

// serverMetrics are the request counters of one caddyhttp server, bound.
type serverMetrics struct {
	accepted, refused, unavailable prometheus.Counter
	reasons                        [len(refusalReasons) + 1]prometheus.Counter // the last: any other reason
	tooMany                        prometheus.Counter
	logins                         [auth.NumLoginMethods][2]prometheus.Counter // [method][ok]
	issued                         [auth.NumCredentials]prometheus.Counter
}

// kindMetrics are the series of one store kind, bound, and how many
// started configs use them.
type kindMetrics struct {
	uses      int
	ops       [observed.NumOps]prometheus.Observer
	errors    [observed.NumOps][observed.NumErrorKinds]prometheus.Counter
	heard     prometheus.Counter  // nil unless the kind is shared
	heardLag  prometheus.Observer // likewise
	subscribe bool                // whether the series above exist
}

// refusalReasons are the Onezone error ids the gate refuses with, as they
// appear in the reason label. "unauthorized" is a request with no
// credentials at all; temporaryFailure a request the store could not
// decide (503, fail closed).
var refusalReasons = [...]string{
	"unauthorized", "badToken", "tokenInvalid", "tokenRevoked", "tokenSessionInvalid", "tokenSubjectInvalid",
	"tokenCaveatUnverified", "notAnAccessToken", "userBlocked", "tooManyRequests", "temporaryFailure",
}

// banScopes are the kinds of brute-force budget key, as auth makes them
// ("ip:…", "user:…"), and their label values.
var banScopes = [...]struct{ prefix, label string }{{auth.IPKey(""), "client"}, {auth.UserKey(""), "user"}}

// adminServer is the server label of what the admin API (the CLI) did:
// it comes through Caddy's admin endpoint, not a caddyhttp server.
const adminServer = "admin"

// metricsPool keeps the collectors across config reloads, so that
// counters continue instead of starting over with each new config.
var metricsPool = caddy.NewUsagePool()

const metricsPoolKey = "metrics"

func (m *metrics) Destruct() error { return nil }

// loadMetrics returns the process's collectors, registered in the
// config's registry (served on the admin endpoint's /metrics). Release
// them with metricsPool.Delete(metricsPoolKey).
func loadMetrics(reg *prometheus.Registry) (*metrics, error) {
	v, _, err := metricsPool.LoadOrNew(metricsPoolKey, func() (caddy.Destructor, error) {
		return newMetrics(), nil
	})
	if err != nil {
		return nil, err
	}
	m := v.(*metrics)
	for _, c := range m.collectors {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			metricsPool.Delete(metricsPoolKey)
			return nil, err
		}
	}
	return m, nil
}

func newMetrics() *metrics {
	const ns = "tokengate"
	counters := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	m := &metrics{servers: make(map[string]*serverMetrics), kinds: make(map[string]*kindMetrics)}
	m.gate = counters("gate_requests_total",
		"Requests the gate decided on, by server and result: accepted, refused (credentials missing or not valid), unavailable (the store could not answer: 503, fail closed).",
		"server", "result")
	m.refusals = counters("gate_refusals_total",
		"Requests the gate did not pass (refused or unavailable), by server and the Onezone error id they were answered with.",
		"server", "reason")
	m.tooMany = counters("too_many_requests_total",
		"Responses 429 Too Many Requests (a brute-force budget used up), by server: the gate's and its endpoints'.",
		"server")
	m.logins = counters("logins_total",
		"Logins by server, method (basic, form, handoff) and result (success, failure: credentials refused).",
		"server", "method", "result")
	m.issued = counters("issued_tokens_total",
		"Credentials issued, by server (admin: the admin API) and kind (temporary, named, session, handoff, reset).",
		"server", "kind")

	m.storeOps = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "store_operation_duration_seconds",
		Help:    "Latency of store operations, by store kind and operation.",
		Buckets: prometheus.ExponentialBuckets(25e-6, 4, 9), // 25µs … 1.6s
	}, []string{"store", "operation"})
	m.storeErrors = counters("store_errors_total",
		"Store operations that failed, by store kind, operation and error: unavailable (the store could not answer), other. A record not found is an answer, not an error.",
		"store", "operation", "error")

	rev := counters("revocations_total",
		"Revocations made through this instance, by kind: temporary (revoke-all), named, session, user (deleted), password (set or reset).",
		"kind")
	for k, name := range observed.RevocationKinds {
		m.revocations[k] = rev.WithLabelValues(name)
	}
	bans := counters("bans_total",
		"Brute-force budgets used up, by scope (client, user): the key's credentials are refused until its failure window ends.",
		"scope")
	for i, s := range banScopes {
		m.bans[i] = bans.WithLabelValues(s.label)
	}

	m.invalidations = counters("invalidation_events_total",
		"Changes announced by other instances through the shared store and applied to this instance's caches, by store kind.",
		"store")
	m.invalidationLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "invalidation_lag_seconds",
		Help:    "Delay from another instance publishing a change to this instance applying it, by store kind (clocks of different hosts may differ).",
		Buckets: prometheus.ExponentialBuckets(50e-6, 4, 9), // 50µs … 3.3s
	}, []string{"store"})

	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: ns, Name: "build_info",
		Help: "Always 1; version is tokengate's module version in this build ((devel) for a build of a checkout without one).",
	}, []string{"version"})
	info.WithLabelValues(moduleVersion()).Set(1)

	m.collectors = []prometheus.Collector{m.gate, m.refusals, m.tooMany, m.logins, m.issued,
		m.storeOps, m.storeErrors, rev, bans, m.invalidations, m.invalidationLag, info}
	return m
}

// server returns the bound counters of the named server, binding them
// on its first use.
func (m *metrics) server(name string) *serverMetrics {
	m.serversMu.RLock()
	s, ok := m.servers[name]
	m.serversMu.RUnlock()
	if ok {
		return s
	}
	m.serversMu.Lock()
	defer m.serversMu.Unlock()
	if s, ok := m.servers[name]; ok {
		return s
	}
	s = &serverMetrics{
		accepted:    m.gate.WithLabelValues(name, "accepted"),
		refused:     m.gate.WithLabelValues(name, "refused"),
		unavailable: m.gate.WithLabelValues(name, "unavailable"),
		tooMany:     m.tooMany.WithLabelValues(name),
	}
	for i, r := range refusalReasons {
		s.reasons[i] = m.refusals.WithLabelValues(name, r)
	}
	s.reasons[len(refusalReasons)] = m.refusals.WithLabelValues(name, "other")
	for meth, mname := range auth.LoginMethodNames {
		s.logins[meth][0] = m.logins.WithLabelValues(name, mname, "failure")
		s.logins[meth][1] = m.logins.WithLabelValues(name, mname, "success")
	}
	for k, kname := range auth.CredentialNames {
		s.issued[k] = m.issued.WithLabelValues(name, kname)
	}
	m.servers[name] = s
	return s
}

// serverName is the name of the caddyhttp server a request's context
// came through; adminServer for the admin API's.
func serverName(ctx context.Context) string {
	if srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv != nil {
		return srv.Name()
	}
	return adminServer
}

// storeKind binds the series of a store kind for one started config;
// release them with releaseStoreKind. shared: the kind's instances hear
// each other's changes, and the invalidation series are made too.
func (m *metrics) storeKind(kind string, shared bool) *kindMetrics {
	m.kindsMu.Lock()
	defer m.kindsMu.Unlock()
	k, ok := m.kinds[kind]
	if !ok {
		k = new(kindMetrics)
		for op, name := range observed.OpNames {
			k.ops[op] = m.storeOps.WithLabelValues(kind, name)
			for e, ename := range observed.ErrorKinds {
				k.errors[op][e] = m.storeErrors.WithLabelValues(kind, name, ename)
			}
		}
		m.kinds[kind] = k
	}
	if shared && !k.subscribe {
		k.heard = m.invalidations.WithLabelValues(kind)
		k.heardLag = m.invalidationLag.WithLabelValues(kind)
		k.subscribe = true
	}
	k.uses++
	return k
}

// releaseStoreKind gives back one config's use of a kind's series; the
// last use deletes them, so that a reload onto another kind leaves none
// of the old.
func (m *metrics) releaseStoreKind(kind string) {
	m.kindsMu.Lock()
	defer m.kindsMu.Unlock()
	k, ok := m.kinds[kind]
	if !ok {
		return
	}
	if k.uses--; k.uses > 0 {
		return
	}
	delete(m.kinds, kind)
	match := prometheus.Labels{"store": kind}
	m.storeOps.DeletePartialMatch(match)
	m.storeErrors.DeletePartialMatch(match)
	m.invalidations.DeletePartialMatch(match)
	m.invalidationLag.DeletePartialMatch(match)
}

// banned counts a brute-force budget used up.
func (m *metrics) banned(key string) {
	for i, s := range banScopes {
		if strings.HasPrefix(key, s.prefix) {
			m.bans[i].Inc()
			return
		}
	}
}

// refuse counts a request the gate did not pass by the error it was
// answered with.
func (s *serverMetrics) refuse(e *onezone.Error) {
	switch e.Status {
	case http.StatusServiceUnavailable:
		s.unavailable.Inc()
	case http.StatusTooManyRequests:
		s.tooMany.Inc()
		s.refused.Inc()
	default:
		s.refused.Inc()
	}
	for i := range refusalReasons {
		if refusalReasons[i] == e.Reason {
			s.reasons[i].Inc()
			return
		}
	}
	s.reasons[len(refusalReasons)].Inc()
}

// observer counts what auth reports, under the server the request came
// through (auth.Observer).
type observer struct{ m *metrics }

func (o observer) Issued(ctx context.Context, kind auth.Credential) {
	o.m.server(serverName(ctx)).issued[kind].Inc()
}

func (o observer) LoggedIn(ctx context.Context, method auth.LoginMethod, ok bool) {
	i := 0
	if ok {
		i = 1
	}
	o.m.server(serverName(ctx)).logins[method][i].Inc()
}

// cacheCollector reports one Service's cache and password-check counts
// when scraped, so the hot path only bumps the Service's own counters.
type cacheCollector struct {
	svc                     *auth.Service
	hits, misses, evictions *prometheus.Desc
	passwordChecks          *prometheus.Desc
}

func newCacheCollector(svc *auth.Service) *cacheCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("tokengate_cache_"+name+"_total", help, []string{"cache"}, nil)
	}
	return &cacheCollector{
		svc:       svc,
		hits:      desc("hits", "Cache lookups answered from the cache, by cache (tokens, subjects)."),
		misses:    desc("misses", "Cache lookups that had to verify or read the store (including entries stale after a change)."),
		evictions: desc("evictions", "Entries evicted to keep the cache within cache_size."),
		passwordChecks: prometheus.NewDesc("tokengate_password_checks_total",
			"Password comparisons run for logins (Basic, the sign-in form), unknown users' dummy ones included.", nil, nil),
	}
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.misses
	ch <- c.evictions
	ch <- c.passwordChecks
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	toks, subs := c.svc.CacheStats()
	for _, s := range []struct {
		name  string
		stats cache.Stats
	}{{"tokens", toks}, {"subjects", subs}} {
		ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.stats.Hits), s.name)
		ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.stats.Misses), s.name)
		ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(s.stats.Evictions), s.name)
	}
	ch <- prometheus.MustNewConstMetric(c.passwordChecks, prometheus.CounterValue, float64(c.svc.PasswordChecks()))
}

// connectedStore is a shared store that knows whether its change
// notifications are flowing now (the Redis store's subscription).
type connectedStore interface{ Connected() bool }

// newSubscriptionGauge reports, when scraped, whether the store's
// subscription to other instances' changes is live: 1, or 0 while other
// instances' changes may go unseen (cached state is then trusted for at
// most max_staleness).
func newSubscriptionGauge(kind string, st connectedStore) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "tokengate", Name: "invalidation_subscription_up",
		Help:        "1 while the shared store's subscription to other instances' changes is live, else 0, by store kind.",
		ConstLabels: prometheus.Labels{"store": kind},
	}, func() float64 {
		if st.Connected() {
			return 1
		}
		return 0
	})
}
