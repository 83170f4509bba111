package tokens_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokengate/tokengate/tokens"
)

// A fixed far-future instant (2100-01-01) for time caveats that hold.
const farFuture = 4102444800

// sign signs any claims with any method, bypassing Mint, to build tokens
// Mint would never produce.
func sign(t testing.TB, m jwt.SigningMethod, claims jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mint mints c with key and returns the token.
func mint(t testing.TB, c *tokens.Claims, key []byte) string {
	t.Helper()
	raw, err := tokens.Mint(c, key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// withPayload replaces the payload segment of a signed token.
func withPayload(raw, payload string) string {
	p := strings.Split(raw, ".")
	return p[0] + "." + b64(payload) + "." + p[2]
}

// editPayload replaces old with new in the payload of a signed token,
// keeping the signature.
func editPayload(t testing.TB, raw, old, new string) string {
	t.Helper()
	p := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(p[1])
	if err != nil || !strings.Contains(string(b), old) {
		t.Fatalf("payload %s (%v) has no %s", b, err, old)
	}
	return withPayload(raw, strings.Replace(string(b), old, new, 1))
}

// withHeader replaces the header segment of a signed token.
func withHeader(raw, header string) string {
	p := strings.Split(raw, ".")
	return b64(header) + "." + p[1] + "." + p[2]
}

// resign gives a token a new header and signs it again with key, as
// someone holding the key could.
func resign(raw, header string, key []byte) string {
	p := strings.Split(withHeader(raw, header), ".")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(p[0] + "." + p[1]))
	return p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// genKey is the KeyFunc the auth service builds: compare generations
// first (Onezone's order), then hand out the subject's key.
func genKey(current uint64, key []byte) tokens.KeyFunc {
	return func(c *tokens.Claims) ([]byte, error) {
		if err := tokens.CheckGeneration(c.Generation, current); err != nil {
			return nil, err
		}
		return key, nil
	}
}

func TestVerify(t *testing.T) {
	sk := tokens.NewServerKey()
	secret := tokens.NewSecret()
	key := sk.SigningKey(tokens.Temporary, "alice", secret)
	wrongKey := sk.SigningKey(tokens.Temporary, "alice", tokens.NewSecret())
	errStore := errors.New("store down")

	claims := func(gen uint64, cav string) *tokens.Claims {
		return &tokens.Claims{
			Subject:    "alice",
			Kind:       tokens.Temporary,
			Type:       tokens.Access,
			Generation: gen,
			IssuedAt:   1700000000,
			Caveats:    caveats(t, cav),
		}
	}
	goodCav := `[{"type":"time","validUntil":4102444800},{"type":"ip","whitelist":["10.0.0.0/8"]}]`
	good := claims(2, goodCav)
	goodRaw := mint(t, good, key)
	expired := claims(2, `[{"type":"time","validUntil":1000}]`)
	expiredRaw := mint(t, expired, key)
	identity := claims(2, `[]`)
	identity.Type, identity.Caveats = tokens.Identity, nil // an empty list is omitted
	identityRaw := mint(t, identity, key)

	// Payloads signed with the right key but not well formed.
	mapToken := func(edit func(jwt.MapClaims)) string {
		m := jwt.MapClaims{"sub": "alice", "knd": "tmp", "typ": "act", "gen": 2, "jti": "id-1", "iat": 1700000000}
		edit(m)
		return sign(t, jwt.SigningMethodHS256, m, key)
	}

	for _, tc := range []struct {
		name string
		raw  string
		key  tokens.KeyFunc
		// want is nil for success, else the sentinel the error must match
		// (and be the only one of ErrMalformed, ErrInvalid and ErrRevoked
		// it matches); a non-sentinel want must be returned as is.
		want      error
		wantClaim *tokens.Claims
		// keyCalls is how often the KeyFunc may be called.
		keyCalls int
	}{
		{name: "valid", raw: goodRaw, key: genKey(2, key), wantClaim: good, keyCalls: 1},
		{name: "expired caveat is Check's business", raw: expiredRaw, key: genKey(2, key), wantClaim: expired, keyCalls: 1},
		{name: "identity token", raw: identityRaw, key: genKey(2, key), wantClaim: identity, keyCalls: 1},

		{name: "older generation", raw: mint(t, claims(1, goodCav), key), key: genKey(2, key), want: tokens.ErrRevoked, keyCalls: 1},
		{name: "generation zero", raw: mint(t, claims(0, goodCav), key), key: genKey(2, key), want: tokens.ErrRevoked, keyCalls: 1},
		{name: "newer generation", raw: mint(t, claims(3, goodCav), key), key: genKey(2, key), want: tokens.ErrInvalid, keyCalls: 1},
		{name: "wrong key", raw: mint(t, claims(2, goodCav), wrongKey), key: genKey(2, key), want: tokens.ErrInvalid, keyCalls: 1},
		{name: "generation raised by hand", raw: editPayload(t, mint(t, claims(1, goodCav), key), `"gen":1,`, `"gen":2,`), key: genKey(2, key), want: tokens.ErrInvalid, keyCalls: 1},
		{name: "caveat removed by hand", raw: editPayload(t, goodRaw, `{"type":"ip","whitelist":["10.0.0.0/8"]}`, `{"type":"interface","interface":"rest"}`), key: genKey(2, key), want: tokens.ErrInvalid, keyCalls: 1},
		{name: "empty signature", raw: strings.Join(strings.Split(goodRaw, ".")[:2], ".") + ".", key: genKey(2, key), want: tokens.ErrInvalid, keyCalls: 1},

		{name: "HS256 header spelled otherwise", raw: resign(goodRaw, `{"typ":"JWT", "alg":"HS256"}`, key), key: genKey(2, key), wantClaim: good, keyCalls: 1},
		{name: "signature with non-canonical trailing bits", raw: goodRaw[:len(goodRaw)-1] + string(goodRaw[len(goodRaw)-1]+1), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "alg none", raw: sign(t, jwt.SigningMethodNone, claims(2, goodCav), jwt.UnsafeAllowNoneSignatureType), key: genKey(2, key), want: tokens.ErrInvalid},
		{name: "alg none, signature kept", raw: withHeader(goodRaw, `{"alg":"none","typ":"JWT"}`), key: genKey(2, key), want: tokens.ErrInvalid},
		{name: "HS384 with the right key", raw: sign(t, jwt.SigningMethodHS384, claims(2, goodCav), key), key: genKey(2, key), want: tokens.ErrInvalid},
		{name: "HS512 with the right key", raw: sign(t, jwt.SigningMethodHS512, claims(2, goodCav), key), key: genKey(2, key), want: tokens.ErrInvalid},
		{name: "unknown alg", raw: withHeader(goodRaw, `{"alg":"XX","typ":"JWT"}`), key: genKey(2, key), want: tokens.ErrInvalid},
		{name: "no alg", raw: withHeader(goodRaw, `{"typ":"JWT"}`), key: genKey(2, key), want: tokens.ErrInvalid},

		{name: "x.y.z", raw: "x.y.z", key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "one segment", raw: "abc", key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "empty", raw: "", key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "four segments", raw: goodRaw + ".x", key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "header not JSON", raw: withHeader(goodRaw, `alg=HS256`), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "payload not JSON", raw: withPayload(goodRaw, `not json`), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "signature not base64", raw: strings.Join(strings.Split(goodRaw, ".")[:2], ".") + ".!!!", key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "claim of the wrong type", raw: mapToken(func(m jwt.MapClaims) { m["gen"] = "two" }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "no sub", raw: mapToken(func(m jwt.MapClaims) { delete(m, "sub") }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "no jti", raw: mapToken(func(m jwt.MapClaims) { delete(m, "jti") }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "no knd", raw: mapToken(func(m jwt.MapClaims) { delete(m, "knd") }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "no typ", raw: mapToken(func(m jwt.MapClaims) { delete(m, "typ") }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "unknown typ", raw: mapToken(func(m jwt.MapClaims) { m["typ"] = "inv" }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "bad ip caveat", raw: mapToken(func(m jwt.MapClaims) {
			m["cav"] = []any{map[string]any{"type": "ip", "whitelist": []string{"1.2.3.4.5"}}}
		}), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "time caveat without time", raw: mapToken(func(m jwt.MapClaims) { m["cav"] = []any{map[string]any{"type": "time"}} }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "unknown caveat type", raw: mapToken(func(m jwt.MapClaims) { m["cav"] = []any{map[string]any{"type": "service"}} }), key: genKey(2, key), want: tokens.ErrMalformed},
		{name: "caveats not a list", raw: mapToken(func(m jwt.MapClaims) { m["cav"] = "time" }), key: genKey(2, key), want: tokens.ErrMalformed},

		{name: "KeyFunc error returned as is", raw: goodRaw, key: func(*tokens.Claims) ([]byte, error) { return nil, errStore }, want: errStore, keyCalls: 1},
		{name: "KeyFunc ErrSubjectInvalid", raw: goodRaw, key: func(*tokens.Claims) ([]byte, error) { return nil, tokens.ErrSubjectInvalid }, want: tokens.ErrSubjectInvalid, keyCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			got, err := tokens.NewVerifier().Verify(tc.raw, func(c *tokens.Claims) ([]byte, error) {
				calls++
				if c.Subject != "alice" {
					t.Errorf("KeyFunc got subject %q", c.Subject)
				}
				return tc.key(c)
			})
			if calls != tc.keyCalls {
				t.Errorf("KeyFunc called %d times, want %d", calls, tc.keyCalls)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if !reflect.DeepEqual(got, tc.wantClaim) {
					t.Fatalf("claims = %+v\nwant     %+v", got, tc.wantClaim)
				}
				return
			}
			if got != nil {
				t.Errorf("claims %+v returned with an error", got)
			}
			switch tc.want {
			case tokens.ErrMalformed, tokens.ErrInvalid, tokens.ErrRevoked:
				for _, s := range []error{tokens.ErrMalformed, tokens.ErrInvalid, tokens.ErrRevoked} {
					if errors.Is(err, s) != (s == tc.want) {
						t.Fatalf("err = %v, want %v", err, tc.want)
					}
				}
			default:
				if err != tc.want {
					t.Fatalf("err = %#v, want %#v itself", err, tc.want)
				}
			}
		})
	}
}

// TestVerifiedCaveatsAreCompiled: Verify returns caveats Check can use
// (an uncompiled ip caveat matches nothing).
func TestVerifiedCaveatsAreCompiled(t *testing.T) {
	key := tokens.NewServerKey().SigningKey(tokens.Named, "alice", tokens.NewSecret())
	raw := mint(t, &tokens.Claims{
		Subject: "alice", Kind: tokens.Named, Type: tokens.Access, ID: "n1",
		Caveats: []tokens.Caveat{{Type: tokens.CaveatIP, Whitelist: []string{"10.0.0.0/8"}}},
	}, key)
	c, err := tokens.NewVerifier().Verify(raw, func(*tokens.Claims) ([]byte, error) { return key, nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ip   string
		ok   bool
	}{
		{"inside", "10.1.2.3", true},
		{"outside", "11.1.2.3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tokens.Check(c.Caveats, &tokens.Request{ClientIP: netip.MustParseAddr(tc.ip)})
			if (err == nil) != tc.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestMint(t *testing.T) {
	key := tokens.NewServerKey().SigningKey(tokens.Temporary, "alice", tokens.NewSecret())
	for _, tc := range []struct {
		name    string
		id      string
		exp     int64
		caveats string
		wantID  string // "": a fresh random one
		wantExp int64
	}{
		{name: "fills id and expiry", caveats: `[{"type":"interface","interface":"rest"},{"type":"time","validUntil":300},{"type":"time","validUntil":200}]`, wantExp: 200},
		{name: "no time caveat, no expiry", caveats: `[{"type":"interface","interface":"rest"}]`},
		{name: "keeps id and expiry", id: "given", exp: 99, caveats: `[{"type":"time","validUntil":300}]`, wantID: "given", wantExp: 99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 2 {
				c := &tokens.Claims{Subject: "alice", Kind: tokens.Temporary, Type: tokens.Access, Generation: 1,
					ID: tc.id, ExpiresAt: tc.exp, Caveats: caveats(t, tc.caveats)}
				got, err := tokens.NewVerifier().Verify(mint(t, c, key), genKey(1, key))
				if err != nil {
					t.Fatal(err)
				}
				if got.ExpiresAt != tc.wantExp || c.ExpiresAt != tc.wantExp {
					t.Errorf("exp = %d (claims %d), want %d", got.ExpiresAt, c.ExpiresAt, tc.wantExp)
				}
				if got.ID != c.ID {
					t.Errorf("token id %q, claims id %q", got.ID, c.ID)
				}
				switch {
				case tc.wantID != "" && got.ID != tc.wantID:
					t.Errorf("id = %q, want %q", got.ID, tc.wantID)
				case tc.wantID == "" && (len(got.ID) < 22 || seen[got.ID]):
					t.Errorf("id %q is not fresh and 128-bit", got.ID)
				}
				seen[got.ID] = true
			}
		})
	}
}

// TestMintRefusesBadCaveats: Mint signs no token that Verify would
// refuse as malformed, however its caveats were built (issue 14,
// finding 1: a validUntil past year 9999 was signed).
func TestMintRefusesBadCaveats(t *testing.T) {
	key := tokens.NewServerKey().SigningKey(tokens.Temporary, "alice", tokens.NewSecret())
	for _, tc := range []struct {
		name string
		cav  tokens.Caveat
		ok   bool
	}{
		{"year 9999", tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: tokens.MaxValidUntil}, true},
		{"after year 9999", tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: tokens.MaxValidUntil + 1}, false},
		{"max int64", tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: math.MaxInt64}, false},
		{"zero", tokens.Caveat{Type: tokens.CaveatTime}, false},
		{"negative", tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: -1}, false},
		{"bad address", tokens.Caveat{Type: tokens.CaveatIP, Whitelist: []string{"1.2.3.4.5"}}, false},
		{"unknown type", tokens.Caveat{Type: "service"}, false},
		{"address", tokens.Caveat{Type: tokens.CaveatIP, Whitelist: []string{"10.0.0.0/8"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &tokens.Claims{Subject: "alice", Kind: tokens.Temporary, Type: tokens.Access, Generation: 1, Caveats: []tokens.Caveat{tc.cav}}
			raw, err := tokens.Mint(c, key)
			if !tc.ok {
				var ce *tokens.CaveatError
				if !errors.As(err, &ce) || !errors.Is(err, tokens.ErrBadCaveat) {
					t.Fatalf("Mint = %q, %v; want a *CaveatError wrapping ErrBadCaveat", raw, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tokens.NewVerifier().Verify(raw, genKey(1, key)); err != nil {
				t.Fatalf("Verify = %v", err)
			}
		})
	}
}

// TestVerifyConcurrent: one Verifier serves many goroutines (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	key := tokens.NewServerKey().SigningKey(tokens.Temporary, "alice", tokens.NewSecret())
	raws := []string{
		mint(t, &tokens.Claims{Subject: "alice", Kind: tokens.Temporary, Type: tokens.Access, Generation: 1, Caveats: caveats(t, `[{"type":"time","validUntil":4102444800}]`)}, key),
		mint(t, &tokens.Claims{Subject: "alice", Kind: tokens.Temporary, Type: tokens.Access, Generation: 2}, key),
	}
	v := tokens.NewVerifier()
	var wg sync.WaitGroup
	errs := make(chan error, 8*100)
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				_, err := v.Verify(raws[(g+i)%2], genKey(1, key))
				if want := (g+i)%2 == 1; errors.Is(err, tokens.ErrInvalid) != want {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("unexpected result: %v", err)
	}
	// The caveat of a verified token holds before 2100 and not after.
	c, err := v.Verify(raws[0], genKey(1, key))
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Check(c.Caveats, &tokens.Request{Now: time.Unix(farFuture-1, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Check(c.Caveats, &tokens.Request{Now: time.Unix(farFuture, 0)}); !errors.Is(err, tokens.ErrCaveatUnverified) {
		t.Fatalf("Check at validUntil = %v", err)
	}
}
