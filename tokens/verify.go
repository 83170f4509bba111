package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// KeyFunc is called with the token's unverified claims and returns the key
// to check its signature with, or the error that decides the token's fate
// before any signature check (Onezone compares generations first).
type KeyFunc func(c *Claims) ([]byte, error)

// Verifier checks token signatures. The algorithm is pinned to HS256:
// "none" and every other algorithm are refused before any key is looked up.
type Verifier struct{}

// NewVerifier returns a Verifier. It is safe for concurrent use.
func NewVerifier() *Verifier { return &Verifier{} }

// mintedHeader is the header Mint writes, base64url-encoded. A token that
// carries it needs no header parsing: profiles of the cold path showed
// golang-jwt's generic parse (the header into a map, then the claims)
// costing more than the signature check. Any other header is parsed and
// must name HS256.
const mintedHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

// b64 is JWT's base64url without padding, refusing non-canonical
// encodings, so that each token has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// Verify decodes raw, asks key for the signing key and checks the
// signature. Caveats are left to Check so that a cached token can be
// re-checked per request without verifying it again.
func (v *Verifier) Verify(raw string, key KeyFunc) (*Claims, error) {
	signed, mac, c, err := parse(raw)
	if err != nil {
		return nil, err
	}
	k, err := key(c)
	if err != nil {
		return nil, err
	}
	if err := checkMAC(signed, mac, k); err != nil {
		return nil, err
	}
	return c, nil
}

// checkMAC checks the HS256 signature mac of signed under k.
func checkMAC(signed string, mac, k []byte) error {
	if len(k) == 0 {
		return fmt.Errorf("%w: no signing key", ErrInvalid)
	}
	h := hmac.New(sha256.New, k)
	h.Write([]byte(signed))
	if !hmac.Equal(h.Sum(nil), mac) {
		return fmt.Errorf("%w: signature", ErrInvalid)
	}
	return nil
}

// parse splits raw into the signed part, the signature and the decoded
// claims, checking the header's algorithm on the way. The header's kid,
// if any, is the claims' KeyID.
func parse(raw string) (signed string, mac []byte, c *Claims, err error) {
	return parseHeader(raw, false)
}

// parseHeader is parse; known says the header is one a KeyRing minted,
// which needs no decoding (the caller sets KeyID).
func parseHeader(raw string, known bool) (signed string, mac []byte, c *Claims, err error) {
	header, rest, ok := strings.Cut(raw, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.IndexByte(sig, '.') >= 0 {
		return "", nil, nil, fmt.Errorf("%w: not three segments", ErrMalformed)
	}
	var kid string
	if !known && header != mintedHeader {
		if kid, err = checkHeader(header); err != nil {
			return "", nil, nil, err
		}
	}
	if mac, err = b64.DecodeString(sig); err != nil {
		return "", nil, nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	if c, err = decodeClaims(payload); err != nil {
		return "", nil, nil, err
	}
	c.KeyID = kid
	return raw[:len(header)+1+len(payload)], mac, c, nil
}

// Decodable reports, as ErrMalformed, a token that cannot be decoded at
// all: what Onezone's sanitizer refuses as badValueToken before any
// verification, for token arguments such as a consumer token.
func Decodable(raw string) error {
	_, _, _, err := parse(raw)
	return err
}

// Examine returns the claims of a token this key tagged, without its
// signature or its subject's state checked: what it says, not whether it
// is still good (Onezone's examine reads revoked tokens too). A token
// without the key's tag is ErrInvalid, and one minted before tags
// existed ErrUntagged: only a full verification can vouch for it.
func (k ServerKey) Examine(raw string) (*Claims, error) {
	_, _, c, err := parse(raw)
	switch {
	case err != nil:
		return nil, err
	case c.Tag == "":
		return nil, ErrUntagged
	case !k.CheckTag(c):
		return nil, fmt.Errorf("%w: tag", ErrInvalid)
	}
	return c, nil
}

// checkHeader accepts a header that names HS256, however it is spelled,
// and returns its kid.
func checkHeader(seg string) (kid string, err error) {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return "", fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != jwt.SigningMethodHS256.Alg() {
		return "", fmt.Errorf("%w: algorithm %q refused", ErrInvalid, h.Alg)
	}
	return h.Kid, nil
}

// decodeClaims decodes and checks the payload, compiling its caveats.
func decodeClaims(seg string) (*Claims, error) {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	c := new(Claims)
	if !decodeMinted(b, c) {
		*c = Claims{}
		if err := json.Unmarshal(b, c); err != nil {
			return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
		}
	}
	if c.Subject == "" || c.Kind == "" || c.ID == "" {
		return nil, fmt.Errorf("%w: missing claims", ErrMalformed)
	}
	if c.Type != Access && c.Type != Identity {
		return nil, fmt.Errorf("%w: unknown type", ErrMalformed)
	}
	for i := range c.Caveats {
		if err := c.Caveats[i].compile(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	return c, nil
}

// CheckGeneration compares a temporary token's generation with its
// subject's current one, as Onezone does: older is revoked, newer can only
// be forged.
func CheckGeneration(token, current uint64) error {
	switch {
	case token < current:
		return fmt.Errorf("%w: generation %d < %d", ErrRevoked, token, current)
	case token > current:
		return fmt.Errorf("%w: generation %d > %d", ErrInvalid, token, current)
	}
	return nil
}
