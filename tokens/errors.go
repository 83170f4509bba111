package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Verification and creation errors. Each maps to one Onezone error id; the
// caddymodule and api packages translate them with errors.Is.
var (
	// ErrMalformed: the token cannot be decoded at all (Onezone "badToken").
	ErrMalformed = errors.New("token could not be understood")
	// ErrInvalid: bad signature, disallowed algorithm, or a generation from
	// the future, i.e. forged (Onezone "tokenInvalid").
	ErrInvalid = errors.New("token is not valid")
	// ErrRevoked: the token's generation is older than the subject's
	// current one (Onezone "tokenRevoked").
	ErrRevoked = errors.New("token has been revoked")
	// ErrSessionInvalid: a session token whose session no longer exists
	// (logged out, ended by an operator, destroyed by blocking the user;
	// Onezone "tokenSessionInvalid"). The token is genuine but stale, so it
	// is neither ErrInvalid nor ErrRevoked: a browser may hold it honestly,
	// and it must not count as a guess.
	ErrSessionInvalid = errors.New("token session is invalid")
	// ErrSubjectInvalid: the subject does not exist (Onezone
	// "tokenSubjectInvalid"), e.g. a token requested for a user that is
	// gone.
	ErrSubjectInvalid = errors.New("token subject is invalid")
	// ErrSubjectGone: a genuine token (its tag checks) whose subject has
	// been deleted. Onezone answers it "tokenInvalid": with the user, the
	// secret its tokens were signed with is gone. It is kept apart from
	// ErrInvalid because only forged and undecodable tokens count as
	// guesses; a deleted user's token was minted by this server.
	ErrSubjectGone = errors.New("token subject has been deleted")
	// ErrCaveatUnverified: a caveat does not hold for this request
	// (Onezone "tokenCaveatUnverified"); the error is a *CaveatError.
	ErrCaveatUnverified = errors.New("token caveat unverified")
	// ErrNotAccessToken: an identity token was used to authenticate
	// (Onezone "notAnAccessToken").
	ErrNotAccessToken = errors.New("not an access token")

	// ErrUntagged: a token minted before tags existed, which
	// ServerKey.Examine cannot vouch for (see tag.go).
	ErrUntagged = errors.New("token carries no tag")

	// ErrBadData: the caveats value is not a list (Onezone "badData").
	ErrBadData = errors.New("caveats must be a list")
	// ErrBadCaveat: a caveat in a creation request is malformed or of an
	// unknown type (Onezone "badValueCaveat"); the error is a *CaveatError.
	ErrBadCaveat = errors.New("caveat is invalid")
	// ErrBadType: the requested token type is not understood (Onezone
	// "badValueTokenType").
	ErrBadType = errors.New("token type is invalid")
	// ErrTimeCaveatRequired: a temporary token needs a time caveat within
	// the maximum TTL (Onezone "tokenTimeCaveatRequired").
	ErrTimeCaveatRequired = errors.New("time caveat required")
)

// CaveatError carries the caveat an error is about, as the JSON the client
// sent or the token holds, so APIs can report it in details.caveat.
type CaveatError struct {
	Err    error // ErrCaveatUnverified or ErrBadCaveat
	Caveat json.RawMessage
	Reason string
	// Unsupported: a caveat type Onezone has and tokengate cannot
	// enforce; Reason says why, and the answer should too.
	Unsupported bool
}

func (e *CaveatError) Error() string { return fmt.Sprintf("%v: %s", e.Err, e.Reason) }
func (e *CaveatError) Unwrap() error { return e.Err }
