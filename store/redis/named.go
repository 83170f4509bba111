package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// Named tokens live on their subject's slot: n:{T} maps id → JSON and
// nn:{T} name → id, so each change is one script. ni:<id> → subject lets
// a token be found by its id alone (NamedOwner); it lives on the id's
// slot, so it is written outside the scripts and is only a hint, which
// errs one way: it is set before the token exists and removed after the
// token is gone, so the tokens it misses are those created before it
// existed (no backfill: it would SCAN every subject), which only their
// owners then find.

// createNamedScript: KEYS user, tokens, names; ARGV id, name, JSON,
// channel, message.
var createNamedScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return {'nf'} end
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[1]) == 0 then return {'exists'} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {'ok'}
`)

// updateNamedScript replaces the token's JSON ARGV[2] by ARGV[3] if it is
// unchanged (compare-and-set: Go edits the JSON), renaming ARGV[4] to
// ARGV[5]; KEYS tokens, names; ARGV[1] id, ARGV[6..7] channel, message.
var updateNamedScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return {'nf'} end
if cur ~= ARGV[2] then return {'changed'} end
if ARGV[4] ~= ARGV[5] then
  if redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1 then return {'exists'} end
  redis.call('HDEL', KEYS[2], ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {'ok'}
`)

// deleteNamedScript deletes token ARGV[1], or all with "".
var deleteNamedScript = goredis.NewScript(`
if ARGV[1] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  local cur = redis.call('HGET', KEYS[1], ARGV[1])
  if not cur then return {'nf'} end
  redis.call('HDEL', KEYS[2], cjson.decode(cur).name)
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return {'ok'}
`)

func (r *Store) CreateNamed(ctx context.Context, t store.NamedToken) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := r.c.Set(ctx, r.namedIDKey(t.ID), t.Subject, 0).Err(); err != nil {
		return unavailable(err)
	}
	ev := store.Event{Kind: store.NamedChanged, Subject: t.Subject}
	status, _, err := r.run(ctx, createNamedScript,
		[]string{r.userKey(t.Subject), r.namedKey(t.Subject), r.namesKey(t.Subject)},
		t.ID, t.Name, b, r.channel, r.message(ev))
	if err = r.finish(status, err, ev); err != nil {
		// Best effort: a stale hint names a subject without the token,
		// which Named then says.
		r.forgetNamedIDs(ctx, t.ID)
	}
	return err
}

func (r *Store) NamedOwner(ctx context.Context, id string) (string, error) {
	subject, err := r.c.Get(ctx, r.namedIDKey(id)).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return "", store.ErrNotFound
	case err != nil:
		return "", unavailable(err)
	}
	return subject, nil
}

// forgetNamedIDs removes the ids' NamedOwner hints, one key at a time
// (each on its own cluster slot), best effort: a hint left behind names
// a subject that no longer has the token.
func (r *Store) forgetNamedIDs(ctx context.Context, ids ...string) {
	if len(ids) == 0 {
		return
	}
	p := r.c.Pipeline()
	for _, id := range ids {
		p.Del(ctx, r.namedIDKey(id))
	}
	_, _ = p.Exec(ctx)
}

func (r *Store) Named(ctx context.Context, subject, id string) (store.NamedToken, error) {
	var t store.NamedToken
	v, err := r.c.HGet(ctx, r.namedKey(subject), id).Result()
	if errors.Is(err, goredis.Nil) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, unavailable(err)
	}
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		return t, unavailable(err)
	}
	return t, nil
}

func (r *Store) NamedTokens(ctx context.Context, subject string) ([]store.NamedToken, error) {
	all, err := r.c.HGetAll(ctx, r.namedKey(subject)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	var out []store.NamedToken
	for _, v := range all {
		var t store.NamedToken
		if err := json.Unmarshal([]byte(v), &t); err != nil {
			return nil, unavailable(err)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b store.NamedToken) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// UpdateNamed edits the JSON in Go and writes it back with
// compare-and-set, retrying if the token changed in between.
func (r *Store) UpdateNamed(ctx context.Context, subject, id string, u store.NamedUpdate) error {
	ev := store.Event{Kind: store.NamedChanged, Subject: subject}
	for range maxAttempts {
		cur, err := r.c.HGet(ctx, r.namedKey(subject), id).Result()
		if errors.Is(err, goredis.Nil) {
			return store.ErrNotFound
		}
		if err != nil {
			return unavailable(err)
		}
		var t store.NamedToken
		if err := json.Unmarshal([]byte(cur), &t); err != nil {
			return unavailable(err)
		}
		oldName := t.Name
		u.Apply(&t)
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		status, _, err := r.runDurable(ctx, updateNamedScript,
			[]string{r.namedKey(subject), r.namesKey(subject)},
			id, cur, b, oldName, t.Name, r.channel, r.message(ev))
		if status == "changed" {
			continue
		}
		return r.finish(status, err, ev)
	}
	return fmt.Errorf("%w: named token %q is being changed concurrently", store.ErrUnavailable, id)
}

func (r *Store) DeleteNamed(ctx context.Context, subject, id string) error {
	ids := []string{id}
	if id == "" {
		var err error
		if ids, err = r.c.HKeys(ctx, r.namedKey(subject)).Result(); err != nil {
			return unavailable(err)
		}
	}
	ev := store.Event{Kind: store.NamedChanged, Subject: subject}
	status, _, err := r.runDurable(ctx, deleteNamedScript,
		[]string{r.namedKey(subject), r.namesKey(subject)}, id, r.channel, r.message(ev))
	if err = r.finish(status, err, ev); applied(err) && status == "ok" {
		r.forgetNamedIDs(ctx, ids...)
	}
	return err
}

// finish maps a mutation script's status to the error to return and tells
// local subscribers of a success.
//
// A durable write that reached the primary but not enough replicas
// (ErrNotReplicated) is told to local subscribers too: the change is in
// effect on the primary, and caches that forget it fail toward refusing.
// The error still goes back, so that the caller retries.
func (r *Store) finish(status string, err error, ev store.Event) error {
	switch {
	case errors.Is(err, ErrNotReplicated) && status == "ok":
		r.events.Publish(ev)
		return err
	case err != nil:
		return err
	case status == "nf":
		return store.ErrNotFound
	case status == "exists":
		return store.ErrExists
	case status != "ok":
		return unexpected(status)
	}
	r.events.Publish(ev)
	return nil
}
