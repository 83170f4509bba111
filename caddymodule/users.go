package caddymodule

import (
	"github.com/tokengate/tokengate/auth"
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

// declared is the user as auth knows the config's users.
func (u UserConfig) declared() auth.DeclaredUser {
	return auth.DeclaredUser{ID: u.ID, PasswordHash: u.Password,
		Profile: auth.Profile{Name: u.Name, Email: u.Email, Role: u.Role}}
}

func declaredUsers(us []UserConfig) []auth.DeclaredUser {
	out := make([]auth.DeclaredUser, len(us))
	for i, u := range us {
		out[i] = u.declared()
	}
	return out
}

// declaredHashes are the declared users' password hashes.
func declaredHashes(us []UserConfig) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Password
	}
	return out
}
