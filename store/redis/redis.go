// Package redis is the shared store backend: any number of tokengate
// instances on one Redis (standalone, Sentinel or Cluster) hear each
// other's changes through Pub/Sub.
package redis

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokengate/tokengate/store"
)

// Key layout (P is Config.KeyPrefix, {T} the user's hash tag, see
// userTag). A user's own keys share {T}, so every script that changes one
// user runs on one cluster slot:
//
//	P u:{T}      hash: user (User JSON without password_hash and number),
//	             pw, num, name (the username), gen, secret (temporary
//	             state), seq and ver (write versions, see PutUser). Never
//	             deleted: DeleteUser keeps gen, so generations never repeat.
//	P n:{T}      hash: named-token id → NamedToken JSON
//	P nn:{T}     hash: named-token name → id
//	P r:{T}      hash: reset-token digest → effective expiry ‖ token JSON
//	P ss:{T}     sorted set: session id, scored by expiry in Unix ms (TTL:
//	             the latest expiry + ttlSlack); an index of P s:<id>
//
// Records addressed by something else have keys of their own:
//
//	P nm:<username>  string "<ver>:<ms>:<id>": the claim on a username
//	P ni:<id>        string: the subject of named token <id> (NamedOwner),
//	                 on another slot than the token, so only a hint
//	P seq            integer: the last User.Number handed out
//	P s:<id>         Session JSON            (TTL: lifetime + ttlSlack)
//	P h:<digest>     Handoff JSON            (TTL: lifetime + ttlSlack)
//	P rt:<digest>    subject of a reset token (TTL: lifetime + ttlSlack)
//	P c:<key>        hash: n, until, u       (TTL: window + ttlSlack)
//	P w:{<tag>}      string: the marker a durable write sets on the slot
//	                 of its first key (TTL 10s; durable.go)
//	P events         Pub/Sub channel of change events (redis_events.go)

// Config says how to reach Redis. One address is a single server;
// several are a cluster's seed nodes; with MasterName they are Sentinels.
type Config struct {
	// Server, cluster seed or Sentinel addresses (host:port).
	Addrs []string
	// ACL user name and password. Default: none.
	Username, Password string
	// Database number (not for clusters). Default: 0.
	DB int
	// TLS settings; nil for plain TCP.
	TLS *tls.Config
	// Prefix of every key and of the event channel, so several deployments
	// can share a server. Default: "tokengate:".
	KeyPrefix string
	// Sentinel master name; set, Addrs are Sentinels.
	MasterName string
	// The Sentinels' own ACL user and password (Username and Password are
	// the data nodes'). Default: none.
	SentinelUsername, SentinelPassword string
	// Cluster forces cluster mode with a single seed address (several
	// addresses imply it).
	Cluster bool
	// WaitReplicas is how many replicas must acknowledge a write whose
	// loss would resurrect a credential (revocations, deletions, blocks,
	// password changes) before it counts as done; see durable.go. Default
	// 0: no waiting, and a failover can lose the last writes.
	WaitReplicas int
	// WaitTimeout bounds that wait; then the write fails with
	// ErrNotReplicated. Default: 1s.
	WaitTimeout time.Duration
}

// Client timeouts: an unreachable or stalled server costs a caller about
// half a second, then ErrUnavailable, so that requests fail closed fast.
const (
	redisDialTimeout = 500 * time.Millisecond
	redisIOTimeout   = 500 * time.Millisecond
	redisPoolTimeout = time.Second
	// ttlSlack is added to every Redis TTL. TTLs only clean up: expiry is
	// exact because callers compare ExpiresAt/Until.
	ttlSlack = time.Minute
	// maxAttempts bounds the optimistic retries of PutUser, DeleteUser and
	// UpdateNamed under contention.
	maxAttempts = 16
	// DefaultWaitTimeout is Config.WaitTimeout's default.
	DefaultWaitTimeout = time.Second
)

// Store is the shared store: any number of tokengate instances use one
// Redis (single server, Sentinel or Cluster) and learn of each other's
// changes through Pub/Sub.
//
// Every operation that changes one user is a Lua script on that user's
// slot, so it is atomic, and the script itself publishes the event: a
// change is never made without being announced. Operations that also touch
// records addressed by something else (usernames, reset-token digests,
// sessions) take several steps; each is commented with why it stays
// correct. Users and Counters SCAN the keyspace (every master of a
// cluster): they are for admin pages, not for every request.
//
// The server must keep what it is given: user hashes have no TTL, so use
// maxmemory-policy noeviction (or a volatile-* policy), and appendonly yes
// with appendfsync always (or everysec, accepting a second of loss) so
// that a bumped generation survives a crash.
type Store struct {
	c       goredis.UniversalClient
	prefix  string
	channel string
	self    string // this instance's id in event messages
	events  store.Notifier

	waitReplicas int
	waitTimeout  time.Duration
	// waitClient is the client durable writes use outside a cluster: r.c
	// with a read timeout that leaves room for WAIT.
	waitClient *goredis.Client

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the listener has stopped
	once   sync.Once

	connected atomic.Bool
	heard     atomic.Int64 // UnixNano of the last sign of life
	busy      atomic.Bool  // delivering an event: pongs can wait
	hmu       sync.Mutex
	hnext     int
	health    map[int]func(store.HealthEvent)
}

var _ store.Store = (*Store)(nil)

// Open connects to Redis and subscribes to the event channel. It
// gives up when ctx ends, or after about half a second if the server does
// not answer, with an error wrapping ErrUnavailable.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("redis: no address")
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "tokengate:"
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	c := goredis.NewUniversalClient(&goredis.UniversalOptions{
		Addrs:      cfg.Addrs,
		Username:   cfg.Username,
		Password:   cfg.Password,
		DB:         cfg.DB,
		TLSConfig:  cfg.TLS,
		MasterName: cfg.MasterName,

		SentinelUsername: cfg.SentinelUsername,
		SentinelPassword: cfg.SentinelPassword,
		IsClusterMode:    cfg.Cluster,
		ClientName:       "tokengate",
		// RESP2: script replies keep their RESP2 meaning (false is nil).
		Protocol:     2,
		DialTimeout:  redisDialTimeout,
		ReadTimeout:  redisIOTimeout,
		WriteTimeout: redisIOTimeout,
		PoolTimeout:  redisPoolTimeout,
		// One dial attempt, no command retries: a retried script whose
		// first run succeeded unseen would report a wrong result (a second
		// ConsumeReset finds the token used). Callers fail closed instead.
		DialerRetries:         1,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: redis %s: %v", store.ErrUnavailable, strings.Join(cfg.Addrs, ","), err)
	}
	r := &Store{
		c:       c,
		prefix:  cfg.KeyPrefix,
		channel: cfg.KeyPrefix + "events",
		self:    hex.EncodeToString(store.NewSecret()[:8]),
		done:    make(chan struct{}),

		waitReplicas: cfg.WaitReplicas,
		waitTimeout:  cfg.WaitTimeout,
	}
	if one, ok := c.(*goredis.Client); ok && cfg.WaitReplicas > 0 {
		r.waitClient = one.WithTimeout(redisIOTimeout + cfg.WaitTimeout)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	ready := make(chan error, 1)
	go r.listen(ready)
	select {
	case err := <-ready:
		if err == nil {
			return r, nil
		}
		r.Close()
		return nil, fmt.Errorf("%w: subscribing to %s: %v", store.ErrUnavailable, r.channel, err)
	case <-ctx.Done():
		r.Close()
		return nil, fmt.Errorf("%w: subscribing to %s: %v", store.ErrUnavailable, r.channel, context.Cause(ctx))
	}
}

// Subscribe implements Store.
func (r *Store) Subscribe(fn func(store.Event)) func() { return r.events.Subscribe(fn) }

// Close stops listening for events and closes the connections. Calls
// after the first do nothing.
func (r *Store) Close() error {
	var err error
	r.once.Do(func() {
		r.cancel()
		<-r.done
		err = r.c.Close()
	})
	return err
}

// userTag is the hash tag of a user's keys: the id itself, or "~" and its
// hex when the id would break the tag ("", braces) or could be mistaken
// for an encoded one. The mapping is injective.
func userTag(id string) string {
	if id == "" || strings.ContainsAny(id, "{}") || strings.HasPrefix(id, "~") {
		return "~" + hex.EncodeToString([]byte(id))
	}
	return id
}

func (r *Store) userKey(id string) string       { return r.prefix + "u:{" + userTag(id) + "}" }
func (r *Store) namedKey(id string) string      { return r.prefix + "n:{" + userTag(id) + "}" }
func (r *Store) namesKey(id string) string      { return r.prefix + "nn:{" + userTag(id) + "}" }
func (r *Store) resetsKey(id string) string     { return r.prefix + "r:{" + userTag(id) + "}" }
func (r *Store) sessionsKey(id string) string   { return r.prefix + "ss:{" + userTag(id) + "}" }
func (r *Store) usernameKey(name string) string { return r.prefix + "nm:" + name }
func (r *Store) namedIDKey(id string) string    { return r.prefix + "ni:" + id }

// unavailable marks a failure of Redis or of the connection to it.
func unavailable(err error) error { return fmt.Errorf("%w: %v", store.ErrUnavailable, err) }

// run runs a script that returns a table whose first element is a status.
// A cluster redirection that go-redis does not follow itself (TRYAGAIN:
// the script's keys are split between two nodes during a resharding) is
// tried again after a pause: the script did not run.
func (r *Store) run(ctx context.Context, s *goredis.Script, keys []string, args ...any) (string, []any, error) {
	res, err := s.Run(ctx, r.c, keys, args...).Slice()
	for attempt := 1; isRedirect(err) && attempt < maxRedirects; attempt++ {
		select {
		case <-ctx.Done():
			return "", nil, unavailable(context.Cause(ctx))
		case <-time.After(redirectBackoff):
		}
		res, err = s.Run(ctx, r.c, keys, args...).Slice()
	}
	if err != nil {
		return "", nil, unavailable(err)
	}
	if len(res) == 0 {
		return "", nil, unexpected("")
	}
	status, _ := res[0].(string)
	return status, res, nil
}

// unexpected reports a script reply this code does not know.
func unexpected(status string) error {
	return fmt.Errorf("%w: unexpected script reply %q", store.ErrUnavailable, status)
}

// str returns a reply element as a string; nil (a missing field) is "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

func integer(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// ttl is how long Redis keeps a record that lives from created to
// expires: its lifetime (from now if created is unset) plus ttlSlack. It
// is relative so that callers' clocks need not match the server's.
func ttl(created, expires time.Time) time.Duration {
	var d time.Duration
	if created.IsZero() {
		d = time.Until(expires)
	} else {
		d = expires.Sub(created)
	}
	return max(d, 0) + ttlSlack
}

// sortable encodes t as 29 digits that compare as strings like the times
// compare: seconds since year 1, then nanoseconds. Scripts compare times
// this way (Lua's numbers cannot hold nanoseconds since 1970).
func sortable(t time.Time) string {
	const toUnix = 62135596800 // seconds from year 1 to 1970
	return fmt.Sprintf("%020d%09d", max(t.Unix()+toUnix, 0), t.Nanosecond())
}

// scan lists the keys matching a glob of the form <prefix>rest, where the
// prefix is taken literally.
func (r *Store) scan(ctx context.Context, match string) ([]string, error) {
	match = globEscape(r.prefix) + match[len(r.prefix):]
	var mu sync.Mutex
	seen := map[string]struct{}{}
	one := func(ctx context.Context, c goredis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, match, 1000).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			for _, k := range keys {
				seen[k] = struct{}{}
			}
			mu.Unlock()
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	var err error
	if cc, ok := r.c.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return one(ctx, c) })
	} else {
		err = one(ctx, r.c)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
