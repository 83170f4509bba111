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

// HashPassword hashes a plain-text password for storage.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	return string(h), err
}

// CheckHash reports whether hash is in a supported format.
func CheckHash(hash string) error {
	if strings.HasPrefix(hash, "$argon2id$") {
		_, _, _, err := decodeArgon2id(hash)
		return err
	}
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	return nil
}

// comparePassword checks a password against a bcrypt hash or an argon2id
// hash in the PHC form `caddy hash-password --algorithm argon2id` prints.
func comparePassword(hash []byte, password string) (bool, error) {
	if !bytes.HasPrefix(hash, []byte("$argon2id$")) {
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
	return p, salt, key, nil
}
