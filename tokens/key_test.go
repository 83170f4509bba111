package tokens_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/tokens"
)

// keyBytes returns n bytes whose standard base64 form contains both '+'
// and '/' (and so whose URL-safe form contains '-' and '_'), so that the
// two alphabets really differ.
func keyBytes(n int) []byte {
	return bytes.Repeat([]byte{0xfb, 0xef, 0xff}, n/3+1)[:n]
}

func TestParseServerKey(t *testing.T) {
	k32, k48, k64 := keyBytes(32), keyBytes(48), keyBytes(64)
	std, url := base64.StdEncoding, base64.URLEncoding
	rawStd, rawURL := base64.RawStdEncoding, base64.RawURLEncoding
	if s := std.EncodeToString(k32); !strings.ContainsAny(s, "+/") || !strings.HasSuffix(s, "=") {
		t.Fatalf("fixture %q does not exercise the standard alphabet with padding", s)
	}

	for _, tc := range []struct {
		name string
		in   string
		want []byte // nil: ErrBadKey
	}{
		{"std padded", std.EncodeToString(k32), k32},
		{"std unpadded", rawStd.EncodeToString(k32), k32},
		{"url padded", url.EncodeToString(k32), k32},
		{"url unpadded", rawURL.EncodeToString(k32), k32},
		{"surrounding whitespace", " \t\n" + std.EncodeToString(k32) + "\r\n ", k32},
		{"trailing newline, url", rawURL.EncodeToString(k32) + "\n", k32},
		{"48 bytes", std.EncodeToString(k48), k48},
		{"64 bytes, url", rawURL.EncodeToString(k64), k64},

		{"empty", "", nil},
		{"whitespace only", " \n\t ", nil},
		{"31 bytes std", std.EncodeToString(keyBytes(31)), nil},
		{"31 bytes url unpadded", rawURL.EncodeToString(keyBytes(31)), nil},
		{"16 bytes", rawStd.EncodeToString(keyBytes(16)), nil},
		{"illegal characters", strings.Repeat("!", 44), nil},
		{"mixed alphabets", "+-" + rawStd.EncodeToString(k32), nil},
		{"inner space", rawStd.EncodeToString(k32)[:20] + " " + rawStd.EncodeToString(k32)[20:], nil},
		{"padding in the middle", rawStd.EncodeToString(k32)[:20] + "=" + rawStd.EncodeToString(k32)[20:], nil},
		{"impossible length", rawStd.EncodeToString(k32) + "AB", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tokens.ParseServerKey(tc.in)
			if tc.want == nil {
				if !errors.Is(err, tokens.ErrBadKey) {
					t.Fatalf("err = %v, want ErrBadKey", err)
				}
				if !k.IsZero() {
					t.Error("a refused key is not zero")
				}
				assertNoKeyMaterial(t, err.Error(), tc.in)
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got, want := k.Encode(), rawURL.EncodeToString(tc.want); got != want {
				t.Fatalf("decoded %s, want %s", got, want)
			}
		})
	}
}

// assertNoKeyMaterial fails if msg contains any 8-character run of the
// (trimmed) key text.
func assertNoKeyMaterial(t *testing.T, msg, key string) {
	t.Helper()
	key = strings.TrimSpace(key)
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(msg, key[i:i+8]) {
			t.Fatalf("error %q contains key material %q", msg, key[i:i+8])
		}
	}
}

func TestServerKeyRoundTrip(t *testing.T) {
	k := tokens.NewServerKey()
	if k.IsZero() {
		t.Fatal("NewServerKey is zero")
	}
	if tokens.NewServerKey().Encode() == k.Encode() {
		t.Fatal("two NewServerKey calls returned the same key")
	}
	if s := fmt.Sprint(k); strings.Contains(s, k.Encode()) || s != "[REDACTED]" {
		t.Fatalf("formatting the key printed %q", s)
	}
	back, err := tokens.ParseServerKey(k.Encode())
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("secret")
	if !bytes.Equal(back.SigningKey(tokens.Temporary, "alice", secret), k.SigningKey(tokens.Temporary, "alice", secret)) {
		t.Fatal("key parsed from String() derives different signing keys")
	}
	if !(tokens.ServerKey{}).IsZero() {
		t.Fatal("zero ServerKey is not IsZero")
	}
}

func TestSigningKey(t *testing.T) {
	k1, err := tokens.ParseServerKey(base64.StdEncoding.EncodeToString(keyBytes(32)))
	if err != nil {
		t.Fatal(err)
	}
	k2 := tokens.NewServerKey()
	type input struct {
		key     tokens.ServerKey
		kind    tokens.Kind
		subject string
		secret  string
	}
	base := input{k1, tokens.Temporary, "alice", "s3cret"}
	want := k1.SigningKey(base.kind, base.subject, []byte(base.secret))
	if len(want) != 32 {
		t.Fatalf("signing key is %d bytes, want 32", len(want))
	}
	if again := k1.SigningKey(base.kind, base.subject, []byte(base.secret)); !bytes.Equal(again, want) {
		t.Fatal("SigningKey is not deterministic")
	}

	for _, tc := range []struct {
		name string
		a, b input
	}{
		{"kind", base, input{k1, tokens.Named, "alice", "s3cret"}},
		{"subject", base, input{k1, tokens.Temporary, "bob", "s3cret"}},
		{"secret", base, input{k1, tokens.Temporary, "alice", "s3cres"}},
		{"server key", base, input{k2, tokens.Temporary, "alice", "s3cret"}},
		{"subject/secret boundary", input{k1, tokens.Temporary, "a", "bc"}, input{k1, tokens.Temporary, "ab", "c"}},
		{"empty secret vs empty subject", input{k1, tokens.Temporary, "ab", ""}, input{k1, tokens.Temporary, "", "ab"}},
		{"kind/subject boundary", input{k1, tokens.Temporary, "x", "s"}, input{k1, tokens.Kind("tm"), "px", "s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a.key.SigningKey(tc.a.kind, tc.a.subject, []byte(tc.a.secret))
			b := tc.b.key.SigningKey(tc.b.kind, tc.b.subject, []byte(tc.b.secret))
			if bytes.Equal(a, b) {
				t.Fatalf("%+v and %+v derive the same key", tc.a, tc.b)
			}
		})
	}
}
