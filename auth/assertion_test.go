package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokengate/tokengate/assertion"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
	"github.com/tokengate/tokengate/tokens"
)

// assertionEnv is n Services (instances) over one store, sharing a clock,
// and an access token of alice's valid for a day.
type assertionEnv struct {
	st    store.Store
	svcs  []*auth.Service
	clock *clock
	raw   string
}

func newAssertionEnv(t *testing.T, n int, rotation time.Duration) *assertionEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "tg.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutUser(t.Context(), store.User{ID: "alice", Username: "alice", Name: "Alice", Email: "alice@example.com", Role: "Editor"}); err != nil {
		t.Fatal(err)
	}
	e := &assertionEnv{st: st, clock: &clock{now: time.Now()}}
	key := tokens.NewServerKey()
	for range n {
		s, err := auth.New(st, key, auth.WithClock(e.clock.Now),
			auth.WithAssertions(auth.AssertionOptions{Rotation: rotation, Issuer: "tg-test"}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		e.svcs = append(e.svcs, s)
	}
	if e.raw, err = e.svcs[0].IssueTemporary(t.Context(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: e.clock.Now().Add(24 * time.Hour).Unix()}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *assertionEnv) assertion(t *testing.T, i int, spec *auth.AssertionSpec) string {
	t.Helper()
	tok, err := e.svcs[i].Authenticate(t.Context(), e.raw, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	vals, err := e.svcs[i].Assertion(t.Context(), tok, spec)
	if err != nil || len(vals) != 1 {
		t.Fatalf("Assertion = %v, %v", vals, err)
	}
	return vals[0]
}

// verify checks raw against the JWKS instance i serves, as an upstream
// would, and returns its claims and kid.
func (e *assertionEnv) verify(t *testing.T, i int, raw string, spec *auth.AssertionSpec) (assertion.Claims, string) {
	t.Helper()
	set, _, err := e.svcs[i].AssertionJWKS(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []struct{ Kid, X string } }
	if err := json.Unmarshal(set, &jwks); err != nil {
		t.Fatal(err)
	}
	var c assertion.Claims
	tok, err := jwt.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) {
		for _, k := range jwks.Keys {
			if k.Kid == tok.Header["kid"] {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				return ed25519.PublicKey(x), err
			}
		}
		return nil, jwt.ErrTokenUnverifiable
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience(spec.Service), jwt.WithIssuer("tg-test"),
		jwt.WithTimeFunc(e.clock.Now), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("assertion does not verify against the JWKS: %v", err)
	}
	return c, tok.Header["kid"].(string)
}

func TestAssertionReusedThenRefreshed(t *testing.T) {
	e := newAssertionEnv(t, 1, time.Hour)
	spec := &auth.AssertionSpec{Service: "wiki", Algorithm: assertion.EdDSA, TTL: time.Minute}
	other := &auth.AssertionSpec{Service: "grafana", Algorithm: assertion.EdDSA, TTL: time.Minute}
	first := e.assertion(t, 0, spec)
	c, _ := e.verify(t, 0, first, spec)
	if c.Subject != "alice" || c.Email != "alice@example.com" || c.Name != "Alice" || c.Role != "Editor" ||
		c.ExpiresAt.Sub(c.IssuedAt.Time) != time.Minute || c.ID == "" {
		t.Fatalf("claims %+v", c)
	}
	for _, step := range []struct {
		name    string
		advance time.Duration
		spec    *auth.AssertionSpec
		same    bool
	}{
		{"again at once: reused", 0, spec, true},
		{"another route's spec: its own", 0, other, false},
		{"with more than a quarter of its life left: reused", 44 * time.Second, spec, true},
		{"with a quarter left: replaced", time.Second, spec, false},
	} {
		e.clock.Add(step.advance)
		got := e.assertion(t, 0, step.spec)
		if (got == first) != step.same {
			t.Fatalf("%s: same assertion = %v", step.name, got == first)
		}
		if cl, _ := e.verify(t, 0, got, step.spec); step.spec == other && cl.Audience[0] != "grafana" {
			t.Fatalf("%s: aud %v", step.name, cl.Audience)
		}
	}
}

// TestAssertionRotation: instances sharing the store sign with the same
// key, rotate it once between them when it is due, and publish a retired
// key for one more period.
func TestAssertionRotation(t *testing.T) {
	const period = time.Hour // lead 6m
	e := newAssertionEnv(t, 3, period)
	spec := &auth.AssertionSpec{Service: "wiki", Algorithm: assertion.EdDSA, TTL: time.Minute}
	kids := func(i int) []string {
		set, maxAge, err := e.svcs[i].AssertionJWKS(t.Context(), nil)
		if err != nil || maxAge != period/10 {
			t.Fatalf("JWKS: max age %v, %v", maxAge, err)
		}
		var jwks struct{ Keys []struct{ Kid string } }
		json.Unmarshal(set, &jwks)
		var out []string
		for _, k := range jwks.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	// All at once, from an empty ring: one key is made.
	signAll := func() []string {
		var wg sync.WaitGroup
		got := make([]string, len(e.svcs))
		for i := range e.svcs {
			wg.Go(func() {
				tok, err := e.svcs[i].Authenticate(t.Context(), e.raw, tokens.Request{})
				if err != nil {
					t.Error(err)
					return
				}
				vals, err := e.svcs[i].Assertion(t.Context(), tok, spec)
				if err != nil {
					t.Error(err)
					return
				}
				_, got[i] = e.verify(t, i, vals[0], spec)
			})
		}
		wg.Wait()
		return got
	}
	ring := func() store.AssertionKeyRing {
		r, err := e.st.AssertionKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	k1 := signAll()
	if r := ring(); r.Version != 1 || len(r.Keys) != 1 || !slices.Equal(distinct(k1), []string{r.Keys[0].ID}) {
		t.Fatalf("first signing: kids %v, ring %+v", k1, r)
	}
	first := k1[0]
	e.clock.Add(period)
	k2 := signAll()
	r := ring()
	if r.Version != 2 || len(r.Keys) != 2 || r.Keys[1].ID != first {
		t.Fatalf("due: ring version %d, %d keys; want one rotation", r.Version, len(r.Keys))
	}
	second := r.Keys[0].ID
	if !slices.Equal(distinct(k2), []string{first}) {
		t.Fatalf("in the new key's lead, signed with %v; want the old key %s", k2, first)
	}
	for i := range e.svcs {
		if got := kids(i); !slices.Equal(got, []string{second, first}) {
			t.Fatalf("instance %d publishes %v during the lead; want both", i, got)
		}
	}
	e.clock.Add(period / 10)
	if k3 := signAll(); !slices.Equal(distinct(k3), []string{second}) {
		t.Fatalf("after the lead, signed with %v; want %s", k3, second)
	}
	// The retired key stays published for one more period, then goes
	// with the next rotation.
	e.clock.Add(period - period/10)
	signAll()
	e.clock.Add(period / 10)
	if got := kids(0); !slices.Contains(got, second) || slices.Contains(got, first) || len(got) != 2 {
		t.Fatalf("a period after its retirement, JWKS %v; want %s gone", got, first)
	}
}

// TestAssertionHitAllocates: the cached path allocates nothing.
func TestAssertionHitAllocates(t *testing.T) {
	e := newAssertionEnv(t, 1, time.Hour)
	spec := &auth.AssertionSpec{Service: "wiki", Algorithm: assertion.EdDSA, TTL: time.Minute}
	tok, err := e.svcs[0].Authenticate(t.Context(), e.raw, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := e.svcs[0].Assertion(ctx, tok, spec); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { e.svcs[0].Assertion(ctx, tok, spec) }); n != 0 {
		t.Fatalf("a cached assertion costs %v allocations", n)
	}
}

// distinct returns the different values of s, in order.
func distinct(s []string) []string { return slices.Compact(slices.Clone(s)) }

// flakyKeys is a store whose key ring operations fail while down is set.
type flakyKeys struct {
	store.Store
	down  atomic.Bool
	calls atomic.Int64
}

func (f *flakyKeys) AssertionKeys(ctx context.Context) (store.AssertionKeyRing, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return store.AssertionKeyRing{}, fmt.Errorf("%w: test", store.ErrUnavailable)
	}
	return f.Store.AssertionKeys(ctx)
}

func (f *flakyKeys) SwapAssertionKeys(ctx context.Context, prev uint64, keys []store.AssertionKey) (store.AssertionKeyRing, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return store.AssertionKeyRing{}, fmt.Errorf("%w: test", store.ErrUnavailable)
	}
	return f.Store.SwapAssertionKeys(ctx, prev, keys)
}

// TestAssertionStoreDown: with the store down, a process without keys
// cannot sign (the gate fails closed); one with a key goes on signing
// with it, overdue, asking the store again at most once a second, and
// rotates once the store is back. Its JWKS stays served meanwhile.
func TestAssertionStoreDown(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "tg.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutUser(t.Context(), store.User{ID: "alice", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	f := &flakyKeys{Store: st}
	clk := &clock{now: time.Now()}
	s, err := auth.New(f, tokens.NewServerKey(), auth.WithClock(clk.Now), auth.WithAssertions(auth.AssertionOptions{Rotation: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	raw, err := s.IssueTemporary(t.Context(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: clk.Now().Add(24 * time.Hour).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	spec := &auth.AssertionSpec{Service: "wiki", Algorithm: assertion.EdDSA, TTL: time.Minute}
	mint := func() error {
		_, vals, err := s.AuthenticateFor(t.Context(), raw, tokens.Request{}, spec)
		if err == nil && len(vals) != 1 {
			t.Fatalf("AuthenticateFor gave %v", vals)
		}
		return err
	}
	f.down.Store(true)
	if err := mint(); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("no key and the store down: %v; want ErrUnavailable", err)
	}
	if _, _, err := s.AssertionJWKS(t.Context(), nil); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("JWKS with no key and the store down: %v; want ErrUnavailable", err)
	}
	f.down.Store(false)
	if err := mint(); err != nil {
		t.Fatal(err)
	}
	ring, _ := st.AssertionKeys(t.Context())
	f.down.Store(true)
	clk.Add(time.Hour) // due
	before := f.calls.Load()
	for range 5 {
		clk.Add(time.Minute) // each mint is a fresh assertion
		if err := mint(); err != nil {
			t.Fatalf("store down with a key at hand: %v", err)
		}
	}
	if n := f.calls.Load() - before; n != 5 {
		// One failed read per mint a minute apart: more would mean each
		// mint retried, fewer that none tried.
		t.Fatalf("%d store calls for 5 mints a minute apart; want 5", n)
	}
	if _, _, err := s.AssertionJWKS(t.Context(), nil); err != nil {
		t.Fatalf("JWKS with the store down and a key at hand: %v", err)
	}
	f.down.Store(false)
	clk.Add(time.Minute)
	if err := mint(); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.AssertionKeys(t.Context()); after.Version != ring.Version+1 {
		t.Fatalf("store back: ring version %d, want %d (rotated)", after.Version, ring.Version+1)
	}
}
