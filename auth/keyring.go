package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// The server keys a Service accepts are two lists, newest first: the
// store-held ring (store.ServerKeys), which RotateKey adds to and every
// instance sharing the store reads when it hears KeysChanged, followed
// by the configured keys (NewWithKeyRing's ring). The store ring comes
// first, so a rotation signs new tokens with its key on every instance
// at once. The configured keys are always in the ring, whatever the
// store holds: only the config removes them (a reload without a key
// kills exactly its tokens); RemoveKey removes store-held keys only.

// ErrKeyConfigured: the key is one of the configured keys, which only
// the config removes.
var ErrKeyConfigured = errors.New("key is set in the config; remove it there")

// rotateTries bounds the compare-and-swap retries of RotateKey and
// RemoveKey when other instances change the ring at the same time.
const rotateTries = 16

// keyState is what combining the two lists needs.
type keyState struct {
	mu         sync.Mutex
	configured *tokens.KeyRing
	applied    uint64 // version of the store ring in the current ring
	loaded     bool   // the store ring has been read once
	// refreshMu guards pending (the refreshKeys read under way, closed
	// when done) and lastRead (when the last one finished).
	refreshMu sync.Mutex
	pending   chan struct{}
	lastRead  time.Time
}

// KeyRing returns the server keys the Service accepts tokens of, newest
// first; new tokens are signed with the newest.
func (s *Service) KeyRing() *tokens.KeyRing { return s.ring.Load() }

// SetKeyRing replaces the server keys. When it returns, new tokens are
// signed with r's newest key, and no token of a key r lacks is accepted,
// cached or not: every cached token is dropped (tokens of the keys that
// stay verify again on their next use), and a verification that read the
// old ring and finishes later does not cache its answer (see verify).
//
// It sets the whole ring, the store-held keys included, until the store
// ring next changes; the config's keys are set with NewWithKeyRing.
func (s *Service) SetKeyRing(r *tokens.KeyRing) {
	if r == nil {
		return
	}
	s.ring.Store(r)
	s.epochs.InvalidateAll()
}

// LoadKeys reads the store-held ring and combines it with the configured
// keys. The app calls it when it starts; afterwards KeysChanged events
// and reconnections call it.
func (s *Service) LoadKeys(ctx context.Context) error {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	k, err := s.store.ServerKeys(ctx)
	if err != nil {
		return s.storeErr(err)
	}
	return s.applyKeys(k)
}

// applyKeys makes k, with the configured keys, the ring, unless a newer
// version is in it already. s.keys.mu is held.
func (s *Service) applyKeys(k store.ServerKeys) error {
	if s.keys.loaded && k.Version <= s.keys.applied {
		return nil
	}
	keys := make([]tokens.ServerKey, 0, len(k.Keys)+s.keys.configured.Len())
	for i, e := range k.Keys {
		key, err := tokens.ParseServerKey(e)
		if err != nil {
			return fmt.Errorf("store-held key %d: %w", i, err)
		}
		keys = append(keys, key)
	}
	r, err := tokens.NewKeyRing(append(keys, s.keys.configured.Keys()...)...)
	if err != nil {
		return err
	}
	first := !s.keys.loaded
	s.keys.applied, s.keys.loaded = k.Version, true
	if first && len(k.Keys) == 0 {
		return nil // the configured ring is in place already
	}
	s.SetKeyRing(r)
	return nil
}

// keysChanged reloads the ring after a KeysChanged event or a
// reconnection, off the notifying goroutine: a store read there would
// hold up every other notification.
func (s *Service) keysChanged() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), keysReloadTimeout)
		defer cancel()
		if err := s.LoadKeys(ctx); err != nil {
			s.keyReloadFailed(err)
		}
	}()
}

// RotateKey adds a fresh key to the store-held ring, newest, and returns
// its id. When it returns, this Service signs with it; every other
// instance sharing the store does once it hears of it. Tokens of the
// older keys verify until they expire.
func (s *Service) RotateKey(ctx context.Context) (kid string, err error) {
	key := tokens.NewServerKey()
	kid = key.KeyID()
	defer func() { s.emit(ctx, AuditEvent{Event: EventKeyRotated, Target: kid}, "", err) }()
	err = s.swapKeys(ctx, func(keys []string) ([]string, error) {
		return append([]string{key.Encode()}, keys...), nil
	})
	return kid, err
}

// RemoveKey removes the key with id kid from the store-held ring: its
// tokens are refused as invalid from then on, on every instance once it
// hears of it. ErrNotFound if the store ring has no such key,
// ErrKeyConfigured if it is a configured key.
func (s *Service) RemoveKey(ctx context.Context, kid string) (err error) {
	defer func() { s.emit(ctx, AuditEvent{Event: EventKeyRemoved, Target: kid}, "", err) }()
	if _, ok := s.keys.configured.ByID(kid); ok {
		return ErrKeyConfigured
	}
	return s.swapKeys(ctx, func(keys []string) ([]string, error) {
		i := slices.IndexFunc(keys, func(e string) bool {
			k, err := tokens.ParseServerKey(e)
			return err == nil && k.KeyID() == kid
		})
		if i < 0 {
			return nil, fmt.Errorf("%w: key %q", ErrNotFound, kid)
		}
		return slices.Delete(slices.Clone(keys), i, i+1), nil
	})
}

// swapKeys changes the store-held ring by compare-and-swap, retrying
// when another instance changed it first, and applies the result here.
func (s *Service) swapKeys(ctx context.Context, change func([]string) ([]string, error)) error {
	for range rotateTries {
		cur, err := s.store.ServerKeys(ctx)
		if err != nil {
			return s.storeErr(err)
		}
		keys, err := change(cur.Keys)
		if err != nil {
			return err
		}
		next, err := s.store.SwapServerKeys(ctx, cur.Version, keys)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return s.storeErr(err)
		}
		s.keys.mu.Lock()
		defer s.keys.mu.Unlock()
		return s.applyKeys(next)
	}
	return fmt.Errorf("%w: the key ring kept changing", store.ErrConflict)
}

// KeyInfo describes one accepted server key.
type KeyInfo struct {
	ID string `json:"id"`
	// Source is "store" for a store-held key, "config" for a configured one.
	Source string `json:"source"`
	// Newest: new tokens are signed with this key.
	Newest bool `json:"newest"`
}

// Keys lists the accepted keys, newest first, without key material.
func (s *Service) Keys() []KeyInfo {
	ids := s.ring.Load().IDs()
	out := make([]KeyInfo, len(ids))
	for i, id := range ids {
		src := "store"
		if _, ok := s.keys.configured.ByID(id); ok {
			src = "config"
		}
		out[i] = KeyInfo{ID: id, Source: src, Newest: i == 0}
	}
	return out
}

// keysReloadTimeout bounds the store read of a reload.
const keysReloadTimeout = 10 * time.Second

// WithKeyReloadErrors sets what hears of a failed reload of the
// store-held ring after a KeysChanged event or a reconnection: the
// Service goes on with the ring it has. Default: nothing.
func WithKeyReloadErrors(fn func(error)) Option { return func(s *Service) { s.keyReloadFailed = fn } }

// refreshEvery bounds how often a token naming an unknown key makes the
// Service read the store-held ring (refreshKeys): forged kids cost the
// store at most one read per refreshEvery, however many arrive.
const refreshEvery = 100 * time.Millisecond

// refreshKeys reads the store-held ring for a token that named a key
// used lacks: another instance may have rotated, and this one not heard
// yet. It reports whether the ring is no longer used, so that the token
// is worth verifying again.
//
// Requests that arrive together share one read, which waits until
// refreshEvery has passed since the last one: a token of a new key waits
// at most that long once, and a flood of forged kids makes one store
// read per refreshEvery.
func (s *Service) refreshKeys(ctx context.Context, used *tokens.KeyRing) bool {
	k := &s.keys
	k.refreshMu.Lock()
	if s.ring.Load() != used {
		k.refreshMu.Unlock()
		return true
	}
	if k.pending == nil {
		done := make(chan struct{})
		k.pending = done
		wait := time.Until(k.lastRead.Add(refreshEvery))
		go func() {
			time.Sleep(wait) // a rate limit, not a condition: negative is none
			rctx, cancel := context.WithTimeout(context.Background(), keysReloadTimeout)
			defer cancel()
			_ = s.LoadKeys(rctx) // a failure leaves the ring, and the refusals, as they are
			k.refreshMu.Lock()
			k.lastRead, k.pending = time.Now(), nil
			k.refreshMu.Unlock()
			close(done)
		}()
	}
	done := k.pending
	k.refreshMu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return false
	}
	return s.ring.Load() != used
}
