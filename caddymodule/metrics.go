package caddymodule

import (
	"errors"
	"net/http"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/store/observed"
)

// metrics are tokengate's Prometheus collectors. Every label value is
// bound once, when the collectors are made: counting a request is one
// atomic add, with no map lookup and no allocation.
type metrics struct {
	accepted    prometheus.Counter
	unavailable prometheus.Counter
	refused     [len(refusalReasons) + 1]prometheus.Counter // the last: any other reason

	// Store operation latency, per store kind and operation (observed.OpNames):
	// the series of a kind are made when a store of that kind starts, so
	// an instance carries none for a kind it does not use.
	storeOps  *prometheus.HistogramVec
	opsMu     sync.Mutex
	opsByKind map[string]*[observed.NumOps]prometheus.Observer

	revocations [observed.NumRevocationKinds]prometheus.Counter

	// Changes other instances announced, and their delay from publish to
	// this instance applying them.
	invalidations   prometheus.Counter
	invalidationLag prometheus.Observer

	collectors []prometheus.Collector
}

// refusalReasons are the Onezone error ids the gate refuses with, as they
// appear in the reason label. "unauthorized" is a request with no
// credentials at all.
var refusalReasons = [...]string{
	"unauthorized", "badToken", "tokenInvalid", "tokenRevoked", "tokenSessionInvalid", "tokenSubjectInvalid",
	"tokenCaveatUnverified", "notAnAccessToken", "userBlocked",
}

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
	m := new(metrics)
	gate := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "gate_requests_total",
		Help: "Requests the gate decided on, by result (accepted, refused, unavailable) and, when refused, the Onezone error id.",
	}, []string{"result", "reason"})
	m.accepted = gate.WithLabelValues("accepted", "")
	m.unavailable = gate.WithLabelValues("unavailable", "temporaryFailure")
	for i, r := range refusalReasons {
		m.refused[i] = gate.WithLabelValues("refused", r)
	}
	m.refused[len(refusalReasons)] = gate.WithLabelValues("refused", "other")

	ops := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "store_operation_duration_seconds",
		Help:    "Latency of store operations, by store kind and operation.",
		Buckets: prometheus.ExponentialBuckets(25e-6, 4, 9), // 25µs … 1.6s
	}, []string{"store", "operation"})
	m.storeOps, m.opsByKind = ops, make(map[string]*[observed.NumOps]prometheus.Observer)

	rev := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "revocations_total",
		Help: "Revocations made through this instance, by kind: temporary (revoke-all), named, session, user (deleted), password (set or reset).",
	}, []string{"kind"})
	for k, name := range observed.RevocationKinds {
		m.revocations[k] = rev.WithLabelValues(name)
	}

	inv := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Name: "invalidation_events_total",
		Help: "Changes announced by other instances through the shared store and applied to this instance's caches.",
	})
	lag := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: ns, Name: "invalidation_lag_seconds",
		Help:    "Delay from another instance publishing a change to this instance applying it (clocks of different hosts may differ).",
		Buckets: prometheus.ExponentialBuckets(50e-6, 4, 9), // 50µs … 3.3s
	})
	m.invalidations, m.invalidationLag = inv, lag
	m.collectors = []prometheus.Collector{gate, ops, rev, inv, lag}
	return m
}

// storeObservers returns the latency observers of a store kind, bound
// once per kind: timing an operation is then an array index.
func (m *metrics) storeObservers(kind string) *[observed.NumOps]prometheus.Observer {
	m.opsMu.Lock()
	defer m.opsMu.Unlock()
	if obs, ok := m.opsByKind[kind]; ok {
		return obs
	}
	obs := new([observed.NumOps]prometheus.Observer)
	for op, name := range observed.OpNames {
		obs[op] = m.storeOps.WithLabelValues(kind, name)
	}
	m.opsByKind[kind] = obs
	return obs
}

// refuse counts a refused request by the error it was answered with.
func (m *metrics) refuse(e *onezone.Error) {
	if e.Status == http.StatusServiceUnavailable {
		m.unavailable.Inc()
		return
	}
	for i := range refusalReasons {
		if refusalReasons[i] == e.Reason {
			m.refused[i].Inc()
			return
		}
	}
	m.refused[len(refusalReasons)].Inc()
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
