package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

const (
	benchUser      = "bench"
	rotatingTokens = 10000
	// tokenTTL outlives any run; the stores are thrown away after it.
	tokenTTL = 24 * time.Hour
	// mintCacheSize keeps the minting Service small: it caches no tokens.
	mintCacheSize = 4 << 20
)

// tokenSet is where a gated configuration's tokens are.
type tokenSet struct {
	token    string // a valid token: the hot one, and the readiness check's
	rotating string // the rotating set's file, one token a line
	// coldPrefix + "<run>-<thread>.txt" holds a wrk thread's tokens for
	// one run (coldRunName); every token in every file is distinct.
	coldPrefix string
}

// coldRunName names the wrk run i: 0 is the warm-up, then the rounds.
func coldRunName(i int) string {
	if i == 0 {
		return "warmup"
	}
	return fmt.Sprintf("round%d", i)
}

// coldPerThread sizes each wrk thread's supply for a run of d: the
// generous rate estimate o.coldRate shared among the threads, plus 10 %.
func coldPerThread(o options, d time.Duration) int {
	return int(math.Ceil(float64(o.coldRate) * d.Seconds() * 1.1 / wrkThreads))
}

// mintTokens creates the bench user in st and mints c's tokens with the
// project's own auth.Service, writing the files into dir. Each file is
// one job; the jobs run on every core.
func mintTokens(ctx context.Context, st store.Store, key tokens.ServerKey, c config, o options, dir string) (tokenSet, error) {
	svc, err := auth.New(st, key, auth.WithCacheSize(mintCacheSize))
	if err != nil {
		return tokenSet{}, err
	}
	defer svc.Close()
	_, err = svc.CreateUser(ctx, auth.NewUser{ID: benchUser, CreatedBy: "bench",
		Profile: auth.Profile{Name: "Bench User", Email: "bench@example.com", Role: "Viewer"}})
	if err != nil {
		return tokenSet{}, fmt.Errorf("creating the bench user: %w", err)
	}
	until := time.Now().Add(tokenTTL).Unix()
	issue := func() (string, error) {
		return svc.IssueTemporary(ctx, benchUser, tokens.Access,
			[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: until}})
	}
	var ts tokenSet
	if ts.token, err = issue(); err != nil {
		return tokenSet{}, fmt.Errorf("minting: %w", err)
	}
	var jobs []mintJob
	switch c.tokens {
	case rotating:
		ts.rotating = filepath.Join(dir, "rotating.txt")
		jobs = append(jobs, mintJob{ts.rotating, rotatingTokens})
	case cold:
		ts.coldPrefix = filepath.Join(dir, "cold-")
		for run := 0; run <= o.rounds; run++ {
			n := coldPerThread(o, o.duration)
			if run == 0 {
				n = coldPerThread(o, o.warmup)
			}
			for t := range wrkThreads {
				jobs = append(jobs, mintJob{fmt.Sprintf("%s%s-%d.txt", ts.coldPrefix, coldRunName(run), t), n})
			}
		}
	}
	return ts, runJobs(ctx, jobs, issue)
}

// mintJob is one file of n tokens.
type mintJob struct {
	path string
	n    int
}

// runJobs writes every file, as many at once as there are cores, and
// returns the first error.
func runJobs(ctx context.Context, jobs []mintJob, issue func() (string, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for _, j := range jobs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := writeTokens(ctx, j.path, j.n, issue); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
				cancel() // the others would be wasted
			}
		})
	}
	wg.Wait()
	return first
}

// writeTokens writes n tokens from issue to path, one a line.
func writeTokens(ctx context.Context, path string, n int, issue func() (string, error)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for range n {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		t, err := issue()
		if err != nil {
			f.Close()
			return fmt.Errorf("minting: %w", err)
		}
		w.WriteString(t)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
