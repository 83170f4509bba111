package tokens_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tokengate/tokengate/tokens"
)

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  json.RawMessage
		want tokens.Type // "": ErrBadType
	}{
		{"absent", nil, tokens.Access},
		{"access", json.RawMessage(`{"accessToken":{}}`), tokens.Access},
		{"identity", json.RawMessage(`{"identityToken":{}}`), tokens.Identity},
		{"identity with spaces", json.RawMessage(` { "identityToken" : { } } `), tokens.Identity},

		{"empty string", json.RawMessage(`""`), ""},
		{"number", json.RawMessage(`123123`), ""},
		{"string", json.RawMessage(`"dsfdsfasdf"`), ""},
		{"empty object", json.RawMessage(`{}`), ""},
		{"inner number", json.RawMessage(`{"accessToken":1}`), ""},
		{"inner null", json.RawMessage(`{"accessToken":null}`), ""},
		{"inner list", json.RawMessage(`{"identityToken":[]}`), ""},
		{"two keys", json.RawMessage(`{"accessToken":{},"identityToken":{}}`), ""},
		{"unknown key", json.RawMessage(`{"inviteToken":{}}`), ""},
		{"other case", json.RawMessage(`{"AccessToken":{}}`), ""},
		{"null", json.RawMessage(`null`), ""},
		{"no bytes", json.RawMessage{}, ""},
		{"list", json.RawMessage(`[{"accessToken":{}}]`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tokens.ParseType(tc.raw)
			if tc.want == "" {
				if !errors.Is(err, tokens.ErrBadType) || got != "" {
					t.Fatalf("ParseType = %q, %v; want ErrBadType", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseType = %q, %v; want %q", got, err, tc.want)
			}
			// The Onezone form parses back to the same type.
			if back, err := tokens.ParseType(got.OnezoneJSON()); err != nil || back != got {
				t.Fatalf("ParseType(%s) = %q, %v", got.OnezoneJSON(), back, err)
			}
		})
	}
}
