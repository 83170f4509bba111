package assertion_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokengate/tokengate/assertion"
	"github.com/tokengate/tokengate/store"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func key(id, alg string, created time.Time) store.AssertionKey {
	return store.AssertionKey{ID: id, Algorithm: alg, CreatedAt: created}
}

func ids(keys []store.AssertionKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func TestPrune(t *testing.T) {
	const p = time.Hour
	sch := assertion.Schedule{Period: p} // lead 6m
	ring := []store.AssertionKey{        // newest first
		key("e3", assertion.EdDSA, t0.Add(2*p)),
		key("s1", assertion.ES256, t0.Add(90*time.Minute)),
		key("e2", assertion.EdDSA, t0.Add(p)),
		key("e1", assertion.EdDSA, t0),
	}
	for _, c := range []struct {
		name string
		now  time.Time
		want []string
	}{
		{"e1 retired at t0+1h6m, in its last period", t0.Add(2*p + 5*time.Minute), []string{"e3", "s1", "e2", "e1"}},
		{"e1 dropped a period after its retirement", t0.Add(2*p + 6*time.Minute), []string{"e3", "s1", "e2"}},
		{"e2 retired at t0+2h6m, dropped at t0+3h6m; the only ES256 key stays", t0.Add(3*p + 6*time.Minute), []string{"e3", "s1"}},
	} {
		if got := ids(sch.Prune(ring, c.now)); !slices.Equal(got, c.want) {
			t.Errorf("%s: Prune = %v, want %v", c.name, got, c.want)
		}
	}
}

func parsed(id, alg string, created time.Time) assertion.Key {
	return assertion.Key{ID: id, Algorithm: alg, CreatedAt: created}
}

func TestDueAndSigning(t *testing.T) {
	sch := assertion.Schedule{Period: time.Hour} // lead 6m
	one := []assertion.Key{parsed("e1", assertion.EdDSA, t0)}
	two := []assertion.Key{parsed("e2", assertion.EdDSA, t0.Add(time.Hour)), one[0]}
	for _, c := range []struct {
		name    string
		keys    []assertion.Key
		alg     string
		now     time.Time
		due     bool
		signing string // "": none
	}{
		{"a ring's first key signs at once", one, assertion.EdDSA, t0, false, "e1"},
		{"a period old: due", one, assertion.EdDSA, t0.Add(time.Hour), true, "e1"},
		{"no key of the algorithm", one, assertion.ES256, t0, true, ""},
		{"empty ring", nil, assertion.EdDSA, t0, true, ""},
		{"a new key is published a lead before it signs", two, assertion.EdDSA, t0.Add(65 * time.Minute), false, "e1"},
		{"then it signs", two, assertion.EdDSA, t0.Add(66 * time.Minute), false, "e2"},
	} {
		if got := sch.Due(c.keys, c.alg, c.now); got != c.due {
			t.Errorf("%s: Due = %v, want %v", c.name, got, c.due)
		}
		k, ok := sch.Signing(c.keys, c.alg, c.now)
		if ok != (c.signing != "") || k.ID != c.signing {
			t.Errorf("%s: Signing = %q, %v; want %q", c.name, k.ID, ok, c.signing)
		}
	}
}

// TestSignVerify signs with each algorithm, reads the key back from the
// JWKS as a verifier would (from its x and y alone), and verifies.
func TestSignVerify(t *testing.T) {
	for _, alg := range []string{assertion.EdDSA, assertion.ES256} {
		t.Run(alg, func(t *testing.T) {
			stored, err := assertion.NewKey(alg, t0)
			if err != nil {
				t.Fatal(err)
			}
			rotated, err := assertion.Schedule{Period: time.Hour}.Rotate([]store.AssertionKey{stored}, alg, t0.Add(time.Hour))
			if err != nil || len(rotated) != 2 || rotated[1].ID != stored.ID || rotated[0].ID == stored.ID {
				t.Fatalf("Rotate = %v, %v; want a new key before the old", ids(rotated), err)
			}
			k, err := assertion.Parse(stored)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			sub := assertion.Subject{ID: "u1", Email: "a@example.com", Name: "Ann", Role: "admin"}
			raw, err := assertion.Sign(k, "tokengate", "wiki", sub, now, now.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			set, err := assertion.JWKS([]assertion.Key{k})
			if err != nil {
				t.Fatal(err)
			}
			pub := publicFromJWKS(t, set, k.ID)
			var c assertion.Claims
			tok, err := jwt.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) { return pub, nil },
				jwt.WithValidMethods([]string{alg}), jwt.WithAudience("wiki"), jwt.WithIssuer("tokengate"),
				jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			if err != nil || !tok.Valid {
				t.Fatalf("verify: %v", err)
			}
			if c.Subject != "u1" || c.Email != sub.Email || c.Name != sub.Name || c.Role != sub.Role || c.ID == "" ||
				tok.Header["kid"] != k.ID {
				t.Fatalf("claims %+v, header %v", c, tok.Header)
			}
		})
	}
}

func publicFromJWKS(t *testing.T, set []byte, kid string) any {
	t.Helper()
	var jwks struct {
		Keys []struct{ Kty, Crv, X, Y, Kid, Alg, Use string }
	}
	if err := json.Unmarshal(set, &jwks); err != nil || len(jwks.Keys) != 1 || jwks.Keys[0].Kid != kid || jwks.Keys[0].Use != "sig" {
		t.Fatalf("JWKS %s: %v", set, err)
	}
	j := jwks.Keys[0]
	x, _ := base64.RawURLEncoding.DecodeString(j.X)
	switch j.Kty + "/" + j.Crv {
	case "OKP/Ed25519":
		return ed25519.PublicKey(x)
	case "EC/P-256":
		y, _ := base64.RawURLEncoding.DecodeString(j.Y)
		// The uncompressed point: 0x04, X, Y.
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			t.Fatalf("JWK point: %v", err)
		}
		return pub
	}
	t.Fatalf("JWK kind %s/%s", j.Kty, j.Crv)
	return nil
}

func TestParseRefusesMismatch(t *testing.T) {
	k, err := assertion.NewKey(assertion.EdDSA, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*store.AssertionKey)
	}{
		{"algorithm of another kind", func(k *store.AssertionKey) { k.Algorithm = assertion.ES256 }},
		{"unknown algorithm", func(k *store.AssertionKey) { k.Algorithm = "HS256" }},
		{"bad DER", func(k *store.AssertionKey) { k.Private = []byte("junk") }},
	} {
		bad := k
		c.edit(&bad)
		if _, err := assertion.Parse(bad); err == nil {
			t.Errorf("%s: Parse accepted it", c.name)
		}
	}
}
