package caller_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/auth"
)

func TestCanceled(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"auth's", fmt.Errorf("%w: %w", auth.ErrCanceled, context.Canceled), true},
		{"auth's alone", auth.ErrCanceled, true},
		{"the context's, wrapped", fmt.Errorf("store: %w", context.Canceled), true},
		{"a deadline is an outage", fmt.Errorf("%w: %w", auth.ErrUnavailable, context.DeadlineExceeded), false},
		{"unavailable", auth.ErrUnavailable, false},
		{"bad credentials", auth.ErrBadCredentials, false},
		{"none", nil, false},
		{"another", errors.New("x"), false},
	} {
		if got := caller.Canceled(tc.err); got != tc.want {
			t.Errorf("%s: Canceled(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
