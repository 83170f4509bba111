package onezone_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/authtest"
	"github.com/tokengate/tokengate/tokens"
)

// now is the fixture's clock, so that TTLs are exact.
var now = time.Date(2027, 3, 4, 5, 6, 7, 0, time.UTC)

const (
	temporary = onezone.Prefix + "/user/tokens/temporary"
	named     = onezone.Prefix + "/user/tokens/named"
	verify    = onezone.Prefix + "/tokens/verify_access_token"
)

func newHandler(t *testing.T) (*onezone.Handler, *authtest.Fixture) {
	t.Helper()
	f := authtest.New(t, auth.WithClock(func() time.Time { return now }))
	return &onezone.Handler{Auth: f.Auth, Callers: f.Callers}, f
}

// in is a JSON body's headers, with more headers.
func in(more ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(more); i += 2 {
		h.Add(more[i], more[i+1])
	}
	return h
}

// caveats is a creation body whose one time caveat ends d from now.
func caveats(d time.Duration) string {
	return fmt.Sprintf(`{"caveats":[{"type":"time","validUntil":%d}]}`, now.Add(d).Unix())
}

// exchange is one request and the answer it must get: the status, the
// body byte for byte (unless check is set, which then judges the body),
// and the headers.
type exchange struct {
	name         string
	method, path string
	hdr          http.Header
	body         string
	status       int
	want         string
	header       map[string]string // "" for absent
	check        func(t *testing.T, body []byte)
}

// Onezone's error bodies.
const (
	noAuth    = `{"error":{"id":"unauthorized","description":"You must authenticate yourself to perform this operation."}}`
	forbidden = `{"error":{"id":"forbidden","description":"You are not authorized to perform this operation."}}`
	malformed = `{"error":{"id":"malformedData","description":"Provided data could not be understood by the server."}}`
	notFound  = `{"error":{"id":"notFound","description":"The resource could not be found."}}`
	// ctool's errors:to_json(?ERROR_BAD_VALUE_IDENTIFIER_OCCUPIED(<<"name">>)) and
	// (?ERROR_BAD_VALUE_JSON(<<"customMetadata">>)).
	nameOccupied = `{"error":{"id":"badValueIdentifierOccupied","description":"Bad value: provided identifier (\"name\") is already occupied.","details":{"key":"name"}}}`
	badMetadata  = `{"error":{"id":"badValueJSON","description":"Bad value: provided \"customMetadata\" must be a valid JSON.","details":{"key":"customMetadata"}}}`
	// ctool's errors:to_json(?ERROR_BAD_VALUE_NAME), word for word.
	badName     = `{"error":{"id":"badValueName","description":"Bad value: Name must be 2-128 characters long and composed only of UTF-8 letters, digits, brackets and underscores. Dashes, spaces and dots are allowed (but not at the beginning or the end)."}}`
	nameString  = `{"error":{"id":"badValueString","description":"Bad value: provided \"name\" must be a string.","details":{"key":"name"}}}`
	revokedBool = `{"error":{"id":"badValueBoolean","description":"Bad value: provided \"revoked\" must be a boolean.","details":{"key":"revoked"}}}`
)

func authError(inner string) string {
	return `{"error":{"id":"unauthorized","description":"Provided authentication is not valid (see details).","details":{"authError":` + inner + `}}}`
}

func run(t *testing.T, h http.Handler, cases []exchange) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := authtest.Do(h, tc.method, "http://example.com"+tc.path, tc.body, tc.hdr)
			body := w.Body.Bytes()
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, body)
			}
			if tc.check != nil {
				tc.check(t, body)
			} else if string(body) != tc.want {
				t.Errorf("body\n%s\nwant\n%s", body, tc.want)
			}
			want := map[string]string{}
			if len(body) > 0 {
				want["Content-Type"], want["Cache-Control"] = "application/json", "no-store"
			}
			if tc.status != http.StatusMethodNotAllowed {
				want["Access-Control-Allow-Origin"] = "*"
			}
			if tc.status == http.StatusUnauthorized {
				want["Www-Authenticate"] = `Bearer realm="tokengate"`
			}
			for k, v := range tc.header {
				want[k] = v
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// token reads {"token"} and checks that it authenticates as alice.
func token(f *authtest.Fixture, dst *string) func(*testing.T, []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		var got struct{ Token string }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		tk, err := f.Auth.Authenticate(t.Context(), got.Token, tokens.Request{Interface: "rest"})
		if err != nil || tk.Identity.ID != authtest.Alice {
			t.Fatalf("the token does not authenticate alice: %v", err)
		}
		if dst != nil {
			*dst = got.Token
		}
	}
}

func TestTemporary(t *testing.T) {
	h, f := newHandler(t)
	basic := authtest.Basic(authtest.Alice, authtest.Password)
	tok := f.Temporary(t, authtest.Alice)
	cookie, _ := f.Session(t, authtest.Alice)
	run(t, h, []exchange{
		{name: "no credentials", method: "GET", path: temporary, status: 401, want: noAuth},
		{name: "basic", method: "GET", path: temporary, hdr: http.Header{"Authorization": {basic}}, status: 200, want: `{"generation":1}`},
		{name: "x-auth-token", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {tok}}, status: 200, want: `{"generation":1}`},
		{name: "bearer", method: "GET", path: temporary, hdr: http.Header{"Authorization": {"Bearer " + tok}}, status: 200, want: `{"generation":1}`},
		{name: "session cookie", method: "GET", path: temporary, hdr: http.Header{"Cookie": {cookie}}, status: 200, want: `{"generation":1}`},
		{name: "trailing slash", method: "GET", path: temporary + "/", hdr: http.Header{"X-Auth-Token": {tok}}, status: 200, want: `{"generation":1}`},
		{name: "wrong password", method: "GET", path: temporary, hdr: http.Header{"Authorization": {authtest.Basic(authtest.Alice, "nope")}},
			status: 401, want: authError(`{"id":"badBasicCredentials","description":"Invalid username or password."}`)},
		{name: "undecodable token", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {"this-is-a-bad-token-that-cannot-be-decoded"}},
			status: 401, want: authError(`{"id":"badToken","description":"Provided token could not be understood by the server."}`)},
		{name: "create", method: "POST", path: temporary, hdr: in("Authorization", basic), body: caveats(10 * time.Minute),
			status: 201, check: token(f, nil)},
		{name: "create, type given", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body:   fmt.Sprintf(`{"type":{"accessToken":{}},"caveats":[{"type":"time","validUntil":%d}]}`, now.Add(time.Hour).Unix()),
			status: 201, check: token(f, nil)},
		{name: "create, no caveats", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: `{"caveats":[]}`, status: 400,
			want: `{"error":{"id":"tokenTimeCaveatRequired","description":"You must specify a time caveat with maximum TTL of 2592000 seconds.","details":{"maxTtl":2592000}}}`},
		{name: "create, empty body", method: "POST", path: temporary, hdr: http.Header{"X-Auth-Token": {tok}}, status: 400,
			want: `{"error":{"id":"tokenTimeCaveatRequired","description":"You must specify a time caveat with maximum TTL of 2592000 seconds.","details":{"maxTtl":2592000}}}`},
		{name: "create, past the max TTL", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: caveats(31 * 24 * time.Hour), status: 400,
			want: `{"error":{"id":"tokenTimeCaveatRequired","description":"You must specify a time caveat with maximum TTL of 2592000 seconds.","details":{"maxTtl":2592000}}}`},
		{name: "create, caveats not a list", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: `{"caveats":"string literal"}`, status: 400,
			want: `{"error":{"id":"badData","description":"Bad value: provided \"caveats\" has an invalid format or is incomprehensible in the context of this operation.","details":{"key":"caveats"}}}`},
		{name: "create, bad caveat", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: `{"caveats":[{"type":"tiem"}]}`, status: 400,
			want: `{"error":{"id":"badValueCaveat","description":"Provided caveat is invalid: '{\"type\":\"tiem\"}'.","details":{"caveat":{"type":"tiem"}}}}`},
		{name: "create, bad type", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: `{"type":"dsfdsfasdf","caveats":[]}`, status: 400,
			want: `{"error":{"id":"badValueTokenType","description":"Bad value: provided \"type\" is not a valid token type.","details":{"key":"type"}}}`},
		{name: "create, bad type with caveats", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: fmt.Sprintf(`{"type":123123,"caveats":[{"type":"time","validUntil":%d}]}`, now.Add(time.Hour).Unix()), status: 400,
			want: `{"error":{"id":"badValueTokenType","description":"Bad value: provided \"type\" is not a valid token type.","details":{"key":"type"}}}`},
		{name: "create, not JSON", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: `{"caveats":`, status: 400, want: malformed},
		{name: "create, text/plain", method: "POST", path: temporary, hdr: http.Header{"X-Auth-Token": {tok}, "Content-Type": {"text/plain"}},
			body: caveats(time.Hour), status: 415,
			want: `{"error":{"id":"unsupportedMediaType","description":"The request body must be sent as application/json."}}`},
		{name: "create, too large", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: `{"caveats":[],"x":"` + strings.Repeat("x", 64<<10) + `"}`, status: 413,
			want: `{"error":{"id":"requestTooLarge","description":"The request body must not exceed 65536 bytes."}}`},
		{name: "create by session cookie", method: "POST", path: temporary, hdr: in("Cookie", cookie, "Origin", "http://example.com"),
			body: caveats(time.Hour), status: 201, check: token(f, nil)},
		{name: "create by session cookie, from another site", method: "POST", path: temporary,
			hdr: in("Cookie", cookie, "Origin", "http://evil.example"), body: caveats(time.Hour), status: 403, want: forbidden},
		{name: "method not allowed", method: "PUT", path: temporary, hdr: http.Header{"X-Auth-Token": {tok}}, status: 405,
			header: map[string]string{"Allow": "DELETE, GET, POST"}},
		{name: "revoke", method: "DELETE", path: temporary, hdr: http.Header{"Authorization": {basic}}, status: 204},
		{name: "revoked", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {tok}}, status: 401,
			want: authError(`{"id":"tokenRevoked","description":"Provided token has been revoked."}`)},
		{name: "the session ended too", method: "GET", path: temporary, hdr: http.Header{"Cookie": {cookie}}, status: 401,
			want: authError(`{"id":"tokenRevoked","description":"Provided token has been revoked."}`)},
		{name: "the next generation", method: "GET", path: temporary, hdr: http.Header{"Authorization": {basic}}, status: 200, want: `{"generation":2}`},
	})
}

// TestEndedSession: a session token whose session is gone (here: logged
// out) is Onezone's tokenSessionInvalid, wrapped in unauthorized where it
// authenticates a request and bare from verify_access_token, as
// oz-worker's test_distributed/gui_tokens_test_SUITE.erl
// (gui_tokens_are_invalidated_upon_logout) expects of a session's tokens
// after a logout.
func TestEndedSession(t *testing.T) {
	h, f := newHandler(t)
	cookie, sess := f.Session(t, authtest.Alice)
	raw := strings.TrimPrefix(cookie, authtest.SessionCookie+"=")
	if err := f.Auth.EndSession(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	const inner = `{"id":"tokenSessionInvalid","description":"This token is bound to a session different than presented by the client or no longer existent."}`
	run(t, h, []exchange{
		{name: "by cookie", method: "GET", path: temporary, hdr: http.Header{"Cookie": {cookie}}, status: 401, want: authError(inner)},
		{name: "by X-Auth-Token", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {raw}}, status: 401, want: authError(inner)},
		{name: "verify", method: "POST", path: verify, hdr: in(), body: `{"token":"` + raw + `"}`, status: 400,
			want: `{"error":` + inner + `}`},
	})
}

// TestDeletedUserToken: a deleted user's token is Onezone's tokenInvalid
// (the user's secret went with it), not tokenSubjectInvalid, both where it
// authenticates a request and from verify_access_token: oz-worker's
// test_distributed/access_and_identity_tokens_test_SUITE.erl,
// check_subject_deleted_scenarios.
func TestDeletedUserToken(t *testing.T) {
	h, f := newHandler(t)
	tok := f.Temporary(t, authtest.Bob)
	if err := f.Auth.DeleteUser(t.Context(), authtest.Bob); err != nil {
		t.Fatal(err)
	}
	const inner = `{"id":"tokenInvalid","description":"Provided token is not valid."}`
	run(t, h, []exchange{
		{name: "authenticating", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {tok}}, status: 401, want: authError(inner)},
		{name: "verify", method: "POST", path: verify, hdr: in(), body: `{"token":"` + tok + `"}`, status: 400, want: `{"error":` + inner + `}`},
	})
}

func TestVerifyAccessToken(t *testing.T) {
	h, f := newHandler(t)
	tok := f.Temporary(t, authtest.Alice)
	revoked := f.Temporary(t, authtest.Bob)
	if _, err := f.Auth.RevokeTemporary(t.Context(), authtest.Bob); err != nil {
		t.Fatal(err)
	}
	ipOnly, err := f.Auth.IssueTemporary(t.Context(), authtest.Alice, tokens.Access, []tokens.Caveat{
		{Type: tokens.CaveatTime, ValidUntil: now.Add(time.Hour).Unix()},
		{Type: tokens.CaveatIP, Whitelist: []string{"134.93.0.0/16"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	badToken := `{"error":{"id":"badValueToken","description":"Bad value: provided \"token\" is not a valid token (see details).",` +
		`"details":{"key":"token","tokenError":{"id":"badToken","description":"Provided token could not be understood by the server."}}}}`
	run(t, h, []exchange{
		{name: "valid", method: "POST", path: verify, hdr: in(), body: `{"token":"` + tok + `"}`, status: 200,
			want: `{"subject":{"id":"alice","type":"user"},"ttl":3600}`},
		{name: "with peer and interface", method: "POST", path: verify, hdr: in(),
			body: `{"token":"` + tok + `","peerIp":"134.93.1.2","interface":"oneclient"}`, status: 200,
			want: `{"subject":{"id":"alice","type":"user"},"ttl":3600}`},
		{name: "ip caveat, another peer", method: "POST", path: verify, hdr: in(), body: `{"token":"` + ipOnly + `","peerIp":"10.0.0.1"}`, status: 400,
			check: func(t *testing.T, body []byte) {
				if !strings.HasPrefix(string(body), `{"error":{"id":"tokenCaveatUnverified",`) ||
					!strings.Contains(string(body), `"details":{"caveat":{"type":"ip","whitelist":["134.93.0.0/16"]}}`) {
					t.Errorf("body %s", body)
				}
			}},
		{name: "revoked", method: "POST", path: verify, hdr: in(), body: `{"token":"` + revoked + `"}`, status: 400,
			want: `{"error":{"id":"tokenRevoked","description":"Provided token has been revoked."}}`},
		{name: "no token", method: "POST", path: verify, hdr: in(), body: `{}`, status: 400,
			want: `{"error":{"id":"missingRequiredValue","description":"Missing required value: token.","details":{"key":"token"}}}`},
		{name: "token 1234", method: "POST", path: verify, hdr: in(), body: `{"token":"1234"}`, status: 400, want: badToken},
		{name: "token a number", method: "POST", path: verify, hdr: in(), body: `{"token":1234}`, status: 400, want: badToken},
		{name: "token an object", method: "POST", path: verify, hdr: in(), body: `{"token":{"a":"b"}}`, status: 400, want: badToken},
		{name: "bad peer", method: "POST", path: verify, hdr: in(), body: `{"token":"` + tok + `","peerIp":"1234.6.78.19"}`, status: 400,
			want: `{"error":{"id":"badValueIPv4Address","description":"Bad value: provided \"peerIp\" is not a valid IPv4 address.","details":{"key":"peerIp"}}}`},
		{name: "bad interface", method: "POST", path: verify, hdr: in(), body: `{"token":"` + tok + `","interface":"gui"}`, status: 400,
			want: `{"error":{"id":"badValueNotAllowed","description":"Bad value: provided \"interface\" must be one of: rest, oneclient, graphsync.",` +
				`"details":{"allowed":["rest","oneclient","graphsync"],"key":"interface"}}}`},
		{name: "not JSON", method: "POST", path: verify, hdr: in(), body: `token`, status: 400, want: malformed},
		{name: "GET", method: "GET", path: verify, status: 405, header: map[string]string{"Allow": "POST"}},
	})
}

func TestNamed(t *testing.T) {
	h, f := newHandler(t)
	tok := f.Temporary(t, authtest.Alice)
	auth := func(more ...string) http.Header { return in(append([]string{"X-Auth-Token", tok}, more...)...) }
	var ciToken string
	run(t, h, []exchange{
		{name: "create", method: "POST", path: named, hdr: auth(), body: `{"name":"ci"}`, status: 201,
			check: func(t *testing.T, body []byte) {
				var got struct{ TokenID, Token string }
				if err := json.Unmarshal(body, &got); err != nil || got.TokenID == "" {
					t.Fatalf("%v: %s", err, body)
				}
				token(f, &ciToken)(t, body)
			}},
		// oz-worker's create_user_named_token: ?ERROR_BAD_VALUE_IDENTIFIER_OCCUPIED(<<"name">>).
		{name: "a taken name", method: "POST", path: named, hdr: auth(), body: `{"name":"ci"}`, status: 400, want: nameOccupied},
		{name: "no name", method: "POST", path: named, hdr: auth(), body: `{}`, status: 400,
			want: `{"error":{"id":"missingRequiredValue","description":"Missing required value: name.","details":{"key":"name"}}}`},
		{name: "empty name", method: "POST", path: named, hdr: auth(), body: `{"name":""}`, status: 400, want: badName},
		{name: "a 128-character name", method: "POST", path: named, hdr: auth(), body: `{"name":"` + strings.Repeat("é", 128) + `"}`, status: 201,
			check: token(f, nil)},
		{name: "a 129-character name", method: "POST", path: named, hdr: auth(), body: `{"name":"` + strings.Repeat("n", 129) + `"}`, status: 400, want: badName},
		{name: "a 1-character name", method: "POST", path: named, hdr: auth(), body: `{"name":"n"}`, status: 400, want: badName},
		{name: "a name ending with a space", method: "POST", path: named, hdr: auth(), body: `{"name":"my laptop "}`, status: 400, want: badName},
		{name: "a name with a slash", method: "POST", path: named, hdr: auth(), body: `{"name":"lap/top"}`, status: 400, want: badName},
		{name: "a number for a name", method: "POST", path: named, hdr: auth(), body: `{"name":7}`, status: 400, want: nameString},
		{name: "a null name", method: "POST", path: named, hdr: auth(), body: `{"name":null}`, status: 400, want: nameString},
		// Bug 5: one rule for token names, auth's, which refuses control
		// characters.
		{name: "a NUL in the name", method: "POST", path: named, hdr: auth(), body: `{"name":"a\u0000b"}`, status: 400, want: badName},
		{name: "a DEL in the name", method: "POST", path: named, hdr: auth(), body: `{"name":"a\u007fb"}`, status: 400, want: badName},
		{name: "a newline in the name", method: "POST", path: named, hdr: auth(), body: `{"name":"a\nb"}`, status: 400, want: badName},
		{name: "no credentials", method: "POST", path: named, hdr: in(), body: `{"name":"x"}`, status: 401, want: noAuth},
		{name: "list", method: "GET", path: named, hdr: auth(), status: 200,
			check: func(t *testing.T, body []byte) {
				var got struct{ Tokens []string }
				if err := json.Unmarshal(body, &got); err != nil || len(got.Tokens) != 2 {
					t.Errorf("%v: %s", err, body)
				}
			}},
		{name: "an unknown one", method: "GET", path: named + "/nope", hdr: auth(), status: 404, want: notFound},
		// Onezone fetches the token before it validates the values.
		{name: "patch nothing, an unknown one", method: "PATCH", path: named + "/nope", hdr: auth(), body: `{}`, status: 404, want: notFound},
		{name: "patch an unknown one", method: "PATCH", path: named + "/nope", hdr: auth(), body: `{"revoked":true}`, status: 404, want: notFound},
		{name: "patch with a string, an unknown one", method: "PATCH", path: named + "/nope", hdr: auth(), body: `{"revoked":"yes"}`, status: 404, want: notFound},
		{name: "patch not JSON", method: "PATCH", path: named + "/nope", hdr: auth(), body: `{`, status: 400, want: malformed},
		{name: "method not allowed", method: "PUT", path: named + "/x", hdr: auth(), status: 405, header: map[string]string{"Allow": "DELETE, GET, PATCH"}},
	})
	id := namedID(t, f, "ci")
	one := named + "/" + id
	// The record carries the token as created (Onezone's named_token_reply).
	record := func(custom, name string) string {
		return `{"caveats":[],"id":"` + id + `","metadata":{"creationTime":` + fmt.Sprint(now.Unix()) + `,"custom":` + custom + `},"name":"` + name + `","revoked":false,` +
			`"subject":{"id":"alice","type":"user"},"token":"` + ciToken + `","type":{"accessToken":{}}}`
	}
	run(t, h, []exchange{
		{name: "get", method: "GET", path: one, hdr: auth(), status: 200,
			want: record(`{}`, "ci")},
		{name: "get by name", method: "GET", path: named + "/name/ci", hdr: auth(), status: 200, want: record(`{}`, "ci")},
		{name: "patch nothing", method: "PATCH", path: one, hdr: auth(), body: `{}`, status: 400,
			want: `{"error":{"id":"missingAtLeastOneValue","description":"Missing data, you must provide at least one of: [customMetadata, name, revoked].","details":{"keys":["customMetadata","name","revoked"]}}}`},
		{name: "patch with a string", method: "PATCH", path: one, hdr: auth(), body: `{"revoked":"yes"}`, status: 400, want: revokedBool},
		{name: "get by a name alice has not", method: "GET", path: named + "/name/cd", hdr: auth(), status: 404, want: notFound},
		{name: "get by name, bob", method: "GET", path: named + "/name/ci", hdr: in("X-Auth-Token", f.Temporary(t, authtest.Bob)), status: 404, want: notFound},
		{name: "get by name, no credentials", method: "GET", path: named + "/name/ci", hdr: in(), status: 401, want: noAuth},
		{name: "get by name, POST", method: "POST", path: named + "/name/ci", hdr: auth(), status: 405, header: map[string]string{"Allow": "GET"}},
		// oz-worker's update_named_token: customMetadata replaces
		// metadata.custom; anything but an object is badValueJSON.
		{name: "set custom metadata", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":{ "a": [1, "b"] }}`, status: 204},
		{name: "custom metadata set", method: "GET", path: one, hdr: auth(), status: 200, want: record(`{"a":[1,"b"]}`, "ci")},
		{name: "custom metadata a string", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":"string literal"}`, status: 400, want: badMetadata},
		{name: "custom metadata empty string", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":""}`, status: 400, want: badMetadata},
		{name: "custom metadata a number", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":345345}`, status: 400, want: badMetadata},
		{name: "custom metadata a float", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":1.56}`, status: 400, want: badMetadata},
		{name: "custom metadata null", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":null}`, status: 400, want: badMetadata},
		{name: "custom metadata an array", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":[]}`, status: 400, want: badMetadata},
		{name: "custom metadata bad, with a revoke", method: "PATCH", path: one, hdr: auth(), body: `{"customMetadata":1,"revoked":true}`, status: 400, want: badMetadata},
		{name: "custom metadata over 4 KiB", method: "PATCH", path: one, hdr: auth(),
			body: `{"customMetadata":{"k":"` + strings.Repeat("v", 4096) + `"}}`, status: 400,
			want: `{"error":{"id":"badValueTooHigh","description":"Bad value: provided \"customMetadata\" must not exceed 4096.","details":{"key":"customMetadata","limit":4096}}}`},
		{name: "custom metadata unchanged", method: "GET", path: one, hdr: auth(), status: 200, want: record(`{"a":[1,"b"]}`, "ci")},
		{name: "rename to a taken name", method: "PATCH", path: one, hdr: auth(), body: `{"name":"` + strings.Repeat("é", 128) + `","customMetadata":{}}`, status: 400, want: nameOccupied},
		{name: "rename refused, metadata unchanged", method: "GET", path: one, hdr: auth(), status: 200, want: record(`{"a":[1,"b"]}`, "ci")},
		{name: "revoke", method: "PATCH", path: one, hdr: auth(), body: `{"revoked":true}`, status: 204},
		{name: "it is revoked", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {ciToken}}, status: 401,
			want: authError(`{"id":"tokenRevoked","description":"Provided token has been revoked."}`)},
		// Bug 6: null is no boolean, and un-revoked the token.
		{name: "revoked null", method: "PATCH", path: one, hdr: auth(), body: `{"revoked":null}`, status: 400, want: revokedBool},
		{name: "revoked null, with a name", method: "PATCH", path: one, hdr: auth(), body: `{"name":"other","revoked":null}`, status: 400, want: revokedBool},
		{name: "still revoked", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {ciToken}}, status: 401,
			want: authError(`{"id":"tokenRevoked","description":"Provided token has been revoked."}`)},
		{name: "name null", method: "PATCH", path: one, hdr: auth(), body: `{"name":null}`, status: 400, want: nameString},
		{name: "un-revoke", method: "PATCH", path: one, hdr: auth(), body: `{"revoked":false}`, status: 204},
		{name: "it works again", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {ciToken}}, status: 200, want: `{"generation":1}`},
		{name: "rename", method: "PATCH", path: one, hdr: auth(), body: `{"name":"deploy"}`, status: 204},
		{name: "rename too long", method: "PATCH", path: one, hdr: auth(), body: `{"name":"` + strings.Repeat("n", 129) + `"}`, status: 400, want: badName},
		{name: "rename with a NUL", method: "PATCH", path: one, hdr: auth(), body: `{"name":"de\u0000ploy"}`, status: 400, want: badName},
		{name: "renamed", method: "GET", path: one, hdr: auth(), status: 200,
			check: func(t *testing.T, body []byte) {
				if !strings.Contains(string(body), `"name":"deploy"`) {
					t.Errorf("body %s", body)
				}
			}},
		{name: "delete", method: "DELETE", path: one, hdr: auth(), status: 204},
		{name: "deleted", method: "GET", path: one, hdr: auth(), status: 404, want: notFound},
		{name: "a deleted token", method: "GET", path: temporary, hdr: http.Header{"X-Auth-Token": {ciToken}}, status: 401,
			want: authError(`{"id":"tokenInvalid","description":"Provided token is not valid."}`)},
		{name: "delete all", method: "DELETE", path: named, hdr: auth(), status: 204},
		{name: "none left", method: "GET", path: named, hdr: auth(), status: 200, want: `{"tokens":[]}`},
	})
}

// namedID returns the id of alice's named token called name.
func namedID(t *testing.T, f *authtest.Fixture, name string) string {
	t.Helper()
	list, err := f.Auth.NamedTokens(t.Context(), authtest.Alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range list {
		if n.Name == name {
			return n.ID
		}
	}
	t.Fatalf("alice has no token named %q", name)
	return ""
}

// TestTokenSources: a route's configured token sources authenticate its
// token endpoints, and only they (with Basic and the session cookie) do
// (bug 7).
func TestTokenSources(t *testing.T) {
	h, f := newHandler(t)
	f.Callers.Sources = caller.Sources{{Kind: caller.Cookie, Name: "tg"}, {Kind: caller.Query, Name: "access_token"}}
	tok := f.Temporary(t, authtest.Alice)
	run(t, h, []exchange{
		{name: "the cookie", method: "POST", path: temporary, hdr: in("Cookie", "a=1; tg="+tok), body: caveats(time.Hour),
			status: 201, check: token(f, nil)},
		{name: "the cookie, from another site", method: "POST", path: temporary, hdr: in("Cookie", "tg="+tok, "Sec-Fetch-Site", "cross-site"),
			body: caveats(time.Hour), status: 403, want: forbidden},
		{name: "the cookie, reading", method: "GET", path: temporary, hdr: http.Header{"Cookie": {"tg=" + tok}, "Sec-Fetch-Site": {"cross-site"}},
			status: 200, want: `{"generation":1}`},
		{name: "the query", method: "POST", path: temporary + "?access_token=" + tok, hdr: in(), body: caveats(time.Hour),
			status: 201, check: token(f, nil)},
		{name: "x-auth-token is not this route's", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: caveats(time.Hour),
			status: 401, want: noAuth},
		{name: "nor is bearer", method: "GET", path: temporary, hdr: http.Header{"Authorization": {"Bearer " + tok}}, status: 401, want: noAuth},
		{name: "basic is", method: "GET", path: temporary, hdr: http.Header{"Authorization": {authtest.Basic(authtest.Alice, authtest.Password)}},
			status: 200, want: `{"generation":1}`},
		{name: "a bad cookie token", method: "GET", path: temporary, hdr: http.Header{"Cookie": {"tg=garbage"}}, status: 401,
			want: authError(`{"id":"badToken","description":"Provided token could not be understood by the server."}`)},
	})
}

// TestBudget: wrong passwords use up the client's budget; past it,
// Basic credentials are refused for the rest of the window.
func TestBudget(t *testing.T) {
	h, _ := newHandler(t)
	wrong := http.Header{"Authorization": {authtest.Basic(authtest.Alice, "nope")}}
	for range auth.DefaultBudget.Max {
		if w := authtest.Do(h, "GET", temporary, "", wrong); w.Code != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d %s", w.Code, w.Body)
		}
	}
	run(t, h, []exchange{
		{name: "past the budget", method: "GET", path: temporary, hdr: http.Header{"Authorization": {authtest.Basic(authtest.Alice, authtest.Password)}},
			status: 429, header: map[string]string{"Retry-After": "300"},
			want: `{"error":{"id":"tooManyRequests","description":"Too many failed authentication attempts - please try again later.","details":{"retryAfter":300}}}`},
	})
}

// TestCallerGone: a client that went away while its password was being
// checked is answered 499, with no body, as nothing failed (bug 4).
func TestCallerGone(t *testing.T) {
	h, _ := newHandler(t)
	basic := http.Header{"Authorization": {authtest.Basic(authtest.Alice, authtest.Password)}}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", temporary, ""},
		{"POST", temporary, caveats(time.Hour)},
		{"DELETE", temporary, ""},
		{"POST", named, `{"name":"ci"}`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := authtest.Gone(authtest.Request(tc.method, "http://example.com"+tc.path, tc.body, basic))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 499 || w.Body.Len() != 0 {
				t.Fatalf("got %d %s, want 499 and no body", w.Code, w.Body)
			}
		})
	}
}
