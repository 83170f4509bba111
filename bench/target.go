package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokengate/tokengate/internal/proc"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/store/redis"
	"github.com/tokengate/tokengate/tokens"
)

// target is one configuration's running Caddy and its tokens.
type target struct {
	config
	proc    *caddyProc
	toks    tokenSet
	scripts string // the directory of the wrk Lua scripts
}

// env is what every target shares.
type env struct {
	bin      string            // tokengate's Caddy binary
	peerBins map[string]string // each peer's binary, by peer name
	secret   string            // the peers' HS256 secret
	upstream string            // host:port
	redis    string            // host:port
	key      tokens.ServerKey
	scripts  string
	opts     options
}

// startTarget prepares configuration i in its own directory under dir
// and starts its Caddy. A gated configuration gets its store ready and
// its tokens minted first, then the store closed again: bbolt locks its
// file, so Caddy can open it only then.
func startTarget(ctx context.Context, e env, c config, i int, dir string) (*target, error) {
	t := &target{config: c, scripts: e.scripts}
	dir = filepath.Join(dir, fmt.Sprintf("config%02d", i))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var storeOption string
	if c.tokens == bearer {
		var err error
		if t.toks.token, err = mintPeerJWT(e.secret, time.Now()); err != nil {
			return nil, err
		}
	} else if c.gated() {
		st, option, err := openStore(ctx, c.store, dir, e.redis, fmt.Sprintf("tgbench%02d:", i))
		if err != nil {
			return nil, err
		}
		t.toks, err = mintTokens(ctx, st, e.key, c, e.opts, dir)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		storeOption = option
	}
	render := func(port int) (string, error) {
		return c.caddyfile(port, e.upstream, storeOption, e.key.Encode(), e.secret)
	}
	bin := e.bin
	if c.peer != "" {
		bin = e.peerBins[c.peer]
	}
	p, err := startCaddy(ctx, bin, dir, render, t.check)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	t.proc = p
	return t, nil
}

// ownStore is a store this process opened and must close.
type ownStore interface {
	store.Store
	Close() error
}

// openStore opens the store a gated configuration's Caddy will use, and
// returns it with the Caddyfile option that names the same one.
func openStore(ctx context.Context, kind, dir, redisAddr, prefix string) (ownStore, string, error) {
	if kind == "bolt" {
		path := filepath.Join(dir, "tokengate.db")
		st, err := bolt.Open(path, time.Second)
		return st, "store bolt " + path, err
	}
	st, err := redis.Open(ctx, redis.Config{Addrs: []string{redisAddr}, KeyPrefix: prefix})
	return st, "store redis {\n\t\t\taddress " + redisAddr + "\n\t\t\tkey_prefix " + prefix + "\n\t\t}", err
}

// check makes sure the configuration answers as expected, with a valid
// token and, when gated, without one, so that nothing is measured that
// answers wrong.
func (t *target) check(ctx context.Context, base string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, withToken := range []bool{true, false} {
		if withToken && !t.gated() {
			continue
		}
		header := ""
		if withToken {
			header = t.authHeader(t.toks.token)
		}
		if err := wantStatus(ctx, client, base+t.path, header, t.expected(withToken)); err != nil {
			return err
		}
	}
	return nil
}

// primeWorkers is how many requests priming has in flight.
const primeWorkers = 8

// primeCache sends every token of the rotating set once, so that the
// measured runs find the whole set cached however far the warm-up got:
// the rotating configuration measures the cache, cold measures
// verification.
func (t *target) primeCache(ctx context.Context) error {
	b, err := os.ReadFile(t.toks.rotating)
	if err != nil {
		return err
	}
	toks := strings.Fields(string(b))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: primeWorkers}}
	defer client.CloseIdleConnections()
	errs := make([]error, primeWorkers)
	var wg sync.WaitGroup
	for w := range primeWorkers {
		wg.Go(func() {
			for i := w; i < len(toks) && errs[w] == nil; i += primeWorkers {
				errs[w] = wantStatus(ctx, client, t.proc.base+t.path, t.authHeader(toks[i]), http.StatusOK)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// authHeader is the "Name: value" header that presents token: tokengate's
// X-Auth-Token, or a Bearer Authorization for the peers' JWTs.
func (t *target) authHeader(token string) string {
	if t.tokens == bearer {
		return "Authorization: Bearer " + token
	}
	return "X-Auth-Token: " + token
}

// wantStatus sends GET url, with header ("Name: value") unless it is "",
// and fails unless the answer has status want.
func wantStatus(ctx context.Context, client *http.Client, url, header string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if name, value, ok := strings.Cut(header, ": "); ok {
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body) // so that the connection is reused
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s (with token: %t): status %d, want %d", req.URL.Path, header != "", resp.StatusCode, want)
	}
	return nil
}

// load is what wrk sends in run number run (0: the warm-up).
func (t *target) load(run int) load {
	switch t.tokens {
	case hot, bearer:
		return load{header: t.authHeader(t.toks.token)}
	case rotating:
		return load{script: filepath.Join(t.scripts, "rotate.lua"), args: []string{t.toks.rotating, strconv.Itoa(wrkThreads)}}
	case cold:
		return load{script: filepath.Join(t.scripts, "cold.lua"), args: []string{t.toks.coldPrefix + coldRunName(run)}}
	}
	return load{}
}

// measure runs wrk for d and takes Caddy's CPU time around it.
func (t *target) measure(ctx context.Context, d time.Duration, run int) (measurement, error) {
	before, err := proc.CPUNanos(t.proc.pid())
	if err != nil {
		return measurement{}, err
	}
	r, err := runWrk(ctx, t.proc.base+t.path, d, t.load(run))
	if err != nil {
		return measurement{}, err
	}
	after, err := proc.CPUNanos(t.proc.pid())
	if err != nil {
		return measurement{}, err
	}
	m := measurement{wrkResult: r}
	if r.requests > 0 {
		m.cpuPerReq = float64(after-before) / 1e3 / float64(r.requests)
	}
	return m, nil
}
