package assertion

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
)

// jwk is a public key as RFC 7517 writes it: OKP for Ed25519 (RFC 8037),
// EC for P-256.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the JSON Web Key Set of keys' public halves, in the
// order given.
func JWKS(keys []Key) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, k := range keys {
		j := jwk{Kid: k.ID, Alg: k.Algorithm, Use: "sig"}
		switch pub := k.Signer.Public().(type) {
		case ed25519.PublicKey:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
		case *ecdsa.PublicKey:
			e, err := pub.ECDH()
			if err != nil {
				return nil, err
			}
			// Uncompressed point: 0x04 ‖ X ‖ Y, each 32 bytes for P-256.
			p := e.Bytes()
			j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(p[1:33]), b64(p[33:65])
		default:
			continue
		}
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}
