package caddymodule

import (
	"regexp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricNames returns the name of every metric family tokengate can
// register, sorted, so that the dashboards and alert rules in dist/ can
// be checked against the code rather than against a list kept by hand.
// A histogram's name stands for its _bucket, _count and _sum series.
func MetricNames() []string {
	cs := append(slices.Clone(newMetrics().collectors),
		newCacheCollector(nil), newSubscriptionGauge("", nil))
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	var names []string
	for d := range ch {
		// Desc has no accessor for its name; its String has had this
		// shape since client_golang's first release.
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)
