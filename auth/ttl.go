package auth

import (
	"fmt"
	"math"
	"time"
)

// MaxTTL bounds every lifetime and window the config sets
// (temporary_max_ttl, session_ttl, reset_token_ttl, failure_window, …):
// a century is longer than any of them has a use for, far inside what
// time.Duration holds (292 years) and what a time caveat may name
// (tokens.MaxValidUntil), so that now plus any of them is a time every
// part of tokengate can compute with and print.
const MaxTTL = 100 * 365 * 24 * time.Hour

// CheckTTL checks a configured duration: positive, at most MaxTTL. The
// error is a *ValueError naming field.
func CheckTTL(field string, d time.Duration) error {
	switch {
	case d <= 0:
		return &ValueError{field, "must be positive"}
	case d > MaxTTL:
		return &ValueError{field, fmt.Sprintf("must be at most %s (100 years)", MaxTTL)}
	}
	return nil
}

// expiresWithin reports whether until (Unix seconds) is at most max
// after now, exactly. It counts in seconds, where nothing wraps: sums
// saturate. time.Unix(until, 0).Sub(now) did not do: time.Unix wraps
// for until past 9223371974719179008, and Sub saturates at 292 years,
// which then never exceeds a maximum that long.
func expiresWithin(until int64, now time.Time, max time.Duration) bool {
	// now + max = now.Unix() + sec + ns/1e9, with ns in (-1e9, 2e9):
	// its floor, the last whole second within, is one of three.
	sec := int64(max / time.Second)
	ns := int64(max%time.Second) + int64(now.Nanosecond())
	var carry int64
	switch {
	case ns < 0:
		carry = -1
	case ns >= int64(time.Second):
		carry = 1
	}
	return until <= addSaturating(addSaturating(now.Unix(), sec), carry)
}

func addSaturating(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}
