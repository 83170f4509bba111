package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// measurement is one configuration in one round.
type measurement struct {
	wrkResult
	cpuPerReq float64 // µs of Caddy CPU per request
	// base is the control's req/s in the run just before this one; 0
	// for a control's own runs.
	base float64
}

// row is one configuration over the whole run.
type row struct {
	name    string
	control string        // the row its ratios are taken against (config.controlName)
	skip    string        // why it was not measured; "" when it was
	rounds  []measurement // in round order
	ratios  []float64     // per round: req/s ÷ its control's req/s just before
	rss     int64         // Caddy's peak RSS at the end of the run, bytes
}

func (r row) failed() (n int64) {
	for _, m := range r.rounds {
		n += m.failed()
	}
	return n
}

func (r row) exhausted() (n int64) {
	for _, m := range r.rounds {
		n += m.exhausted
	}
	return n
}

// report is a finished run: its table and where it was written.
type report struct {
	rows     []row
	markdown string
	path     string
}

// pairRatios fills every row's ratios: each run's rate over the rate of
// its control's run just before it (the same binary's bare
// reverse_proxy). On a shared machine the rate drifts more across a round
// than between neighbouring runs, so pairing neighbours cancels most of
// it. A control's own ratios are 1.
func pairRatios(rows []row) error {
	has := func(name string) bool { return slices.ContainsFunc(rows, func(r row) bool { return r.name == name }) }
	if !has(baseline) {
		return fmt.Errorf("no %s row", baseline)
	}
	isControl := map[string]bool{baseline: true}
	for _, r := range rows {
		if r.control != "" && r.skip == "" {
			if !has(r.control) {
				return fmt.Errorf("%s: no %s row", r.name, r.control)
			}
			isControl[r.control] = true
		}
	}
	for k := range rows {
		rows[k].ratios = nil
		for _, m := range rows[k].rounds {
			switch {
			case isControl[rows[k].name]:
				rows[k].ratios = append(rows[k].ratios, 1)
			case m.base > 0:
				rows[k].ratios = append(rows[k].ratios, m.rate/m.base)
			}
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// of extracts one number per round.
func of[T any](ms []measurement, f func(measurement) T) []T {
	out := make([]T, len(ms))
	for i, m := range ms {
		out[i] = f(m)
	}
	return out
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// renderMarkdown is the results file: the machine, the run's settings,
// the table and how to read it.
func renderMarkdown(m machine, o options, cold int, rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tokengate benchmark: %s run, %s\n\n", o.mode(), m.date.Format(time.RFC3339))
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| machine | %d cores, %s |\n", m.cores, m.cpu)
	fmt.Fprintf(&b, "| Go | %s |\n| Caddy | %s |\n| wrk | %s |\n| Redis | %s |\n", m.goVer, m.caddyVer, m.wrkVer, m.redisVer)
	for _, p := range peers {
		fmt.Fprintf(&b, "| peer %s | xcaddy build %s --with %s |\n", p.name, peerCaddyVersion, p.with)
	}
	fmt.Fprintf(&b, "| run | %s: %d round(s) × %s per configuration, interleaved; %s unmeasured warm-up each |\n",
		o.mode(), o.rounds, o.duration, o.warmup)
	fmt.Fprintf(&b, "| load | wrk -t%d -c%d --latency, loopback |\n", wrkThreads, wrkConnections)
	fmt.Fprintf(&b, "| cold tokens | %d per wrk thread per round (sized for %d req/s) |\n\n", cold, o.coldRate)

	b.WriteString("| configuration | req/s median (min–max) | ratio to its control" +
		" | p50 | p99 | CPU µs/req | peak RSS | errors |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		if r.skip != "" {
			fmt.Fprintf(&b, "| %s | skipped: %s | | | | | | |\n", r.name, r.skip)
			continue
		}
		rates := of(r.rounds, func(m measurement) float64 { return m.rate })
		fmt.Fprintf(&b, "| %s | %.0f (%.0f–%.0f) | %.3f× | %s | %s | %.1f | %.1f MiB | %s |\n",
			r.name, median(rates), slices.Min(rates), slices.Max(rates), median(r.ratios),
			fmtLatency(median(of(r.rounds, func(m measurement) float64 { return seconds(m.p50) }))),
			fmtLatency(median(of(r.rounds, func(m measurement) float64 { return seconds(m.p99) }))),
			median(of(r.rounds, func(m measurement) float64 { return m.cpuPerReq })),
			float64(r.rss)/(1<<20), errorCell(r))
	}
	b.WriteString(`
- **ratio**: the median over rounds of the run's req/s ÷ the req/s of its control's run just before it.
  The control is the same binary's bare reverse_proxy: ` + baseline + ` for tokengate's binary,
  ` + "`reverse_proxy (<peer> binary)`" + ` for a peer's xcaddy build. A control runs before every
  configuration it controls; its row sums up all those runs.
- **p50, p99, CPU µs/req**: medians over rounds. CPU is the time all of Caddy's threads ran
  (/proc/<pid>/task/*/schedstat) during the measured run ÷ the requests wrk completed.
- **peak RSS**: Caddy's VmHWM at the end of the run, warm-up included.
- **errors**: non-2xx answers and socket errors wrk counted, and requests the cold run
  sent without a token because its supply ran out. A row with errors is not a valid measurement.
`)
	return b.String()
}

func errorCell(r row) string {
	failed, exhausted := r.failed(), r.exhausted()
	if failed == 0 && exhausted == 0 {
		return "none"
	}
	cell := fmt.Sprintf("**INVALID: %d failed requests", failed)
	if exhausted > 0 {
		cell += fmt.Sprintf(", cold tokens ran out %d times", exhausted)
	}
	return cell + "**"
}

// fmtLatency prints seconds in the unit that suits them.
func fmtLatency(s float64) string {
	switch {
	case s < 1e-3:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.2f ms", s*1e3)
	}
	return fmt.Sprintf("%.2f s", s)
}

// writeReport writes the markdown to dir as <UTC timestamp>-<mode>.md.
func writeReport(dir string, m machine, o options, markdown string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, m.date.Format("20060102T150405Z")+"-"+o.mode()+".md")
	return path, os.WriteFile(path, []byte(markdown), 0o644)
}
