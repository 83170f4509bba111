// Package bolt is the embedded store backend: one bbolt file, nothing
// to set up, for a single instance.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tokengate/tokengate/store"
)

// ErrLocked: another process holds the database file. bbolt allows one
// writer process per file.
var ErrLocked = errors.New("the database file is locked by another process")

var (
	bucketUsers      = []byte("users")
	bucketUsernames  = []byte("usernames")     // username → id
	bucketTemp       = []byte("temp_secrets")  // id → generation ‖ secret
	bucketNamed      = []byte("named")         // subject ␀ id → NamedToken JSON
	bucketNamedNames = []byte("named_names")   // subject ␀ name → id
	bucketNamedIDs   = []byte("named_ids")     // id → subject (see backfillNamedIDs)
	bucketSessions   = []byte("sessions")      // id → Session JSON
	bucketUserSess   = []byte("user_sessions") // subject ␀ id → ""
	bucketHandoffs   = []byte("handoffs")      // digest → Handoff JSON
	bucketResets     = []byte("resets")        // digest → ResetToken JSON
	bucketUserResets = []byte("user_resets")   // subject ␀ digest → ""
	bucketCounters   = []byte("counters")      // key → Counter JSON
	bucketKeys       = []byte("keys")          // "assertion" → AssertionKeyRing JSON
	buckets          = [][]byte{bucketUsers, bucketUsernames, bucketTemp, bucketNamed, bucketNamedNames,
		bucketSessions, bucketUserSess, bucketHandoffs, bucketResets, bucketUserResets, bucketCounters, bucketNamedIDs,
		bucketKeys, bucketMeta}
)

// Store is the embedded store: one bbolt file, nothing to set up. bbolt
// locks its file, so a process must open a path once and share the handle.
type Store struct {
	db     *bbolt.DB
	events store.Notifier
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path. It waits at
// most timeout for another process's lock.
func Open(path string, timeout time.Duration) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening %s: %w after %s (%w): a running Caddy, or another tokengate, holds it; "+
			"give each instance a file of its own, or use the redis store to share state", path, ErrLocked, timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketNamedIDs) == nil {
			if err := backfillNamedIDs(tx); err != nil {
				return err
			}
		}
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Subscribe implements Store.
func (s *Store) Subscribe(fn func(store.Event)) func() { return s.events.Subscribe(fn) }

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) view(fn func(*bbolt.Tx) error) error   { return wrap(s.db.View(fn)) }
func (s *Store) update(fn func(*bbolt.Tx) error) error { return wrap(s.db.Update(fn)) }

// callerError carries an error of a caller's function through a
// transaction, so that wrap returns it as it is.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }

// wrap marks bbolt's own failures as ErrUnavailable and passes ours through.
func wrap(err error) error {
	var ce callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
		return err
	}
	return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
}

func (s *Store) Subject(ctx context.Context, id string) (store.Subject, error) {
	var sub store.Subject
	var missing bool
	err := s.view(func(tx *bbolt.Tx) error {
		if err := getUser(tx, id, &sub.User); err != nil {
			return err
		}
		var ok bool
		sub.Temp, ok = getTemp(tx, id)
		missing = !ok
		return nil
	})
	if err != nil || !missing {
		return sub, err
	}
	// First use: create generation 1 in a write transaction, re-reading in
	// case a concurrent caller created it first.
	err = s.update(func(tx *bbolt.Tx) error {
		if err := getUser(tx, id, &sub.User); err != nil {
			return err
		}
		var ok bool
		if sub.Temp, ok = getTemp(tx, id); ok {
			return nil
		}
		sub.Temp = store.TempSecret{Generation: 1, Secret: store.NewSecret()}
		return putTemp(tx, id, sub.Temp)
	})
	return sub, err
}

func (s *Store) RevokeTemp(ctx context.Context, id string) (store.TempSecret, error) {
	var t store.TempSecret
	err := s.update(func(tx *bbolt.Tx) error {
		if err := getUser(tx, id, new(store.User)); err != nil {
			return err
		}
		t = bump(tx, id)
		return putTemp(tx, id, t)
	})
	if err == nil {
		s.events.Publish(store.Event{Kind: store.TempRevoked, Subject: id})
	}
	return t, err
}

func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.view(func(tx *bbolt.Tx) error { return getUser(tx, id, &u) })
	return u, err
}

func (s *Store) UserByName(ctx context.Context, username string) (store.User, error) {
	var u store.User
	err := s.view(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bucketUsernames).Get([]byte(username))
		if id == nil {
			return store.ErrNotFound
		}
		return getUser(tx, string(id), &u)
	})
	return u, err
}

func (s *Store) PutUser(ctx context.Context, u store.User) error {
	return s.writeUser(u.ID, func(old *store.User, exists bool) (store.User, error) { return u, nil })
}

func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	return s.writeUser(u.ID, func(_ *store.User, exists bool) (store.User, error) {
		if exists {
			return u, store.ErrExists
		}
		return u, nil
	})
}

func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*store.User) error) (store.User, error) {
	var out store.User
	err := s.writeUser(id, func(old *store.User, exists bool) (store.User, error) {
		if !exists {
			return store.User{}, store.ErrNotFound
		}
		u := *old
		if err := fn(&u); err != nil {
			return u, callerError{err}
		}
		u.ID, u.Number = old.ID, old.Number
		out = u
		return u, nil
	})
	return out, err
}

// writeUser writes the record next returns, given the current one, in one
// transaction: bbolt serializes writers, so nothing changes in between.
// It keeps usernames unique and a user's number stable.
func (s *Store) writeUser(id string, next func(old *store.User, exists bool) (store.User, error)) error {
	err := s.update(func(tx *bbolt.Tx) error {
		var old store.User
		err := getUser(tx, id, &old)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		exists := err == nil
		u, err := next(&old, exists)
		if err != nil {
			return err
		}
		if u.Username == "" {
			u.Username = u.ID
		}
		names := tx.Bucket(bucketUsernames)
		if owner := names.Get([]byte(u.Username)); owner != nil && string(owner) != u.ID {
			return store.ErrExists
		}
		if exists {
			u.Number = old.Number
			if old.Username != u.Username {
				if err := names.Delete([]byte(old.Username)); err != nil {
					return err
				}
			}
		} else {
			n, err := tx.Bucket(bucketUsers).NextSequence()
			if err != nil {
				return err
			}
			u.Number = int64(n)
		}
		if err := names.Put([]byte(u.Username), []byte(u.ID)); err != nil {
			return err
		}
		return putUser(tx, u)
	})
	if err == nil {
		s.events.Publish(store.Event{Kind: store.UserChanged, Subject: id})
	}
	return err
}

func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.update(func(tx *bbolt.Tx) error {
		var u store.User
		if err := getUser(tx, id, &u); err != nil {
			return err
		}
		if err := tx.Bucket(bucketUsers).Delete([]byte(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketUsernames).Delete([]byte(u.Username)); err != nil {
			return err
		}
		if err := deleteNamed(tx, id, ""); err != nil {
			return err
		}
		// Reset tokens go with the user: a user re-created under the same
		// id must not be reset with the old one's token.
		if err := deleteResets(tx, id); err != nil {
			return err
		}
		// Keep the generation, bumped, so that a user re-created under the
		// same id never sees an old generation come back.
		return putTemp(tx, id, bump(tx, id))
	})
	if err == nil {
		s.events.Publish(store.Event{Kind: store.UserChanged, Subject: id})
	}
	return err
}

func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	var out []store.User
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u store.User
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

func putUser(tx *bbolt.Tx, u store.User) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketUsers).Put([]byte(u.ID), b)
}

func getUser(tx *bbolt.Tx, id string, u *store.User) error {
	v := tx.Bucket(bucketUsers).Get([]byte(id))
	if v == nil {
		return store.ErrNotFound
	}
	return json.Unmarshal(v, u)
}

// Temp secrets are stored as an 8-byte big-endian generation followed by
// the secret.
func getTemp(tx *bbolt.Tx, id string) (store.TempSecret, bool) {
	v := tx.Bucket(bucketTemp).Get([]byte(id))
	if len(v) < 8 {
		return store.TempSecret{}, false
	}
	return store.TempSecret{Generation: binary.BigEndian.Uint64(v), Secret: bytes.Clone(v[8:])}, true
}

func putTemp(tx *bbolt.Tx, id string, t store.TempSecret) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(t.Secret)), t.Generation)
	return tx.Bucket(bucketTemp).Put([]byte(id), append(v, t.Secret...))
}

// bump returns the next temporary state: a new secret, generation + 1.
func bump(tx *bbolt.Tx, id string) store.TempSecret {
	cur, _ := getTemp(tx, id) // absent: generation 0, so the next is 1
	return store.TempSecret{Generation: cur.Generation + 1, Secret: store.NewSecret()}
}
