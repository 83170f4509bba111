package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// Usernames. A user's record lives on the user's slot and the claim on its
// username on the username's, so in a cluster PutUser cannot be a single
// script. It takes these steps, which keep usernames unique among user
// records at every moment:
//
//  1. reserve: the user's hash hands out a write version v (HINCRBY seq).
//  2. claim: nm:<username> becomes "v:ms:id" unless another id holds it
//     (ErrExists). The same id claiming again keeps the larger version.
//  3. write: the user's hash takes the record unless its ver is above v
//     (a later write, or a fence, came first: start again with a new
//     version); ver = v. The script publishes the event.
//  4. release: the claim on the username the record had before is deleted
//     if it is still this id's with a version ≤ v.
//
// Why no two records share a username: a record's username N was claimed
// before the write, so its claim names the user. A release with bound v
// happens only once the record no longer has N (step 4 after a write, or a
// stale write that saw a record without N); a later write of N needs a
// version above v and claims N first, raising the claim above v, so the
// release cannot take a claim that a record needs.
//
// A claim can be left behind: a crash between claim and write, a failed
// release. It keeps the name from others (failing closed) until it is
// older than claimStale; then, if its owner's record lacks the name, the
// claimer fences the owner (raises its ver, so that no write of the owner
// still in flight can land) and swaps the claim with compare-and-set.
// A PutUser racing another one for a username that is not yet written
// gets ErrExists, as if the other had finished first.

// claimStale is how old a claim whose owner lacks the name must be before
// another user may take it.
const claimStale = 10 * time.Second

// reserveScript hands out a write version. With ARGV[1] = "fence" it also
// makes every smaller version stale. It returns whether the user exists
// and its username.
var reserveScript = goredis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], 'seq', 1)
if ARGV[1] == 'fence' then redis.call('HSET', KEYS[1], 'ver', v) end
local u = redis.call('HMGET', KEYS[1], 'user', 'name')
if u[1] then return {'ok', v, 1, u[2]} end
return {'ok', v, 0, ''}
`)

// claimScript: KEYS[1] the username's claim; ARGV id, version, stale ms.
var claimScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
if cur then
  local cv, ct, cid = string.match(cur, '^(%d+):(%d+):(.*)$')
  if cid ~= ARGV[1] then
    local stale = 0
    if now - tonumber(ct) > tonumber(ARGV[3]) then stale = 1 end
    return {'taken', cur, cid, stale}
  end
  if tonumber(cv) > v then v = tonumber(cv) end
end
redis.call('SET', KEYS[1], string.format('%d:%d:', v, now) .. ARGV[1])
return {'ok'}
`)

// stealScript replaces the claim ARGV[1] by a claim of id ARGV[2] at
// version ARGV[3].
var stealScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'changed'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], string.format('%d:%d:', tonumber(ARGV[3]), now) .. ARGV[2])
return {'ok'}
`)

// releaseScript deletes the claim if id ARGV[1] holds it at a version
// ≤ ARGV[2].
var releaseScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return {'ok'} end
local cv, ct, cid = string.match(cur, '^(%d+):(%d+):(.*)$')
if cid == ARGV[1] and tonumber(cv) <= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
end
return {'ok'}
`)

// putUserScript: ARGV version, user JSON, password hash, username, number
// to give a new user (0: none yet), channel, message, mode. Mode "put"
// creates or replaces; "create" refuses a user that exists; any other mode
// is the ver that an update read, and the write lands only if the user
// still has it (else 'stale': the caller reads again). A user keeps its
// number.
var putUserScript = goredis.NewScript(`
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver > tonumber(ARGV[1]) then
  return {'stale', redis.call('HGET', KEYS[1], 'name') or ''}
end
local old = redis.call('HMGET', KEYS[1], 'user', 'name', 'num')
if ARGV[8] == 'create' and old[1] then return {'exists', old[2]} end
if ARGV[8] ~= 'put' and ARGV[8] ~= 'create' then
  if not old[1] then return {'nf', ''} end
  if ver ~= tonumber(ARGV[8]) then return {'stale', old[2]} end
end
local num = ARGV[5]
if old[1] then num = old[3] elseif num == '0' then return {'neednum'} end
redis.call('HSET', KEYS[1], 'user', ARGV[2], 'pw', ARGV[3], 'name', ARGV[4], 'num', num, 'ver', ARGV[1])
redis.call('PUBLISH', ARGV[6], ARGV[7])
if old[1] then return {'ok', old[2]} end
return {'ok', ARGV[4]}
`)

// deleteUserScript: KEYS user, named tokens, their names, reset tokens;
// ARGV version, new secret, channel, message. The hash keeps gen, bumped.
// Reset tokens go with the user: a user re-created under the same id must
// not be reset with the old one's token (the digest pointers that remain
// lead to no token).
var deleteUserScript = goredis.NewScript(`
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver > tonumber(ARGV[1]) then return {'stale'} end
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return {'nf'} end
local name = redis.call('HGET', KEYS[1], 'name')
redis.call('HDEL', KEYS[1], 'user', 'pw', 'num', 'name')
redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'ver', ARGV[1], 'secret', ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {'ok', name}
`)

func (r *Store) PutUser(ctx context.Context, u store.User) error {
	return r.writeUser(ctx, u, modePut)
}

// CreateUser is PutUser that refuses an existing id: the check and the
// write are one script, so two instances creating the same user cannot
// both succeed.
func (r *Store) CreateUser(ctx context.Context, u store.User) error {
	return r.writeUser(ctx, u, modeCreate)
}

// UpdateUser reads the record and its write version, applies fn and
// writes only if the version is unchanged; a concurrent write sends it
// round again with the newer record.
func (r *Store) UpdateUser(ctx context.Context, id string, fn func(*store.User) error) (store.User, error) {
	for range maxAttempts {
		v, err := r.c.HMGet(ctx, r.userKey(id), "user", "pw", "num", "ver").Result()
		if err != nil {
			return store.User{}, unavailable(err)
		}
		u, err := decodeUser(v[0], v[1], v[2])
		if err != nil {
			return u, err
		}
		num := u.Number
		if err := fn(&u); err != nil {
			return u, err
		}
		u.ID, u.Number = id, num
		if u.Username == "" {
			u.Username = id
		}
		read := str(v[3])
		if read == "" {
			read = "0"
		}
		done, err := r.putUser(ctx, u, writeMode(read))
		if err != nil || done {
			return u, err
		}
	}
	return store.User{}, fmt.Errorf("%w: user %q is being changed concurrently", store.ErrUnavailable, id)
}

// writeMode is putUserScript's mode: modePut, modeCreate, or the write
// version an update read.
type writeMode string

const (
	modePut    writeMode = "put"
	modeCreate writeMode = "create"
)

func (r *Store) writeUser(ctx context.Context, u store.User, mode writeMode) error {
	if u.Username == "" {
		u.Username = u.ID
	}
	for range maxAttempts {
		done, err := r.putUser(ctx, u, mode)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("%w: user %q is being changed concurrently", store.ErrUnavailable, u.ID)
}

// putUser makes one attempt; done is false if a later write came first.
func (r *Store) putUser(ctx context.Context, u store.User, mode writeMode) (done bool, err error) {
	doc, err := encodeUser(u)
	if err != nil {
		return false, err
	}
	ev := store.Event{Kind: store.UserChanged, Subject: u.ID}
	v, exists, _, err := r.reserve(ctx, u.ID, false)
	if err != nil {
		return false, err
	}
	if exists && mode == modeCreate {
		return false, store.ErrExists
	}
	var num int64
	if !exists {
		if mode != modePut && mode != modeCreate {
			return false, store.ErrNotFound
		}
		if num, err = r.nextNumber(ctx); err != nil {
			return false, err
		}
	}
	if err := r.claim(ctx, u.Username, u.ID, v); err != nil {
		return false, err
	}
	for {
		run := r.runDurable // a block, an orphaning, a role change
		if mode == modeCreate {
			run = r.run // losing a new user resurrects nothing
		}
		status, res, err := run(ctx, putUserScript, []string{r.userKey(u.ID)},
			v, doc, u.PasswordHash, u.Username, num, r.channel, r.message(ev), string(mode))
		lagged := errors.Is(err, ErrNotReplicated) && status == "ok"
		if err != nil && !lagged {
			return false, err // the claim may stay behind: see claimStale
		}
		switch status {
		case "neednum": // deleted since reserve
			if num, err = r.nextNumber(ctx); err != nil {
				return false, err
			}
		case "stale", "exists", "nf":
			// The record keeps the name it has: give back the claim on
			// ours unless it is the same.
			if str(res[1]) != u.Username {
				r.release(ctx, u.Username, u.ID, v)
			}
			switch status {
			case "exists":
				return false, store.ErrExists
			case "nf":
				return false, store.ErrNotFound
			}
			return false, nil
		case "ok":
			if old := str(res[1]); old != u.Username {
				r.release(ctx, old, u.ID, v)
			}
			r.events.Publish(ev) // even if lagged: see finish
			return true, err
		default:
			return false, unexpected(status)
		}
	}
}

func (r *Store) DeleteUser(ctx context.Context, id string) error {
	ev := store.Event{Kind: store.UserChanged, Subject: id}
	for range maxAttempts {
		v, exists, _, err := r.reserve(ctx, id, false)
		if err != nil {
			return err
		}
		if !exists {
			return store.ErrNotFound
		}
		// The NamedOwner hints of the tokens the script deletes.
		ids, err := r.c.HKeys(ctx, r.namedKey(id)).Result()
		if err != nil {
			return unavailable(err)
		}
		status, res, err := r.runDurable(ctx, deleteUserScript,
			[]string{r.userKey(id), r.namedKey(id), r.namesKey(id), r.resetsKey(id)},
			v, store.NewSecret(), r.channel, r.message(ev))
		lagged := errors.Is(err, ErrNotReplicated) && status == "ok"
		switch {
		case err != nil && !lagged:
			return err
		case status == "stale":
			continue
		case status == "nf":
			return store.ErrNotFound
		case status != "ok":
			return unexpected(status)
		}
		r.release(ctx, str(res[1]), id, v)
		r.forgetNamedIDs(ctx, ids...)
		r.events.Publish(ev) // even if lagged: see finish
		return err
	}
	return fmt.Errorf("%w: user %q is being changed concurrently", store.ErrUnavailable, id)
}

// reserve returns a write version for the user, whether it exists and
// its username; fence makes all smaller versions stale.
func (r *Store) reserve(ctx context.Context, id string, fence bool) (v int64, exists bool, name string, err error) {
	mode := ""
	if fence {
		mode = "fence"
	}
	_, res, err := r.run(ctx, reserveScript, []string{r.userKey(id)}, mode)
	if err != nil {
		return 0, false, "", err
	}
	return integer(res[1]), integer(res[2]) == 1, str(res[3]), nil
}

func (r *Store) nextNumber(ctx context.Context) (int64, error) {
	n, err := r.c.Incr(ctx, r.prefix+"seq").Result()
	if err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}

// claim makes id the holder of the username at version v.
func (r *Store) claim(ctx context.Context, name, id string, v int64) error {
	key := r.usernameKey(name)
	for range maxAttempts {
		status, res, err := r.run(ctx, claimScript, []string{key}, id, v, claimStale.Milliseconds())
		if err != nil {
			return err
		}
		if status == "ok" {
			return nil
		}
		if status != "taken" {
			return unexpected(status)
		}
		cur, owner, stale := str(res[1]), str(res[2]), integer(res[3]) == 1
		if !stale {
			return store.ErrExists
		}
		// An old claim: taken for good if the owner has the name.
		if u, err := r.User(ctx, owner); err == nil && u.Username == name {
			return store.ErrExists
		}
		_, exists, has, err := r.reserve(ctx, owner, true)
		if err != nil {
			return err
		}
		if exists && has == name {
			return store.ErrExists
		}
		status, _, err = r.run(ctx, stealScript, []string{key}, cur, id, v)
		if err != nil {
			return err
		}
		if status == "ok" {
			return nil
		}
	}
	return fmt.Errorf("%w: username %q is being claimed concurrently", store.ErrUnavailable, name)
}

// release gives up id's claim on name if its version is at most v. A
// failure leaves a claim behind, which claim can take over later.
func (r *Store) release(ctx context.Context, name, id string, v int64) {
	_, _, _ = r.run(ctx, releaseScript, []string{r.usernameKey(name)}, id, v)
}

// parseClaim splits "<version>:<ms>:<id>".
func parseClaim(s string) (version int64, id string, ok bool) {
	vs, rest, ok1 := strings.Cut(s, ":")
	_, id, ok2 := strings.Cut(rest, ":")
	v, err := strconv.ParseInt(vs, 10, 64)
	return v, id, ok1 && ok2 && err == nil
}
