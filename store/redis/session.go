package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/store"
)

// Sessions and handoff tokens are addressed by their own id or digest, so
// they have keys of their own, with a TTL of their lifetime plus ttlSlack.
// Creating one checks that the subject exists, then writes: two steps, but
// the same outcome as Bolt's transaction, since Bolt's DeleteUser leaves
// sessions and handoffs alone too. A subject deleted between the steps is
// the same as one deleted just after the create.

// deleteSessionScript deletes the session and announces the end to its
// subject's subscribers; ARGV channel, message without the subject.
var deleteSessionScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return {'nf'} end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. cjson.decode(v).subject)
return {'ok', v}
`)

// deleteSessionOfScript is deleteSessionScript for one of a subject's
// sessions: ARGV[3] the subject, whose session KEYS[1] must be ('other'
// if its id now names another subject's session).
var deleteSessionOfScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return {'nf'} end
local ok, s = pcall(cjson.decode, v)
if ok and s.subject ~= ARGV[3] then return {'other'} end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. ARGV[3])
return {'ok'}
`)

// indexSessionScript adds a session to its subject's index (KEYS[1]):
// ARGV id, expiry and the index's TTL, both in ms; the index forgets
// sessions that expired before ARGV[4] (ms) and lives as long as its
// latest session.
var indexSessionScript = goredis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {'ok'}
`)

func (r *Store) sessionKey(id string) string      { return r.prefix + "s:" + id }
func (r *Store) handoffKey(digest string) string  { return r.prefix + "h:" + digest }
func (r *Store) resetPtrKey(digest string) string { return r.prefix + "rt:" + digest }

// CreateSession writes the session, then indexes it under its subject's
// hash tag (another slot, so another step). A failure in between leaves
// a session that nobody got a cookie for and that expires unlisted.
func (r *Store) CreateSession(ctx context.Context, s store.Session) error {
	life := ttl(s.CreatedAt, s.ExpiresAt)
	if err := r.putFor(ctx, s.Subject, r.sessionKey(s.ID), s, life); err != nil {
		return err
	}
	if _, _, err := r.run(ctx, indexSessionScript, []string{r.sessionsKey(s.Subject)},
		s.ID, s.ExpiresAt.UnixMilli(), life.Milliseconds(), s.CreatedAt.UnixMilli()); err != nil {
		return err
	}
	return nil
}

// Sessions reads the index, then each session's own key: an ended session
// can stay in the index (see DeleteSession) but its key is gone.
func (r *Store) Sessions(ctx context.Context, subject string, now time.Time) ([]store.Session, error) {
	ids, err := r.c.ZRangeByScore(ctx, r.sessionsKey(subject), &goredis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	slices.Sort(ids)
	cmds := make([]*goredis.StringCmd, len(ids))
	_, err = r.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, r.sessionKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, unavailable(err)
	}
	var out []store.Session
	for _, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			return nil, unavailable(err)
		}
		var s store.Session
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, unavailable(err)
		}
		if s.Subject == subject && s.ExpiresAt.After(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (r *Store) Session(ctx context.Context, id string) (store.Session, error) {
	var s store.Session
	err := r.getJSON(ctx, r.sessionKey(id), &s)
	return s, err
}

func (r *Store) DeleteSession(ctx context.Context, id string) error {
	status, res, err := r.runDurable(ctx, deleteSessionScript, []string{r.sessionKey(id)},
		r.channel, r.messagePrefix(store.SessionEnded))
	if !applied(err) || status != "ok" {
		return r.finish(status, err, store.Event{})
	}
	var s store.Session
	if err := json.Unmarshal([]byte(str(res[1])), &s); err != nil {
		return unavailable(err)
	}
	// The index is in the subject's slot. Should this step fail, Sessions
	// still leaves the ended session out, and the entry expires with it.
	_ = r.c.ZRem(ctx, r.sessionsKey(s.Subject), id).Err()
	r.events.Publish(store.Event{Kind: store.SessionEnded, Subject: s.Subject})
	return err // ErrNotReplicated: told locally, as finish does
}

// DeleteSessions reads the subject's index (expired entries too), then
// deletes each session's key, one script each since each key has a slot
// of its own; each script announces its end to the other instances,
// and this Store's subscribers hear one SessionEnded. Last, the ended ids
// leave the index. A session created meanwhile whose id the index read
// missed survives: its creator indexed it after the read. Blocking,
// which calls this, writes the block first, so such a session belongs to
// a login that raced the block, which auth checks again after creating
// it.
func (r *Store) DeleteSessions(ctx context.Context, subject string) (int, error) {
	ids, err := r.c.ZRange(ctx, r.sessionsKey(subject), 0, -1).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	n := 0
	var done []any
	var lagged error // the first ErrNotReplicated: the rest still end
	defer func() {
		if n > 0 {
			r.events.Publish(store.Event{Kind: store.SessionEnded, Subject: subject})
		}
	}()
	for _, id := range ids {
		status, _, err := r.runDurable(ctx, deleteSessionOfScript, []string{r.sessionKey(id)},
			r.channel, r.messagePrefix(store.SessionEnded), subject)
		if errors.Is(err, ErrNotReplicated) {
			lagged = cmp.Or(lagged, err)
			err = nil
		}
		switch {
		case err != nil:
			return n, err
		case status == "ok":
			n++
			done = append(done, id)
		case status == "nf":
			done = append(done, id) // ended or expired: the entry is stale
		case status != "other":
			return n, unexpected(status)
		}
	}
	if len(done) > 0 {
		// As in DeleteSession: Sessions leaves ended sessions out even if
		// their entries stay, and the entries expire with the index.
		_ = r.c.ZRem(ctx, r.sessionsKey(subject), done...).Err()
	}
	return n, lagged
}

func (r *Store) CreateHandoff(ctx context.Context, h store.Handoff) error {
	return r.putFor(ctx, h.Subject, r.handoffKey(h.Digest), h, ttl(h.CreatedAt, h.ExpiresAt))
}

func (r *Store) Handoff(ctx context.Context, digest string) (store.Handoff, error) {
	var h store.Handoff
	err := r.getJSON(ctx, r.handoffKey(digest), &h)
	return h, err
}

// PurgeExpired does nothing and returns 0: Redis deletes sessions, handoff
// and reset tokens and counters itself when their TTL (lifetime plus
// ttlSlack) ends. Reads still compare expiry times, so nothing expired is
// ever accepted in between.
func (r *Store) PurgeExpired(ctx context.Context, now time.Time) (int, error) { return 0, nil }

// putFor stores v as JSON under key for ttl if the subject exists.
func (r *Store) putFor(ctx context.Context, subject, key string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	n, err := r.c.HExists(ctx, r.userKey(subject), "user").Result()
	if err != nil {
		return unavailable(err)
	}
	if !n {
		return store.ErrNotFound
	}
	if err := r.c.Set(ctx, key, b, ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (r *Store) getJSON(ctx context.Context, key string, v any) error {
	b, err := r.c.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return store.ErrNotFound
	}
	if err != nil {
		return unavailable(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return unavailable(err)
	}
	return nil
}
