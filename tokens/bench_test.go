package tokens_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokengate/tokengate/tokens"
)

// benchToken returns a realistic temporary token (one time caveat) and
// the key it is signed with.
func benchToken(b *testing.B) (raw string, key []byte) {
	b.Helper()
	key = tokens.NewServerKey().SigningKey(tokens.Temporary, "u-3f9c2a7e5d1b4c8a9e0f6a2b7c4d1e8f", tokens.NewSecret())
	raw = mint(b, &tokens.Claims{
		Subject:    "u-3f9c2a7e5d1b4c8a9e0f6a2b7c4d1e8f",
		Kind:       tokens.Temporary,
		Type:       tokens.Access,
		Generation: 7,
		IssuedAt:   1700000000,
		Caveats:    caveats(b, `[{"type":"time","validUntil":4102444800}]`),
	}, key)
	return raw, key
}

// BenchmarkVerify is a cold verification: decode, compile caveats, HMAC.
func BenchmarkVerify(b *testing.B) {
	raw, key := benchToken(b)
	v := tokens.NewVerifier()
	kf := func(*tokens.Claims) ([]byte, error) { return key, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(raw, kf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJWTBaseline is golang-jwt's own parse of the same token into
// MapClaims, for comparison.
func BenchmarkJWTBaseline(b *testing.B) {
	raw, key := benchToken(b)
	kf := func(*jwt.Token) (any, error) { return key, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jwt.Parse(raw, kf, jwt.WithValidMethods([]string{"HS256"})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck is the caveat check alone, as every cache hit runs it:
// a time caveat, and that with the gate's service, api, data.readonly and
// data.path caveats. BenchmarkAuthenticateHitCaveats in auth is the
// whole cache hit, whose key lookup grows with the token's length.
func BenchmarkCheck(b *testing.B) {
	r := tokens.Request{Now: time.Unix(1700000000, 0), Interface: "rest", Method: "GET", Path: "/spaces/s1/docs/readme.md", Service: "wiki"}
	for _, tc := range []struct{ name, caveats string }{
		{"time", `[{"type":"time","validUntil":4102444800}]`},
		{"time+service+api+readonly", `[{"type":"time","validUntil":4102444800},` +
			`{"type":"service","whitelist":["grafana-*","wiki"]},` +
			`{"type":"api","whitelist":["ci/create/deploy/*","wiki/get/spaces/*"]},{"type":"data.readonly"}]`},
		{"time+service+readonly+path", `[{"type":"time","validUntil":4102444800},` +
			`{"type":"service","whitelist":["grafana-*","wiki"]},{"type":"data.readonly"},` +
			`{"type":"data.path","whitelist":["L3NwYWNlcy9vdGhlcg==","L3NwYWNlcy9zMQ=="]}]`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cav := caveats(b, tc.caveats)
			b.ReportAllocs()
			for b.Loop() {
				if err := tokens.Check(cav, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRingVerify is BenchmarkVerify for a token that names its key,
// in a ring of three: the header is found by one map lookup.
func BenchmarkRingVerify(b *testing.B) {
	k := tokens.NewServerKey()
	r, err := tokens.NewKeyRing(k, tokens.NewServerKey(), tokens.NewServerKey())
	if err != nil {
		b.Fatal(err)
	}
	const sub = "u-3f9c2a7e5d1b4c8a9e0f6a2b7c4d1e8f"
	secret := tokens.NewSecret()
	key := k.SigningKey(tokens.Temporary, sub, secret)
	raw, err := r.Mint(&tokens.Claims{
		Subject: sub, Kind: tokens.Temporary, Type: tokens.Access, Generation: 7, IssuedAt: 1700000000,
		Caveats: caveats(b, `[{"type":"time","validUntil":4102444800}]`),
	}, key)
	if err != nil {
		b.Fatal(err)
	}
	kf := func(*tokens.Claims, tokens.ServerKey) ([]byte, error) { return key, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Verify(raw, kf); err != nil {
			b.Fatal(err)
		}
	}
}
