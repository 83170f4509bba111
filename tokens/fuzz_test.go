package tokens_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/tokens"
)

// The fuzz targets of what an attacker hands tokengate: a token (its
// segments, its claims) and the caveats of a creation request. Their
// seeds run with every go test; go test -run='^$' -fuzz='^FuzzVerify$'
// ./tokens/ explores one of them.

var fuzzKey = tokens.NewServerKey().SigningKey(tokens.Temporary, "alice", tokens.NewSecret())

// keyOf hands out fuzzKey for every token, as if every subject existed.
func keyOf(*tokens.Claims) ([]byte, error) { return fuzzKey, nil }

// signed is header.payload, both base64url-encoded, with a valid HS256
// signature by fuzzKey.
func signed(header, payload []byte) string {
	s := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, fuzzKey)
	m.Write([]byte(s))
	return s + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkAccepted holds what Verify promises of a token it accepts: its
// claims are well-formed, and minted again they verify to the same
// claims (decode, re-encode, decode is the identity).
func checkAccepted(t *testing.T, raw string, c *tokens.Claims) {
	t.Helper()
	if c.Subject == "" || c.Kind == "" || c.ID == "" || (c.Type != tokens.Access && c.Type != tokens.Identity) {
		t.Fatalf("%q: accepted claims %+v", raw, c)
	}
	if err := tokens.CheckCaveats(c.Caveats); err != nil {
		t.Fatalf("%q: accepted caveats Mint refuses: %v", raw, err)
	}
	if v := tokens.ValidUntil(c.Caveats); v < 0 || v > tokens.MaxValidUntil {
		t.Fatalf("%q: validUntil %d", raw, v)
	}
	want := *c
	if want.ExpiresAt == 0 {
		want.ExpiresAt = tokens.ValidUntil(c.Caveats) // Mint fills it in
	}
	again := *c
	raw2, err := tokens.Mint(&again, fuzzKey)
	if err != nil {
		t.Fatalf("%q: cannot mint accepted claims again: %v", raw, err)
	}
	c2, err := tokens.NewVerifier().Verify(raw2, keyOf)
	if err != nil {
		t.Fatalf("%q: minted again as %q, refused: %v", raw, raw2, err)
	}
	if len(want.Caveats) == 0 {
		want.Caveats = nil // omitempty: [] is written as nothing
	}
	if !reflect.DeepEqual(*c2, want) {
		t.Fatalf("%q: claims %+v, minted again %+v", raw, want, *c2)
	}
}

// checkRefused: a refused token is malformed or invalid, nothing else
// (the key function here never fails).
func checkRefused(t *testing.T, raw string, err error) {
	t.Helper()
	if !errors.Is(err, tokens.ErrMalformed) && !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("%q: refused with %v, neither malformed nor invalid", raw, err)
	}
}

// FuzzVerify: any string as a token. Accepted ones (only signed ones can
// be) are as checkAccepted says, and have exactly one spelling: each
// segment re-encodes to itself.
func FuzzVerify(f *testing.F) {
	good := tokens.Claims{Subject: "alice", Kind: tokens.Temporary, Type: tokens.Access, Generation: 1, ID: "i", IssuedAt: 1,
		Caveats: []tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: farFuture}}}
	minted, _ := tokens.Mint(&good, fuzzKey)
	for _, s := range []string{
		minted,
		minted + "=",
		strings.Replace(minted, ".", "..", 1),
		"x.y.z", "..", "", ".", "a.b.c.d",
		signed([]byte(`{"alg":"none"}`), []byte(`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1}`)),
		signed([]byte(`{"alg":"HS256"}`), []byte(`{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1,"cav":[{"type":"time","validUntil":9223372036854775807}]}`)),
		signed([]byte(`{"alg":"HS256","typ":"JWT"}`), []byte(`{"sub":"a","knd":"nmd","typ":"idn","jti":"i","iat":-1,"exp":-5}`)),
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := tokens.NewVerifier().Verify(raw, keyOf)
		if err != nil {
			checkRefused(t, raw, err)
			return
		}
		for _, seg := range strings.Split(raw, ".") {
			b, err := base64.RawURLEncoding.DecodeString(seg)
			if err != nil || base64.RawURLEncoding.EncodeToString(b) != seg {
				t.Fatalf("%q: accepted with the segment %q not in its one spelling", raw, seg)
			}
		}
		checkAccepted(t, raw, c)
	})
}

// FuzzVerifySigned: any header and claims JSON, signed with the right
// key, so that what decoding accepts is seen through. Accepted ones name
// HS256 and are as checkAccepted says.
func FuzzVerifySigned(f *testing.F) {
	for _, s := range []struct{ header, payload string }{
		{`{"alg":"HS256","typ":"JWT"}`, `{"sub":"alice","knd":"tmp","typ":"act","gen":1,"jti":"i","iat":1,"exp":4102444800,"cav":[{"type":"time","validUntil":4102444800}]}`},
		{`{"alg":"HS256"}`, `{"sub":"a","knd":"ses","typ":"act","jti":"s","iat":0,"cav":[{"type":"ip","whitelist":["::ffff:10.0.0.0/104","2001:db8::/32"]},{"type":"interface","interface":"rest"}]}`},
		{`{"alg":"hs256"}`, `{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1}`},
		{`{"alg":"none"}`, `{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1}`},
		{`{"alg":"HS256","alg":"none"}`, `{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1}`},
		{`{"alg":"HS256"}`, `{"SUB":"a","Knd":"tmp","typ":"act","jti":"i","iat":1,"sub":"b"}`},
		{`{"alg":"HS256"}`, `{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1,"cav":[{"type":"time","validUntil":9223371974719179008}]}`},
		{`{"alg":"HS256"}`, `{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1,"cav":[{"type":"time","validUntil":5,"whitelist":["x"]}]}`},
		{`{"alg":"HS256"}`, `{"sub":"a","knd":"tmp","typ":"act","jti":"i","iat":1,"cav":[]}`},
		{`{"alg":"HS256"}`, `{"sub":"\ud800","knd":"tmp","typ":"act","jti":"i","iat":1e3}`},
		{`{"alg":"HS256"}`, `null`},
		{``, ``},
	} {
		f.Add([]byte(s.header), []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		raw := signed(header, payload)
		c, err := tokens.NewVerifier().Verify(raw, keyOf)
		if err != nil {
			checkRefused(t, raw, err)
			return
		}
		var h struct{ Alg string }
		if json.Unmarshal(header, &h) != nil || h.Alg != "HS256" {
			t.Fatalf("%s: accepted with the header %s", payload, header)
		}
		checkAccepted(t, raw, c)
	})
}

// FuzzParseCaveats: any caveats JSON of a creation request, checked
// against any request. Refused ones are ErrBadData or a *CaveatError
// carrying the element as JSON; accepted ones are what Mint signs,
// marshal and parse to themselves, and Check decides a time caveat by
// the clock alone.
func FuzzParseCaveats(f *testing.F) {
	for _, s := range []string{
		`[{"type":"time","validUntil":1700000000}]`,
		`[{"type":"time","validUntil":9223372036854775807}]`,
		`[{"type":"time","validUntil":253402300799},{"type":"time","validUntil":1}]`,
		`[{"type":"ip","whitelist":["10.0.0.0/8","::1","::ffff:192.0.2.0/120","2001:db8::/32"]}]`,
		`[{"type":"ip","whitelist":["fe80::1%eth0"]}]`,
		`[{"type":"interface","interface":"oneclient"}]`,
		`[{"validUntil":5,"type":"time"}]`,
		`[{"type":"time","validUntil":5,"type":"ip"}]`,
		`[{"type":"time","validUntil":-1}]`,
		`[null]`, `[]`, `null`, `{}`, `[1]`, `"x"`, ``,
	} {
		f.Add([]byte(s), "192.0.2.1", "rest", int64(1_700_000_000))
	}
	f.Fuzz(func(t *testing.T, raw []byte, ip, iface string, now int64) {
		c, err := tokens.ParseCaveats(raw)
		var ce *tokens.CaveatError
		switch {
		case errors.As(err, &ce):
			if !errors.Is(err, tokens.ErrBadCaveat) || !json.Valid(ce.Caveat) {
				t.Fatalf("%s: %v carries %q", raw, err, ce.Caveat)
			}
			return
		case err != nil:
			if !errors.Is(err, tokens.ErrBadData) {
				t.Fatalf("%s: refused with %v", raw, err)
			}
			return
		}
		if err := tokens.CheckCaveats(c); err != nil {
			t.Fatalf("%s: parsed caveats Mint refuses: %v", raw, err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := tokens.ParseCaveats(b)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("%s: marshalled as %s, parsed again as %+v, %v; want %+v", raw, b, again, err, c)
		}
		addr, _ := netip.ParseAddr(ip)
		r := &tokens.Request{Now: time.Unix(now, 0), ClientIP: addr, Interface: iface}
		err = tokens.Check(c, r)
		if err != nil && (!errors.As(err, &ce) || !errors.Is(err, tokens.ErrCaveatUnverified) || !json.Valid(ce.Caveat)) {
			t.Fatalf("%s: Check = %v", raw, err)
		}
		var times []tokens.Caveat
		for _, cv := range c {
			if cv.Type == tokens.CaveatTime {
				times = append(times, cv)
			}
		}
		if until := tokens.ValidUntil(times); until != 0 {
			if holds := tokens.Check(times, r) == nil; holds != (now < until) {
				t.Fatalf("%s: time caveats hold at %d: %v, until %d", raw, now, holds, until)
			}
		}
	})
}
