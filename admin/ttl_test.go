package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestTTL(t *testing.T) {
	for _, tc := range []struct {
		name, ttl string
		parse     func(string) (time.Duration, error)
		limit     time.Duration
		want      time.Duration
		status    int
	}{
		{"default", "", nil, 720 * time.Hour, time.Hour, 0},
		{"default capped", "", nil, 30 * time.Minute, 30 * time.Minute, 0},
		{"go duration", "90m", nil, 720 * time.Hour, 90 * time.Minute, 0},
		{"caddy days", "2d", caddy.ParseDuration, 720 * time.Hour, 48 * time.Hour, 0},
		{"days without caddy's parser", "2d", nil, 720 * time.Hour, 0, http.StatusBadRequest},
		{"at the limit", "720h", nil, 720 * time.Hour, 720 * time.Hour, 0},
		{"over the limit", "721h", nil, 720 * time.Hour, 0, http.StatusBadRequest},
		{"zero", "0s", nil, time.Hour, 0, http.StatusBadRequest},
		{"negative", "-1h", nil, time.Hour, 0, http.StatusBadRequest},
		{"garbage", "soon", caddy.ParseDuration, time.Hour, 0, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTTL(tc.parse, tc.ttl, tc.limit)
			if s := statusOf(t, err); s != tc.status || got != tc.want {
				t.Fatalf("got %s, status %d; want %s, %d (%v)", got, s, tc.want, tc.status, err)
			}
		})
	}
}
