package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tokengate/tokengate/internal/proc"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/tokens"
)

const (
	// setupBudget covers building Caddy (minutes with a cold build
	// cache), minting tokens and starting every process.
	setupBudget = 10 * time.Minute
	// peerBuildBudget covers one xcaddy build of a peer (minutes with a
	// cold module and build cache).
	peerBuildBudget = 10 * time.Minute
	// wrkOverhead is a wrk run's cost beyond its duration: starting,
	// loading token files, stopping.
	wrkOverhead = 5 * time.Second
)

// budget bounds the whole run, so that a wedged process cannot hold it
// (or CI) forever.
func budget(o options, configs int) time.Duration {
	runs := time.Duration(o.rounds + 1) // the rounds and the warm-up
	perConfig := o.warmup + time.Duration(o.rounds)*o.duration + runs*wrkOverhead
	// A control runs again before every other configuration.
	controlRuns := time.Duration((configs-1)*o.rounds) * (o.duration + wrkOverhead)
	return setupBudget + time.Duration(len(peers))*peerBuildBudget + time.Duration(configs)*perConfig + controlRuns
}

// run builds Caddy, starts everything, measures every configuration in
// interleaved rounds and writes the report into o.out (default: the
// module's bench/results). Progress goes to logw. Every process it
// started is stopped, and its scratch directory removed, before it
// returns, whatever happens.
func run(ctx context.Context, o options, logw io.Writer) (report, error) {
	all := configurations(o.quick)
	var cs []config // the measured ones
	for _, c := range all {
		if c.skip == "" {
			cs = append(cs, c)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, budget(o, len(cs)))
	defer cancel()
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(logw, "bench: %5.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}

	if err := ensureWrk(ctx, func(s string) { logf("%s", s) }); err != nil {
		return report{}, err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return report{}, err
	}
	if o.out == "" {
		o.out = filepath.Join(root, "bench", "results")
	}
	tmp, err := os.MkdirTemp("", "tokengate-bench-")
	if err != nil {
		return report{}, err
	}
	defer os.RemoveAll(tmp)

	logf("building caddy")
	e := env{key: tokens.NewServerKey(), scripts: filepath.Join(root, "bench", "lua"), opts: o,
		peerBins: map[string]string{}}
	if e.bin, err = buildCaddy(ctx, root, tmp); err != nil {
		return report{}, err
	}
	if e.secret, err = newSharedSecret(); err != nil {
		return report{}, err
	}
	for _, p := range peers {
		if !slices.ContainsFunc(cs, func(c config) bool { return c.peer == p.name }) {
			continue
		}
		logf("building the %s peer with xcaddy", p.name)
		if e.peerBins[p.name], err = buildPeer(ctx, root, tmp, p); err != nil {
			return report{}, err
		}
	}
	upstream, stopUpstream, err := startUpstream()
	if err != nil {
		return report{}, err
	}
	defer stopUpstream()
	e.upstream = upstream
	rds, err := redistest.Run()
	if err != nil {
		return report{}, fmt.Errorf("the Redis configurations need redis-server: %w", err)
	}
	defer rds.Stop()
	e.redis = rds.Addr

	targets := make([]*target, len(cs))
	for i, c := range cs {
		logf("starting %s", c.name)
		t, err := startTarget(ctx, e, c, i, tmp)
		if err != nil {
			return report{}, err
		}
		defer t.proc.stop()
		targets[i] = t
	}

	measured, err := measureAll(ctx, o, targets, logf)
	if err != nil {
		return report{}, err
	}
	rows := withSkipped(all, measured)
	if err := pairRatios(rows); err != nil {
		return report{}, err
	}
	m := describeMachine(ctx, e.bin, start)
	rep := report{rows: rows, markdown: renderMarkdown(m, o, coldPerThread(o, o.duration), rows)}
	if rep.path, err = writeReport(o.out, m, o, rep.markdown); err != nil {
		return report{}, err
	}
	return rep, nil
}

// measureAll warms every target up (and primes the rotating set), then
// runs the rounds: each round loads every target once, in the same order,
// so that whatever else the machine does falls on all of them alike. Peak
// RSS is read at the end.
func measureAll(ctx context.Context, o options, targets []*target, logf func(string, ...any)) ([]row, error) {
	for _, t := range targets {
		logf("warming up %s", t.name)
		if _, err := runWrk(ctx, t.proc.base+t.path, o.warmup, t.load(0)); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		if t.tokens == rotating {
			if err := t.primeCache(ctx); err != nil {
				return nil, fmt.Errorf("%s: priming the cache: %w", t.name, err)
			}
		}
	}
	rows := make([]row, len(targets))
	controls := make([]int, len(targets)) // each target's control's index
	isControl := map[int]bool{}
	for i, t := range targets {
		rows[i].name, rows[i].control = t.name, t.controlName()
		controls[i] = slices.IndexFunc(targets, func(c *target) bool { return c.name == t.controlName() })
		if controls[i] < 0 {
			return nil, fmt.Errorf("%s: no %s configuration", t.name, t.controlName())
		}
		isControl[controls[i]] = true
	}
	measure := func(i, round int) (measurement, error) {
		t := targets[i]
		m, err := t.measure(ctx, o.duration, round)
		if err != nil {
			return m, fmt.Errorf("%s, round %d: %w", t.name, round, err)
		}
		logf("round %d/%d  %-42s %8.0f req/s  %d failed", round, o.rounds, t.name, m.rate, m.failed())
		rows[i].rounds = append(rows[i].rounds, m)
		return m, nil
	}
	for round := 1; round <= o.rounds; round++ {
		for i := range targets {
			if isControl[i] {
				continue
			}
			// The control runs just before each configuration, so that
			// every ratio compares neighbouring runs of the same binary
			// (see pairRatios).
			b, err := measure(controls[i], round)
			if err != nil {
				return nil, err
			}
			if _, err := measure(i, round); err != nil {
				return nil, err
			}
			rows[i].rounds[len(rows[i].rounds)-1].base = b.rate
		}
	}
	for i, t := range targets {
		var err error
		if rows[i].rss, err = proc.PeakRSS(t.proc.pid()); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// withSkipped is the table's rows in configuration order: the measured
// rows, and a row carrying its note for each skipped configuration.
func withSkipped(all []config, measured []row) []row {
	rows := make([]row, 0, len(all))
	for _, c := range all {
		if c.skip != "" {
			rows = append(rows, row{name: c.name, control: c.controlName(), skip: c.skip})
			continue
		}
		if i := slices.IndexFunc(measured, func(r row) bool { return r.name == c.name }); i >= 0 {
			rows = append(rows, measured[i])
		}
	}
	return rows
}
