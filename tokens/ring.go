package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// A KeyRing is the set of server keys a tokengate instance accepts,
// newest first. New tokens are signed and tagged with the newest key and
// name it in their JWT header's kid; a token of an older key verifies
// with that key until it expires, and removing a key from the ring kills
// exactly the tokens that name it (their kid is unknown, so they are
// ErrInvalid, as forged tokens are).
//
// Key ids are derived from the keys (KeyID), not chosen, so that every
// instance and every source of keys (a config list, a key directory, the
// store-held ring) names the same key alike without coordinating.
//
// A KeyRing is immutable and safe for concurrent use; a rotation builds
// a new one.
type KeyRing struct {
	keys []ringKey
	// byHeader maps each key's minted JWT header, base64url-encoded, to
	// its index: the header a token carries identifies its key with one
	// map lookup and no decoding (see parse).
	byHeader map[string]int
	byID     map[string]int
}

type ringKey struct {
	id     string
	key    ServerKey
	header string
}

// ErrNoKeys: a key ring must hold at least one key.
var ErrNoKeys = errors.New("key ring is empty")

// ErrUnknownKey: a token names a key the ring does not hold (never did,
// or it was removed). It wraps ErrInvalid: such a token is answered as a
// forged one would be.
var ErrUnknownKey = fmt.Errorf("%w: unknown key", ErrInvalid)

// kidLen is the length of a key id in bytes before base64url: 9 bytes,
// 12 characters, enough to tell keys of one ring apart by a wide margin
// while saying nothing usable about the key.
const kidLen = 9

// KeyID returns the key's id: a MAC of a fixed label under the key, so
// that it names the key without revealing it.
func (k ServerKey) KeyID() string {
	m := hmac.New(sha256.New, k.b)
	m.Write([]byte("tokengate/kid/v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:kidLen])
}

// NewKeyRing returns a ring of keys, newest first. A key listed twice is
// kept once, where it first appears.
func NewKeyRing(keys ...ServerKey) (*KeyRing, error) {
	r := &KeyRing{byHeader: map[string]int{}, byID: map[string]int{}}
	for _, k := range keys {
		if k.IsZero() {
			return nil, ErrBadKey
		}
		id := k.KeyID()
		if _, dup := r.byID[id]; dup {
			continue
		}
		h, err := kidHeader(id)
		if err != nil {
			return nil, err
		}
		r.byID[id] = len(r.keys)
		r.byHeader[h] = len(r.keys)
		r.keys = append(r.keys, ringKey{id: id, key: k, header: h})
	}
	if len(r.keys) == 0 {
		return nil, ErrNoKeys
	}
	return r, nil
}

// SingleKeyRing is the ring of one key, as a deployment that never
// rotated has.
func SingleKeyRing(k ServerKey) *KeyRing {
	r, err := NewKeyRing(k)
	if err != nil {
		panic(err) // only a zero key fails, and callers check for it
	}
	return r
}

// kidHeader is the header segment golang-jwt writes for a token whose
// header carries kid: json.Marshal of its header map, keys sorted.
func kidHeader(kid string) (string, error) {
	b, err := json.Marshal(map[string]any{"alg": jwt.SigningMethodHS256.Alg(), "kid": kid, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(b), nil
}

// Newest returns the key new tokens are signed and tagged with, and its id.
func (r *KeyRing) Newest() (kid string, k ServerKey) { return r.keys[0].id, r.keys[0].key }

// ByID returns the key with id kid, if the ring holds it.
func (r *KeyRing) ByID(kid string) (ServerKey, bool) {
	i, ok := r.byID[kid]
	if !ok {
		return ServerKey{}, false
	}
	return r.keys[i].key, true
}

// IDs returns the ring's key ids, newest first.
func (r *KeyRing) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// Keys returns the ring's keys, newest first.
func (r *KeyRing) Keys() []ServerKey {
	ks := make([]ServerKey, len(r.keys))
	for i, k := range r.keys {
		ks[i] = k.key
	}
	return ks
}

// Len is the number of keys.
func (r *KeyRing) Len() int { return len(r.keys) }

// Mint signs c with signingKey, tags it with the newest key and names
// that key in the header; signingKey must be derived from Newest's key.
func (r *KeyRing) Mint(c *Claims, signingKey []byte) (string, error) {
	return mintKID(r.keys[0].key, r.keys[0].id, c, signingKey)
}

// MintWithID is KeyRing.Mint with this key rather than a ring's newest:
// for a token that must stay of its parent's key (a confined token).
func (k ServerKey) MintWithID(c *Claims, signingKey []byte) (string, error) {
	return mintKID(k, k.KeyID(), c, signingKey)
}

// Equal reports whether k and o are the same key.
func (k ServerKey) Equal(o ServerKey) bool { return hmac.Equal(k.b, o.b) }

func mintKID(k ServerKey, kid string, c *Claims, signingKey []byte) (string, error) {
	if c.ID == "" {
		c.ID = NewID()
	}
	c.Tag = k.tag(c)
	c.KeyID = kid
	if err := CheckCaveats(c.Caveats); err != nil {
		return "", err
	}
	if c.ExpiresAt == 0 {
		c.ExpiresAt = ValidUntil(c.Caveats)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = kid
	return t.SignedString(signingKey)
}

// RingKeyFunc is KeyFunc with the server key the token is of: the key
// its header names, or for a token minted before key ids existed, the
// ring key whose tag it carries (see KeyRing.resolve).
type RingKeyFunc func(c *Claims, k ServerKey) ([]byte, error)

// Verify is Verifier.Verify for a token of any of the ring's keys. A
// token naming a key the ring does not hold is ErrUnknownKey before key
// is called.
func (r *KeyRing) Verify(raw string, key RingKeyFunc) (*Claims, error) {
	signed, mac, c, err := r.parse(raw)
	if err != nil {
		return nil, err
	}
	k, err := r.resolve(c)
	if err != nil {
		return nil, err
	}
	sk, err := key(c, k)
	if err != nil {
		return nil, err
	}
	if err := checkMAC(signed, mac, sk); err != nil {
		return nil, err
	}
	return c, nil
}

// parse is the package's parse, knowing the ring's headers: a token
// minted by this ring costs a map lookup for its header.
func (r *KeyRing) parse(raw string) (signed string, mac []byte, c *Claims, err error) {
	header, _, _ := strings.Cut(raw, ".")
	if i, ok := r.byHeader[header]; ok {
		signed, mac, c, err = parseHeader(raw, true)
		if c != nil {
			c.KeyID = r.keys[i].id
		}
		return signed, mac, c, err
	}
	return parse(raw)
}

// resolve returns the server key c is of. A token that names no key was
// minted before key ids existed, by whichever key the instance had then:
// a tagged one is of the ring key whose tag it carries (tags are cheap
// and rings short), an untagged one of the oldest key, the one a
// deployment that rotated since kept from before.
func (r *KeyRing) resolve(c *Claims) (ServerKey, error) {
	if c.KeyID != "" {
		k, ok := r.ByID(c.KeyID)
		if !ok {
			return ServerKey{}, fmt.Errorf("%w %q", ErrUnknownKey, c.KeyID)
		}
		return k, nil
	}
	if c.Tag == "" {
		return r.keys[len(r.keys)-1].key, nil
	}
	for _, k := range r.keys {
		if k.key.CheckTag(c) {
			return k.key, nil
		}
	}
	return ServerKey{}, fmt.Errorf("%w: tag", ErrInvalid)
}

// Examine is ServerKey.Examine for a token of any of the ring's keys.
func (r *KeyRing) Examine(raw string) (*Claims, error) {
	_, _, c, err := r.parse(raw)
	switch {
	case err != nil:
		return nil, err
	case c.Tag == "":
		return nil, ErrUntagged
	}
	k, err := r.resolve(c)
	if err != nil {
		return nil, err
	}
	if !k.CheckTag(c) {
		return nil, fmt.Errorf("%w: tag", ErrInvalid)
	}
	return c, nil
}
