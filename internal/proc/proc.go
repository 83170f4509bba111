// Package proc reads what Linux reports of a process in /proc: its CPU
// time and its peak memory. The benchmark harness and benchmarks use it.
package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CPUNanos is the CPU time all of pid's threads have run, in ns: the sum
// of the first field of /proc/<pid>/task/*/schedstat. Nanoseconds, where
// /proc/<pid>/stat counts 10 ms ticks. A thread that exits takes its time
// with it, but Go's runtime keeps its threads.
func CPUNanos(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0, err
	}
	if len(tasks) == 0 {
		return 0, fmt.Errorf("process %d: no tasks in /proc", pid)
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if os.IsNotExist(err) {
			continue // the thread exited between Glob and ReadFile
		}
		if err != nil {
			return 0, err
		}
		f := bytes.Fields(b)
		if len(f) == 0 {
			return 0, fmt.Errorf("%s: empty", t)
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", t, err)
		}
		sum += n
	}
	return sum, nil
}

// PeakRSS is pid's peak resident set (VmHWM), in bytes.
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		// "VmHWM:	   45012 kB"
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM of %d: %v", pid, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("process %d: no VmHWM in /proc/%d/status", pid, pid)
}
