package redis

// Reading users and their temporary state: the u:{T} hash. Writing users
// is in users.go, with the username claims it needs.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// Users: the u:{T} hash holds the user JSON without the two fields that
// scripts set on their own (password hash, number).

func encodeUser(u store.User) (string, error) {
	u.PasswordHash, u.Number = "", 0
	b, err := json.Marshal(u)
	return string(b), err
}

// decodeUser builds a User from the user, pw and num fields; ErrNotFound
// if there is no user.
func decodeUser(user, pw, num any) (store.User, error) {
	var u store.User
	s, ok := user.(string)
	if !ok {
		return u, store.ErrNotFound
	}
	if err := json.Unmarshal([]byte(s), &u); err != nil {
		return u, unavailable(err)
	}
	u.PasswordHash, u.Number = str(pw), integer(num)
	return u, nil
}

// subjectScript creates generation 1 with the secret in ARGV[1] unless
// the user has a generation, and returns the user and its temporary state.
var subjectScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return {'nf'} end
if redis.call('HSETNX', KEYS[1], 'gen', 1) == 1 then
  redis.call('HSET', KEYS[1], 'secret', ARGV[1])
end
local v = redis.call('HMGET', KEYS[1], 'user', 'pw', 'num', 'gen', 'secret')
return {'ok', v[1], v[2] or '', v[3] or '', v[4], v[5]}
`)

func (r *Store) Subject(ctx context.Context, id string) (store.Subject, error) {
	var sub store.Subject
	v, err := r.c.HMGet(ctx, r.userKey(id), "user", "pw", "num", "gen", "secret").Result()
	if err != nil {
		return sub, unavailable(err)
	}
	if v[0] != nil && v[3] == nil {
		// First use: the script re-checks, so racing callers agree.
		status, res, err := r.run(ctx, subjectScript, []string{r.userKey(id)}, store.NewSecret())
		if err != nil {
			return sub, err
		}
		if status != "ok" {
			return sub, store.ErrNotFound
		}
		v = res[1:]
	}
	if sub.User, err = decodeUser(v[0], v[1], v[2]); err != nil {
		return sub, err
	}
	sub.Temp = store.TempSecret{Generation: uint64(integer(v[3])), Secret: []byte(str(v[4]))}
	return sub, nil
}

// revokeScript bumps the generation and sets the secret in ARGV[1].
var revokeScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return {'nf'} end
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'secret', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return {'ok', gen}
`)

func (r *Store) RevokeTemp(ctx context.Context, id string) (store.TempSecret, error) {
	secret := store.NewSecret()
	ev := store.Event{Kind: store.TempRevoked, Subject: id}
	status, res, err := r.runDurable(ctx, revokeScript, []string{r.userKey(id)}, secret, r.channel, r.message(ev))
	switch {
	case errors.Is(err, ErrNotReplicated) && status == "ok":
		r.events.Publish(ev) // in effect on the primary: see finish
		return store.TempSecret{}, err
	case err != nil:
		return store.TempSecret{}, err
	case status == "nf":
		return store.TempSecret{}, store.ErrNotFound
	case status != "ok":
		return store.TempSecret{}, unexpected(status)
	}
	r.events.Publish(ev)
	return store.TempSecret{Generation: uint64(integer(res[1])), Secret: secret}, nil
}

func (r *Store) User(ctx context.Context, id string) (store.User, error) {
	v, err := r.c.HMGet(ctx, r.userKey(id), "user", "pw", "num").Result()
	if err != nil {
		return store.User{}, unavailable(err)
	}
	return decodeUser(v[0], v[1], v[2])
}

// UserByName follows the username's claim to a user and checks that the
// user has that name: a claim can outlive a rename that has not finished
// or was interrupted, but the user record decides.
func (r *Store) UserByName(ctx context.Context, username string) (store.User, error) {
	claim, err := r.c.Get(ctx, r.usernameKey(username)).Result()
	if errors.Is(err, goredis.Nil) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, unavailable(err)
	}
	_, id, ok := parseClaim(claim)
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	u, err := r.User(ctx, id)
	if err == nil && u.Username != username {
		return store.User{}, store.ErrNotFound
	}
	return u, err
}

// Users scans for user keys (on every master of a cluster): an index of
// ids would be one more record to keep consistent across slots.
func (r *Store) Users(ctx context.Context) ([]store.User, error) {
	keys, err := r.scan(ctx, r.prefix+"u:{*")
	if err != nil {
		return nil, err
	}
	cmds := make([]*goredis.SliceCmd, len(keys))
	_, err = r.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, k, "user", "pw", "num")
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	var out []store.User
	for _, c := range cmds {
		v := c.Val()
		u, err := decodeUser(v[0], v[1], v[2])
		switch {
		case errors.Is(err, store.ErrNotFound): // deleted: the key keeps gen
		case err != nil:
			return nil, err
		default:
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b store.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
