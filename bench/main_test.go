package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestQuickRun runs the whole harness in quick mode, as CI does, so that
// it cannot rot: it must build Caddy, start every configuration and
// produce a table with a row, a non-zero rate and no errors for each. It
// asserts nothing about speed; quick numbers mean little.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the quick run builds Caddy and loads it for about a minute")
	}
	o := defaults(true)
	o.out = t.TempDir()
	rep, err := run(t.Context(), o, t.Output())
	if err != nil {
		t.Fatal(err)
	}
	want := configurations(true)
	peerRows := 0
	for _, c := range want {
		if c.skip != "" {
			t.Errorf("quick mode has the skipped row %s", c.name)
		}
		if c.peer != "" && c.name != c.controlName() {
			peerRows++
		}
	}
	if peerRows != 1 {
		t.Errorf("quick mode has %d peer rows, want exactly one (CI's proof that a peer build works)", peerRows)
	}
	if len(rep.rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rep.rows), len(want), rep.markdown)
	}
	for i, r := range rep.rows {
		if r.name != want[i].name {
			t.Errorf("row %d is %q, want %q", i, r.name, want[i].name)
		}
		runs := o.rounds
		if n := controlled(want, r.name); n > 0 {
			runs *= n // once before each configuration it controls
		}
		if len(r.rounds) != runs || len(r.ratios) != runs {
			t.Errorf("%s: %d runs and %d ratios, want %d", r.name, len(r.rounds), len(r.ratios), runs)
		}
		for _, m := range r.rounds {
			if m.rate <= 0 || m.requests <= 0 {
				t.Errorf("%s: %d requests at %.0f req/s", r.name, m.requests, m.rate)
			}
		}
		if r.failed() != 0 || r.exhausted() != 0 {
			t.Errorf("%s: %d failed requests, cold tokens ran out %d times", r.name, r.failed(), r.exhausted())
		}
		if !strings.Contains(rep.markdown, "\n| "+r.name+" | ") {
			t.Errorf("%s: no row in the table", r.name)
		}
	}
	written, err := os.ReadFile(rep.path)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != rep.markdown {
		t.Errorf("%s differs from the printed table", rep.path)
	}
	if t.Failed() {
		t.Log(rep.markdown)
	}
}

// controlled is how many configurations take name as their control.
func controlled(cs []config, name string) (n int) {
	for _, c := range cs {
		if c.name != name && c.controlName() == name {
			n++
		}
	}
	return n
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    options
		wantErr bool
	}{
		{"full by default", nil, defaults(false), false},
		{"quick", []string{"--quick"}, defaults(true), false},
		{"quick, longer", []string{"--quick", "--duration", "5s"},
			func() options { o := defaults(true); o.duration = 5 * time.Second; return o }(), false},
		{"rounds and out", []string{"--rounds", "5", "--out", "/tmp/x"},
			func() options { o := defaults(false); o.rounds, o.out = 5, "/tmp/x"; return o }(), false},
		{"fractional seconds", []string{"--duration", "1500ms"}, options{}, true},
		{"rounds 0 is the default", []string{"--rounds", "0"}, defaults(false), false},
		{"negative rounds", []string{"--rounds", "-1"}, options{}, true},
		{"no cold rate", []string{"--cold-rate", "0"}, options{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error: %t", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
