package auth

import (
	"context"
	"errors"
	"math"
	"math/big"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

// FuzzTemporaryCaveats: any caveats JSON and any maximum TTL either are
// refused (with a creation error, never an outage) or give a token that
// verifies and whose expiry is at most now plus the maximum TTL, counted
// exactly; and a time caveat within the maximum is not refused. Issue
// 14, finding 1: time.Unix wrapped validUntil 9223372036854775807 into
// the past, and the token never expired.
func FuzzTemporaryCaveats(f *testing.F) {
	day := int64(24 * time.Hour)
	for _, seed := range []struct {
		caveats string
		maxTTL  int64
	}{
		{`[{"type":"time","validUntil":9223372036854775807}]`, 30 * day},
		{`[{"type":"time","validUntil":9223371974719179008}]`, 30 * day},
		{`[{"type":"time","validUntil":253402300799}]`, math.MaxInt64},
		{`[{"type":"time","validUntil":1802592000}]`, 30 * day},
		{`[{"type":"time","validUntil":1802592001}]`, 30 * day},
		{`[{"type":"time","validUntil":1799999999}]`, -int64(time.Hour)},
		{`[{"type":"time","validUntil":-1}]`, 30 * day},
		{`[{"type":"time","validUntil":1e30}]`, 30 * day},
		{`[{"type":"time","validUntil":1800003600},{"type":"time","validUntil":9223372036854775807}]`, 30 * day},
		{`[{"type":"ip","whitelist":["10.0.0.0/8"]},{"type":"time","validUntil":1800000002}]`, 1500 * int64(time.Millisecond)},
		{`[{"type":"time","validUntil":1800000000}]`, -700 * int64(time.Millisecond)},
		{`[{"type":"time","validUntil":1799999999}]`, -700 * int64(time.Millisecond)},
		{`[{"type":"time","validUntil":1}]`, math.MinInt64},
		{`[{"type":"interface","interface":"rest"}]`, 30 * day},
		{`[]`, 30 * day},
		{`{}`, 30 * day},
		{`null`, 0},
	} {
		f.Add([]byte(seed.caveats), seed.maxTTL)
	}
	// Half a second past a whole one, so that rounding of now counts.
	now := time.Unix(1_800_000_000, 500_000_000)
	st, err := bolt.Open(filepath.Join(f.TempDir(), "tg.db"), time.Second)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.PutUser(ctx, store.User{ID: "alice"}); err != nil {
		f.Fatal(err)
	}
	s, err := New(st, tokens.NewServerKey(), WithClock(func() time.Time { return now }))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	f.Fuzz(func(t *testing.T, raw []byte, maxTTL int64) {
		caveats, err := tokens.ParseCaveats(raw)
		if err != nil {
			return
		}
		// The fuzz function runs one input at a time per process.
		s.maxTempTTL = time.Duration(maxTTL)
		tok, err := s.IssueTemporary(ctx, "alice", tokens.Access, caveats)
		until := tokens.ValidUntil(caveats)
		// The bound, exactly, in nanoseconds: now + maxTTL.
		limit := new(big.Int).Add(big.NewInt(now.UnixNano()), big.NewInt(maxTTL))
		untilNS := new(big.Int).Mul(big.NewInt(until), big.NewInt(int64(time.Second)))
		if err != nil {
			if !errors.Is(err, tokens.ErrTimeCaveatRequired) {
				t.Fatalf("%s, max %d: refused with %v", raw, maxTTL, err)
			}
			if until > 0 && untilNS.Cmp(limit) <= 0 {
				t.Fatalf("%s, max %d: refused a caveat within the maximum TTL", raw, maxTTL)
			}
			return
		}
		tk, err := s.verify(ctx, tok, now, netip.MustParseAddr("192.0.2.1"))
		if err != nil {
			t.Fatalf("%s, max %d: the issued token does not verify: %v", raw, maxTTL, err)
		}
		if tk.ValidUntil != until || until <= 0 || untilNS.Cmp(limit) > 0 {
			t.Fatalf("%s, max %d: token expires at %d (asked %d), past now %v plus the maximum", raw, maxTTL, tk.ValidUntil, until, now)
		}
	})
}
