package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// MinKeyLen is the least number of random bytes a server key must have.
const MinKeyLen = 32

// ServerKey is the instance-wide secret from which every signing key is
// derived. It never leaves the process and never reaches a log.
type ServerKey struct{ b []byte }

// ErrBadKey reports a server key that is too short or not base64.
var ErrBadKey = errors.New("server key must be at least 32 random bytes in base64")

// ParseServerKey decodes a key written in standard or URL-safe base64,
// padded or not.
func ParseServerKey(s string) (ServerKey, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return ServerKey{}, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if len(b) < MinKeyLen {
		return ServerKey{}, fmt.Errorf("%w: got %d bytes", ErrBadKey, len(b))
	}
	return ServerKey{b: b}, nil
}

// NewServerKey returns a fresh random key.
func NewServerKey() ServerKey {
	b := make([]byte, MinKeyLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return ServerKey{b: b}
}

// Encode returns the key in URL-safe base64, for storing it.
func (k ServerKey) Encode() string { return base64.RawURLEncoding.EncodeToString(k.b) }

// String keeps the key out of anything that formats it, logs included.
func (k ServerKey) String() string { return "[REDACTED]" }

// IsZero reports whether the key is unset.
func (k ServerKey) IsZero() bool { return len(k.b) == 0 }

// SigningKey derives the HMAC key for one subject's tokens of one kind.
// Mixing the per-subject secret in means a leaked store alone cannot forge
// tokens (the server key is not in it), and a lost or replaced secret kills
// that subject's tokens rather than reviving revoked ones.
func (k ServerKey) SigningKey(kind Kind, subject string, secret []byte) []byte {
	m := hmac.New(sha256.New, k.b)
	m.Write([]byte("tokengate/v1"))
	// Length-prefixed fields: no two (kind, subject, secret) triples
	// encode alike, whatever bytes they hold.
	for _, f := range [][]byte{[]byte(kind), []byte(subject), secret} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		m.Write(f)
	}
	return m.Sum(nil)
}

// NewSecret returns fresh random bytes for a per-subject secret.
func NewSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
