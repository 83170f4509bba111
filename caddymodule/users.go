package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
)

// UserConfig is a user declared in the config.
type UserConfig struct {
	// The user's id, also the Basic-auth user name. Required.
	ID string `json:"id"`
	// The password hash, as `caddy hash-password` prints it (bcrypt, or
	// argon2id with --algorithm argon2id). Required.
	Password string `json:"password"`
	// Display name. Default: none.
	Name string `json:"name,omitempty"`
	// E-mail address. Default: none.
	Email string `json:"email,omitempty"`
	// Role, passed upstream in X-Auth-User-Role. Default: none.
	Role string `json:"role,omitempty"`
}

func (u UserConfig) validate() error {
	if u.ID == "" || len(u.ID) > maxIDLen || strings.ContainsAny(u.ID, ":\x00") {
		return fmt.Errorf("user id must be 1-%d bytes with no ':' or NUL", maxIDLen)
	}
	if u.Password == "" {
		return fmt.Errorf("user %s: password hash required", u.ID)
	}
	if err := auth.CheckHash(u.Password); err != nil {
		return fmt.Errorf("user %s: password must be a hash from caddy hash-password: %w", u.ID, err)
	}
	return nil
}

// syncUsers makes the store's config-managed users match the config,
// writing only what changed so that a reload does not invalidate caches
// for nothing.
func syncUsers(ctx context.Context, st store.Store, declared []UserConfig) error {
	existing, err := st.Users(ctx)
	if err != nil {
		return err
	}
	byID := make(map[string]store.User, len(existing))
	for _, u := range existing {
		byID[u.ID] = u
	}
	want := make(map[string]bool, len(declared))
	for _, d := range declared {
		want[d.ID] = true
		u, ok := byID[d.ID]
		next := u
		next.ID, next.Username, next.PasswordHash = d.ID, d.ID, d.Password
		next.Name, next.Email, next.Role = d.Name, d.Email, d.Role
		next.ConfigManaged = true
		if !ok {
			next.CreatedAt, next.CreatedBy = time.Now().UTC(), "config"
		}
		if ok && next == u {
			continue
		}
		if err := st.PutUser(ctx, next); errors.Is(err, store.ErrExists) {
			return fmt.Errorf("user %s: the username %q is taken by a user created through the admin API; rename or delete that user: %w", d.ID, d.ID, err)
		} else if err != nil {
			return err
		}
	}
	for _, u := range existing {
		if u.ConfigManaged && !want[u.ID] {
			if err := st.DeleteUser(ctx, u.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}
