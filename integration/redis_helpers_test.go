package integration

// Helpers for the tests of the shared Redis store (redis_test.go): a
// redis-server child process per test, and Caddy instances that share it.

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// redisProc is a redis-server (internal/redistest) with an append-only
// file fsynced on every write, so that a SIGKILL loses nothing that was
// acknowledged.
type redisProc struct {
	*redistest.Server
	t *testing.T
}

// newRedis starts a redis-server and stops it at the end of the test.
func newRedis(t *testing.T) *redisProc {
	t.Helper()
	return &redisProc{Server: redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always"), t: t}
}

func (r *redisProc) addr() string { return r.Addr }

// kill stops the server with SIGKILL, like a crash, and waits until it
// has exited.
func (r *redisProc) kill() { r.Kill() }

// restart starts the server again on the same port and directory, so it
// replays its append-only file.
func (r *redisProc) restart() {
	r.t.Helper()
	if err := r.Restart(); err != nil {
		r.t.Fatalf("restarting redis-server: %v", err)
	}
}

// redisError is an error reply.
type redisError string

func (e redisError) Error() string { return string(e) }

// do sends one command on a connection of its own and returns the reply:
// a string, an int64, nil or a []any; an error reply is a redisError.
func (r *redisProc) do(args ...string) (any, error) { return r.doIn(-1, args...) }

// doIn is do in database db; -1 leaves the connection's default.
func (r *redisProc) doIn(db int, args ...string) (any, error) { return redisDo(r.addr(), db, args...) }

// redisDo sends one command to the Redis at addr, in database db (-1:
// the connection's default), on a connection of its own.
func redisDo(addr string, db int, args ...string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	send := func(args ...string) (any, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := io.WriteString(conn, b.String()); err != nil {
			return nil, err
		}
		return readRESP(rd)
	}
	if db >= 0 {
		if _, err := send("SELECT", strconv.Itoa(db)); err != nil {
			return nil, err
		}
	}
	return send(args...)
}

// must runs a command and fails the test on any error.
func (r *redisProc) must(args ...string) any {
	r.t.Helper()
	v, err := r.do(args...)
	if err != nil {
		r.t.Fatalf("redis %s: %v", strings.Join(args, " "), err)
	}
	return v
}

func readRESP(rd *bufio.Reader) (any, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty RESP line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, redisError(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readRESP(rd); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected RESP line %q", line)
}

// pubsubClients returns the ids of the Pub/Sub connections of an ACL user.
func (r *redisProc) pubsubClients(user string) []string {
	r.t.Helper()
	list, _ := r.must("CLIENT", "LIST", "TYPE", "pubsub").(string)
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		var id string
		mine := false
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			mine = mine || f == "user="+user
		}
		if mine && id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// ---------------------------------------------------------------------------
// Caddy instances on one Redis.

// sharedSite is a gated site whose tokengate app uses the Redis at addr,
// with the server key from TOKENGATE_KEY, alice and bob, and a one-hour
// maximum TTL. storeOpts go into the store block, appOpts into the app.
func sharedSite(addr string, storeOpts []string, appOpts ...string) caddyfile {
	return caddyfile{App: append([]string{redisStore(addr, storeOpts...), "key {env.TOKENGATE_KEY}", "temporary_max_ttl 1h"}, appOpts...)}
}

// redisStore is a store option for the Redis at addr, with more options
// in its block.
func redisStore(addr string, opts ...string) string {
	return "store redis {\n\t" + strings.Join(append([]string{"address " + addr}, opts...), "\n\t") + "\n}"
}

// sharedKeyEnv is the environment that gives instances one random
// server key, as an operator would distribute it.
func sharedKeyEnv(t *testing.T) []string {
	t.Helper()
	return []string{"TOKENGATE_KEY=" + base64.StdEncoding.EncodeToString(randomKey(t))}
}

// startInstances starts one Caddy per config, all at once (as a
// rolling deployment would), each with its own ports and data directory
// and the environment env, and stops them at the end of the test.
func startInstances(t *testing.T, env []string, cfgs ...caddyfile) []*caddyProc {
	t.Helper()
	cs := make([]*caddyProc, len(cfgs))
	for i, cfg := range cfgs {
		cs[i] = prepareCaddy(t, cfg, env...)
	}
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { errs[i] = c.start() })
	}
	wg.Wait()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, c := range cs {
			out := c.logs()
			if len(out) > 6000 {
				out = out[len(out)-6000:]
			}
			t.Logf("--- caddy %d output (tail) ---\n%s", i, out)
		}
	})
	for i, c := range cs {
		// A port picked as free may have been taken meanwhile: retry.
		for attempt := 0; errs[i] != nil && strings.Contains(errs[i].Error(), "address already in use") && attempt < 3; attempt++ {
			c.pickPorts()
			errs[i] = c.start()
		}
		if errs[i] != nil {
			t.Fatalf("starting caddy %d: %v", i, errs[i])
		}
	}
	return cs
}

// keepAlive is a client that reuses connections, for tight polling.
func keepAlive(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 5 * time.Second, Transport: tr}
}

// gateVia sends a gated GET with tok through client.
func (c *caddyProc) gateVia(t *testing.T, client *http.Client, tok string) *response {
	t.Helper()
	return doWith(t, client, http.MethodGet, c.site(0)+"/app", hdr{"X-Auth-Token": tok}, nil)
}

// refusedAs returns a predicate: r is a 401 whose authError is id.
func refusedAs(id string) func(*response) bool {
	return func(r *response) bool {
		return r.Status == http.StatusUnauthorized && errorID(r.JSON) == "unauthorized" && authErrorID(r.JSON) == id
	}
}

// isUnavailable reports whether r is Onezone's 503 temporaryFailure.
func isUnavailable(r *response) bool {
	return r.Status == http.StatusServiceUnavailable && errorID(r.JSON) == "temporaryFailure"
}

// confirmRefusals is how many requests after the first refusal must be
// refused too.
const confirmRefusals = 5

// untilRefused sends requests until one is refused, then confirmRefusals
// more, and returns how long after start the first refusal arrived. It
// fails the test on an answer that is neither a pass (200 from the
// upstream) nor the refusal, on a pass after the first refusal, or if the
// requests are still passing after deadline. every is the pause between
// requests; 0 polls as fast as requests complete.
func untilRefused(t *testing.T, what string, start time.Time, deadline, every time.Duration,
	send func() *response, refused func(*response) bool) time.Duration {
	t.Helper()
	var first time.Time
	for n := 0; ; {
		r := send()
		now := time.Now()
		switch {
		case refused(r):
			if first.IsZero() {
				first = now
			}
			if n++; n > confirmRefusals {
				return first.Sub(start)
			}
		case r.Status != http.StatusOK:
			t.Fatalf("%s: unexpected answer %s", what, r)
		case !first.IsZero():
			t.Fatalf("%s: passed again %s after start, although refused at %s: %s",
				what, now.Sub(start), first.Sub(start), r)
		case now.Sub(start) > deadline:
			t.Fatalf("%s: still passing %s after start (deadline %s)", what, now.Sub(start), deadline)
		}
		if every > 0 {
			time.Sleep(every)
		}
	}
}

// untilPasses polls get until it answers 200 and fails the test on any
// answer that is neither 200 nor one pending accepts (the expected state
// before the change arrives).
func untilPasses(t *testing.T, timeout time.Duration, what string, get func() *response, pending func(*response) bool) {
	t.Helper()
	eventually(t, timeout, what, func() bool {
		r := get()
		if r.Status != http.StatusOK && !pending(r) {
			t.Fatalf("waiting for %s: %s", what, r)
		}
		return r.Status == http.StatusOK
	})
}
