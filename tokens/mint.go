package tokens

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/golang-jwt/jwt/v5"
)

// Mint signs c with key. The caller fills in the claims; Mint only adds a
// random ID when c has none. It refuses caveats that Verify would refuse
// (CheckCaveats): it signs no token that cannot be used.
func Mint(c *Claims, key []byte) (string, error) {
	if err := CheckCaveats(c.Caveats); err != nil {
		return "", err
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if c.ExpiresAt == 0 {
		c.ExpiresAt = ValidUntil(c.Caveats)
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
}

// NewID returns 128 random bits in hex: safe in URLs, and never taken for
// a command-line flag as a base64url id starting with '-' would be.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
