package bolt

import (
	"bytes"
	"context"
	"encoding/json"

	bbolt "go.etcd.io/bbolt"

	"github.com/tokengate/tokengate/store"
)

// Named tokens are keyed by subject ␀ id so that one prefix scan lists a
// subject's tokens; a second bucket keeps each subject's names unique, a
// third maps each id to its subject (NamedOwner). All three change in
// one transaction.

func namedKey(subject, rest string) []byte { return []byte(subject + "\x00" + rest) }

func (s *Store) CreateNamed(ctx context.Context, t store.NamedToken) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	err = s.update(func(tx *bbolt.Tx) error {
		if err := getUser(tx, t.Subject, new(store.User)); err != nil {
			return err
		}
		names := tx.Bucket(bucketNamedNames)
		if names.Get(namedKey(t.Subject, t.Name)) != nil {
			return store.ErrExists
		}
		if err := names.Put(namedKey(t.Subject, t.Name), []byte(t.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketNamedIDs).Put([]byte(t.ID), []byte(t.Subject)); err != nil {
			return err
		}
		return tx.Bucket(bucketNamed).Put(namedKey(t.Subject, t.ID), b)
	})
	if err == nil {
		s.events.Publish(store.Event{Kind: store.NamedChanged, Subject: t.Subject})
	}
	return err
}

func (s *Store) Named(ctx context.Context, subject, id string) (store.NamedToken, error) {
	var t store.NamedToken
	err := s.view(func(tx *bbolt.Tx) error { return getNamed(tx, subject, id, &t) })
	return t, err
}

func (s *Store) NamedOwner(ctx context.Context, id string) (string, error) {
	var subject string
	err := s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketNamedIDs).Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		subject = string(v)
		return nil
	})
	return subject, err
}

// backfillNamedIDs creates the id → subject bucket of a database written
// before it existed, from the tokens themselves, so that NamedOwner knows
// every token. Open calls it, once: afterwards the bucket exists.
func backfillNamedIDs(tx *bbolt.Tx) error {
	ids, err := tx.CreateBucket(bucketNamedIDs)
	if err != nil {
		return err
	}
	named := tx.Bucket(bucketNamed)
	if named == nil {
		return nil // a new database
	}
	return named.ForEach(func(_, v []byte) error {
		var t store.NamedToken
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		return ids.Put([]byte(t.ID), []byte(t.Subject))
	})
}

func (s *Store) NamedTokens(ctx context.Context, subject string) ([]store.NamedToken, error) {
	var out []store.NamedToken
	err := s.view(func(tx *bbolt.Tx) error {
		prefix := namedKey(subject, "")
		c := tx.Bucket(bucketNamed).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var t store.NamedToken
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

func (s *Store) UpdateNamed(ctx context.Context, subject, id string, u store.NamedUpdate) error {
	err := s.update(func(tx *bbolt.Tx) error {
		var t store.NamedToken
		if err := getNamed(tx, subject, id, &t); err != nil {
			return err
		}
		names := tx.Bucket(bucketNamedNames)
		if u.Name != nil && *u.Name != t.Name {
			if names.Get(namedKey(subject, *u.Name)) != nil {
				return store.ErrExists
			}
			if err := names.Delete(namedKey(subject, t.Name)); err != nil {
				return err
			}
			if err := names.Put(namedKey(subject, *u.Name), []byte(id)); err != nil {
				return err
			}
		}
		u.Apply(&t)
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketNamed).Put(namedKey(subject, id), b)
	})
	if err == nil {
		s.events.Publish(store.Event{Kind: store.NamedChanged, Subject: subject})
	}
	return err
}

func (s *Store) DeleteNamed(ctx context.Context, subject, id string) error {
	err := s.update(func(tx *bbolt.Tx) error { return deleteNamed(tx, subject, id) })
	if err == nil {
		s.events.Publish(store.Event{Kind: store.NamedChanged, Subject: subject})
	}
	return err
}

func getNamed(tx *bbolt.Tx, subject, id string, t *store.NamedToken) error {
	v := tx.Bucket(bucketNamed).Get(namedKey(subject, id))
	if v == nil {
		return store.ErrNotFound
	}
	return json.Unmarshal(v, t)
}

// deleteNamed removes one of the subject's named tokens, or all when id
// is "".
func deleteNamed(tx *bbolt.Tx, subject, id string) error {
	tokens, names, ids := tx.Bucket(bucketNamed), tx.Bucket(bucketNamedNames), tx.Bucket(bucketNamedIDs)
	if id != "" {
		var t store.NamedToken
		if err := getNamed(tx, subject, id, &t); err != nil {
			return err
		}
		if err := names.Delete(namedKey(subject, t.Name)); err != nil {
			return err
		}
		if err := ids.Delete([]byte(id)); err != nil {
			return err
		}
		return tokens.Delete(namedKey(subject, id))
	}
	prefix := namedKey(subject, "")
	c := tokens.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := ids.Delete(k[len(prefix):]); err != nil {
			return err
		}
	}
	for _, b := range []*bbolt.Bucket{tokens, names} {
		prefix := namedKey(subject, "")
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}
