package redis

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// serverKeysKey holds the server key ring as JSON (store.ServerKeys). It
// is one key, in a slot of its own on a cluster.
func (r *Store) serverKeysKey() string { return r.prefix + "sk" }

// swapServerKeysScript writes ARGV[2] (the ring's JSON) if the ring's
// version is still ARGV[1], and announces it: ARGV[3] channel, ARGV[4]
// message.
var swapServerKeysScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
local cur = '0'
if v then cur = string.format('%d', cjson.decode(v).version) end
if cur ~= ARGV[1] then return {'conflict'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {'ok'}
`)

// ServerKeys implements store.Store.
func (r *Store) ServerKeys(ctx context.Context) (store.ServerKeys, error) {
	var k store.ServerKeys
	v, err := r.c.Get(ctx, r.serverKeysKey()).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return k, nil
	case err != nil:
		return k, unavailable(err)
	}
	if err := json.Unmarshal([]byte(v), &k); err != nil {
		return store.ServerKeys{}, unavailable(err)
	}
	return k, nil
}

// SwapServerKeys implements store.Store: the version check, the write
// and the announcement are one script.
func (r *Store) SwapServerKeys(ctx context.Context, version uint64, keys []string) (store.ServerKeys, error) {
	k := store.ServerKeys{Keys: append([]string(nil), keys...), Version: version + 1}
	b, err := json.Marshal(k)
	if err != nil {
		return store.ServerKeys{}, err
	}
	status, _, err := r.runDurable(ctx, swapServerKeysScript, []string{r.serverKeysKey()},
		strconv.FormatUint(version, 10), string(b), r.channel, r.message(store.Event{Kind: store.KeysChanged}))
	if status == "conflict" && err == nil {
		return store.ServerKeys{}, store.ErrConflict
	}
	// ErrNotReplicated: written and told locally, as finish does, but
	// not acknowledged; the ring is returned with it.
	if err := r.finish(status, err, store.Event{Kind: store.KeysChanged}); err != nil {
		if errors.Is(err, ErrNotReplicated) {
			return k, err
		}
		return store.ServerKeys{}, err
	}
	return k, nil
}
