package integration

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Onezone temporary-token endpoints, with and without the trailing
// slash Onezone's own tests use.
var tempPaths = []string{tempPath, tempPath + "/"}

func TestGeneration(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	generation := func(t *testing.T, path string, h hdr) int {
		t.Helper()
		r := c.do(t, http.MethodGet, base+path, h, nil)
		g, ok := r.JSON["generation"].(float64)
		if r.Status != http.StatusOK || !ok || len(r.JSON) != 1 {
			t.Fatalf("GET %s: got %s, want 200 {\"generation\": N}", path, r)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
		}
		return int(g)
	}

	for _, p := range tempPaths {
		if g := generation(t, p, alice); g != 1 {
			t.Errorf("fresh user, GET %s: generation %d, want 1", p, g)
		}
	}

	// Onezone revokes N = 1..15 times; a few suffice here. DELETEs
	// alternate between the two spellings of the path.
	const revocations = 4
	for n := 1; n <= revocations; n++ {
		p := tempPaths[n%2]
		r := c.do(t, http.MethodDelete, base+p, alice, nil)
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("DELETE %s #%d: got %s, want 204 with no body", p, n, r)
		}
		for _, q := range tempPaths {
			if g := generation(t, q, alice); g != 1+n {
				t.Fatalf("after %d revocations, GET %s: generation %d, want %d", n, q, g, 1+n)
			}
		}
	}

	// A token minted now carries the current generation, and the
	// generation reads the same with token credentials.
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	if g := jwtClaims(t, tok)["gen"]; g != json.Number(strconv.Itoa(1+revocations)) {
		t.Errorf("token minted after %d revocations carries gen %v, want %d", revocations, g, 1+revocations)
	}
	for _, h := range []hdr{{"X-Auth-Token": tok}, {"Authorization": "Bearer " + tok}} {
		if g := generation(t, tempPath, h); g != 1+revocations {
			t.Errorf("GET with %v: generation %d, want %d", h, g, 1+revocations)
		}
	}

	// Another user's generation is untouched.
	if g := generation(t, tempPath, hdr{"Authorization": basic("bob", bobPassword)}); g != 1 {
		t.Errorf("bob's generation after alice's revocations: %d, want 1", g)
	}

	// Anonymous callers are refused.
	r := c.do(t, http.MethodGet, base+tempPath, nil, nil)
	wantError(t, r, http.StatusUnauthorized, "unauthorized")
}

func TestCreateTemporaryToken(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	now := time.Now().Unix()
	aliceTok := c.mintTemporary(t, base, "alice", alicePassword, 600)

	for _, tc := range []struct {
		name string
		path string
		auth hdr
		body string
	}{
		{"basic", tempPath, hdr{"Authorization": basic("alice", alicePassword)},
			`{"caveats":[{"type":"time","validUntil":NOW+917}]}`},
		{"trailing slash", tempPath + "/", hdr{"Authorization": basic("alice", alicePassword)},
			`{"caveats":[{"type":"time","validUntil":NOW+917}]}`},
		{"x-auth-token credentials", tempPath, hdr{"x-auth-token": aliceTok},
			`{"caveats":[{"type":"time","validUntil":NOW+917}]}`},
		{"bearer credentials", tempPath, hdr{"Authorization": "Bearer " + aliceTok},
			`{"caveats":[{"type":"time","validUntil":NOW+917}]}`},
		{"explicit access type", tempPath, hdr{"Authorization": basic("alice", alicePassword)},
			`{"type":{"accessToken":{}},"caveats":[{"type":"time","validUntil":NOW+917}]}`},
		{"max ttl minus 7", tempPath, hdr{"Authorization": basic("alice", alicePassword)},
			`{"caveats":[{"type":"time","validUntil":NOW+3593}]}`},
		// The TTL is the earliest validUntil: a later one does not count.
		{"two time caveats", tempPath, hdr{"Authorization": basic("alice", alicePassword)},
			`{"caveats":[{"type":"time","validUntil":NOW+60},{"type":"time","validUntil":NOW+99999}]}`},
		{"json with charset", tempPath, hdr{"Authorization": basic("alice", alicePassword), "Content-Type": "application/json; charset=utf-8"},
			`{"caveats":[{"type":"time","validUntil":NOW+917}]}`},
		{"ip and interface caveats", tempPath, hdr{"Authorization": basic("alice", alicePassword)},
			`{"caveats":[{"type":"time","validUntil":NOW+600},{"type":"ip","whitelist":["127.0.0.1","10.0.0.0/8"]},{"type":"interface","interface":"rest"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := expandNow(tc.body, now)
			r := c.do(t, http.MethodPost, base+tc.path, tc.auth, body)
			tok, _ := r.JSON["token"].(string)
			if r.Status != http.StatusCreated || tok == "" || len(r.JSON) != 1 {
				t.Fatalf("got %s, want 201 {\"token\"}", r)
			}
			if loc := r.Header.Get("Location"); loc != "" {
				t.Errorf("Location %q: Onezone sends none for temporary tokens", loc)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			// A fresh credential must not be cached by intermediaries.
			if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if o := r.Header.Get("Access-Control-Allow-Origin"); o != "*" {
				t.Errorf("Access-Control-Allow-Origin %q, want * (as Onezone)", o)
			}
			s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/app", hdr{"X-Auth-Token": tok}, nil))
			for name, want := range map[string]string{
				"X-Auth-User-Id":    "alice",
				"X-Auth-User-Email": "alice@example.com",
				"X-Auth-User-Name":  "Alice Example",
				"X-Auth-User-Role":  "Editor",
			} {
				if got, _ := s.header(name); len(got) != 1 || got[0] != want {
					t.Errorf("upstream saw %s = %q, want [%q]", name, got, want)
				}
			}
		})
	}
}

// expandNow replaces NOW+<n> with the Unix time n seconds from now.
func expandNow(s string, now int64) string {
	for {
		i := strings.Index(s, "NOW+")
		if i < 0 {
			return s
		}
		j := i + len("NOW+")
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n, _ := strconv.ParseInt(s[i+len("NOW+"):j], 10, 64)
		s = s[:i] + strconv.FormatInt(now+n, 10) + s[j:]
	}
}

func TestCreateTemporaryTokenErrors(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	const good = `[{"type":"time","validUntil":NOW+600}]`

	maxTTL := func(t *testing.T, r *response) {
		t.Helper()
		if d := errorDetails(r.JSON); !jsonEqual(t, d, `{"maxTtl":3600}`) {
			t.Errorf("details %v, want {\"maxTtl\":3600}", d)
		}
		e, _ := r.JSON["error"].(map[string]any)
		if want := "You must specify a time caveat with maximum TTL of 3600 seconds."; e["description"] != want {
			t.Errorf("description %q, want %q", e["description"], want)
		}
	}
	detail := func(key, want string) func(*testing.T, *response) {
		return func(t *testing.T, r *response) {
			t.Helper()
			if got := errorDetails(r.JSON)[key]; !jsonEqual(t, got, want) {
				t.Errorf("details.%s = %v, want %s", key, got, want)
			}
		}
	}

	type errCase struct {
		name   string
		auth   hdr    // default: alice's Basic credentials
		ct     string // Content-Type; default application/json
		body   any    // string: raw body with NOW+n expanded
		status int
		id     string
		check  func(*testing.T, *response)
	}
	cases := []errCase{
		{name: "empty caveats", body: `{"caveats":[]}`, status: 400, id: "tokenTimeCaveatRequired", check: maxTTL},
		{name: "missing caveats", body: `{}`, status: 400, id: "tokenTimeCaveatRequired", check: maxTTL},
		{name: "empty body", body: nil, status: 400, id: "tokenTimeCaveatRequired", check: maxTTL},
		{name: "no time caveat", body: `{"caveats":[{"type":"interface","interface":"rest"}]}`,
			status: 400, id: "tokenTimeCaveatRequired", check: maxTTL},
		{name: "ttl above max", body: `{"caveats":[{"type":"time","validUntil":NOW+3660}]}`,
			status: 400, id: "tokenTimeCaveatRequired", check: maxTTL},
		{name: "ttl above max with ip caveat",
			body:   `{"caveats":[{"type":"ip","whitelist":["127.0.0.1"]},{"type":"time","validUntil":NOW+3601000}]}`,
			status: 400, id: "tokenTimeCaveatRequired", check: maxTTL},
	}
	for _, v := range []string{`""`, `345345`, `1.56`, `"string literal"`, `{}`} {
		cases = append(cases, errCase{name: "caveats " + v, body: `{"caveats":` + v + `}`,
			status: 400, id: "badData", check: detail("key", `"caveats"`)})
	}
	for _, v := range []string{`{}`, `{"a":"b"}`, `{"type":"tiem"}`, `1`, `"time > 1234"`, `"ip = 1.2.3.4.5"`,
		// A caveat tokengate cannot enforce is refused, not ignored.
		`{"type":"consumer","whitelist":["grp-abc"]}`,
		`{"type":"api","whitelist":["ozw/read/user.*.*:*"]}`,
		`{"type":"service","whitelist":["oz*w"]}`,
		`{"type":"data.path","whitelist":["not base64!"]}`,
		`{"type":"data.readonly","whitelist":["L2E="]}`,
		`{"type":"ip","whitelist":["1.2.3.4.5"]}`,
		`{"type":"interface","interface":"bogus"}`,
		`{"type":"time","validUntil":"soon"}`,
		`{"type":"time","validUntil":1234,"extra":1}`,
	} {
		list := `[` + v + `]`
		if v == `1` {
			list = `[1,2,3]`
		}
		if strings.HasPrefix(v, `{"type":"service"`) || strings.HasPrefix(v, `{"type":"data.`) ||
			strings.HasPrefix(v, `{"type":"consumer"`) || strings.HasPrefix(v, `{"type":"api"`) || strings.HasPrefix(v, `{"type":"ip"`) || strings.HasPrefix(v, `{"type":"interface"`) ||
			strings.HasPrefix(v, `{"type":"time"`) {
			list = `[{"type":"time","validUntil":NOW+600},` + v + `]`
		}
		want := v
		if v == `1` {
			want = `"1"` // as Onezone prints it (token_named_temp_api_test_SUITE: [1, 2, 3])
		}
		cases = append(cases, errCase{name: "caveat " + v, body: `{"caveats":` + list + `}`,
			status: 400, id: "badValueCaveat", check: detail("caveat", want)})
	}
	// Onezone types that need what tokengate does not have say so.
	for _, v := range []string{`{"type":"asn","whitelist":[631]}`, `{"type":"geo.country","filter":"whitelist","list":["PL"]}`,
		`{"type":"geo.region","filter":"blacklist","list":["Europe"]}`, `{"type":"data.objectid","whitelist":["abc"]}`} {
		lacks := "GeoIP"
		if strings.Contains(v, "objectid") {
			lacks = "file objects"
		}
		cases = append(cases, errCase{name: "unsupported caveat " + v,
			body:   `{"caveats":[{"type":"time","validUntil":NOW+600},` + v + `]}`,
			status: 400, id: "badValueCaveat", check: func(t *testing.T, r *response) {
				t.Helper()
				detail("caveat", v)(t, r)
				e, _ := r.JSON["error"].(map[string]any)
				if d, _ := e["description"].(string); !strings.Contains(d, lacks) || !strings.Contains(d, "tokengate does not have") {
					t.Errorf("description %q does not say tokengate lacks %s", d, lacks)
				}
			}})
	}
	for _, v := range []string{`""`, `123123`, `"dsfdsfasdf"`, `{"inviteToken":{}}`, `{"accessToken":{},"identityToken":{}}`} {
		cases = append(cases, errCase{name: "type " + v, body: `{"type":` + v + `,"caveats":` + good + `}`,
			status: 400, id: "badValueTokenType", check: detail("key", `"type"`)})
	}
	// tokengate has nothing to invite to: every invite target is invalid
	// (token_named_temp_api_test_SUITE's invite types, invite_tokens.erl).
	cases = append(cases, errCase{name: "invite token type",
		body:   `{"type":{"inviteToken":{"inviteType":"userJoinSpace","spaceId":"s1"}},"caveats":` + good + `}`,
		status: 400, id: "inviteTokenTargetIdInvalid", check: detail("id", `"s1"`)})
	cases = append(cases,
		errCase{name: "not json", body: `not json`, status: 400, id: "malformedData"},
		errCase{name: "truncated json", body: `{"caveats":[`, status: 400, id: "malformedData"},
		errCase{name: "text/plain body", ct: "text/plain", body: `{"caveats":` + good + `}`,
			status: http.StatusUnsupportedMediaType},
		errCase{name: "body over 64 KiB",
			body:   `{"caveats":` + good + `,"pad":"` + strings.Repeat("x", 70<<10) + `"}`,
			status: http.StatusRequestEntityTooLarge},
		errCase{name: "no credentials", auth: hdr{}, body: `{"caveats":` + good + `}`,
			status: 401, id: "unauthorized", check: func(t *testing.T, r *response) {
				t.Helper()
				e, _ := r.JSON["error"].(map[string]any)
				if want := "You must authenticate yourself to perform this operation."; e["description"] != want {
					t.Errorf("description %q, want %q", e["description"], want)
				}
				if _, ok := e["details"]; ok {
					t.Errorf("unexpected details in %s", r)
				}
			}},
		errCase{name: "wrong password", auth: hdr{"Authorization": basic("alice", "not-"+alicePassword)},
			body: `{"caveats":` + good + `}`, status: 401, id: "unauthorized",
			check: func(t *testing.T, r *response) {
				t.Helper()
				if a := authErrorID(r.JSON); a != "badBasicCredentials" {
					t.Errorf("authError %q, want badBasicCredentials", a)
				}
			}},
		errCase{name: "undecodable basic", auth: hdr{"Authorization": "Basic !!!not-base64"},
			body: `{"caveats":` + good + `}`, status: 401, id: "unauthorized",
			check: func(t *testing.T, r *response) {
				t.Helper()
				if a := authErrorID(r.JSON); a != "badBasicCredentials" {
					t.Errorf("authError %q, want badBasicCredentials", a)
				}
			}},
		errCase{name: "garbage token credentials", auth: hdr{"X-Auth-Token": "this-is-a-bad-token-that-cannot-be-decoded"},
			body: `{"caveats":` + good + `}`, status: 401, id: "unauthorized",
			check: func(t *testing.T, r *response) {
				t.Helper()
				if a := authErrorID(r.JSON); a != "badToken" {
					t.Errorf("authError %q, want badToken", a)
				}
			}},
	)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hdr{}
			auth := tc.auth
			if auth == nil {
				auth = alice
			}
			for k, v := range auth {
				h[k] = v
			}
			if tc.ct != "" {
				h["Content-Type"] = tc.ct
			}
			var body any
			if s, ok := tc.body.(string); ok {
				body = expandNow(s, time.Now().Unix())
			}
			r := c.do(t, http.MethodPost, base+tempPath, h, body)
			if r.Status != tc.status {
				t.Fatalf("got %s, want status %d %s", r, tc.status, tc.id)
			}
			if tc.id != "" && errorID(r.JSON) != tc.id {
				t.Fatalf("got %s, want error id %s", r, tc.id)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if o := r.Header.Get("Access-Control-Allow-Origin"); o != "*" {
				t.Errorf("Access-Control-Allow-Origin %q, want * on every REST reply (as Onezone)", o)
			}
		})
	}

	// None of the refused requests bumped anything or reached the app.
	r := c.do(t, http.MethodGet, base+tempPath, alice, nil)
	if !jsonEqual(t, r.JSON, `{"generation":1}`) {
		t.Errorf("generation after refused creations: %s, want 1", r)
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPut, tempPath, "DELETE, GET, POST"},
		{http.MethodPatch, tempPath + "/", "DELETE, GET, POST"},
		{http.MethodGet, verifyPath, "POST"},
		{http.MethodDelete, verifyPath, "POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := c.do(t, tc.method, c.site(0)+tc.path, hdr{"Authorization": basic("alice", alicePassword)}, nil)
			if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != tc.allow {
				t.Errorf("got %s Allow %q, want 405 Allow %q", r, r.Header.Get("Allow"), tc.allow)
			}
		})
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

func TestRevokeTemporaryTokens(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	old1 := c.mintTemporary(t, base, "alice", alicePassword, 600)
	old2 := c.mintWith(t, base, "alice", alicePassword, map[string]any{
		"caveats": []map[string]any{{"type": "time", "validUntil": time.Now().Unix() + 900}, {"type": "ip", "whitelist": []string{"127.0.0.1"}}},
	})
	bobTok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	// Use the tokens first, so that they are cached when revoked.
	for _, tok := range []string{old1, old2, bobTok} {
		upstreamSaw(t, c.do(t, http.MethodGet, base+"/before", hdr{"X-Auth-Token": tok}, nil))
	}

	r := c.do(t, http.MethodDelete, base+tempPath, alice, nil)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("DELETE: got %s, want 204 with no body", r)
	}
	hits := c.up.hits.Load()
	for _, tok := range []string{old1, old2} {
		wantRefused(t, c.do(t, http.MethodGet, base+"/after", hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
		wantRefused(t, c.do(t, http.MethodGet, base+"/after", hdr{"Authorization": "Bearer " + tok}, nil), "tokenRevoked")
		wantRefused(t, c.do(t, http.MethodGet, base+tempPath, hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
		// A revoked token cannot revoke again: the generation stays.
		wantRefused(t, c.do(t, http.MethodDelete, base+tempPath, hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
	}
	if n := c.up.hits.Load(); n != hits {
		t.Errorf("revoked tokens reached the upstream %d times", n-hits)
	}
	if r := c.do(t, http.MethodGet, base+tempPath, alice, nil); !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Errorf("generation after one revocation and refused DELETEs: %s, want 2", r)
	}

	// A forged token of the previous generation is invalid, not revoked:
	// Onezone compares generations before signatures, which tells anyone
	// a user's generation; tokengate checks a token's tag first (issue 14).
	forged := jwtClaims(t, old1)
	forged["jti"] = "forged-old-generation"
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": signHS256(t, forged, randomKey(t))}, nil), "tokenInvalid")

	// A new token works; bob's old one is untouched.
	fresh := c.mintTemporary(t, base, "alice", alicePassword, 600)
	if s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/fresh", hdr{"X-Auth-Token": fresh}, nil)); s.Path != "/fresh" {
		t.Errorf("upstream path %q", s.Path)
	}
	s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/bob", hdr{"X-Auth-Token": bobTok}, nil))
	if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "bob" {
		t.Errorf("bob's token after alice's revocation: upstream saw id %q", id)
	}
	if r := c.do(t, http.MethodGet, base+tempPath, hdr{"X-Auth-Token": bobTok}, nil); !jsonEqual(t, r.JSON, `{"generation":1}`) {
		t.Errorf("bob's generation: %s, want 1", r)
	}

	// Revoking with a token revokes that token too.
	if r := c.do(t, http.MethodDelete, base+tempPath+"/", hdr{"X-Auth-Token": fresh}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE with a token: got %s, want 204", r)
	}
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": fresh}, nil), "tokenRevoked")
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/bob", hdr{"X-Auth-Token": bobTok}, nil))
}

func TestVerifyAccessToken(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	now := time.Now().Unix()

	revoked := c.mintTemporary(t, base, "bob", bobPassword, 600)
	if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("bob", bobPassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking bob: %s", r)
	}
	valid := c.mintTemporary(t, base, "alice", alicePassword, 600)
	ipTok := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": []any{
		map[string]any{"type": "time", "validUntil": now + 600},
		map[string]any{"type": "ip", "whitelist": []string{"134.93.0.0/16"}},
	}})
	ifaceTok := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": []any{
		map[string]any{"type": "time", "validUntil": now + 600},
		map[string]any{"type": "interface", "interface": "oneclient"},
	}})
	identity := c.mintWith(t, base, "alice", alicePassword, map[string]any{
		"type": map[string]any{"identityToken": map[string]any{}}, "caveats": timeCaveats(600),
	})
	expired := c.mintWith(t, base, "alice", alicePassword, map[string]any{
		"caveats": []any{map[string]any{"type": "time", "validUntil": now - 60}},
	})

	t.Run("valid", func(t *testing.T) {
		for _, p := range []string{verifyPath, verifyPath + "/"} {
			// No credentials at all: the endpoint is public.
			r := c.do(t, http.MethodPost, base+p, nil, map[string]any{"token": valid})
			sub, _ := r.JSON["subject"].(map[string]any)
			ttl, ok := r.JSON["ttl"].(float64)
			if r.Status != http.StatusOK || !jsonEqual(t, sub, `{"type":"user","id":"alice"}`) || !ok || len(r.JSON) != 2 {
				t.Fatalf("POST %s: got %s, want 200 {subject, ttl}", p, r)
			}
			if ttl > 600 || ttl < 590 {
				t.Errorf("ttl %v, want about 600", ttl)
			}
		}
	})
	t.Run("caveats that hold", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"token": ipTok, "peerIp": "134.93.1.2"},
			{"token": ifaceTok, "interface": "oneclient"},
		} {
			r := c.do(t, http.MethodPost, base+verifyPath, nil, body)
			if r.Status != http.StatusOK {
				t.Errorf("%v: got %s, want 200", body, r)
			}
		}
	})

	for _, tc := range []struct {
		name  string
		body  any
		id    string
		check func(*testing.T, map[string]any)
	}{
		{"revoked", map[string]any{"token": revoked}, "tokenRevoked", nil},
		{"token 1234 string", map[string]any{"token": "1234"}, "badValueToken", wantDetail("key", `"token"`)},
		{"token 1234 number", map[string]any{"token": 1234}, "badValueToken", wantDetail("key", `"token"`)},
		{"token object", map[string]any{"token": map[string]any{"a": "b"}}, "badValueToken", wantDetail("key", `"token"`)},
		{"bad peerIp", map[string]any{"token": valid, "peerIp": "1234.6.78.19"}, "badValueIPv4Address", wantDetail("key", `"peerIp"`)},
		{"bad interface", map[string]any{"token": valid, "interface": "bogus"}, "badValueNotAllowed", wantDetail("key", `"interface"`)},
		{"ip caveat, other ip", map[string]any{"token": ipTok, "peerIp": "10.0.0.1"}, "tokenCaveatUnverified",
			wantDetail("caveat", `{"type":"ip","whitelist":["134.93.0.0/16"]}`)},
		{"ip caveat, no ip", map[string]any{"token": ipTok}, "tokenCaveatUnverified",
			wantDetail("caveat", `{"type":"ip","whitelist":["134.93.0.0/16"]}`)},
		{"interface caveat, other interface", map[string]any{"token": ifaceTok, "interface": "rest"}, "tokenCaveatUnverified",
			wantDetail("caveat", `{"type":"interface","interface":"oneclient"}`)},
		{"identity token", map[string]any{"token": identity}, "notAnAccessToken",
			wantDetail("received", `{"identityToken":{}}`)},
		{"expired", map[string]any{"token": expired}, "tokenCaveatUnverified",
			wantDetail("caveat", `{"type":"time","validUntil":`+strconv.FormatInt(now-60, 10)+`}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, http.MethodPost, base+verifyPath, nil, tc.body)
			if r.Status != http.StatusBadRequest || errorID(r.JSON) != tc.id {
				t.Fatalf("got %s, want 400 %s", r, tc.id)
			}
			if tc.check != nil {
				tc.check(t, errorDetails(r.JSON))
			}
		})
	}
	if n := c.up.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests, want 0", n)
	}
}

func wantDetail(key, want string) func(*testing.T, map[string]any) {
	return func(t *testing.T, d map[string]any) {
		t.Helper()
		if !jsonEqual(t, d[key], want) {
			t.Errorf("details.%s = %v, want %s (details %v)", key, d[key], want, d)
		}
	}
}
