package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/tokengate/tokengate/store"
)

func (s *Store) CreateReset(ctx context.Context, t store.ResetToken) error {
	return s.update(func(tx *bbolt.Tx) error {
		if err := getUser(tx, t.Subject, new(store.User)); err != nil {
			return err
		}
		if err := expireResets(tx, t.Subject, t.CreatedAt); err != nil {
			return err
		}
		if err := putJSON(tx, bucketResets, t.Digest, t); err != nil {
			return err
		}
		return tx.Bucket(bucketUserResets).Put(namedKey(t.Subject, t.Digest), nil)
	})
}

func (s *Store) Reset(ctx context.Context, digest string, now time.Time) (store.ResetToken, error) {
	var t store.ResetToken
	err := s.view(func(tx *bbolt.Tx) error { return activeReset(tx, digest, now, &t) })
	return t, err
}

func (s *Store) ConsumeReset(ctx context.Context, digest, passwordHash string, now time.Time) (store.ResetToken, error) {
	var t store.ResetToken
	err := s.update(func(tx *bbolt.Tx) error {
		if err := activeReset(tx, digest, now, &t); err != nil {
			return err
		}
		return setPassword(tx, t.Subject, passwordHash, now)
	})
	if err == nil {
		s.events.Publish(store.Event{Kind: store.TempRevoked, Subject: t.Subject})
	}
	return t, err
}

func (s *Store) SetPassword(ctx context.Context, id, passwordHash string, now time.Time) error {
	err := s.update(func(tx *bbolt.Tx) error { return setPassword(tx, id, passwordHash, now) })
	if err == nil {
		s.events.Publish(store.Event{Kind: store.TempRevoked, Subject: id})
	}
	return err
}

// setPassword changes the hash, expires every reset token of the user and
// bumps its generation, ending its sessions and temporary tokens.
func setPassword(tx *bbolt.Tx, id, hash string, now time.Time) error {
	var u store.User
	if err := getUser(tx, id, &u); err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := putUser(tx, u); err != nil {
		return err
	}
	if err := expireResets(tx, id, now); err != nil {
		return err
	}
	return putTemp(tx, id, bump(tx, id))
}

func activeReset(tx *bbolt.Tx, digest string, now time.Time, t *store.ResetToken) error {
	if err := getJSON(tx, bucketResets, digest, t); err != nil {
		return err
	}
	if !now.Before(t.ExpiresAt) {
		return store.ErrNotFound
	}
	return nil
}

// expireResets makes every reset token of the subject expire at now.
func expireResets(tx *bbolt.Tx, subject string, now time.Time) error {
	prefix := namedKey(subject, "")
	c := tx.Bucket(bucketUserResets).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		digest := string(k[len(prefix):])
		var t store.ResetToken
		if err := getJSON(tx, bucketResets, digest, &t); err != nil {
			continue // purged
		}
		if t.ExpiresAt.After(now) {
			t.ExpiresAt = now
			if err := putJSON(tx, bucketResets, digest, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteResets removes every reset token of the subject.
func deleteResets(tx *bbolt.Tx, subject string) error {
	prefix := namedKey(subject, "")
	c := tx.Bucket(bucketUserResets).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := tx.Bucket(bucketResets).Delete(k[len(prefix):]); err != nil {
			return err
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) Fail(ctx context.Context, key string, window time.Duration, now time.Time) (store.Counter, error) {
	c, _, err := s.count(key, 0, window, now)
	return c, err
}

func (s *Store) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.Counter, bool, error) {
	return s.count(key, limit, window, now)
}

// count counts one against key unless limit > 0 and the open window's
// count has reached it.
func (s *Store) count(key string, limit int, window time.Duration, now time.Time) (c store.Counter, ok bool, err error) {
	// A budget already used up is refused from a read: a write
	// transaction costs an fsync, and a flood of refused guesses must
	// cost next to nothing. The write below checks again.
	if limit > 0 {
		full := false
		err = s.view(func(tx *bbolt.Tx) error {
			if getJSON(tx, bucketCounters, key, &c) == nil && now.Before(c.Until) && c.Count >= limit {
				full = true
			}
			return nil
		})
		if err != nil || full {
			return c, false, err
		}
		c = store.Counter{}
	}
	err = s.update(func(tx *bbolt.Tx) error {
		if err := getJSON(tx, bucketCounters, key, &c); err != nil || !now.Before(c.Until) {
			c = store.Counter{Key: key, Until: now.Add(window)}
		}
		if limit > 0 && c.Count >= limit {
			return nil
		}
		ok = true
		c.Count++
		return putJSON(tx, bucketCounters, key, c)
	})
	return c, ok, err
}

func (s *Store) Return(ctx context.Context, c store.Counter) error {
	return s.update(func(tx *bbolt.Tx) error {
		var cur store.Counter
		if err := getJSON(tx, bucketCounters, c.Key, &cur); err != nil || !cur.Until.Equal(c.Until) || cur.Count == 0 {
			return nil
		}
		cur.Count--
		return putJSON(tx, bucketCounters, c.Key, cur)
	})
}

func (s *Store) Counter(ctx context.Context, key string, now time.Time) (store.Counter, error) {
	var c store.Counter
	err := s.view(func(tx *bbolt.Tx) error {
		if err := getJSON(tx, bucketCounters, key, &c); err != nil || !now.Before(c.Until) {
			c = store.Counter{Key: key}
		}
		return nil
	})
	return c, err
}

func (s *Store) Counters(ctx context.Context, now time.Time) ([]store.Counter, error) {
	var out []store.Counter
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCounters).ForEach(func(_, v []byte) error {
			var c store.Counter
			if json.Unmarshal(v, &c) == nil && now.Before(c.Until) {
				out = append(out, c)
			}
			return nil
		})
	})
	return out, err
}

func (s *Store) ClearCounter(ctx context.Context, key string, now time.Time) error {
	var open bool
	err := s.update(func(tx *bbolt.Tx) error {
		// Undecodable is no counter, as Counter reads it; one whose
		// places were all given back holds no failure.
		var c store.Counter
		open = getJSON(tx, bucketCounters, key, &c) == nil && now.Before(c.Until) && c.Count > 0
		// Expired or not: an error here would roll the delete back.
		return tx.Bucket(bucketCounters).Delete([]byte(key))
	})
	if err == nil && !open {
		return store.ErrNotFound
	}
	return err
}

func putJSON(tx *bbolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}
