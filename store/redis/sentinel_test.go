package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/redis"
)

// TestSentinelAuth: through a Sentinel that requires a password, the
// store finds the primary with SentinelPassword and fails without it.
func TestSentinelAuth(t *testing.T) {
	primary := redistest.Start(t)
	s := redistest.StartSentinel(t, "m", primary.Addr, 1, redistest.FastSentinel, "requirepass sentinel-pw")
	for _, tc := range []struct {
		name     string
		password string
		ok       bool
	}{
		{"with the Sentinel's password", "sentinel-pw", true},
		{"without it", "", false},
		{"with a wrong one", "nope", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			r, err := redis.Open(ctx, redis.Config{Addrs: []string{s.Addr}, MasterName: "m",
				SentinelPassword: tc.password, KeyPrefix: "sa:"})
			if !tc.ok {
				if err == nil {
					r.Close()
					t.Fatal("opened")
				}
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("error %v, want ErrUnavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.PutUser(ctx, store.User{ID: "alice"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
