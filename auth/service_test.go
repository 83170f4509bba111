package auth_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

var ctx = context.Background()

func openStore(t testing.TB) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "tg.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, _ := bcrypt.GenerateFromPassword([]byte("secret-password"), bcrypt.MinCost)
	for _, id := range []string{"alice", "bob"} {
		if err := st.PutUser(ctx, store.User{ID: id, PasswordHash: string(hash), Email: id + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

var minCostHash, _ = bcrypt.GenerateFromPassword([]byte("dummy"), bcrypt.MinCost)

func newService(t testing.TB, st store.Store, key tokens.ServerKey) *auth.Service {
	t.Helper()
	s, err := auth.New(st, key, auth.WithDummyPasswordHash(string(minCostHash)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func hour() []tokens.Caveat {
	return []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}}
}

func issue(t testing.TB, s *auth.Service, user string) string {
	t.Helper()
	tok, err := s.IssueTemporary(ctx, user, tokens.Access, hour())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func authenticate(s *auth.Service, tok string) error {
	_, err := s.Authenticate(ctx, tok, tokens.Request{Interface: "rest"})
	return err
}

// pausingStore holds a Subject read, after it has read the store, until
// released: the request that read the old generation just before a revoke
// and caches it just after.
type pausingStore struct {
	store.Store
	armed   atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (p *pausingStore) Subject(ctx context.Context, id string) (store.Subject, error) {
	sub, err := p.Store.Subject(ctx, id)
	if p.armed.CompareAndSwap(true, false) {
		close(p.read)
		<-p.release
	}
	return sub, err
}

func TestRevokeBeatsInFlightStaleRead(t *testing.T) {
	key := tokens.NewServerKey()
	bolt := openStore(t)
	st := &pausingStore{Store: bolt, read: make(chan struct{}), release: make(chan struct{})}
	issuer := newService(t, bolt, key)
	tok := issue(t, issuer, "alice")

	gate := newService(t, st, key) // cold: its first lookup reads the store
	st.armed.Store(true)
	inflight := make(chan error, 1)
	go func() { inflight <- authenticate(gate, tok) }()
	<-st.read // the in-flight request now holds generation 1

	if _, err := gate.RevokeTemporary(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	close(st.release)
	// It began before the revoke answered, so either outcome is allowed;
	// what it must not do is poison the cache for later requests.
	<-inflight
	gate.Wait()
	for i := range 3 {
		if err := authenticate(gate, tok); !errors.Is(err, tokens.ErrRevoked) {
			t.Fatalf("request %d after revoke: got %v, want ErrRevoked", i, err)
		}
		gate.Wait()
	}
}

// TestRevocationIsAbsoluteUnderLoad hammers the gate with tokens while
// revoking, and counts acceptances of a token by a request that started
// after its revocation answered.
func TestRevocationIsAbsoluteUnderLoad(t *testing.T) {
	key := tokens.NewServerKey()
	bolt := openStore(t)
	gate := newService(t, bolt, key)
	other := newService(t, bolt, key) // a second config sharing the store, as during a reload

	const rounds, workers, after = 30, 8, 300
	var stale atomic.Int64
	for round := range rounds {
		tok := issue(t, gate, "alice")
		bobTok := issue(t, gate, "bob")
		var revoked atomic.Bool
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := gate
				if w%2 == 1 {
					s = other
				}
				for n := 0; n < after; {
					done := revoked.Load()
					err := authenticate(s, tok)
					if done {
						n++
						if err == nil {
							stale.Add(1)
						}
					}
					if w == 0 && authenticate(s, bobTok) != nil {
						t.Errorf("round %d: bob's token refused by alice's revocation", round)
						return
					}
				}
			}()
		}
		if _, err := gate.RevokeTemporary(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		wg.Wait()
	}
	if n := stale.Load(); n != 0 {
		t.Fatalf("%d stale acceptances after revocation answered", n)
	}
}

type failingStore struct{ store.Store }

func (failingStore) Subject(context.Context, string) (store.Subject, error) {
	return store.Subject{}, store.ErrUnavailable
}

func TestFailClosed(t *testing.T) {
	key := tokens.NewServerKey()
	bolt := openStore(t)
	tok := issue(t, newService(t, bolt, key), "alice")
	down := newService(t, failingStore{bolt}, key)
	if err := authenticate(down, tok); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("store down, nothing cached: got %v, want ErrUnavailable", err)
	}
	if _, err := down.Login(ctx, testClient, "alice", "secret-password"); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("password with store down: got %v, want ErrUnavailable", err)
	}
}

func TestAuthenticate(t *testing.T) {
	key := tokens.NewServerKey()
	bolt := openStore(t)
	s := newService(t, bolt, key)
	identity, err := s.IssueTemporary(ctx, "alice", tokens.Identity, hour())
	if err != nil {
		t.Fatal(err)
	}
	foreign := issue(t, newService(t, openStore(t), tokens.NewServerKey()), "alice")
	ipOnly, err := s.IssueTemporary(ctx, "alice", tokens.Access, append(hour(),
		tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Minute).Unix()}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  string
		want error
	}{
		{"valid", issue(t, s, "alice"), nil},
		{"valid twice (cached)", issue(t, s, "bob"), nil},
		{"identity token", identity, tokens.ErrNotAccessToken},
		{"other server key", foreign, tokens.ErrInvalid},
		{"garbage", "this-is-a-bad-token-that-cannot-be-decoded", tokens.ErrMalformed},
		{"two time caveats", ipOnly, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // cold, then from the cache
				if err := authenticate(s, tc.tok); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				s.Wait()
			}
		})
	}
}

func TestUserChangesInvalidate(t *testing.T) {
	key := tokens.NewServerKey()
	bolt := openStore(t)
	s := newService(t, bolt, key)
	tok := issue(t, s, "alice")
	if err := authenticate(s, tok); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	u, _ := bolt.User(ctx, "alice")
	u.Role = "Admin"
	if err := bolt.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.Authenticate(ctx, tok, tokens.Request{})
	if err != nil || got.Identity.Role != "Admin" {
		t.Fatalf("after role change: %v, %+v", err, got)
	}
	if err := bolt.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(s, tok); !errors.Is(err, tokens.ErrSubjectGone) || errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("after delete: got %v, want only ErrSubjectGone", err)
	}
}

func TestIssueTemporaryLimits(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	now := time.Now()
	for _, tc := range []struct {
		name    string
		caveats []tokens.Caveat
		want    error
	}{
		{"none", nil, tokens.ErrTimeCaveatRequired},
		{"ip only", []tokens.Caveat{{Type: tokens.CaveatIP, Whitelist: []string{"1.2.3.4"}}}, tokens.ErrTimeCaveatRequired},
		{"beyond max ttl", []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: now.Add(31 * 24 * time.Hour).Unix()}}, tokens.ErrTimeCaveatRequired},
		{"within max ttl", []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: now.Add(29 * 24 * time.Hour).Unix()}}, nil},
		{"in the past (Onezone allows; unusable)", []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: now.Add(-time.Hour).Unix()}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.IssueTemporary(ctx, "alice", tokens.Access, tc.caveats); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := s.IssueTemporary(ctx, "nobody", tokens.Access, hour()); !errors.Is(err, tokens.ErrSubjectInvalid) {
		t.Fatalf("unknown user: got %v", err)
	}
}

// TestIssueTemporaryMaxTTLHolds: the maximum TTL holds for every integer
// validUntil and every maximum, however large: no time arithmetic may
// wrap (time.Unix does from 9223371974719179008 on) or saturate
// (time.Time.Sub does at 292 years) into accepting.
func TestIssueTemporaryMaxTTLHolds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	st := openStore(t)
	for _, tc := range []struct {
		name   string
		maxTTL time.Duration
		until  int64
		want   error
	}{
		// Past tokens.MaxValidUntil no time caveat is well-formed.
		{"max int64", auth.DefaultMaxTemporaryTTL, math.MaxInt64, tokens.ErrBadCaveat},
		{"where time.Unix wraps", auth.DefaultMaxTemporaryTTL, 9223371974719179008, tokens.ErrBadCaveat},
		{"year 9999", auth.DefaultMaxTemporaryTTL, 253402300799, tokens.ErrTimeCaveatRequired},
		{"max TTL plus one second", auth.DefaultMaxTemporaryTTL, now.Add(auth.DefaultMaxTemporaryTTL).Unix() + 1, tokens.ErrTimeCaveatRequired},
		{"exactly the max TTL", auth.DefaultMaxTemporaryTTL, now.Add(auth.DefaultMaxTemporaryTTL).Unix(), nil},
		{"negative", auth.DefaultMaxTemporaryTTL, -1, tokens.ErrBadCaveat},
		{"min int64", auth.DefaultMaxTemporaryTTL, math.MinInt64, tokens.ErrBadCaveat},
		// Sub saturates at the longest Duration, which then never exceeds
		// a maximum of that length.
		{"year 9999, longest max TTL", math.MaxInt64, 253402300799, tokens.ErrTimeCaveatRequired},
		{"max int64, longest max TTL", math.MaxInt64, math.MaxInt64, tokens.ErrBadCaveat},
		{"negative max TTL", -time.Hour, now.Unix(), tokens.ErrTimeCaveatRequired},
		{"within the longest max TTL", math.MaxInt64, now.Add(200 * 365 * 24 * time.Hour).Unix(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := auth.New(st, tokens.NewServerKey(), auth.WithClock(clock), auth.WithMaxTemporaryTTL(tc.maxTTL))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.IssueTemporary(ctx, "alice", tokens.Access, []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: tc.until}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPassword(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	for _, tc := range []struct {
		user, pass string
		want       error
	}{
		{"alice", "secret-password", nil},
		{"alice", "wrong", auth.ErrBadCredentials},
		{"nobody", "secret-password", auth.ErrBadCredentials},
	} {
		if _, err := s.Login(ctx, testClient, tc.user, tc.pass); !errors.Is(err, tc.want) {
			t.Errorf("%s/%s: got %v, want %v", tc.user, tc.pass, err, tc.want)
		}
	}
}

// TestAuthenticateWhileClosing authenticates from many goroutines while
// the Service closes, as requests of an old config do while a reload
// cleans it up: each answers (a cache miss reads the store), none panics.
func TestAuthenticateWhileClosing(t *testing.T) {
	st := openStore(t)
	key := tokens.NewServerKey()
	for range 10 {
		s, err := auth.New(st, key, auth.WithDummyPasswordHash(string(minCostHash)))
		if err != nil {
			t.Fatal(err)
		}
		toks := make([]string, 32)
		for i := range toks {
			toks[i] = issue(t, s, "alice")
		}
		var wg sync.WaitGroup
		var failed atomic.Int64
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					if err := authenticate(s, toks[(g+i)%len(toks)]); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		s.Close()
		wg.Wait()
		s.Close() // Cleanup may run it again
		if n := failed.Load(); n != 0 {
			t.Fatalf("%d authentications failed during or after Close", n)
		}
	}
}

// TestPasswordCanceled: a caller that has gone away gets ErrCanceled and
// costs no bcrypt check, even when a slot is free.
func TestPasswordCanceled(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for i := range 50 {
		if _, err := s.Login(gone, testClient, "alice", "secret-password"); !errors.Is(err, auth.ErrCanceled) {
			t.Fatalf("try %d: Login = %v, want ErrCanceled", i, err)
		}
		if _, err := s.HashPassword(gone, "DtUYwi&l5I1KX4@Le"); !errors.Is(err, auth.ErrCanceled) {
			t.Fatalf("try %d: HashLogin = %v, want ErrCanceled", i, err)
		}
	}
}

func TestPasswordCost(t *testing.T) {
	s, err := auth.New(openStore(t), tokens.NewServerKey(), auth.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hash, err := s.HashPassword(ctx, "DtUYwi&l5I1KX4@Le")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != bcrypt.MinCost {
		t.Errorf("cost %d (%v), want %d", cost, err, bcrypt.MinCost)
	}
}
