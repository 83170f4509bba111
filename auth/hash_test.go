package auth_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// argon2 is argonHash with other parameters.
func argon2(params string) string {
	return strings.Replace(argonHash, "m=47104,t=1,p=1", params, 1)
}

// bcryptCost is minCostHash with another cost.
func bcryptCost(cost string) string {
	return strings.Replace(string(minCostHash), "$04$", "$"+cost+"$", 1)
}

// TestHashBounds: a hash is accepted only if checking a password
// against it costs a bounded amount of memory and time (issue 14,
// finding 2: m=4294967295 passed, and one wrong password then killed
// Caddy with out-of-memory).
func TestHashBounds(t *testing.T) {
	for _, tc := range []struct {
		name, hash string
		ok         bool
	}{
		{"bcrypt cost 4", bcryptCost("04"), true},
		{"bcrypt cost 14, as caddy hash-password", bcryptCost("14"), true},
		{"bcrypt cost 16", bcryptCost("16"), true},
		{"bcrypt cost 17", bcryptCost("17"), false},
		{"bcrypt cost 31", bcryptCost("31"), false},
		{"argon2id as caddy hash-password", argonHash, true},
		{"argon2id 1 GiB", argon2("m=1048576,t=1,p=1"), true},
		{"argon2id 1 GiB and 1 KiB", argon2("m=1048577,t=1,p=1"), false},
		{"argon2id 4 TiB", argon2("m=4294967295,t=1,p=1"), false},
		{"argon2id t=10", argon2("m=47104,t=10,p=1"), true},
		{"argon2id t=11", argon2("m=47104,t=11,p=1"), false},
		{"argon2id t=4294967295", argon2("m=47104,t=4294967295,p=1"), false},
		{"argon2id p=16", argon2("m=47104,t=1,p=16"), true},
		{"argon2id p=17", argon2("m=47104,t=1,p=17"), false},
		{"argon2id p=255", argon2("m=47104,t=1,p=255"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.CheckHash(tc.hash)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && !errors.Is(err, auth.ErrHashCost):
				t.Fatalf("got %v, want ErrHashCost", err)
			}
		})
	}
}

// TestHashBoundsNamed: the config's error names the user, the admin
// API's (through auth.ValueError) the field.
func TestHashBoundsNamed(t *testing.T) {
	hash := argon2("m=4294967295,t=1,p=1")
	err := auth.DeclaredUser{ID: "alice", PasswordHash: hash}.Check()
	if !errors.Is(err, auth.ErrHashCost) || !strings.Contains(err.Error(), "user alice") {
		t.Fatalf("declared user: %v", err)
	}
	s := newService(t, openStore(t), tokens.NewServerKey())
	_, err = s.CreateUser(ctx, auth.NewUser{ID: "carol", Password: auth.Password{Hash: &hash}})
	var ve *auth.ValueError
	if !errors.As(err, &ve) || ve.Field != "password_hash" || !strings.Contains(err.Error(), "m=4294967295") {
		t.Fatalf("created user: %v", err)
	}
	if _, err := s.User(ctx, "carol"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("carol was created: %v", err)
	}
	_, err = s.UpdateUser(ctx, "alice", auth.UserUpdate{Password: auth.Password{Hash: &hash}})
	if !errors.As(err, &ve) || ve.Field != "password_hash" {
		t.Fatalf("updated user: %v", err)
	}
	if err := s.SetPasswordHash(ctx, "alice", hash); !errors.Is(err, auth.ErrHashCost) {
		t.Fatalf("SetPasswordHash: %v", err)
	}
}

// TestStoredCostlyHash: a hash stored before the bounds existed is not
// computed: its user's password is refused without the memory it asks
// for.
func TestStoredCostlyHash(t *testing.T) {
	st := openStore(t)
	// 2 GiB: what the unbounded check would allocate.
	if err := st.PutUser(ctx, store.User{ID: "carol", PasswordHash: argon2("m=2097152,t=1,p=1")}); err != nil {
		t.Fatal(err)
	}
	s := newService(t, st, tokens.NewServerKey())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := s.Login(ctx, testClient, "carol", "hunter22")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("got %v, want ErrBadCredentials", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Fatalf("the check allocated %d MiB", n>>20)
	}
}
