package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// machine is what the results are headed by: a number means little
// without the hardware and the versions that produced it.
type machine struct {
	cores    int
	cpu      string
	goVer    string
	caddyVer string
	wrkVer   string
	redisVer string
	date     time.Time
}

// describeMachine describes this machine and the run that started at
// date.
func describeMachine(ctx context.Context, caddyBin string, date time.Time) machine {
	return machine{
		cores:    runtime.NumCPU(),
		cpu:      cpuModel(),
		goVer:    runtime.Version(),
		caddyVer: firstLine(ctx, caddyBin, "version"),
		// wrk -v prints its banner and usage, and exits 1.
		wrkVer:   strings.TrimSpace(strings.Split(firstLine(ctx, "wrk", "-v"), "Copyright")[0]),
		redisVer: firstLine(ctx, "redis-server", "--version"),
		date:     date.UTC(),
	}
}

// firstLine is the first line a command prints, whatever its exit status.
func firstLine(ctx context.Context, name string, args ...string) string {
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return "unknown"
	}
	return line
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
