package assertion

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what an assertion says: who the caller is, for which
// service (aud), from whom (iss), and for how long.
type Claims struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Role  string `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// Subject is the identity an assertion is made for.
type Subject struct {
	ID, Email, Name, Role string
}

// Sign makes an assertion for sub, valid for service from now until
// expires, signed with k (its kid in the header). Each carries a random
// jti, so that an upstream may refuse a replay.
func Sign(k Key, issuer, service string, sub Subject, now, expires time.Time) (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	c := Claims{
		Email: sub.Email, Name: sub.Name, Role: sub.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   sub.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        base64.RawURLEncoding.EncodeToString(id[:]),
		},
	}
	if service != "" {
		c.Audience = jwt.ClaimStrings{service}
	}
	method := jwt.SigningMethod(jwt.SigningMethodEdDSA)
	if k.Algorithm == ES256 {
		method = jwt.SigningMethodES256
	}
	t := jwt.NewWithClaims(method, c)
	t.Header["kid"] = k.ID
	return t.SignedString(k.Signer)
}
