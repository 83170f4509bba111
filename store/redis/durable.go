package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// Durable writes. Redis replicates asynchronously: a primary answers a
// write before any replica has it, and a failover promotes whichever
// replica Sentinel picks, lagging or not. A revocation the primary
// acknowledged could then vanish, and the revoked credential would pass
// again everywhere. So with Config.WaitReplicas set, every write whose
// loss would resurrect a credential (revocations, deletions, blocks,
// password changes) is followed by WAIT on the same connection, and counts
// as done only once that many replicas have it.
//
// The pipeline is the script, a marker write and WAIT, sent to the master
// that owns the script's first key (in a cluster, WAIT goes to the node
// that ran the write: it waits for this connection's writes on that node
// only). The marker makes every durable call write something, so WAIT
// covers even a script that found nothing to change: a revocation retried
// after a timeout may answer "not found" because the first attempt
// deleted the record, and then the WAIT must still cover that deletion.
// WAIT counts a replica once it acknowledges the primary's offset at the
// marker, which is after every earlier write on that primary, whichever
// connection made it.

// ErrNotReplicated: the primary applied the write but fewer replicas than
// Config.WaitReplicas acknowledged it within Config.WaitTimeout. It wraps
// store.ErrUnavailable: the write is not acknowledged and the caller
// retries. Until a failover the write is in effect on the primary.
var ErrNotReplicated = fmt.Errorf("%w: too few replicas acknowledged the write", store.ErrUnavailable)

// maxRedirects bounds how often a durable write follows a cluster
// redirection (MOVED, ASK, TRYAGAIN during a slot migration) before it
// gives up with ErrUnavailable; a redirected script did not run, so
// trying again is safe.
const maxRedirects = 20

// redirectBackoff is the pause before following a redirection, so that a
// slot migration can finish.
const redirectBackoff = 25 * time.Millisecond

// markerTTL is how long a durable write's marker key lives; only its
// write matters.
const markerTTL = 10 * time.Second

// runDurable is run followed by WAIT. With WaitReplicas 0 it is run. On
// ErrNotReplicated the status and reply are the script's: the write
// happened on the primary, and the caller tells its local subscribers as
// for a success before returning the error.
func (r *Store) runDurable(ctx context.Context, s *goredis.Script, keys []string, args ...any) (string, []any, error) {
	if r.waitReplicas <= 0 {
		return r.run(ctx, s, keys, args...)
	}
	marker := ""
	if tag := hashTag(keys[0]); !strings.ContainsAny(tag, "{}") {
		marker = r.prefix + "w:{" + tag + "}"
	}
	var err error
	ask := "" // the node an ASK redirection named
	for range maxRedirects {
		var c *goredis.Client
		if ask != "" {
			c, err = r.nodeAt(ctx, ask)
		} else {
			c, err = r.nodeFor(ctx, keys[0])
		}
		if err != nil {
			return "", nil, unavailable(err)
		}
		var status string
		var res []any
		status, res, err = r.pipelineDurable(ctx, c, s, keys, args, marker, ask != "")
		if !isRedirect(err) {
			if err != nil && !errors.Is(err, store.ErrUnavailable) {
				err = unavailable(err)
			}
			return status, res, err
		}
		// ASK: the slot is migrating and the key has left; the target
		// takes it after ASKING. MOVED: the map changed. TRYAGAIN: the
		// keys are split between the nodes for a moment.
		ask = ""
		switch f := strings.Fields(err.Error()); {
		case f[0] == "ASK" && len(f) == 3:
			ask = f[2]
			continue
		case f[0] == "MOVED":
			if cc, ok := r.c.(*goredis.ClusterClient); ok {
				cc.ReloadState(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return "", nil, unavailable(context.Cause(ctx))
		case <-time.After(redirectBackoff):
		}
	}
	return "", nil, unavailable(err)
}

// nodeAt is the client of the cluster master at addr, with nodeFor's
// read timeout.
func (r *Store) nodeAt(ctx context.Context, addr string) (*goredis.Client, error) {
	cc, ok := r.c.(*goredis.ClusterClient)
	if !ok {
		return nil, fmt.Errorf("ASK from a client that is no cluster's: %T", r.c)
	}
	var mu sync.Mutex
	var found *goredis.Client
	err := cc.ForEachMaster(ctx, func(_ context.Context, c *goredis.Client) error {
		if c.Options().Addr == addr {
			mu.Lock()
			found = c
			mu.Unlock()
		}
		return nil
	})
	if err == nil && found == nil {
		err = fmt.Errorf("no master at %s", addr)
	}
	if err != nil {
		return nil, err
	}
	return found.WithTimeout(redisIOTimeout + r.waitTimeout), nil
}

// nodeFor is the client of the master owning key, with a read timeout
// that leaves room for WAIT.
func (r *Store) nodeFor(ctx context.Context, key string) (*goredis.Client, error) {
	if r.waitClient != nil {
		return r.waitClient, nil
	}
	cc, ok := r.c.(*goredis.ClusterClient)
	if !ok {
		return nil, fmt.Errorf("unexpected client %T", r.c)
	}
	c, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return nil, err
	}
	return c.WithTimeout(redisIOTimeout + r.waitTimeout), nil
}

// pipelineDurable sends the script, the marker and WAIT in one pipeline on
// one connection; after ASKING if asking (an ASK redirection sent it to
// the slot's new node). The script goes as EVAL, not EVALSHA: a NOSCRIPT
// reply would cost a second WAIT, and durable writes are rare.
//
// Only the script's own error counts: once it ran, it must not run again,
// whatever became of the marker (which a slot migration can redirect on
// its own). After ASK there is no marker: the target may take only keys
// the source no longer has, and the marker may still be there; a script
// that finds nothing to change then relies on WAIT covering this
// connection's earlier writes, the one case the marker does not close.
func (r *Store) pipelineDurable(ctx context.Context, c *goredis.Client, s *goredis.Script, keys []string, args []any, marker string, asking bool) (string, []any, error) {
	var script, wait *goredis.Cmd
	_, _ = c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		if asking {
			p.Do(ctx, "asking")
		}
		script = s.Eval(ctx, p, keys, args...)
		if marker != "" && !asking {
			p.Set(ctx, marker, r.self, markerTTL)
		}
		wait = p.Do(ctx, "wait", r.waitReplicas, r.waitTimeout.Milliseconds())
		return nil
	})
	if err := script.Err(); err != nil {
		return "", nil, err // unavailable below, or a redirect to follow
	}
	res, err := script.Slice()
	if err != nil {
		return "", nil, unavailable(err)
	}
	if len(res) == 0 {
		return "", nil, unexpected("")
	}
	status, _ := res[0].(string)
	n, err := wait.Int64()
	switch {
	case err != nil:
		return status, res, fmt.Errorf("%w: WAIT: %v", ErrNotReplicated, err)
	case n < int64(r.waitReplicas):
		return status, res, fmt.Errorf("%w: %d of %d replicas within %s", ErrNotReplicated, n, r.waitReplicas, r.waitTimeout)
	}
	return status, res, nil
}

// applied reports whether a durable write happened on the primary: it
// succeeded, or it did not replicate in time.
func applied(err error) bool { return err == nil || errors.Is(err, ErrNotReplicated) }

// isRedirect reports a cluster redirection: the command did not run.
func isRedirect(err error) bool {
	if err == nil {
		return false
	}
	for _, p := range []string{"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN"} {
		if strings.HasPrefix(err.Error(), p) {
			return true
		}
	}
	return false
}

// hashTag is the part of key that Redis Cluster hashes: the text between
// the first "{" and the next "}" if not empty, else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}
