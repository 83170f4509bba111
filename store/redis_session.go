package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sessions and handoff tokens are addressed by their own id or digest, so
// they have keys of their own, with a TTL of their lifetime plus ttlSlack.
// Creating one checks that the subject exists, then writes: two steps, but
// the same outcome as Bolt's transaction, since Bolt's DeleteUser leaves
// sessions and handoffs alone too. A subject deleted between the steps is
// the same as one deleted just after the create.

// deleteSessionScript deletes the session and announces the end to its
// subject's subscribers; ARGV channel, message without the subject.
var deleteSessionScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return {'nf'} end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. cjson.decode(v).subject)
return {'ok', v}
`)

func (r *Redis) sessionKey(id string) string      { return r.prefix + "s:" + id }
func (r *Redis) handoffKey(digest string) string  { return r.prefix + "h:" + digest }
func (r *Redis) resetPtrKey(digest string) string { return r.prefix + "rt:" + digest }

func (r *Redis) CreateSession(ctx context.Context, s Session) error {
	return r.putFor(ctx, s.Subject, r.sessionKey(s.ID), s, ttl(s.CreatedAt, s.ExpiresAt))
}

func (r *Redis) Session(ctx context.Context, id string) (Session, error) {
	var s Session
	err := r.getJSON(ctx, r.sessionKey(id), &s)
	return s, err
}

func (r *Redis) DeleteSession(ctx context.Context, id string) error {
	status, res, err := r.run(ctx, deleteSessionScript, []string{r.sessionKey(id)},
		r.channel, r.messagePrefix(SessionEnded))
	if err != nil || status != "ok" {
		return r.finish(status, err, Event{})
	}
	var s Session
	if err := json.Unmarshal([]byte(str(res[1])), &s); err != nil {
		return unavailable(err)
	}
	r.publish(Event{Kind: SessionEnded, Subject: s.Subject})
	return nil
}

func (r *Redis) CreateHandoff(ctx context.Context, h Handoff) error {
	return r.putFor(ctx, h.Subject, r.handoffKey(h.Digest), h, ttl(h.CreatedAt, h.ExpiresAt))
}

func (r *Redis) Handoff(ctx context.Context, digest string) (Handoff, error) {
	var h Handoff
	err := r.getJSON(ctx, r.handoffKey(digest), &h)
	return h, err
}

// PurgeExpired does nothing and returns 0: Redis deletes sessions, handoff
// and reset tokens and counters itself when their TTL (lifetime plus
// ttlSlack) ends. Reads still compare expiry times, so nothing expired is
// ever accepted in between.
func (r *Redis) PurgeExpired(ctx context.Context, now time.Time) (int, error) { return 0, nil }

// putFor stores v as JSON under key for ttl if the subject exists.
func (r *Redis) putFor(ctx context.Context, subject, key string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	n, err := r.c.HExists(ctx, r.userKey(subject), "user").Result()
	if err != nil {
		return unavailable(err)
	}
	if !n {
		return ErrNotFound
	}
	if err := r.c.Set(ctx, key, b, ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (r *Redis) getJSON(ctx context.Context, key string, v any) error {
	b, err := r.c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return unavailable(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return unavailable(err)
	}
	return nil
}
