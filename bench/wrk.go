package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	wrkThreads = 2 // one per core of the reference machine
	// wrkConnections keeps Caddy busy. No more than 32: reverse_proxy keeps
	// 32 idle connections per upstream by default, and more concurrent
	// requests would make it open and close upstream connections, which
	// would measure TCP setup rather than proxying.
	wrkConnections = 32
	wrkReqTimeout  = 5 * time.Second
	// wrkGrace is how long past its duration a wrk run may take (starting,
	// loading token files, printing) before it is killed.
	wrkGrace = 30 * time.Second
)

// ensureWrk installs wrk from Debian's packages when it is missing and
// this process is root, and fails with what to do otherwise.
func ensureWrk(ctx context.Context, log func(string)) error {
	if _, err := exec.LookPath("wrk"); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("wrk is not installed; install it (apt-get install wrk) or run as root to let bench do it")
	}
	log("installing wrk")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "wrk"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	_, err := exec.LookPath("wrk")
	return err
}

// load is what wrk sends: a header on every request, or a Lua script.
type load struct {
	header string   // "Name: value", or ""
	script string   // path of a Lua script, or ""
	args   []string // the script's arguments
}

// wrkResult is one wrk run.
type wrkResult struct {
	requests  int64
	rate      float64 // req/s
	p50, p99  time.Duration
	non2xx    int64 // non-2xx or 3xx answers
	sockErrs  int64 // connect, read, write errors and timeouts
	exhausted int64 // requests cold.lua sent without a token: it ran out
}

// failed is the number of requests that did not get a valid answer.
func (r wrkResult) failed() int64 { return r.non2xx + r.sockErrs }

// runWrk loads url for d.
func runWrk(ctx context.Context, url string, d time.Duration, l load) (wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d+wrkGrace)
	defer cancel()
	args := []string{
		"-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(wrkConnections),
		"-d", strconv.Itoa(int(d / time.Second)), "--timeout", strconv.Itoa(int(wrkReqTimeout / time.Second)),
		"--latency",
	}
	if l.header != "" {
		args = append(args, "-H", l.header)
	}
	if l.script != "" {
		args = append(args, "-s", l.script)
	}
	args = append(args, url)
	if l.script != "" {
		args = append(append(args, "--"), l.args...)
	}
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		// A killed wrk says only "signal: killed"; the context says why.
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, cmp.Or(ctx.Err(), err), out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	return r, nil
}

// parseWrk reads wrk's report. Requests, rate and both percentiles must
// be there; the error lines appear only when there were errors.
func parseWrk(out string) (wrkResult, error) {
	var (
		reRequests  = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
		reRate      = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
		rePercentle = regexp.MustCompile(`(?m)^\s*(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
		reNon2xx    = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s*(\d+)`)
		reSocket    = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
		reExhausted = regexp.MustCompile(`(?m)^tokens exhausted: (\d+)`) // cold.lua's done
	)
	var r wrkResult
	m := reRequests.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("no request count in the output")
	}
	r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	if m = reRate.FindStringSubmatch(out); m == nil {
		return r, errors.New("no Requests/sec in the output")
	}
	r.rate, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range rePercentle.FindAllStringSubmatch(out, -1) {
		d, err := wrkDuration(m[2], m[3])
		if err != nil {
			return r, err
		}
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, errors.New("no 50% and 99% latency in the output")
	}
	if m = reNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m = reSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.sockErrs += n
		}
	}
	if m = reExhausted.FindStringSubmatch(out); m != nil {
		r.exhausted, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}

// wrkDuration reads one of wrk's latencies, such as "1.24ms".
func wrkDuration(num, unit string) (time.Duration, error) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[unit]
	return time.Duration(f * float64(scale)), nil
}
