package main

import (
	"testing"
	"time"
)

// wrkClean is wrk 4.1's report of a run without errors.
const wrkClean = `Running 2s test @ http://127.0.0.1:40123/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.04ms    2.11ms  44.01ms   95.12%
    Req/Sec    12.01k     1.10k   14.02k    70.00%
  Latency Distribution
     50%  635.00us
     75%  812.00us
     90%    1.20ms
     99%   12.50ms
  48000 requests in 2.00s, 6.12MB read
Requests/sec:  23990.50
Transfer/sec:      3.06MB
`

// wrkErrors has every error line: socket errors, non-2xx answers, and
// cold.lua's count of requests sent after its tokens ran out.
const wrkErrors = `Running 2s test @ http://127.0.0.1:40123/
  2 threads and 32 connections
  Latency Distribution
     50%    2.00ms
     75%    3.00ms
     90%    4.00ms
     99%    1.50s
  1000 requests in 2.00s, 1.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 70
Requests/sec:    500.00
Transfer/sec:    512.00KB
tokens exhausted: 60
`

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		want    wrkResult
		wantErr bool
	}{
		{"clean", wrkClean, wrkResult{requests: 48000, rate: 23990.5,
			p50: 635 * time.Microsecond, p99: 12500 * time.Microsecond}, false},
		{"errors", wrkErrors, wrkResult{requests: 1000, rate: 500, p50: 2 * time.Millisecond,
			p99: 1500 * time.Millisecond, non2xx: 70, sockErrs: 10, exhausted: 60}, false},
		{"no latency", "  10 requests in 1.00s, 1KB read\nRequests/sec: 10.00\n", wrkResult{}, true},
		{"not wrk", "wrk: invalid option\n", wrkResult{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWrk(tc.out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error: %t", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
