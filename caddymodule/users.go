package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/store"
)

// UserConfig is a user declared in the config.
type UserConfig struct {
	// The user's id, also the Basic-auth user name. Required.
	ID string `json:"id"`
	// The bcrypt hash of the password, as `caddy hash-password` prints it.
	// Required.
	Password string `json:"password"`
	// Display name. Default: none.
	Name string `json:"name,omitempty"`
	// E-mail address. Default: none.
	Email string `json:"email,omitempty"`
	// Role, passed upstream in X-Auth-User-Role. Default: none.
	Role string `json:"role,omitempty"`
}

func (u UserConfig) validate() error {
	if u.ID == "" || strings.ContainsAny(u.ID, ":\x00") {
		return fmt.Errorf("user id must be non-empty and contain no ':'")
	}
	if u.Password == "" {
		return fmt.Errorf("user %s: password hash required", u.ID)
	}
	if _, err := bcrypt.Cost([]byte(u.Password)); err != nil {
		return fmt.Errorf("user %s: password must be a bcrypt hash (caddy hash-password): %v", u.ID, err)
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
		next.ID, next.PasswordHash, next.Name, next.Email, next.Role = d.ID, d.Password, d.Name, d.Email, d.Role
		next.ConfigManaged = true
		if !ok {
			next.CreatedAt = time.Now().UTC()
		}
		if ok && next == u {
			continue
		}
		if err := st.PutUser(ctx, next); err != nil {
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
