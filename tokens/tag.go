package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// The authenticity tag. A token's signature needs its subject's stored
// secret, which a revocation replaces, so the signature of a revoked
// token can no longer be checked. The tag can: it is a MAC of the claims
// that name the token (kind, subject, generation, id) under a key derived
// from the server key alone. A verifier checks it before reading any
// state, so a forged token is refused as invalid without telling its
// sender whether its subject exists, is blocked or what its generation
// is; only a token the server minted learns that it was revoked.

// tagLen is the tag's length in bytes: 128 bits, as the ids.
const tagLen = 16

// Mint signs c with signingKey and tags it with the server key. The
// caller fills in the claims; a missing ID is made up.
func (k ServerKey) Mint(c *Claims, signingKey []byte) (string, error) {
	if c.ID == "" {
		c.ID = NewID()
	}
	c.Tag = k.tag(c)
	return Mint(c, signingKey)
}

// CheckTag reports whether c carries the tag the server key gives it.
func (k ServerKey) CheckTag(c *Claims) bool {
	got, err := b64.DecodeString(c.Tag)
	return err == nil && hmac.Equal(got, k.tagBytes(c))
}

func (k ServerKey) tag(c *Claims) string { return b64.EncodeToString(k.tagBytes(c)) }

func (k ServerKey) tagBytes(c *Claims) []byte {
	m := hmac.New(sha256.New, k.b)
	m.Write([]byte("tokengate/tag/v1"))
	for _, f := range []string{string(c.Kind), c.Subject, strconv.FormatUint(c.Generation, 10), c.ID} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		m.Write([]byte(f))
	}
	return m.Sum(nil)[:tagLen]
}
