package auth_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
)

// The rules every front door applies to user and token fields. Each
// value ends up in an X-Auth-User-* header of every gated request (ids,
// names, e-mails, roles) or in Onezone's token listings (token names), so
// what cannot travel in a header is refused, and so is what is longer
// than the field's bound. The admin API, the seed APIs and the pages map
// ErrBadValue to their own 400; their suites check that mapping.
func TestRules(t *testing.T) {
	id := auth.CheckUserID
	profile := func(name, email, role string) error {
		return auth.Profile{Name: name, Email: email, Role: role}.Check()
	}
	pw := auth.DefaultPolicy.Check
	for _, tc := range []struct {
		name  string
		err   error
		want  error  // nil, ErrBadValue, ErrWeakPassword or ErrNoPassword
		field string // of the *ValueError, when want is ErrBadValue
	}{
		// Ids and usernames: also the Basic-auth user name.
		{"id", id("id", "alice"), nil, ""},
		{"id with space and unicode", id("id", "Zoë Ünal"), nil, ""},
		{"id empty", id("id", ""), auth.ErrBadValue, "id"},
		{"id colon", id("id", "a:b"), auth.ErrBadValue, "id"},
		{"id CR", id("id", "a\rb"), auth.ErrBadValue, "id"},
		{"id LF", id("id", "a\nb"), auth.ErrBadValue, "id"},
		{"id CRLF header injection", id("id", "a\r\nX-Admin: 1"), auth.ErrBadValue, "id"},
		{"id NUL", id("id", "a\x00b"), auth.ErrBadValue, "id"},
		{"id TAB", id("id", "a\tb"), auth.ErrBadValue, "id"},
		{"id DEL", id("id", "a\x7fb"), auth.ErrBadValue, "id"},
		{"id C1 control", id("id", "a\u0085b"), auth.ErrBadValue, "id"},
		{"id invalid UTF-8", id("id", "a\xffb"), auth.ErrBadValue, "id"},
		{"id truncated UTF-8", id("id", "\xc3"), auth.ErrBadValue, "id"},
		{"id of 128 bytes", id("id", strings.Repeat("i", auth.MaxIDLen)), nil, ""},
		{"id of 129 bytes", id("id", strings.Repeat("i", auth.MaxIDLen+1)), auth.ErrBadValue, "id"},
		{"id of 64 two-byte characters", id("id", strings.Repeat("é", 64)), nil, ""},
		{"id of 65 two-byte characters", id("id", strings.Repeat("é", 65)), auth.ErrBadValue, "id"},
		{"username names its field", id("username", "b\nb"), auth.ErrBadValue, "username"},

		// Profiles: every field optional, bounded, header-safe.
		{"profile empty", profile("", "", ""), nil, ""},
		{"profile", profile("Alice Example", "alice@example.com", "Editor"), nil, ""},
		{"name CR", profile("Al\rice", "", ""), auth.ErrBadValue, "name"},
		{"name LF", profile("Al\nice", "", ""), auth.ErrBadValue, "name"},
		{"name NUL", profile("Al\x00ice", "", ""), auth.ErrBadValue, "name"},
		{"name TAB", profile("Al\tice", "", ""), auth.ErrBadValue, "name"},
		{"name DEL", profile("Al\x7fice", "", ""), auth.ErrBadValue, "name"},
		{"name invalid UTF-8", profile("Al\xc3\x28ice", "", ""), auth.ErrBadValue, "name"},
		{"name at its bound", profile(strings.Repeat("n", auth.MaxNameLen), "", ""), nil, ""},
		{"name over its bound", profile(strings.Repeat("n", auth.MaxNameLen+1), "", ""), auth.ErrBadValue, "name"},
		{"name of 60 KB", profile(strings.Repeat("n", 60<<10), "", ""), auth.ErrBadValue, "name"},
		{"email CR LF", profile("", "a@b\r\n", ""), auth.ErrBadValue, "email"},
		{"email at its bound", profile("", strings.Repeat("e", auth.MaxEmailLen), ""), nil, ""},
		{"email over its bound", profile("", strings.Repeat("e", auth.MaxEmailLen+1), ""), auth.ErrBadValue, "email"},
		{"role LF", profile("", "", "Ed\nitor"), auth.ErrBadValue, "role"},
		{"role NUL", profile("", "", "\x00"), auth.ErrBadValue, "role"},
		{"role at its bound", profile("", "", strings.Repeat("r", auth.MaxRoleLen)), nil, ""},
		{"role over its bound", profile("", "", strings.Repeat("r", auth.MaxRoleLen+1)), auth.ErrBadValue, "role"},

		// Named-token names: ctool's validate_name — 2-128 letters,
		// digits, brackets and underscores, with dashes, spaces and dots
		// inside; header-safe.
		{"token name", auth.CheckTokenName("laptop"), nil, ""},
		{"token name empty", auth.CheckTokenName(""), auth.ErrBadValue, "token name"},
		{"token name of 1 character", auth.CheckTokenName("t"), auth.ErrBadValue, "token name"},
		{"token name of 2 characters", auth.CheckTokenName("tt"), nil, ""},
		{"token name of 128 characters", auth.CheckTokenName(strings.Repeat("t", auth.MaxTokenNameLen)), nil, ""},
		{"token name of 128 two-byte letters", auth.CheckTokenName(strings.Repeat("ł", auth.MaxTokenNameLen)), nil, ""},
		{"token name of 129 characters", auth.CheckTokenName(strings.Repeat("t", auth.MaxTokenNameLen+1)), auth.ErrBadValue, "token name"},
		{"token name of letters, digits, brackets, underscores", auth.CheckTokenName("(Zażółć)_42_٣"), nil, ""},
		{"token name with dash, space, dot inside", auth.CheckTokenName("my laptop-2.0"), nil, ""},
		{"token name starting with a dash", auth.CheckTokenName("-laptop"), auth.ErrBadValue, "token name"},
		{"token name ending with a dot", auth.CheckTokenName("laptop."), auth.ErrBadValue, "token name"},
		{"token name ending with a space", auth.CheckTokenName("laptop "), auth.ErrBadValue, "token name"},
		{"token name starting with a space", auth.CheckTokenName(" laptop"), auth.ErrBadValue, "token name"},
		{"token name with a slash", auth.CheckTokenName("lap/top"), auth.ErrBadValue, "token name"},
		{"token name with a euro sign", auth.CheckTokenName("lap€top"), auth.ErrBadValue, "token name"},
		{"token name with square brackets", auth.CheckTokenName("[laptop]"), auth.ErrBadValue, "token name"},
		{"token name NUL", auth.CheckTokenName("lap\x00top"), auth.ErrBadValue, "token name"},
		{"token name CR", auth.CheckTokenName("lap\rtop"), auth.ErrBadValue, "token name"},
		{"token name LF", auth.CheckTokenName("lap\ntop"), auth.ErrBadValue, "token name"},
		{"token name trailing LF", auth.CheckTokenName("laptop\n"), auth.ErrBadValue, "token name"},
		{"token name TAB", auth.CheckTokenName("lap\ttop"), auth.ErrBadValue, "token name"},
		{"token name DEL", auth.CheckTokenName("lap\x7ftop"), auth.ErrBadValue, "token name"},
		{"token name invalid UTF-8", auth.CheckTokenName("lap\xfetop"), auth.ErrBadValue, "token name"},

		// Passwords: bcrypt ignores every byte past 72, so longer ones are
		// refused rather than silently truncated.
		{"password empty", pw(""), auth.ErrNoPassword, ""},
		{"password of 72 bytes", pw(strings.Repeat("p", 71) + "1"), nil, ""},
		{"password of 73 bytes", pw(strings.Repeat("p", 72) + "1"), auth.ErrWeakPassword, ""},
		{"password of 72 bytes, 26 characters", pw(strings.Repeat("€", 23) + "ab1"), nil, ""},
		{"password of 73 bytes, 25 characters", pw(strings.Repeat("€", 24) + "a"), auth.ErrWeakPassword, ""},
		{"password too short", pw("short1"), auth.ErrWeakPassword, ""},
		{"password of one class", pw("aaaaaaaaaaaaaa"), auth.ErrWeakPassword, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) || (tc.want == nil) != (tc.err == nil) {
				t.Fatalf("got %v, want %v", tc.err, tc.want)
			}
			if tc.want != auth.ErrBadValue {
				return
			}
			var ve *auth.ValueError
			if !errors.As(tc.err, &ve) || ve.Field != tc.field {
				t.Fatalf("got %#v, want a *ValueError of field %q", tc.err, tc.field)
			}
		})
	}
}

// A password over 72 bytes says why, whatever else it breaks.
func TestPolicyNamesTheByteLimit(t *testing.T) {
	err := auth.DefaultPolicy.Check(strings.Repeat("€", 30))
	var pe *auth.PolicyError
	if !errors.As(err, &pe) || !strings.Contains(strings.Join(pe.Reasons, " "), "at most 72 bytes") {
		t.Fatalf("got %v, want a *PolicyError naming the 72-byte limit", err)
	}
}

// The config's users follow the same rules, and need a password hash.
func TestDeclaredUserCheck(t *testing.T) {
	const hash = "$2a$04$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9tK"
	for _, tc := range []struct {
		name string
		u    auth.DeclaredUser
		bad  bool
	}{
		{"ok", auth.DeclaredUser{ID: "alice", PasswordHash: hash}, false},
		{"LF in id", auth.DeclaredUser{ID: "al\nice", PasswordHash: hash}, true},
		{"CR in role", auth.DeclaredUser{ID: "alice", PasswordHash: hash, Profile: auth.Profile{Role: "a\rb"}}, true},
		{"no hash", auth.DeclaredUser{ID: "alice"}, true},
		{"plain text for a hash", auth.DeclaredUser{ID: "alice", PasswordHash: "hunter22"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.u.Check(); (err != nil) != tc.bad {
				t.Fatalf("got %v, want an error: %v", err, tc.bad)
			}
		})
	}
}

// TestCheckTTL: configured durations are positive and at most a century.
func TestCheckTTL(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		ok   bool
	}{
		{"a second", time.Second, true},
		{"a century", auth.MaxTTL, true},
		{"a century and a nanosecond", auth.MaxTTL + 1, false},
		{"longest Duration", math.MaxInt64, false},
		{"zero", 0, false},
		{"negative", -time.Hour, false},
		{"shortest Duration", math.MinInt64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.CheckTTL("session_ttl", tc.d)
			var ve *auth.ValueError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && (!errors.As(err, &ve) || ve.Field != "session_ttl"):
				t.Fatalf("got %v, want a *ValueError for session_ttl", err)
			}
		})
	}
}

// TestCheckTokenMetadata: custom metadata is a JSON object (Onezone's
// {json, any}), bounded once compact, and returned compact.
func TestCheckTokenMetadata(t *testing.T) {
	// An object of exactly MaxTokenMetadata bytes compact: {"k":"…"}.
	fits := `{"k":"` + strings.Repeat("v", auth.MaxTokenMetadata-8) + `"}`
	for _, tc := range []struct {
		name, in, out string
		want          error
		size          bool
	}{
		{"empty object", `{}`, `{}`, nil, false},
		{"an object, compacted", "{ \"a\" : [1, {\"b\": null}] }\n", `{"a":[1,{"b":null}]}`, nil, false},
		{"at the bound", fits, fits, nil, false},
		{"at the bound once compact", strings.Replace(fits, ":", " : ", 1), fits, nil, false},
		{"over the bound", strings.Replace(fits, `"}`, `v"}`, 1), "", auth.ErrBadValue, true},
		{"null", `null`, "", auth.ErrBadValue, false},
		{"a string", `"string literal"`, "", auth.ErrBadValue, false},
		{"an empty string", `""`, "", auth.ErrBadValue, false},
		{"a number", `345345`, "", auth.ErrBadValue, false},
		{"a float", `1.56`, "", auth.ErrBadValue, false},
		{"an array", `[{}]`, "", auth.ErrBadValue, false},
		{"not JSON", `{"a":`, "", auth.ErrBadValue, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.CheckTokenMetadata(json.RawMessage(tc.in))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var se *auth.SizeError
			if errors.As(err, &se) != tc.size {
				t.Fatalf("got %#v, size error %v", err, tc.size)
			}
			if string(got) != tc.out {
				t.Fatalf("got %s, want %s", got, tc.out)
			}
		})
	}
}
