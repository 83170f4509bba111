package tokens

import (
	"encoding/json"
	"reflect"
	"testing"
)

// mintedClaims are claims as Mint writes them, in every optional shape.
var mintedClaims = []Claims{
	{Subject: "alice", Kind: Temporary, Type: Access, Generation: 7, ID: "0123456789abcdef0123456789abcdef", IssuedAt: 1700000000, ExpiresAt: 1700003600,
		Caveats: []Caveat{{Type: CaveatTime, ValidUntil: 1700003600}}},
	{Subject: "bob", Kind: Named, Type: Identity, ID: "n1", IssuedAt: 1700000000},
	{Subject: "carol-c_3.x@example.com", Kind: Session, Type: Access, Generation: 1, ID: "s", IssuedAt: 0, ExpiresAt: 1,
		Caveats: []Caveat{{Type: CaveatTime, ValidUntil: 5}, {Type: CaveatTime, ValidUntil: 999999999999999999}}},
}

// TestDecodeMinted: what Mint writes takes the fast path and decodes as
// encoding/json decodes it; anything else is left to encoding/json.
func TestDecodeMinted(t *testing.T) {
	for _, c := range mintedClaims {
		b, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		var got Claims
		if !decodeMinted(b, &got) {
			t.Fatalf("%s: not taken by the fast path", b)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("%s: decoded %+v, want %+v", b, got, c)
		}
	}
	for _, s := range []string{
		``, `{}`, `null`,
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1}x`,                                         // trailing bytes
		`{"sub":"a", "knd":"tmp","typ":"act","jti":"i","iat":1}`,                                         // a space
		`{"knd":"tmp","sub":"a","typ":"act","jti":"i","iat":1}`,                                          // another order
		`{"sub":"a\u0062","knd":"tmp","typ":"act","jti":"i","iat":1}`,                                    // an escape
		`{"sub":"é","knd":"tmp","typ":"act","jti":"i","iat":1}`,                                          // not ASCII
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":01}`,                                         // leading zero
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":-1}`,                                         // sign
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1.5}`,                                        // fraction
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1234567890123456789}`,                        // 19 digits
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1,"cav":[]}`,                                 // empty caveats
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1,"cav":[{"type":"ip","whitelist":["::"]}]}`, // not a time caveat
		`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1,"sub":"b"}`,                                // a duplicate
	} {
		var c Claims
		if decodeMinted([]byte(s), &c) {
			t.Errorf("%s: taken by the fast path", s)
		}
	}
}

// FuzzDecodeMinted: wherever the fast path answers, encoding/json
// accepts the same bytes and decodes the same claims. Its seeds run with
// every go test; go test -fuzz FuzzDecodeMinted ./tokens/ explores.
func FuzzDecodeMinted(f *testing.F) {
	for _, c := range mintedClaims {
		b, _ := json.Marshal(&c)
		f.Add(b)
	}
	f.Add([]byte(`{"sub":"a","knd":"x","typ":"y","gen":0,"jti":"","iat":0,"exp":0,"cav":[{"type":"time","validUntil":0}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Claims
		if !decodeMinted(b, &fast) {
			return
		}
		var slow Claims
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("%q: the fast path took what encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", b, fast, slow)
		}
	})
}
