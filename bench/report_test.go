package main

import (
	"math"
	"slices"
	"strings"
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

// TestPairRatiosOwnControl: a peer's row is divided by its own binary's
// control run just before it, and that control's ratios are 1, not a
// ratio to tokengate's baseline.
func TestPairRatiosOwnControl(t *testing.T) {
	const peerCtl = "reverse_proxy (peer binary)"
	rows := []row{
		{name: baseline, control: baseline, rounds: []measurement{{wrkResult: wrkResult{rate: 1000}}}},
		{name: peerCtl, control: peerCtl, rounds: []measurement{{wrkResult: wrkResult{rate: 500}}, {wrkResult: wrkResult{rate: 400}}}},
		{name: "peer", control: peerCtl, rounds: []measurement{{wrkResult: wrkResult{rate: 250}, base: 500}, {wrkResult: wrkResult{rate: 100}, base: 400}}},
		{name: "skipped peer", control: baseline, skip: "not served"},
	}
	if err := pairRatios(rows); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row  int
		want []float64
	}{
		{1, []float64{1, 1}},
		{2, []float64{0.5, 0.25}},
		{3, nil},
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
	orphan := []row{rows[0], {name: "peer", control: "missing control"}}
	if err := pairRatios(orphan); err == nil {
		t.Error("no error for a row whose control is missing")
	}
}

// TestSkippedRow: a skipped configuration keeps its place in the table
// with its note and no numbers.
func TestSkippedRow(t *testing.T) {
	all := []config{{name: baseline}, {name: "ggicci/caddy-jwt", skip: skippedJWT}, {name: "respond"}}
	rows := withSkipped(all, []row{{name: "respond"}, {name: baseline}})
	var names []string
	for _, r := range rows {
		names = append(names, r.name)
	}
	if want := []string{baseline, "ggicci/caddy-jwt", "respond"}; !slices.Equal(names, want) {
		t.Fatalf("rows %v, want %v", names, want)
	}
	md := renderMarkdown(machine{}, defaults(false), 0, rows[1:2])
	if want := "| ggicci/caddy-jwt | skipped: " + skippedJWT + " |"; !strings.Contains(md, want) {
		t.Errorf("the table lacks %q:\n%s", want, md)
	}
}

// TestConfigurationsPeers: the full run has every peer row, the skipped
// one included; quick keeps caddy-security and its control only; every
// peer row's control is served by the same binary.
func TestConfigurationsPeers(t *testing.T) {
	for _, tc := range []struct {
		quick bool
		want  []string
	}{
		{true, []string{peerControl(caddySecurity), "caddy-security (authorize, HS256 Bearer)"}},
		{false, []string{peerControl(caddySecurity), "caddy-security (authorize, HS256 Bearer)", "ggicci/caddy-jwt"}},
	} {
		cs := configurations(tc.quick)
		byName := map[string]config{}
		var got []string
		for _, c := range cs {
			byName[c.name] = c
			if c.peer != "" || c.skip != "" {
				got = append(got, c.name)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("quick %t: peer rows %v, want %v", tc.quick, got, tc.want)
		}
		for _, c := range cs {
			if c.skip != "" {
				continue
			}
			ctl, ok := byName[c.controlName()]
			if !ok || ctl.peer != c.peer {
				t.Errorf("quick %t: %s is controlled by %q (peer %q), want its own binary's control", tc.quick, c.name, c.controlName(), ctl.peer)
			}
		}
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
