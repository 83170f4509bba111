package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tokengate/tokengate/store"
)

// BanKey reads a key as an operator gives it to lift a ban:
// "ip:<address>", a bare address, "user:<name>", or exactly what Bans
// lists, and returns the key the failures are counted under. An
// address is parsed and named by ClientKey, as a client's failures are
// counted: every spelling of it (2001:db8:0:0::1, ::ffff:192.0.2.1)
// lifts the one counter, with the grouping by network that counts it.
// A user key is the name someone signed in with, as typed, and is kept
// as it is; so is "ip:<network>", as Bans lists the key of a group of
// addresses. Anything else is a *ValueError for "ban key".
func (s *Service) BanKey(key string) (string, error) {
	keys, err := s.banKeys(key)
	if err != nil {
		return "", err
	}
	return keys[0], nil
}

// banKeys returns the key BanKey reads and, if key is spelled as a key
// ("ip:…") and otherwise, key as well: a counter made before ClientKey
// grouped or unmapped addresses as it does now is under the key Bans
// listed for it until its window ends.
func (s *Service) banKeys(key string) ([]string, error) {
	if name, ok := strings.CutPrefix(key, "user:"); ok {
		if name == "" {
			return nil, &ValueError{"ban key", "user:<name> needs a name"}
		}
		return []string{UserKey(name)}, nil
	}
	rest, listed := strings.CutPrefix(key, "ip:")
	if a, err := netip.ParseAddr(rest); err == nil {
		keys := []string{s.ClientKey(a)}
		if listed && key != keys[0] {
			keys = append(keys, key)
		}
		return keys, nil
	}
	// Only as listed: a bare network is not an address to lift.
	if p, err := netip.ParsePrefix(rest); err == nil && listed {
		return []string{IPKey(p.Masked().String())}, nil
	}
	return nil, &ValueError{"ban key", "must be ip:<address>, an address or user:<name>"}
}

// LiftBan forgets the failures counted against a key, given as BanKey
// reads it, and returns the key it lifted. ErrNotFound if there are
// none in an open window: nothing was lifted.
func (s *Service) LiftBan(ctx context.Context, key string) (lifted string, err error) {
	defer func() {
		target := lifted
		if target == "" {
			target = key
		}
		s.emit(ctx, AuditEvent{Event: EventBanLifted, Target: target}, "", err)
	}()
	keys, err := s.banKeys(key)
	if err != nil {
		return "", err
	}
	now := s.now()
	for _, k := range keys {
		switch err := s.store.ClearCounter(ctx, k, now); {
		case err == nil && lifted == "":
			lifted = k
		case err == nil:
		case !errors.Is(err, store.ErrNotFound):
			return "", s.storeErr(err)
		}
	}
	if lifted == "" {
		return keys[0], fmt.Errorf("%w: no failures counted for %s", ErrNotFound, keys[0])
	}
	return lifted, nil
}

// MaxBan is the longest ban Ban sets.
const MaxBan = 365 * 24 * time.Hour

// Ban uses up the budget of a key, given as BanKey reads it, for d from
// now, as if it had failed that often: an operator's ban of a client or
// a user name (logins refused with ErrTooManyFailures until it ends or
// is lifted). It replaces the key's current window. reason goes to the
// audit trail only. A duration that is not positive or exceeds MaxBan is
// a *ValueError.
func (s *Service) Ban(ctx context.Context, key string, d time.Duration, reason string) (c store.Counter, err error) {
	defer func() {
		detail := "until " + c.Until.UTC().Format(time.RFC3339)
		if reason != "" {
			detail += ": " + reason
		}
		s.emit(ctx, AuditEvent{Event: EventBanned, Target: c.Key, Detail: detail}, "", err)
	}()
	if d <= 0 || d > MaxBan {
		return c, &ValueError{"ban duration", fmt.Sprintf("must be positive and at most %s", MaxBan)}
	}
	k, err := s.BanKey(key)
	if err != nil {
		return c, err
	}
	c.Key = k
	now := s.now()
	if err := s.store.ClearCounter(ctx, k, now); err != nil && !errors.Is(err, store.ErrNotFound) {
		return c, s.storeErr(err)
	}
	for range s.limit(k) {
		if c, err = s.store.Fail(ctx, k, d, now); err != nil {
			return store.Counter{Key: k}, s.storeErr(err)
		}
	}
	return c, nil
}
