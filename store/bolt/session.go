package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/tokengate/tokengate/store"
)

func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	return s.update(func(tx *bbolt.Tx) error {
		if err := getUser(tx, sess.Subject, new(store.User)); err != nil {
			return err
		}
		if err := putJSON(tx, bucketSessions, sess.ID, sess); err != nil {
			return err
		}
		return tx.Bucket(bucketUserSess).Put(namedKey(sess.Subject, sess.ID), nil)
	})
}

func (s *Store) Sessions(ctx context.Context, subject string, now time.Time) ([]store.Session, error) {
	var out []store.Session
	err := s.view(func(tx *bbolt.Tx) error {
		prefix := namedKey(subject, "")
		c := tx.Bucket(bucketUserSess).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var sess store.Session
			if err := getJSON(tx, bucketSessions, string(k[len(prefix):]), &sess); err != nil {
				continue // purged
			}
			if sess.ExpiresAt.After(now) {
				out = append(out, sess)
			}
		}
		return nil
	})
	return out, err
}

func (s *Store) Session(ctx context.Context, id string) (store.Session, error) {
	var sess store.Session
	err := s.view(func(tx *bbolt.Tx) error { return getJSON(tx, bucketSessions, id, &sess) })
	return sess, err
}

func (s *Store) DeleteSession(ctx context.Context, id string) error {
	var sess store.Session
	err := s.update(func(tx *bbolt.Tx) error {
		if err := getJSON(tx, bucketSessions, id, &sess); err != nil {
			return err
		}
		if err := tx.Bucket(bucketUserSess).Delete(namedKey(sess.Subject, id)); err != nil {
			return err
		}
		return tx.Bucket(bucketSessions).Delete([]byte(id))
	})
	if err == nil {
		s.events.Publish(store.Event{Kind: store.SessionEnded, Subject: sess.Subject})
	}
	return err
}

// DeleteSessions ends the subject's sessions in one transaction: the
// index names them, and each record goes unless it names another subject
// (its id taken again); an unreadable one goes too, as PurgeExpired would.
func (s *Store) DeleteSessions(ctx context.Context, subject string) (int, error) {
	n := 0
	err := s.update(func(tx *bbolt.Tx) error {
		n = 0 // a retried transaction counts afresh
		index, records := tx.Bucket(bucketUserSess), tx.Bucket(bucketSessions)
		prefix := namedKey(subject, "")
		var keys [][]byte
		c := index.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			id := k[len(prefix):]
			if v := records.Get(id); v != nil {
				var sess store.Session
				if err := json.Unmarshal(v, &sess); err != nil || sess.Subject == subject {
					if err := records.Delete(id); err != nil {
						return err
					}
					n++
				}
			}
			if err := index.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.events.Publish(store.Event{Kind: store.SessionEnded, Subject: subject})
	}
	return n, nil
}

func (s *Store) CreateHandoff(ctx context.Context, h store.Handoff) error {
	return s.putFor(h.Subject, bucketHandoffs, h.Digest, h)
}

func (s *Store) Handoff(ctx context.Context, digest string) (store.Handoff, error) {
	var h store.Handoff
	err := s.view(func(tx *bbolt.Tx) error { return getJSON(tx, bucketHandoffs, digest, &h) })
	return h, err
}

func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketSessions, bucketHandoffs, bucketResets, bucketCounters} {
			c := tx.Bucket(b).Cursor()
			for k, v := c.First(); k != nil; {
				var rec struct {
					ExpiresAt time.Time `json:"expires_at"`
					Until     time.Time `json:"until"`
				}
				err := json.Unmarshal(v, &rec)
				if rec.ExpiresAt.IsZero() {
					rec.ExpiresAt = rec.Until
				}
				if err != nil || rec.ExpiresAt.Before(now) {
					if err := c.Delete(); err != nil {
						return err
					}
					n++
					k, v = c.Seek(k)
					continue
				}
				k, v = c.Next()
			}
		}
		// The per-user indexes lose entries whose record went.
		if err := purgeIndex(tx, bucketUserResets, bucketResets); err != nil {
			return err
		}
		return purgeIndex(tx, bucketUserSess, bucketSessions)
	})
	return n, err
}

// purgeIndex removes the entries of a per-user index (subject ␀ key)
// whose key is no longer in the records bucket.
func purgeIndex(tx *bbolt.Tx, index, records []byte) error {
	c := tx.Bucket(index).Cursor()
	for k, _ := c.First(); k != nil; {
		_, key, _ := bytes.Cut(k, []byte{0})
		if tx.Bucket(records).Get(key) == nil {
			if err := c.Delete(); err != nil {
				return err
			}
			k, _ = c.Seek(k)
			continue
		}
		k, _ = c.Next()
	}
	return nil
}

// putFor stores v under key in bucket if the subject exists.
func (s *Store) putFor(subject string, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error {
		if err := getUser(tx, subject, new(store.User)); err != nil {
			return err
		}
		return tx.Bucket(bucket).Put([]byte(key), b)
	})
}

func getJSON(tx *bbolt.Tx, bucket []byte, key string, v any) error {
	b := tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return store.ErrNotFound
	}
	return json.Unmarshal(b, v)
}
