package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// Reset tokens. The tokens themselves live on their subject's slot, in the
// hash r:{T}: digest → effective expiry (29 sortable digits, then the JSON
// time) ‖ "\n" ‖ the token's JSON. Expiring a token rewrites only the
// expiry, so scripts never edit JSON. rt:<digest> points from a digest to
// its subject.
//
// ConsumeReset takes two steps: read the pointer, then run a script on the
// subject's slot that checks the token is active and, in the same script,
// sets the password, expires all the subject's tokens and bumps the
// generation. This is as atomic as Bolt's transaction: the pointer never
// changes (a digest is the hash of a random token and names one subject),
// so step one only finds where to look, and the script decides. Two
// concurrent consumers both reach the script; Redis runs one after the
// other, and the second finds the token expired.

// luaExpireResets sets the expiry of every token of the hash KEYS that ends
// after at to at, and drops tokens that ended before prune (ttlSlack
// earlier; Bolt keeps them until PurgeExpired, where they are just as
// inactive for any later time).
const luaExpireResets = `
local function expire_resets(key, at, atjson, prune)
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local exp = string.sub(all[i+1], 1, 29)
    if exp < prune then
      redis.call('HDEL', key, all[i])
    elseif exp > at then
      local nl = string.find(all[i+1], '\n', 1, true)
      redis.call('HSET', key, all[i], at .. atjson .. string.sub(all[i+1], nl))
    end
  end
end
`

// createResetScript: KEYS user, resets; ARGV digest, entry, created
// (sortable, JSON), prune, TTL in ms.
var createResetScript = goredis.NewScript(luaExpireResets + `
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return {'nf'} end
expire_resets(KEYS[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return {'ok'}
`)

// consumeResetScript: KEYS user, resets; ARGV digest, now (sortable,
// JSON), prune, password hash, secret, channel, message.
var consumeResetScript = goredis.NewScript(luaExpireResets + `
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v or not (ARGV[2] < string.sub(v, 1, 29)) then return {'nf'} end
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return {'nf'} end
redis.call('HSET', KEYS[1], 'pw', ARGV[5])
expire_resets(KEYS[2], ARGV[2], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'secret', ARGV[6])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {'ok', v}
`)

// setPasswordScript: KEYS user, resets; ARGV password hash, now
// (sortable, JSON), prune, secret, channel, message.
var setPasswordScript = goredis.NewScript(luaExpireResets + `
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return {'nf'} end
redis.call('HSET', KEYS[1], 'pw', ARGV[1])
expire_resets(KEYS[2], ARGV[2], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'secret', ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {'ok'}
`)

func (r *Store) CreateReset(ctx context.Context, t store.ResetToken) error {
	entry, err := encodeReset(t)
	if err != nil {
		return err
	}
	at, err := json.Marshal(t.CreatedAt)
	if err != nil {
		return err
	}
	life := ttl(t.CreatedAt, t.ExpiresAt)
	// The pointer first: if the script then fails, a pointer to nothing
	// is harmless and expires.
	if err := r.c.Set(ctx, r.resetPtrKey(t.Digest), t.Subject, life).Err(); err != nil {
		return unavailable(err)
	}
	status, _, err := r.run(ctx, createResetScript,
		[]string{r.userKey(t.Subject), r.resetsKey(t.Subject)},
		t.Digest, entry, sortable(t.CreatedAt), at, sortable(t.CreatedAt.Add(-ttlSlack)), life.Milliseconds())
	switch {
	case err != nil:
		return err
	case status == "nf":
		return store.ErrNotFound
	case status != "ok":
		return unexpected(status)
	}
	return nil
}

func (r *Store) Reset(ctx context.Context, digest string, now time.Time) (store.ResetToken, error) {
	subject, err := r.resetSubject(ctx, digest)
	if err != nil {
		return store.ResetToken{}, err
	}
	v, err := r.c.HGet(ctx, r.resetsKey(subject), digest).Result()
	if errors.Is(err, goredis.Nil) {
		return store.ResetToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.ResetToken{}, unavailable(err)
	}
	t, err := decodeReset(v)
	if err == nil && !now.Before(t.ExpiresAt) {
		err = store.ErrNotFound
	}
	return t, err
}

func (r *Store) ConsumeReset(ctx context.Context, digest, passwordHash string, now time.Time) (store.ResetToken, error) {
	subject, err := r.resetSubject(ctx, digest)
	if err != nil {
		return store.ResetToken{}, err
	}
	at, err := json.Marshal(now)
	if err != nil {
		return store.ResetToken{}, err
	}
	ev := store.Event{Kind: store.TempRevoked, Subject: subject}
	status, res, err := r.runDurable(ctx, consumeResetScript,
		[]string{r.userKey(subject), r.resetsKey(subject)},
		digest, sortable(now), at, sortable(now.Add(-ttlSlack)), passwordHash, store.NewSecret(), r.channel, r.message(ev))
	if err != nil || status != "ok" {
		return store.ResetToken{}, r.finish(status, err, ev)
	}
	t, err := decodeReset(str(res[1]))
	if err != nil {
		return t, err
	}
	r.events.Publish(ev)
	return t, nil
}

func (r *Store) SetPassword(ctx context.Context, id, passwordHash string, now time.Time) error {
	at, err := json.Marshal(now)
	if err != nil {
		return err
	}
	ev := store.Event{Kind: store.TempRevoked, Subject: id}
	status, _, err := r.runDurable(ctx, setPasswordScript,
		[]string{r.userKey(id), r.resetsKey(id)},
		passwordHash, sortable(now), at, sortable(now.Add(-ttlSlack)), store.NewSecret(), r.channel, r.message(ev))
	return r.finish(status, err, ev)
}

func (r *Store) resetSubject(ctx context.Context, digest string) (string, error) {
	subject, err := r.c.Get(ctx, r.resetPtrKey(digest)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", unavailable(err)
	}
	return subject, nil
}

func encodeReset(t store.ResetToken) (string, error) {
	exp, err := json.Marshal(t.ExpiresAt)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	return sortable(t.ExpiresAt) + string(exp) + "\n" + string(b), nil
}

// decodeReset reads an r:{T} entry: the token with its effective expiry.
func decodeReset(v string) (store.ResetToken, error) {
	var t store.ResetToken
	exp, doc, ok := strings.Cut(v[min(len(v), 29):], "\n")
	if !ok {
		return t, fmt.Errorf("%w: malformed reset token entry", store.ErrUnavailable)
	}
	if err := json.Unmarshal([]byte(doc), &t); err != nil {
		return t, unavailable(err)
	}
	if err := json.Unmarshal([]byte(exp), &t.ExpiresAt); err != nil {
		return t, unavailable(err)
	}
	return t, nil
}

// Counters: c:<key> is a hash of n (failures), until (sortable) and u
// (the JSON time), with a TTL of the window plus ttlSlack.

// failScript counts a failure in the open window or starts a new one;
// ARGV now, until (sortable, JSON), TTL in ms, limit (0: none). At the
// limit it counts nothing and answers 'full'.
var failScript = goredis.NewScript(`
local u = redis.call('HGET', KEYS[1], 'until')
if u and ARGV[1] < u then
  local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
  local limit = tonumber(ARGV[5])
  if limit > 0 and n >= limit then
    return {'full', n, redis.call('HGET', KEYS[1], 'u')}
  end
  n = redis.call('HINCRBY', KEYS[1], 'n', 1)
  return {'ok', n, redis.call('HGET', KEYS[1], 'u')}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'n', 1, 'until', ARGV[2], 'u', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {'new', 1}
`)

// returnScript takes one back from the window ending at ARGV[1]
// (sortable), if that window is still the key's and above zero.
var returnScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'until') ~= ARGV[1] then return {'ok'} end
if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', -1)
end
return {'ok'}
`)

func (r *Store) counterKey(key string) string { return r.prefix + "c:" + key }

func (r *Store) Fail(ctx context.Context, key string, window time.Duration, now time.Time) (store.Counter, error) {
	c, _, err := r.count(ctx, key, 0, window, now)
	return c, err
}

func (r *Store) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.Counter, bool, error) {
	return r.count(ctx, key, limit, window, now)
}

func (r *Store) count(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.Counter, bool, error) {
	until := now.Add(window)
	u, err := json.Marshal(until)
	if err != nil {
		return store.Counter{}, false, err
	}
	status, res, err := r.run(ctx, failScript, []string{r.counterKey(key)},
		sortable(now), sortable(until), u, (max(window, 0) + ttlSlack).Milliseconds(), max(limit, 0))
	if err != nil {
		return store.Counter{}, false, err
	}
	c := store.Counter{Key: key, Count: int(integer(res[1])), Until: until}
	switch status {
	case "new":
	case "ok", "full":
		if err := json.Unmarshal([]byte(str(res[2])), &c.Until); err != nil {
			return store.Counter{}, false, unavailable(err)
		}
	default:
		return store.Counter{}, false, unexpected(status)
	}
	return c, status != "full", nil
}

func (r *Store) Return(ctx context.Context, c store.Counter) error {
	_, _, err := r.run(ctx, returnScript, []string{r.counterKey(c.Key)}, sortable(c.Until))
	return err
}

func (r *Store) Counter(ctx context.Context, key string, now time.Time) (store.Counter, error) {
	v, err := r.c.HMGet(ctx, r.counterKey(key), "n", "until", "u").Result()
	if err != nil {
		return store.Counter{}, unavailable(err)
	}
	return openCounter(key, v, now), nil
}

func (r *Store) Counters(ctx context.Context, now time.Time) ([]store.Counter, error) {
	keys, err := r.scan(ctx, r.counterKey("*"))
	if err != nil {
		return nil, err
	}
	cmds := make([]*goredis.SliceCmd, len(keys))
	_, err = r.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, k, "n", "until", "u")
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	var out []store.Counter
	for i, k := range keys {
		if c := openCounter(strings.TrimPrefix(k, r.counterKey("")), cmds[i].Val(), now); c.Count > 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b store.Counter) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// openCounter decodes n, until, u; zero if the window is over at now.
func openCounter(key string, v []any, now time.Time) store.Counter {
	c := store.Counter{Key: key}
	if until := str(v[1]); until == "" || sortable(now) >= until {
		return c
	}
	if json.Unmarshal([]byte(str(v[2])), &c.Until) != nil {
		return store.Counter{Key: key}
	}
	c.Count = int(integer(v[0]))
	return c
}

// clearScript deletes a counter and says whether it held failures in a
// window open at ARGV now (sortable), in one step: a window closing or a
// place given back meanwhile cannot make the answer wrong.
var clearScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'until', 'n')
redis.call('DEL', KEYS[1])
if v[1] and ARGV[1] < v[1] and tonumber(v[2] or '0') > 0 then
  return {'ok'}
end
return {'none'}
`)

func (r *Store) ClearCounter(ctx context.Context, key string, now time.Time) error {
	status, _, err := r.run(ctx, clearScript, []string{r.counterKey(key)}, sortable(now))
	switch {
	case err != nil:
		return err
	case status == "none":
		return store.ErrNotFound
	case status != "ok":
		return unexpected(status)
	}
	return nil
}
