package onezone_test

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
	"github.com/tokengate/tokengate/tokens"
)

// TestVerifyAccessTokenValues: verify_access_token's optional values,
// checked as oz-worker's token_logic_plugin validates them
// (token_misc_api_test_SUITE:verify_access_token's bad values), the
// default peer (the request's client), and data-access caveats, refused
// with tokenCaveatUnverified unless allowDataAccessCaveats.
func TestVerifyAccessTokenValues(t *testing.T) {
	h, f := newHandler(t)
	issue := func(cs ...tokens.Caveat) string {
		t.Helper()
		tok, err := f.Auth.IssueTemporary(t.Context(), authtest.Alice, tokens.Access,
			append([]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: now.Add(time.Hour).Unix()}}, cs...))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	plain := issue()
	client := issue(tokens.Caveat{Type: tokens.CaveatIP, Whitelist: []string{authtest.ClientIP.String()}})
	readonly := issue(tokens.Caveat{Type: tokens.CaveatReadonly})
	path := issue(tokens.Caveat{Type: tokens.CaveatPath, Whitelist: []string{base64.StdEncoding.EncodeToString([]byte("/space"))}})
	both := issue(tokens.Caveat{Type: tokens.CaveatIP, Whitelist: []string{"10.9.9.9"}}, tokens.Caveat{Type: tokens.CaveatReadonly})
	ok := `{"subject":{"id":"alice","type":"user"},"ttl":3600}`
	body := func(tok, more string) string { return `{"token":"` + tok + `"` + more + `}` }
	badValue := func(id, key, what string) string {
		return `{"error":{"id":"` + id + `","description":"Bad value: provided \"` + key + `\" ` + what + `.","details":{"key":"` + key + `"}}}`
	}
	badTokenOf := func(key string) string {
		return `{"error":{"id":"badValueToken","description":"Bad value: provided \"` + key + `\" is not a valid token (see details).",` +
			`"details":{"key":"` + key + `","tokenError":{"id":"badToken","description":"Provided token could not be understood by the server."}}}}`
	}
	notAllowed := `{"error":{"id":"badValueNotAllowed","description":"Bad value: provided \"interface\" must be one of: rest, oneclient, graphsync.",` +
		`"details":{"allowed":["rest","oneclient","graphsync"],"key":"interface"}}}`
	badIP := badValue("badValueIPv4Address", "peerIp", "is not a valid IPv4 address")
	unverified := func(caveat string) func(*testing.T, []byte) {
		return func(t *testing.T, b []byte) {
			if !strings.HasPrefix(string(b), `{"error":{"id":"tokenCaveatUnverified",`) || !strings.Contains(string(b), `"details":{"caveat":`+caveat+`}`) {
				t.Errorf("body %s, want tokenCaveatUnverified of %s", b, caveat)
			}
		}
	}
	run(t, h, []exchange{
		// peerIp
		{name: "no peer: the client's", method: "POST", path: verify, hdr: in(), body: body(client, ""), status: 200, want: ok},
		{name: "another peer", method: "POST", path: verify, hdr: in(), body: body(client, `,"peerIp":"10.0.0.1"`), status: 400,
			check: unverified(`{"type":"ip","whitelist":["` + authtest.ClientIP.String() + `"]}`)},
		{name: "peer null: none", method: "POST", path: verify, hdr: in(), body: body(client, `,"peerIp":null`), status: 400,
			check: unverified(`{"type":"ip","whitelist":["` + authtest.ClientIP.String() + `"]}`)},
		{name: "peer null, no ip caveat", method: "POST", path: verify, hdr: in(), body: body(plain, `,"peerIp":null`), status: 200, want: ok},
		{name: "peer a number", method: "POST", path: verify, hdr: in(), body: body(plain, `,"peerIp":1234`), status: 400, want: badIP},
		{name: "peer an object", method: "POST", path: verify, hdr: in(), body: body(plain, `,"peerIp":{"a":1}`), status: 400, want: badIP},
		{name: "peer a list", method: "POST", path: verify, hdr: in(), body: body(plain, `,"peerIp":["1.2.3.4"]`), status: 400, want: badIP},
		{name: "peer empty", method: "POST", path: verify, hdr: in(), body: body(plain, `,"peerIp":""`), status: 400, want: badIP},
		// interface
		{name: "interface a number", method: "POST", path: verify, hdr: in(), body: body(plain, `,"interface":7`), status: 400,
			want: badValue("badValueString", "interface", "must be a string")},
		{name: "interface an object", method: "POST", path: verify, hdr: in(), body: body(plain, `,"interface":{}`), status: 400,
			want: badValue("badValueString", "interface", "must be a string")},
		{name: "interface null", method: "POST", path: verify, hdr: in(), body: body(plain, `,"interface":null`), status: 400, want: notAllowed},
		{name: "interface true", method: "POST", path: verify, hdr: in(), body: body(plain, `,"interface":true`), status: 400, want: notAllowed},
		{name: "interface unknown", method: "POST", path: verify, hdr: in(), body: body(plain, `,"interface":"gui"`), status: 400, want: notAllowed},
		{name: "interface rest", method: "POST", path: verify, hdr: in(), body: body(plain, `,"interface":"rest"`), status: 200, want: ok},
		// serviceToken, consumerToken
		{name: "service token valid", method: "POST", path: verify, hdr: in(), body: body(plain, `,"serviceToken":"`+plain+`"`), status: 200, want: ok},
		{name: "service token null", method: "POST", path: verify, hdr: in(), body: body(plain, `,"serviceToken":null`), status: 200, want: ok},
		{name: "service token garbage", method: "POST", path: verify, hdr: in(), body: body(plain, `,"serviceToken":"1234"`), status: 400, want: badTokenOf("serviceToken")},
		{name: "service token a number", method: "POST", path: verify, hdr: in(), body: body(plain, `,"serviceToken":1234`), status: 400, want: badTokenOf("serviceToken")},
		{name: "service token empty", method: "POST", path: verify, hdr: in(), body: body(plain, `,"serviceToken":""`), status: 400, want: badTokenOf("serviceToken")},
		{name: "consumer token valid", method: "POST", path: verify, hdr: in(), body: body(plain, `,"consumerToken":"`+plain+`"`), status: 200, want: ok},
		{name: "consumer token null: unknown", method: "POST", path: verify, hdr: in(), body: body(plain, `,"consumerToken":null`), status: 200, want: ok},
		{name: "consumer token an object", method: "POST", path: verify, hdr: in(), body: body(plain, `,"consumerToken":{"a":"b"}`), status: 400, want: badTokenOf("consumerToken")},
		{name: "consumer token garbage", method: "POST", path: verify, hdr: in(), body: body(plain, `,"consumerToken":"x.y.z"`), status: 400, want: badTokenOf("consumerToken")},
		// allowDataAccessCaveats
		{name: "allow a string", method: "POST", path: verify, hdr: in(), body: body(plain, `,"allowDataAccessCaveats":"1234"`), status: 400,
			want: badValue("badValueBoolean", "allowDataAccessCaveats", "must be a boolean")},
		{name: "allow null", method: "POST", path: verify, hdr: in(), body: body(plain, `,"allowDataAccessCaveats":null`), status: 400,
			want: badValue("badValueBoolean", "allowDataAccessCaveats", "must be a boolean")},
		{name: "allow a number", method: "POST", path: verify, hdr: in(), body: body(plain, `,"allowDataAccessCaveats":1`), status: 400,
			want: badValue("badValueBoolean", "allowDataAccessCaveats", "must be a boolean")},
		{name: "readonly refused", method: "POST", path: verify, hdr: in(), body: body(readonly, ""), status: 400, check: unverified(`{"type":"data.readonly"}`)},
		{name: "readonly refused, allow false", method: "POST", path: verify, hdr: in(), body: body(readonly, `,"allowDataAccessCaveats":false`), status: 400,
			check: unverified(`{"type":"data.readonly"}`)},
		{name: "readonly allowed", method: "POST", path: verify, hdr: in(), body: body(readonly, `,"allowDataAccessCaveats":true`), status: 200, want: ok},
		{name: "path refused", method: "POST", path: verify, hdr: in(), body: body(path, ""), status: 400, check: unverified(`{"type":"data.path","whitelist":["L3NwYWNl"]}`)},
		{name: "path allowed", method: "POST", path: verify, hdr: in(), body: body(path, `,"allowDataAccessCaveats":true`), status: 200, want: ok},
		{name: "allowed data, other caveats still checked", method: "POST", path: verify, hdr: in(), body: body(both, `,"allowDataAccessCaveats":true`), status: 400,
			check: unverified(`{"type":"ip","whitelist":["10.9.9.9"]}`)},
		// token
		{name: "token empty", method: "POST", path: verify, hdr: in(), body: `{"token":""}`, status: 400, want: badValue("badValueEmpty", "token", "must not be empty")},
		{name: "token null", method: "POST", path: verify, hdr: in(), body: `{"token":null}`, status: 400, want: badTokenOf("token")},
		// Onezone validates the required token first, then the optional
		// keys by name.
		{name: "bad token before bad values", method: "POST", path: verify, hdr: in(), body: `{"token":1,"peerIp":1,"interface":1}`, status: 400, want: badTokenOf("token")},
		{name: "allow before interface", method: "POST", path: verify, hdr: in(), body: body(plain, `,"interface":1,"allowDataAccessCaveats":1`), status: 400,
			want: badValue("badValueBoolean", "allowDataAccessCaveats", "must be a boolean")},
		{name: "interface before peer", method: "POST", path: verify, hdr: in(), body: body(plain, `,"peerIp":1,"interface":1`), status: 400,
			want: badValue("badValueString", "interface", "must be a string")},
	})
}

// TestInviteTokenType: tokengate has nothing to invite to, so an invite
// token type names a target that does not exist: Onezone's
// inviteTokenTargetIdInvalid (invite_tokens.erl), details.id the target;
// a malformed invite type is badValueTokenType.
func TestInviteTokenType(t *testing.T) {
	h, f := newHandler(t)
	tok := f.Temporary(t, authtest.Alice)
	badType := `{"error":{"id":"badValueTokenType","description":"Bad value: provided \"type\" is not a valid token type.","details":{"key":"type"}}}`
	badTarget := `{"error":{"id":"inviteTokenTargetIdInvalid","description":"The target id 'nope' is invalid for this type of invite token.","details":{"id":"nope"}}}`
	invite := `"type":{"inviteToken":{"inviteType":"userJoinSpace","spaceId":"nope"}}`
	until := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	run(t, h, []exchange{
		{name: "temporary", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: `{` + invite + `,"caveats":[{"type":"time","validUntil":` + until + `}]}`, status: 400, want: badTarget},
		{name: "named", method: "POST", path: named, hdr: in("X-Auth-Token", tok), body: `{"name":"inv",` + invite + `}`, status: 400, want: badTarget},
		{name: "group invite", method: "POST", path: named, hdr: in("X-Auth-Token", tok),
			body: `{"name":"inv","type":{"inviteToken":{"inviteType":"userJoinGroup","groupId":"nope"}}}`, status: 400, want: badTarget},
		{name: "target under the wrong key", method: "POST", path: named, hdr: in("X-Auth-Token", tok),
			body: `{"name":"inv","type":{"inviteToken":{"inviteType":"userJoinGroup","spaceId":"nope"}}}`, status: 400, want: badType},
		{name: "unknown invite type", method: "POST", path: named, hdr: in("X-Auth-Token", tok),
			body: `{"name":"inv","type":{"inviteToken":{"inviteType":"userJoinNothing","groupId":"nope"}}}`, status: 400, want: badType},
		{name: "no invite type", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: `{"type":{"inviteToken":{}},"caveats":[{"type":"time","validUntil":` + until + `}]}`, status: 400, want: badType},
	})
}

// TestVerifyBudgetIsTheAskers: forged tokens sent to verify_access_token
// use up the budget of the client that sends them, whatever peerIp it
// names: naming another peer each time escapes nothing, and uses up no
// other client's budget.
func TestVerifyBudgetIsTheAskers(t *testing.T) {
	h, f := newHandler(t)
	// The token budget: the client's password budget times its factor.
	for i := range auth.DefaultBudget.Max * auth.DefaultBudget.UserFactor {
		body := `{"token":"1234","peerIp":"10.0.` + strconv.Itoa(i/250) + `.` + strconv.Itoa(i%250+1) + `"}`
		if w := authtest.Do(h, "POST", "http://example.com"+verify, body, in()); w.Code != 400 {
			t.Fatalf("forged token %d: %d %s", i, w.Code, w.Body)
		}
	}
	tok := f.Temporary(t, authtest.Alice)
	run(t, h, []exchange{
		{name: "past the budget, another peer", method: "POST", path: verify, hdr: in(), body: `{"token":"1234","peerIp":"10.9.9.9"}`,
			status: 429, header: map[string]string{"Retry-After": "300"},
			want: `{"error":{"id":"tooManyRequests","description":"Too many failed authentication attempts - please try again later.","details":{"retryAfter":300}}}`},
	})
	// A peer the asker named keeps its own budget: its tokens verify
	// from another asker.
	other := &onezone.Handler{Auth: f.Auth, Callers: &caller.Authenticator{Auth: f.Auth,
		ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr("10.0.0.1") }}}
	run(t, other, []exchange{
		{name: "the named peer's budget is whole", method: "POST", path: verify, hdr: in(), body: `{"token":"` + tok + `"}`,
			status: 200, want: `{"subject":{"id":"alice","type":"user"},"ttl":3600}`},
	})
}
