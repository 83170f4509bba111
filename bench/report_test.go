package main

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{9, 1, 5}, 5},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.xs); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPairRatios: each run's rate is divided by the rate of the baseline
// run just before it, not by the baseline's median.
func TestPairRatios(t *testing.T) {
	runs := func(pairs ...float64) []measurement { // rate, base, rate, base…
		ms := make([]measurement, len(pairs)/2)
		for i := range ms {
			ms[i].rate, ms[i].base = pairs[2*i], pairs[2*i+1]
		}
		return ms
	}
	rows := []row{
		{name: "respond", rounds: runs(300, 100, 200, 50, 400, 200)},
		{name: baseline, rounds: runs(100, 0, 50, 0, 200, 0)},
		{name: "unpaired", rounds: runs(100, 0)},
	}
	if err := pairRatios(rows); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row  int
		want []float64
	}{
		{0, []float64{3, 4, 2}},
		{1, []float64{1, 1, 1}},
		{2, nil},
	} {
		got := rows[tc.row].ratios
		if len(got) != len(tc.want) {
			t.Fatalf("%s: ratios %v, want %v", rows[tc.row].name, got, tc.want)
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-9 {
				t.Errorf("%s: ratios %v, want %v", rows[tc.row].name, got, tc.want)
			}
		}
	}
	if err := pairRatios(rows[:1]); err == nil {
		t.Error("no error without a baseline row")
	}
}

func TestErrorCell(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    measurement
		want string
	}{
		{"clean", measurement{}, "none"},
		{"non-2xx", measurement{wrkResult: wrkResult{non2xx: 3, sockErrs: 1}}, "**INVALID: 4 failed requests**"},
		{"ran out", measurement{wrkResult: wrkResult{non2xx: 5, exhausted: 5}},
			"**INVALID: 5 failed requests, cold tokens ran out 5 times**"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorCell(row{rounds: []measurement{tc.m}}); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
