package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketUsers      = []byte("users")
	bucketUsernames  = []byte("usernames")     // username → id
	bucketTemp       = []byte("temp_secrets")  // id → generation ‖ secret
	bucketNamed      = []byte("named")         // subject ␀ id → NamedToken JSON
	bucketNamedNames = []byte("named_names")   // subject ␀ name → id
	bucketSessions   = []byte("sessions")      // id → Session JSON
	bucketUserSess   = []byte("user_sessions") // subject ␀ id → ""
	bucketHandoffs   = []byte("handoffs")      // digest → Handoff JSON
	bucketResets     = []byte("resets")        // digest → ResetToken JSON
	bucketUserResets = []byte("user_resets")   // subject ␀ digest → ""
	bucketCounters   = []byte("counters")      // key → Counter JSON
	buckets          = [][]byte{bucketUsers, bucketUsernames, bucketTemp, bucketNamed, bucketNamedNames,
		bucketSessions, bucketUserSess, bucketHandoffs, bucketResets, bucketUserResets, bucketCounters}
)

// Bolt is the embedded store: one bbolt file, nothing to set up. bbolt
// locks its file, so a process must open a path once and share the handle.
type Bolt struct {
	db *bolt.DB
	notifier
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the database at path. It waits at
// most timeout for another process's lock.
func OpenBolt(path string, timeout time.Duration) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
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
	return &Bolt{db: db}, nil
}

// Close releases the file.
func (s *Bolt) Close() error { return s.db.Close() }

func (s *Bolt) view(fn func(*bolt.Tx) error) error   { return wrap(s.db.View(fn)) }
func (s *Bolt) update(fn func(*bolt.Tx) error) error { return wrap(s.db.Update(fn)) }

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
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func (s *Bolt) Subject(ctx context.Context, id string) (Subject, error) {
	var sub Subject
	var missing bool
	err := s.view(func(tx *bolt.Tx) error {
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
	err = s.update(func(tx *bolt.Tx) error {
		if err := getUser(tx, id, &sub.User); err != nil {
			return err
		}
		var ok bool
		if sub.Temp, ok = getTemp(tx, id); ok {
			return nil
		}
		sub.Temp = TempSecret{Generation: 1, Secret: newSecret()}
		return putTemp(tx, id, sub.Temp)
	})
	return sub, err
}

func (s *Bolt) RevokeTemp(ctx context.Context, id string) (TempSecret, error) {
	var t TempSecret
	err := s.update(func(tx *bolt.Tx) error {
		if err := getUser(tx, id, new(User)); err != nil {
			return err
		}
		t = bump(tx, id)
		return putTemp(tx, id, t)
	})
	if err == nil {
		s.publish(Event{Kind: TempRevoked, Subject: id})
	}
	return t, err
}

func (s *Bolt) User(ctx context.Context, id string) (User, error) {
	var u User
	err := s.view(func(tx *bolt.Tx) error { return getUser(tx, id, &u) })
	return u, err
}

func (s *Bolt) UserByName(ctx context.Context, username string) (User, error) {
	var u User
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketUsernames).Get([]byte(username))
		if id == nil {
			return ErrNotFound
		}
		return getUser(tx, string(id), &u)
	})
	return u, err
}

func (s *Bolt) PutUser(ctx context.Context, u User) error {
	return s.writeUser(u.ID, func(old *User, exists bool) (User, error) { return u, nil })
}

func (s *Bolt) CreateUser(ctx context.Context, u User) error {
	return s.writeUser(u.ID, func(_ *User, exists bool) (User, error) {
		if exists {
			return u, ErrExists
		}
		return u, nil
	})
}

func (s *Bolt) UpdateUser(ctx context.Context, id string, fn func(*User) error) (User, error) {
	var out User
	err := s.writeUser(id, func(old *User, exists bool) (User, error) {
		if !exists {
			return User{}, ErrNotFound
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
func (s *Bolt) writeUser(id string, next func(old *User, exists bool) (User, error)) error {
	err := s.update(func(tx *bolt.Tx) error {
		var old User
		err := getUser(tx, id, &old)
		if err != nil && !errors.Is(err, ErrNotFound) {
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
			return ErrExists
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
		s.publish(Event{Kind: UserChanged, Subject: id})
	}
	return err
}

func (s *Bolt) DeleteUser(ctx context.Context, id string) error {
	err := s.update(func(tx *bolt.Tx) error {
		var u User
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
		s.publish(Event{Kind: UserChanged, Subject: id})
	}
	return err
}

func (s *Bolt) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

func putUser(tx *bolt.Tx, u User) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketUsers).Put([]byte(u.ID), b)
}

func getUser(tx *bolt.Tx, id string, u *User) error {
	v := tx.Bucket(bucketUsers).Get([]byte(id))
	if v == nil {
		return ErrNotFound
	}
	return json.Unmarshal(v, u)
}

// Temp secrets are stored as an 8-byte big-endian generation followed by
// the secret.
func getTemp(tx *bolt.Tx, id string) (TempSecret, bool) {
	v := tx.Bucket(bucketTemp).Get([]byte(id))
	if len(v) < 8 {
		return TempSecret{}, false
	}
	return TempSecret{Generation: binary.BigEndian.Uint64(v), Secret: bytes.Clone(v[8:])}, true
}

func putTemp(tx *bolt.Tx, id string, t TempSecret) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(t.Secret)), t.Generation)
	return tx.Bucket(bucketTemp).Put([]byte(id), append(v, t.Secret...))
}

// bump returns the next temporary state: a new secret, generation + 1.
func bump(tx *bolt.Tx, id string) TempSecret {
	cur, _ := getTemp(tx, id) // absent: generation 0, so the next is 1
	return TempSecret{Generation: cur.Generation + 1, Secret: newSecret()}
}

func newSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
