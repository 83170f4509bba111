package auth

import (
	"context"
	"errors"
	"fmt"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// ErrWeakPassword: the password does not meet the policy; the error is a
// *PolicyError listing why.
var ErrWeakPassword = errors.New("password too weak")

// ErrNoPassword: the password is empty.
var ErrNoPassword = errors.New("password cannot be empty or undefined")

// PolicyError lists the rules a password broke, in OWASP's wording.
type PolicyError struct{ Reasons []string }

func (e *PolicyError) Error() string { return e.Reasons[0] }
func (e *PolicyError) Unwrap() error { return ErrWeakPassword }

// MaxPasswordBytes is bcrypt's limit: it ignores every byte past it.
const MaxPasswordBytes = 72

// Policy is what a new password must satisfy, besides MaxPasswordBytes.
type Policy struct {
	MinLength  int // characters
	MinClasses int // of lower case, upper case, digits, other
}

// DefaultPolicy: at least 10 characters, not all of one class.
var DefaultPolicy = Policy{MinLength: 10, MinClasses: 2}

// Check returns nil or an error wrapping ErrNoPassword or ErrWeakPassword.
func (p Policy) Check(password string) error {
	if password == "" {
		return ErrNoPassword
	}
	var reasons []string
	if len(password) > MaxPasswordBytes {
		// bcrypt ignores the rest: refuse rather than silently truncate.
		reasons = append(reasons, fmt.Sprintf("The password must be at most %d bytes long.", MaxPasswordBytes))
	}
	if n := len([]rune(password)); n < p.MinLength {
		reasons = append(reasons, fmt.Sprintf("The password must be at least %d characters long.", p.MinLength))
	}
	var lower, upper, digit, other int
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if lower+upper+digit+other < p.MinClasses {
		reasons = append(reasons, fmt.Sprintf(
			"The password must contain characters of at least %d kinds (lower case, upper case, digits, symbols).", p.MinClasses))
	}
	if reasons != nil {
		return &PolicyError{Reasons: reasons}
	}
	return nil
}

// CheckPassword checks a new password against the Service's policy.
func (s *Service) CheckPassword(password string) error { return s.policy.Check(password) }

// WithPasswordCost sets the bcrypt cost of the hashes HashPassword makes,
// for tests that would rather not spend a second on each.
// Default: PasswordCost.
func WithPasswordCost(cost int) Option { return func(s *Service) { s.passwordCost = cost } }

// HashPassword checks the policy and hashes, holding a bcrypt slot so that
// hashing cannot take every CPU from token checks.
func (s *Service) HashPassword(ctx context.Context, password string) (string, error) {
	if err := s.policy.Check(password); err != nil {
		return "", err
	}
	release, err := s.checks.acquire(ctx, "")
	if err != nil {
		return "", err
	}
	defer release()
	if s.passwordCost != 0 {
		h, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost)
		return string(h), err
	}
	return HashPassword(password)
}
