package caddymodule

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/store"
)

// StoreConfig selects where state lives.
type StoreConfig struct {
	// The store implementation: "bolt", the embedded store, or "redis",
	// shared by several Caddy instances. Default: bolt.
	Type string `json:"type,omitempty"`

	// For bolt, the database file. Default: tokengate/tokengate.db in
	// Caddy's data directory.
	Path string `json:"path,omitempty"`

	// For redis, the server address, or a cluster's seed nodes, or the
	// Sentinels (with master_name), as host:port. Required for redis.
	Addresses []string `json:"addresses,omitempty"`

	// For redis, the ACL user name. Default: none.
	Username string `json:"username,omitempty"`

	// For redis, the password; placeholders such as {env.REDIS_PASSWORD}
	// are expanded. Default: none.
	Password string `json:"password,omitempty"`

	// For redis, the database number (not with a cluster). Default: 0.
	DB int `json:"db,omitempty"`

	// For redis, connect with TLS. Default: false.
	TLS bool `json:"tls,omitempty"`

	// For redis, the prefix of every key and of the event channel.
	// Default: "tokengate:".
	KeyPrefix string `json:"key_prefix,omitempty"`

	// For redis with Sentinel, the master's name. Default: none.
	MasterName string `json:"master_name,omitempty"`
}

// Kind names the implementation for metrics: bolt or redis.
func (c *StoreConfig) Kind() string {
	if c.Type == "" {
		return "bolt"
	}
	return c.Type
}

// Shared reports whether other processes use the store too.
func (c *StoreConfig) Shared() bool { return c.Type == "redis" }

// OpenStore opens the store; release gives it back.
func (c *StoreConfig) OpenStore(context.Context) (store.Store, func() error, error) {
	st, key, err := c.open()
	if err != nil {
		return nil, nil, err
	}
	return st, func() error { _, err := stores.Delete(key); return err }, nil
}

// stores holds open store handles across config reloads: Caddy provisions
// the new config before cleaning up the old one, and bbolt locks its file,
// so both configs must share one handle.
var stores = caddy.NewUsagePool()

type poolBolt struct{ *store.Bolt }

func (p poolBolt) Destruct() error { return p.Close() }

// boltLockTimeout is how long opening waits for another process's lock.
const boltLockTimeout = 3 * time.Second

type poolRedis struct{ *store.Redis }

func (p poolRedis) Destruct() error { return p.Close() }

// redisConnectTimeout bounds how long provisioning waits for Redis.
const redisConnectTimeout = 5 * time.Second

// open returns the store and the pool key to release it with.
func (c *StoreConfig) open() (store.Store, string, error) {
	switch c.Type {
	case "", "bolt":
		return c.openBolt()
	case "redis":
		return c.openRedis()
	}
	return nil, "", fmt.Errorf("unknown store type %q", c.Type)
}

func (c *StoreConfig) openRedis() (store.Store, string, error) {
	if len(c.Addresses) == 0 {
		return nil, "", fmt.Errorf("redis: at least one address is required")
	}
	repl := caddy.NewReplacer()
	cfg := store.RedisConfig{
		Addrs:      c.Addresses,
		Username:   repl.ReplaceAll(c.Username, ""),
		Password:   repl.ReplaceAll(c.Password, ""),
		DB:         c.DB,
		KeyPrefix:  c.KeyPrefix,
		MasterName: c.MasterName,
	}
	if c.TLS {
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	// Every setting that changes the connection is in the key, so that a
	// reload with a rotated password or TLS opens a new one; the password
	// only as a digest, to keep it out of the key.
	key := fmt.Sprintf("redis:%s|%s|%d|%s|%s|%x|%t", strings.Join(c.Addresses, ","), cfg.Username,
		c.DB, c.KeyPrefix, c.MasterName, sha256.Sum256([]byte(cfg.Password)), c.TLS)
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		ctx, cancel := context.WithTimeout(context.Background(), redisConnectTimeout)
		defer cancel()
		r, err := store.OpenRedis(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return poolRedis{r}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(poolRedis).Redis, key, nil
}

func (c *StoreConfig) openBolt() (store.Store, string, error) {
	path := c.Path
	if path == "" {
		path = filepath.Join(caddy.AppDataDir(), "tokengate", "tokengate.db")
	}
	path, err := filepath.Abs(caddy.NewReplacer().ReplaceAll(path, ""))
	if err != nil {
		return nil, "", err
	}
	key := "bolt:" + path
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		b, err := store.OpenBolt(path, boltLockTimeout)
		if err != nil {
			return nil, err
		}
		return poolBolt{b}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(poolBolt).Bolt, key, nil
}
