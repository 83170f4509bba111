package redis

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// assertionKeysKey is the hash holding the assertion key ring: ver (the
// write count) and keys (the []AssertionKey JSON). One key, so one slot.
func (r *Store) assertionKeysKey() string { return r.prefix + "ak" }

// swapKeysScript: KEYS ring; ARGV prev version, new version, keys JSON.
// It writes only if the stored version is still prev, else returns the
// stored ring so that the caller can adopt it.
var swapKeysScript = goredis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'ver') or '0'
if v ~= ARGV[1] then
	return {'conflict', v, redis.call('HGET', KEYS[1], 'keys') or ''}
end
redis.call('HSET', KEYS[1], 'ver', ARGV[2], 'keys', ARGV[3])
return {'ok'}
`)

// AssertionKeys implements Store.
func (r *Store) AssertionKeys(ctx context.Context) (store.AssertionKeyRing, error) {
	vals, err := r.c.HMGet(ctx, r.assertionKeysKey(), "ver", "keys").Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return store.AssertionKeyRing{}, unavailable(err)
	}
	return decodeRing(str(vals[0]), str(vals[1]))
}

// SwapAssertionKeys implements Store.
func (r *Store) SwapAssertionKeys(ctx context.Context, prev uint64, keys []store.AssertionKey) (store.AssertionKeyRing, error) {
	b, err := json.Marshal(keys)
	if err != nil {
		return store.AssertionKeyRing{}, err
	}
	status, res, err := r.run(ctx, swapKeysScript, []string{r.assertionKeysKey()},
		strconv.FormatUint(prev, 10), strconv.FormatUint(prev+1, 10), b)
	switch {
	case err != nil:
		return store.AssertionKeyRing{}, err
	case status == "ok":
		return store.AssertionKeyRing{Version: prev + 1, Keys: keys}, nil
	case status == "conflict" && len(res) == 3:
		ring, err := decodeRing(str(res[1]), str(res[2]))
		if err != nil {
			return ring, err
		}
		return ring, store.ErrConflict
	}
	return store.AssertionKeyRing{}, unexpected(status)
}

// decodeRing builds a ring from its stored fields; "" and "" is none.
func decodeRing(ver, keys string) (store.AssertionKeyRing, error) {
	var ring store.AssertionKeyRing
	if ver == "" {
		return ring, nil
	}
	n, err := strconv.ParseUint(ver, 10, 64)
	if err != nil {
		return ring, unexpected(ver)
	}
	ring.Version = n
	if keys != "" {
		if err := json.Unmarshal([]byte(keys), &ring.Keys); err != nil {
			return store.AssertionKeyRing{}, unavailable(err)
		}
	}
	return ring, nil
}
