package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrBadValue: a value breaks its field's rule. The error is a
// *ValueError naming the field and the rule; every front door answers it
// as bad input (400) in its own format, never as an outage.
var ErrBadValue = errors.New("bad value")

// ValueError says which field broke which rule.
type ValueError struct {
	Field string // "id", "username", "name", "email", "role", "token name"
	Rule  string // e.g. "must be at most 128 bytes"
}

func (e *ValueError) Error() string { return e.Field + " " + e.Rule }
func (e *ValueError) Unwrap() error { return ErrBadValue }

// Limits of user fields, in bytes. Every one of them ends up in an
// X-Auth-User-* header of every gated request, so they are bounded well
// below what upstreams accept in headers (commonly 8 KiB in all).
const (
	MaxIDLen    = 128
	MaxNameLen  = 256
	MaxEmailLen = 254 // RFC 5321's longest path
	MaxRoleLen  = 64
	// MinTokenNameLen and MaxTokenNameLen are Onezone's bounds on
	// named-token names, in characters (ctool's NAME_MAXIMUM_LENGTH).
	MinTokenNameLen = 2
	MaxTokenNameLen = 128
)

// headerSafe refuses what cannot travel in an HTTP header value or would
// change its meaning: invalid UTF-8 and control characters (CR, LF, NUL,
// TAB, DEL and the C1 range among them).
func headerSafe(field, s string) error {
	if !utf8.ValidString(s) {
		return &ValueError{field, "must be valid UTF-8"}
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return &ValueError{field, "must not contain control characters"}
	}
	return nil
}

// CheckUserID checks a user id or username. It is also the Basic-auth
// user name, so it has no ':'.
func CheckUserID(field, s string) error {
	switch {
	case s == "":
		return &ValueError{field, "is required"}
	case len(s) > MaxIDLen:
		return &ValueError{field, fmt.Sprintf("must be at most %d bytes", MaxIDLen)}
	case strings.ContainsRune(s, ':'):
		return &ValueError{field, "must not contain ':'"}
	}
	return headerSafe(field, s)
}

// Profile is what a user shows of itself: display name, e-mail and
// role, each optional.
type Profile struct {
	Name, Email, Role string
}

// Check checks each field's length and that it is header-safe.
func (p Profile) Check() error {
	for _, f := range [...]struct {
		field, v string
		max      int
	}{{"name", p.Name, MaxNameLen}, {"email", p.Email, MaxEmailLen}, {"role", p.Role, MaxRoleLen}} {
		if len(f.v) > f.max {
			return &ValueError{f.field, fmt.Sprintf("must be at most %d bytes", f.max)}
		}
		if err := headerSafe(f.field, f.v); err != nil {
			return err
		}
	}
	return nil
}

// TokenNameRule is what CheckTokenName requires, in the words of ctool's
// NAME_REQUIREMENTS_DESCRIPTION (include/validation.hrl) after "Name ".
const TokenNameRule = "must be 2-128 characters long and composed only of UTF-8 letters, digits, " +
	"brackets and underscores. Dashes, spaces and dots are allowed (but not at the beginning or the end)."

// tokenName is ctool's str_utils:validate_name/1: the first and last
// characters from ")(\w_", the ones between also from " .-", with PCRE's
// ucp \w, i.e. letters, digits (\pN) and '_'. Unlike PCRE's '$', Go's
// matches only at the very end, so a trailing newline, which Onezone
// lets through, is refused, as every control character is.
var tokenName = regexp.MustCompile(`^[)(\p{L}\p{N}_][)(\p{L}\p{N}_ .\-]{0,` +
	strconv.Itoa(MaxTokenNameLen-2) + `}[)(\p{L}\p{N}_]$`)

// CheckTokenName checks a named token's name against Onezone's rule
// (TokenNameRule). It also keeps names header-safe: no control
// characters or invalid UTF-8 can match.
func CheckTokenName(name string) error {
	if !tokenName.MatchString(name) {
		return &ValueError{"token name", TokenNameRule}
	}
	return nil
}

// MaxTokenMetadata bounds a named token's custom metadata, in bytes of
// compact JSON. Onezone sets no bound; tokengate stores the metadata with
// the token and reads it back with every listing, so a client must not
// be able to grow one record up to the request limit (64 KiB).
const MaxTokenMetadata = 4 << 10

// SizeError: a value is over its field's bound of Limit bytes. It is an
// ErrBadValue, for doors that need not tell it apart.
type SizeError struct {
	Field string
	Limit int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s must be at most %d bytes", e.Field, e.Limit)
}
func (e *SizeError) Unwrap() error { return ErrBadValue }

// CheckTokenMetadata checks a named token's custom metadata and returns
// it compact, as it is to be stored: a JSON object, as Onezone requires
// of customMetadata ({json, any}: anything but an object, null among them,
// is refused), of at most MaxTokenMetadata bytes once compact.
func CheckTokenMetadata(raw json.RawMessage) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, &ValueError{"token metadata", "must be a JSON object"}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, &ValueError{"token metadata", "must be a JSON object"}
	}
	if b.Len() > MaxTokenMetadata {
		return nil, &SizeError{"token metadata", MaxTokenMetadata}
	}
	return b.Bytes(), nil
}

// DeclaredUser is a user declared in the server's config.
type DeclaredUser struct {
	ID           string
	PasswordHash string
	Profile
}

// Check applies the rules every user has, and requires a supported
// password hash within the bounds of CheckHash.
func (d DeclaredUser) Check() error {
	if err := CheckUserID("id", d.ID); err != nil {
		return err
	}
	if err := d.Profile.Check(); err != nil {
		return fmt.Errorf("user %s: %w", d.ID, err)
	}
	if d.PasswordHash == "" {
		return fmt.Errorf("user %s: password hash required", d.ID)
	}
	switch err := CheckHash(d.PasswordHash); {
	case errors.Is(err, ErrHashCost):
		return fmt.Errorf("user %s: %w", d.ID, err)
	case err != nil:
		return fmt.Errorf("user %s: password must be a hash from caddy hash-password: %w", d.ID, err)
	}
	return nil
}
