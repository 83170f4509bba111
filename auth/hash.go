package auth

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is the bcrypt cost HashPassword uses: the same as
// `caddy hash-password`, so stored and configured hashes cost alike.
const PasswordCost = 14

// ErrBadHash: a password hash in neither supported format.
var ErrBadHash = errors.New("password hash must be bcrypt ($2a$/$2b$/$2y$) or Caddy's argon2id ($argon2id$)")

// ErrHashCost: a hash whose parameters ask for more memory or time per
// check than the bounds below. The error is a *HashCostError.
var ErrHashCost = errors.New("password hash costs too much to check")

// HashCostError says which parameter is over which bound.
type HashCostError struct{ Detail string }

func (e *HashCostError) Error() string { return ErrHashCost.Error() + ": " + e.Detail }
func (e *HashCostError) Unwrap() error { return ErrHashCost }

// Bounds on the work a hash asks of every password check. A hash comes
// from the config or the admin API, and a wrong password costs what its
// hash says: unbounded, $argon2id$v=19$m=4294967295,… made one request
// allocate 4 TiB and Caddy die of it. At most password_concurrency
// checks run at once (default half the CPUs: 1 on 2 cores), so the
// memory in flight is at most that many times MaxArgon2Memory.
const (
	// MaxBcryptCost: caddy hash-password makes 14 (about a second on one
	// core); 16 is four times that. bcrypt itself refuses below 4 and
	// allows up to 31, 2^17 times 14.
	MaxBcryptCost = 16
	// MaxArgon2Memory is in KiB, 1 GiB: 22 times caddy hash-password's
	// 46 MiB and 16 times RFC 9106's second recommendation (64 MiB),
	// and what a 2-core, 24 GiB machine holds at the default
	// password_concurrency with room to spare. (RFC 9106's first
	// recommendation, 2 GiB, is refused.)
	MaxArgon2Memory = 1 << 20
	// MaxArgon2Time: passes over the memory. Caddy makes 1, RFC 9106
	// 1 or 3; 10 passes over 1 GiB take some ten seconds.
	MaxArgon2Time = 10
	// MaxArgon2Threads: each check runs that many goroutines, outside
	// what password_concurrency counts. Caddy makes 1, RFC 9106 4.
	MaxArgon2Threads = 16
)

// HashPassword hashes a plain-text password for storage.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	return string(h), err
}

// CheckHash reports whether hash is in a supported format, with
// parameters within the bounds (ErrHashCost).
func CheckHash(hash string) error {
	if strings.HasPrefix(hash, "$argon2id$") {
		_, _, _, err := decodeArgon2id(hash)
		return err
	}
	cost, err := bcrypt.Cost([]byte(hash))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrBadHash, err)
	case cost > MaxBcryptCost:
		return &HashCostError{fmt.Sprintf("bcrypt cost %d is over %d", cost, MaxBcryptCost)}
	}
	return nil
}

// comparePassword checks a password against a bcrypt hash or an argon2id
// hash in the PHC form `caddy hash-password --algorithm argon2id` prints.
// A hash out of bounds, stored before they existed, is not computed.
func comparePassword(hash []byte, password string) (bool, error) {
	if !bytes.HasPrefix(hash, []byte("$argon2id$")) {
		if err := CheckHash(string(hash)); err != nil {
			return false, err
		}
		err := bcrypt.CompareHashAndPassword(hash, []byte(password))
		return err == nil, err
	}
	p, salt, key, err := decodeArgon2id(string(hash))
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

type argon2Params struct {
	memory, time uint32
	threads      uint8
}

// decodeArgon2id parses $argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<key>.
func decodeArgon2id(hash string) (argon2Params, []byte, []byte, error) {
	var p argon2Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: unsupported argon2 version", ErrBadHash)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: bad argon2 parameters", ErrBadHash)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || p.time == 0 || p.threads == 0 {
		return p, nil, nil, fmt.Errorf("%w: bad argon2 salt or key", ErrBadHash)
	}
	if p.memory > MaxArgon2Memory || p.time > MaxArgon2Time || p.threads > MaxArgon2Threads {
		return p, nil, nil, &HashCostError{fmt.Sprintf("argon2id m=%d,t=%d,p=%d is over m=%d (KiB, 1 GiB), t=%d or p=%d",
			p.memory, p.time, p.threads, MaxArgon2Memory, MaxArgon2Time, MaxArgon2Threads)}
	}
	return p, salt, key, nil
}
