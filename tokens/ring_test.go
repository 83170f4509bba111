package tokens_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/tokens"
)

// ringClaims are the claims of a temporary token of user u.
func ringClaims() *tokens.Claims {
	return &tokens.Claims{Subject: "u", Kind: tokens.Temporary, Type: tokens.Access, Generation: 1, IssuedAt: 1700000000,
		Caveats: []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: farFuture}}}
}

// ringSecret is user u's temp secret in these tests.
var ringSecret = []byte("0123456789abcdef0123456789abcdef")

// subjectKey is the RingKeyFunc auth builds: the subject's signing key
// under the token's server key, once its tag checks.
func subjectKey(c *tokens.Claims, k tokens.ServerKey) ([]byte, error) {
	if c.Tag != "" && !k.CheckTag(c) {
		return nil, tokens.ErrInvalid
	}
	return k.SigningKey(c.Kind, c.Subject, ringSecret), nil
}

func mustRing(t testing.TB, keys ...tokens.ServerKey) *tokens.KeyRing {
	t.Helper()
	r, err := tokens.NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ringMint mints ringClaims with r's newest key.
func ringMint(t testing.TB, r *tokens.KeyRing) string {
	t.Helper()
	_, k := r.Newest()
	raw, err := r.Mint(ringClaims(), k.SigningKey(tokens.Temporary, "u", ringSecret))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestKeyRing(t *testing.T) {
	a, b, c := tokens.NewServerKey(), tokens.NewServerKey(), tokens.NewServerKey()
	onlyA, ba, onlyB := mustRing(t, a), mustRing(t, b, a), mustRing(t, b)

	ofA, ofB := ringMint(t, onlyA), ringMint(t, ba)
	legacy, err := a.Mint(ringClaims(), a.SigningKey(tokens.Temporary, "u", ringSecret))
	if err != nil {
		t.Fatal(err)
	}
	untagged := mint(t, ringClaims(), a.SigningKey(tokens.Temporary, "u", ringSecret))
	// B's token relabelled as A's: the header is A's, the tag B's.
	relabelled := strings.Replace(ofB, strings.Split(ofB, ".")[0], strings.Split(ofA, ".")[0], 1)

	for _, tc := range []struct {
		name    string
		ring    *tokens.KeyRing
		raw     string
		wantKid string // "" with wantErr nil: a token that names no key
		wantErr error
	}{
		{"new token names the newest key", ba, ofB, b.KeyID(), nil},
		{"older key's token verifies", ba, ofA, a.KeyID(), nil},
		{"older key removed", onlyB, ofA, "", tokens.ErrUnknownKey},
		{"token of a key never in the ring", mustRing(t, c), ofB, "", tokens.ErrInvalid},
		{"legacy tagged token, its key in the ring", ba, legacy, "", nil},
		{"legacy tagged token, its key removed", onlyB, legacy, "", tokens.ErrInvalid},
		{"legacy untagged token, oldest key", ba, untagged, "", nil},
		{"legacy untagged token, key removed", onlyB, untagged, "", tokens.ErrInvalid},
		{"relabelled to another key", ba, relabelled, "", tokens.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ring.Verify(tc.raw, subjectKey)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.KeyID != tc.wantKid {
				t.Errorf("kid = %q, want %q", got.KeyID, tc.wantKid)
			}
		})
	}
}

func TestKeyRingNewestAndIDs(t *testing.T) {
	a, b := tokens.NewServerKey(), tokens.NewServerKey()
	r := mustRing(t, b, a, b)
	if kid, k := r.Newest(); kid != b.KeyID() || k.Encode() != b.Encode() {
		t.Errorf("Newest = %s, want b's key %s", kid, b.KeyID())
	}
	if got, want := strings.Join(r.IDs(), ","), b.KeyID()+","+a.KeyID(); got != want {
		t.Errorf("IDs = %s, want %s (duplicates kept once, first place)", got, want)
	}
	if k, ok := r.ByID(a.KeyID()); !ok || k.Encode() != a.Encode() {
		t.Error("ByID(a) does not find a")
	}
	if _, ok := r.ByID("nope"); ok {
		t.Error("ByID found an unknown id")
	}
	if a.KeyID() == b.KeyID() || len(a.KeyID()) != 12 {
		t.Errorf("key ids %q, %q: want distinct, 12 characters", a.KeyID(), b.KeyID())
	}
	if a2, _ := tokens.ParseServerKey(a.Encode()); a2.KeyID() != a.KeyID() {
		t.Error("the key id is not a function of the key")
	}
	if _, err := tokens.NewKeyRing(); !errors.Is(err, tokens.ErrNoKeys) {
		t.Errorf("empty ring: err = %v, want ErrNoKeys", err)
	}
}

func TestKeyRingExamine(t *testing.T) {
	a, b := tokens.NewServerKey(), tokens.NewServerKey()
	ofA := ringMint(t, mustRing(t, a))
	if c, err := mustRing(t, b, a).Examine(ofA); err != nil || c.KeyID != a.KeyID() {
		t.Errorf("Examine = %v, %v; want a's claims", c, err)
	}
	if _, err := mustRing(t, b).Examine(ofA); !errors.Is(err, tokens.ErrInvalid) {
		t.Errorf("Examine after removal: err = %v, want ErrInvalid", err)
	}
}

// A token naming its key costs no allocation more than one minted
// before key ids: its header is found by one map lookup.
func TestKeyRingVerifyAllocs(t *testing.T) {
	a := tokens.NewServerKey()
	r := mustRing(t, tokens.NewServerKey(), a)
	withKid := ringMint(t, mustRing(t, a))
	legacy, err := a.Mint(ringClaims(), a.SigningKey(tokens.Temporary, "u", ringSecret))
	if err != nil {
		t.Fatal(err)
	}
	sk := a.SigningKey(tokens.Temporary, "u", ringSecret)
	kf := func(*tokens.Claims, tokens.ServerKey) ([]byte, error) { return sk, nil }
	v := tokens.NewVerifier()
	base := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(legacy, func(*tokens.Claims) ([]byte, error) { return sk, nil }); err != nil {
			t.Fatal(err)
		}
	})
	got := testing.AllocsPerRun(100, func() {
		if _, err := r.Verify(withKid, kf); err != nil {
			t.Fatal(err)
		}
	})
	if got > base {
		t.Errorf("ring verification of a kid token: %.0f allocs, legacy verification %.0f", got, base)
	}
}
