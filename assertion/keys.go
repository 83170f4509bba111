// Package assertion makes the identity assertions the gate hands
// upstreams: short-lived JWTs signed with a key ring that rotates on a
// schedule, and the JWKS that lets an upstream verify them. It knows
// nothing of HTTP, Caddy or where the ring is kept: auth keeps it in the
// store and decides when to rotate with Rotate.
package assertion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/store"
)

// Algorithms.
const (
	EdDSA = "EdDSA" // Ed25519, the default: small, fast, deterministic
	ES256 = "ES256" // ECDSA P-256, for verifiers without Ed25519
)

// ErrBadKey: a stored key cannot be used (unknown algorithm, bad DER).
var ErrBadKey = errors.New("assertion: unusable key")

// CheckAlgorithm returns an error unless alg is one this package signs with.
func CheckAlgorithm(alg string) error {
	if alg != EdDSA && alg != ES256 {
		return fmt.Errorf("%w: algorithm %q: want %s or %s", ErrBadKey, alg, EdDSA, ES256)
	}
	return nil
}

// Key is a parsed ring key.
type Key struct {
	ID        string
	Algorithm string
	Signer    crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey
	CreatedAt time.Time
}

// NewKey generates a key for alg, created at now. Its kid is derived from
// its public key (SHA-256 of the SubjectPublicKeyInfo, 16 bytes, base64url),
// so that it names the key without revealing anything of the private part.
func NewKey(alg string, now time.Time) (store.AssertionKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return store.AssertionKey{}, CheckAlgorithm(alg)
	}
	if err != nil {
		return store.AssertionKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.AssertionKey{}, err
	}
	kid, err := keyID(priv.Public())
	if err != nil {
		return store.AssertionKey{}, err
	}
	return store.AssertionKey{ID: kid, Algorithm: alg, Private: der, CreatedAt: now.UTC()}, nil
}

func keyID(pub crypto.PublicKey) (string, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(spki)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// Parse turns a stored key into a Key, checking that its DER holds a key
// of its algorithm.
func Parse(k store.AssertionKey) (Key, error) {
	priv, err := x509.ParsePKCS8PrivateKey(k.Private)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s: %w", ErrBadKey, k.ID, err)
	}
	var ok bool
	switch k.Algorithm {
	case EdDSA:
		_, ok = priv.(ed25519.PrivateKey)
	case ES256:
		var ec *ecdsa.PrivateKey
		if ec, ok = priv.(*ecdsa.PrivateKey); ok {
			ok = ec.Curve == elliptic.P256()
		}
	}
	if !ok {
		return Key{}, fmt.Errorf("%w: %s: not an %s key", ErrBadKey, k.ID, k.Algorithm)
	}
	return Key{ID: k.ID, Algorithm: k.Algorithm, Signer: priv.(crypto.Signer), CreatedAt: k.CreatedAt}, nil
}

// Schedule is when keys rotate. A new key is published a lead before it
// signs (Lead, a tenth of the period), so that a verifier that refreshes
// its JWKS as Cache-Control says (max-age: Lead) knows a key before the
// first assertion it signs arrives; it then signs for a period, and,
// retired, stays published for one more period, for the assertions it
// signed and the verifiers' caches.
type Schedule struct {
	Period time.Duration
}

// Lead is how long a new key is published before it signs.
func (s Schedule) Lead() time.Duration { return s.Period / 10 }

// Signing returns the key that signs alg at now, from keys (newest
// first): the newest whose lead is over; in a ring that has only keys
// still in their lead (a ring's first key), the newest. False if keys
// has none of alg.
func (s Schedule) Signing(keys []Key, alg string, now time.Time) (Key, bool) {
	var newest *Key
	for i := range keys {
		k := &keys[i]
		if k.Algorithm != alg {
			continue
		}
		if !now.Before(k.CreatedAt.Add(s.Lead())) {
			return *k, true
		}
		if newest == nil {
			newest = k
		}
	}
	if newest == nil {
		return Key{}, false
	}
	return *newest, true
}

// Due reports whether alg needs a new key at now: keys (newest first)
// has none, or the newest is old enough that its successor, published
// now, begins signing when it has signed for a period.
func (s Schedule) Due(keys []Key, alg string, now time.Time) bool {
	for _, k := range keys {
		if k.Algorithm == alg {
			return !now.Before(k.CreatedAt.Add(s.Period))
		}
	}
	return true
}

// Rotate returns the ring after rotating alg's key at now: a new key
// first, then the others that are still published (Prune).
func (s Schedule) Rotate(keys []store.AssertionKey, alg string, now time.Time) ([]store.AssertionKey, error) {
	k, err := NewKey(alg, now)
	if err != nil {
		return nil, err
	}
	return s.Prune(append([]store.AssertionKey{k}, keys...), now), nil
}

// Prune drops the keys retired more than a period before now. keys is
// newest first; a key is retired when the next newer key of its
// algorithm begins signing, a lead after its creation.
func (s Schedule) Prune(keys []store.AssertionKey, now time.Time) []store.AssertionKey {
	out := make([]store.AssertionKey, 0, len(keys))
	successor := map[string]time.Time{} // algorithm → creation of the newer key seen last
	for _, k := range keys {
		succ, ok := successor[k.Algorithm]
		if !ok || now.Before(succ.Add(s.Lead()+s.Period)) {
			out = append(out, k)
		}
		successor[k.Algorithm] = k.CreatedAt
	}
	return out
}
