package auth

import (
	"context"
	"errors"
)

// Credential is a kind of credential a Service issues, as metrics count
// them; CredentialNames has their label values.
type Credential uint8

// Credentials a Service issues.
const (
	IssuedTemporary Credential = iota
	IssuedNamed
	IssuedSession
	IssuedHandoff
	IssuedReset
	NumCredentials
)

// CredentialNames are the label values of the Credential kinds.
var CredentialNames = [NumCredentials]string{"temporary", "named", "session", "handoff", "reset"}

// LoginMethod is how a client proved who it is with something other than
// a token: LoginMethodNames has their label values.
type LoginMethod uint8

// Login methods.
const (
	LoginBasic   LoginMethod = iota // Basic credentials on an API request
	LoginForm                       // the sign-in page's form
	LoginHandoff                    // an OpenPaaS handoff token exchanged for the user (and a session)
	NumLoginMethods
)

// LoginMethodNames are the label values of the login methods.
var LoginMethodNames = [NumLoginMethods]string{"basic", "form", "handoff"}

// Observer hears of what a Service does that an operator counts: the
// credentials it issues and the logins it decides. ctx is the request's
// (or the admin API's), so that an observer can tell where the request
// came in without auth knowing of HTTP. Calls are synchronous and must
// be cheap.
type Observer interface {
	Issued(ctx context.Context, kind Credential)
	LoggedIn(ctx context.Context, method LoginMethod, ok bool)
}

// WithObserver sets the Service's observer. Default: none.
func WithObserver(o Observer) Option { return func(s *Service) { s.observer = o } }

type noObserver struct{}

func (noObserver) Issued(context.Context, Credential)          {}
func (noObserver) LoggedIn(context.Context, LoginMethod, bool) {}

// issued tells the observer of a credential issued, if err is nil.
func (s *Service) issued(ctx context.Context, kind Credential, err error) {
	if err == nil {
		s.observer.Issued(ctx, kind)
	}
}

// LoginDone tells the observer how a login by method ended, err being
// what checking the credentials returned: nil is a success; a refusal of
// the credentials themselves (wrong password, unknown user or handoff
// token, blocked user) a failure. Anything else (a used-up budget, a
// store that could not answer, a client that went away) decided nothing
// about the credentials and is not a login: 429s and store errors have
// their own counts. Front doors call it, as only they know the method.
func (s *Service) LoginDone(ctx context.Context, method LoginMethod, err error) {
	switch {
	case err == nil:
		s.observer.LoggedIn(ctx, method, true)
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrUserBlocked), errors.Is(err, ErrNotFound):
		s.observer.LoggedIn(ctx, method, false)
	}
}
