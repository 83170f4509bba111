// Package redisstore is the tokengate.stores.redis module: the shared
// store (store/redis) on a Redis server, Sentinel group or Cluster, for
// several Caddy instances that hear each other's revocations.
package redisstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/tokengate/tokengate/caddymodule/stores"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/redis"
)

func init() { caddy.RegisterModule(Module{}) }

// Module configures the Redis store.
type Module struct {
	// The server address, or a cluster's seed nodes, or the Sentinels
	// (with master_name), as host:port. Required.
	Addresses []string `json:"addresses,omitempty"`

	// The ACL user name; placeholders are expanded. Default: none.
	Username string `json:"username,omitempty"`

	// The password; placeholders such as {env.REDIS_PASSWORD} are
	// expanded. Default: none.
	Password string `json:"password,omitempty"`

	// The database number (not with a cluster). Default: 0.
	DB int `json:"db,omitempty"`

	// Connect with TLS (1.2 or later): true, or an object with a CA, a
	// client certificate and the server name (see TLS). Default: plain
	// TCP.
	TLS *TLS `json:"tls,omitempty"`

	// The prefix of every key and of the event channel, so that several
	// deployments can share a server. Default: "tokengate:".
	KeyPrefix string `json:"key_prefix,omitempty"`

	// With Sentinel, the master's name; then addresses are the
	// Sentinels. Default: none.
	MasterName string `json:"master_name,omitempty"`

	// With Sentinel, the Sentinels' own ACL user and password (username
	// and password are the data nodes'); placeholders are expanded.
	// Default: none.
	SentinelUsername string `json:"sentinel_username,omitempty"`
	SentinelPassword string `json:"sentinel_password,omitempty"`

	// How many replicas must acknowledge a revocation (and every other
	// write whose loss would let a credential pass again: deletions,
	// blocks, password changes) before the API answers success; with
	// fewer within wait_timeout it answers 503 and the caller retries.
	// 0 does not wait: a failover can then lose revocations the primary
	// acknowledged. Set it to at least 1 with replicas. Default: 0.
	WaitReplicas int `json:"wait_replicas,omitempty"`

	// How long a revocation waits for wait_replicas replicas.
	// Default: 1s.
	WaitTimeout caddy.Duration `json:"wait_timeout,omitempty"`

	// Let Caddy start while Redis does not answer: the sites without a
	// gate serve, the gates answer 503 until Redis answers (tokengate
	// keeps trying in the background). Default: false, Caddy refuses to
	// start (or to load the config) without Redis.
	Degraded bool `json:"start_degraded,omitempty"`

	cfg redis.Config
	key string // the pool key: every setting that changes the connection
}

// Interface guards; caddymodule checks the store-module interface.
var (
	_ caddy.Provisioner     = (*Module)(nil)
	_ caddy.Validator       = (*Module)(nil)
	_ caddyfile.Unmarshaler = (*Module)(nil)
)

// CaddyModule returns the Caddy module information.
func (Module) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "tokengate.stores.redis", New: func() caddy.Module { return new(Module) }}
}

// Provision builds the client settings; it connects to nothing.
func (m *Module) Provision(ctx caddy.Context) error {
	useLogger(ctx.Logger())
	repl := caddy.NewReplacer()
	m.cfg = redis.Config{
		Addrs:      m.Addresses,
		Username:   repl.ReplaceAll(m.Username, ""),
		Password:   repl.ReplaceAll(m.Password, ""),
		DB:         m.DB,
		KeyPrefix:  m.KeyPrefix,
		MasterName: m.MasterName,

		SentinelUsername: repl.ReplaceAll(m.SentinelUsername, ""),
		SentinelPassword: repl.ReplaceAll(m.SentinelPassword, ""),

		WaitReplicas: m.WaitReplicas,
		WaitTimeout:  time.Duration(m.WaitTimeout),
	}
	var tlsDigest string
	var err error
	if m.cfg.TLS, tlsDigest, err = m.TLS.config(repl); err != nil {
		return fmt.Errorf("store redis: %w", err)
	}
	// A reload with a rotated password or certificate must open a new
	// connection; the password is in the key only as a digest.
	m.key = fmt.Sprintf("%s|%s|%d|%s|%s|%x|%t|%s|%d|%d|%s|%x", strings.Join(m.Addresses, ","), m.cfg.Username,
		m.DB, m.KeyPrefix, m.MasterName, sha256.Sum256([]byte(m.cfg.Password)), m.TLS.Enabled(), tlsDigest,
		m.WaitReplicas, m.WaitTimeout, m.cfg.SentinelUsername, sha256.Sum256([]byte(m.cfg.SentinelPassword)))
	return nil
}

// Validate checks the settings.
func (m *Module) Validate() error {
	if len(m.Addresses) == 0 {
		return errors.New("store redis: at least one address is required")
	}
	if m.DB < 0 {
		return fmt.Errorf("store redis: bad db %d", m.DB)
	}
	if m.WaitReplicas < 0 {
		return fmt.Errorf("store redis: bad wait_replicas %d", m.WaitReplicas)
	}
	if m.WaitTimeout < 0 {
		return fmt.Errorf("store redis: bad wait_timeout %s", time.Duration(m.WaitTimeout))
	}
	return nil
}

// Kind names the backend in metrics and logs.
func (*Module) Kind() string { return "redis" }

// Location names the servers (never the password): the address, the
// cluster's seeds, or the Sentinels and the master's name; the user and
// whether TLS is on.
func (m *Module) Location() string {
	var b strings.Builder
	switch {
	case m.MasterName != "":
		fmt.Fprintf(&b, "sentinel master %s via %s", m.MasterName, strings.Join(m.Addresses, ","))
	case len(m.Addresses) > 1:
		fmt.Fprintf(&b, "cluster %s", strings.Join(m.Addresses, ","))
	default:
		b.WriteString(strings.Join(m.Addresses, ","))
	}
	if m.DB != 0 {
		fmt.Fprintf(&b, " db %d", m.DB)
	}
	if m.cfg.Username != "" {
		fmt.Fprintf(&b, " as %s", m.cfg.Username)
	}
	if m.TLS.Enabled() {
		b.WriteString(" over TLS")
	}
	return b.String()
}

// StartDegraded reports the start_degraded option.
func (m *Module) StartDegraded() bool { return m.Degraded }

// Shared is true: every instance on the server shares the state, so they
// need the same configured key.
func (*Module) Shared() bool { return true }

// connectTimeout bounds how long starting waits for Redis.
const connectTimeout = 5 * time.Second

// OpenStore connects and subscribes, or takes this process's open
// connection with the same settings.
func (m *Module) OpenStore(ctx context.Context) (store.Store, func() error, error) {
	return stores.Open("redis:"+m.key, func() (stores.Closer, error) {
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		return redis.Open(ctx, m.cfg)
	})
}

// UnmarshalCaddyfile reads
//
//	store redis {
//		address <host:port>...
//		username <name>
//		password <password>
//		db <n>
//		tls [{
//			ca <file>
//			cert <file>
//			key <file>
//			server_name <name>
//			insecure_skip_verify
//		}]
//		key_prefix <prefix>
//		master_name <name>
//		sentinel_username <name>
//		sentinel_password <password>
//		wait_replicas <n>
//		wait_timeout <duration>
//		start_degraded
//	}
func (m *Module) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "address":
			m.Addresses = append(m.Addresses, d.RemainingArgs()...)
		case "username", "password", "key_prefix", "master_name", "sentinel_username", "sentinel_password":
			dst := map[string]*string{"username": &m.Username, "password": &m.Password,
				"key_prefix": &m.KeyPrefix, "master_name": &m.MasterName,
				"sentinel_username": &m.SentinelUsername, "sentinel_password": &m.SentinelPassword}[d.Val()]
			if !d.AllArgs(dst) {
				return d.ArgErr()
			}
		case "db":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return d.Errf("bad db %q", s)
			}
			m.DB = n
		case "wait_replicas":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return d.Errf("bad wait_replicas %q", s)
			}
			m.WaitReplicas = n
		case "wait_timeout":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil || dur <= 0 {
				return d.Errf("bad wait_timeout %q", s)
			}
			m.WaitTimeout = caddy.Duration(dur)
		case "start_degraded":
			if d.NextArg() {
				return d.ArgErr()
			}
			m.Degraded = true
		case "tls":
			m.TLS = new(TLS)
			if err := m.TLS.unmarshalCaddyfile(d); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized redis option %q", d.Val())
		}
	}
	if len(m.Addresses) == 0 {
		return d.Err("store redis needs at least one address")
	}
	return nil
}
