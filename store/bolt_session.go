package store

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

func (s *Bolt) CreateSession(ctx context.Context, sess Session) error {
	return s.putFor(sess.Subject, bucketSessions, sess.ID, sess)
}

func (s *Bolt) Session(ctx context.Context, id string) (Session, error) {
	var sess Session
	err := s.view(func(tx *bolt.Tx) error { return getJSON(tx, bucketSessions, id, &sess) })
	return sess, err
}

func (s *Bolt) DeleteSession(ctx context.Context, id string) error {
	var sess Session
	err := s.update(func(tx *bolt.Tx) error {
		if err := getJSON(tx, bucketSessions, id, &sess); err != nil {
			return err
		}
		return tx.Bucket(bucketSessions).Delete([]byte(id))
	})
	if err == nil {
		s.publish(Event{Kind: SessionEnded, Subject: sess.Subject})
	}
	return err
}

func (s *Bolt) CreateHandoff(ctx context.Context, h Handoff) error {
	return s.putFor(h.Subject, bucketHandoffs, h.Digest, h)
}

func (s *Bolt) Handoff(ctx context.Context, digest string) (Handoff, error) {
	var h Handoff
	err := s.view(func(tx *bolt.Tx) error { return getJSON(tx, bucketHandoffs, digest, &h) })
	return h, err
}

func (s *Bolt) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
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
		// The per-user index of reset tokens loses entries whose token went.
		c := tx.Bucket(bucketUserResets).Cursor()
		for k, _ := c.First(); k != nil; {
			_, digest, _ := bytes.Cut(k, []byte{0})
			if tx.Bucket(bucketResets).Get(digest) == nil {
				if err := c.Delete(); err != nil {
					return err
				}
				k, _ = c.Seek(k)
				continue
			}
			k, _ = c.Next()
		}
		return nil
	})
	return n, err
}

// putFor stores v under key in bucket if the subject exists.
func (s *Bolt) putFor(subject string, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if err := getUser(tx, subject, new(User)); err != nil {
			return err
		}
		return tx.Bucket(bucket).Put([]byte(key), b)
	})
}

func getJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b := tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return ErrNotFound
	}
	return json.Unmarshal(b, v)
}
