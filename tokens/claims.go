// Package tokens defines tokengate's token format: HS256 JWTs whose claims
// carry the subject, the token's persistence kind, its Onezone type, the
// subject's temporary-token generation and Onezone-style caveats. It mints
// and verifies them and knows nothing of stores, caches or Caddy.
package tokens

import (
	"encoding/json"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Kind is a token's persistence, which decides how it is revoked.
type Kind string

const (
	// Temporary tokens share their subject's secret and generation and die
	// together when the generation is bumped.
	Temporary Kind = "tmp"
	// Named tokens each have a stored record and secret and are revoked
	// one by one.
	Named Kind = "nmd"
	// Session tokens live in a browser cookie. They carry the temporary
	// generation (revoke-all ends them) and a session id that can be ended
	// on its own.
	Session Kind = "ses"
)

// Type is Onezone's token type.
type Type string

const (
	Access   Type = "act"
	Identity Type = "idn"
)

// ParseType decodes Onezone's token type JSON: {"accessToken":{}} or
// {"identityToken":{}}. Absent (nil) means an access token.
func ParseType(raw json.RawMessage) (Type, error) {
	if raw == nil {
		return Access, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
		return "", ErrBadType
	}
	for k, v := range m {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(v, &inner); err != nil || inner == nil {
			return "", ErrBadType
		}
		switch k {
		case "accessToken":
			return Access, nil
		case "identityToken":
			return Identity, nil
		case "inviteToken":
			return "", inviteType(inner)
		}
	}
	return "", ErrBadType
}

// inviteTargets are the target key of each of Onezone's invite token
// types (ctool token_type's invite_target_json_key).
var inviteTargets = map[string]string{
	"userJoinGroup": "groupId", "groupJoinGroup": "groupId",
	"userJoinSpace": "spaceId", "groupJoinSpace": "spaceId", "supportSpace": "spaceId", "harvesterJoinSpace": "spaceId",
	"registerOneprovider": "adminUserId",
	"userJoinCluster":     "clusterId", "groupJoinCluster": "clusterId",
	"userJoinHarvester": "harvesterId", "groupJoinHarvester": "harvesterId", "spaceJoinHarvester": "harvesterId",
	"userJoinAtmInventory": "atmInventoryId", "groupJoinAtmInventory": "atmInventoryId",
}

// inviteType is the error for an invite token type. tokengate has no
// groups, spaces, clusters or anything else to invite to, so a
// well-formed one names a target that cannot exist: an
// *InviteTargetError, as Onezone answers a target it does not have
// (invite_tokens' ?ERROR_INVITE_TOKEN_TARGET_ID_INVALID). Anything else is
// ErrBadType.
func inviteType(inner map[string]json.RawMessage) error {
	var typ, id string
	if json.Unmarshal(inner["inviteType"], &typ) != nil {
		return ErrBadType
	}
	key, ok := inviteTargets[typ]
	if !ok || json.Unmarshal(inner[key], &id) != nil {
		return ErrBadType
	}
	return &InviteTargetError{ID: id}
}

// InviteTargetError: an invite token type whose target does not exist
// (Onezone "inviteTokenTargetIdInvalid"); for tokengate, every target.
type InviteTargetError struct{ ID string }

func (e *InviteTargetError) Error() string {
	return fmt.Sprintf("invite token target %q does not exist", e.ID)
}

// OnezoneJSON returns the type in Onezone's API form; in the token it is
// the short string.
func (t Type) OnezoneJSON() json.RawMessage {
	if t == Identity {
		return json.RawMessage(`{"identityToken":{}}`)
	}
	return json.RawMessage(`{"accessToken":{}}`)
}

// Claims is the payload of a tokengate token.
type Claims struct {
	Subject    string   `json:"sub"`
	Kind       Kind     `json:"knd"`
	Type       Type     `json:"typ"`
	Generation uint64   `json:"gen,omitempty"`
	ID         string   `json:"jti"`
	IssuedAt   int64    `json:"iat"`
	ExpiresAt  int64    `json:"exp,omitempty"`
	Caveats    []Caveat `json:"cav,omitempty"`
	// Tag proves the server minted the token (see tag.go); empty on
	// tokens minted before tags existed.
	Tag string `json:"aut,omitempty"`
	// KeyID is the kid of the token's JWT header: the id of the server
	// key that signed and tagged it (see KeyRing); empty on tokens minted
	// before key ids existed. It is not a claim.
	KeyID string `json:"-"`
}

// The jwt.Claims methods exist only to satisfy the parser: tokengate turns
// jwt's own claim validation off and checks time through caveats, so expiry
// is reported as Onezone reports it (an unverified time caveat).
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *Claims) GetIssuer() (string, error)                   { return "", nil }
func (c *Claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *Claims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

var _ jwt.Claims = (*Claims)(nil)
