package onezone_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/authtest"
)

// badCaveat is Onezone's answer to caveat c (as the client sent it).
func badCaveat(c string) string {
	b, _ := json.Marshal("Provided caveat is invalid: '" + c + "'.")
	return `{"error":{"id":"badValueCaveat","description":` + string(b) + `,"details":{"caveat":` + c + `}}}`
}

// TestTimeCaveatBounds: the maximum TTL holds for every integer; a
// validUntil no token can carry is Onezone's badValueCaveat, not a
// token that never expires (issue 14, finding 1: 9223372036854775807
// was accepted, and verify reported a TTL of 9.2e18 seconds).
func TestTimeCaveatBounds(t *testing.T) {
	h, f := newHandler(t)
	tok := f.Temporary(t, authtest.Alice)
	body := func(until string) string { return `{"caveats":[{"type":"time","validUntil":` + until + `}]}` }
	var atMax string
	cases := []exchange{
		{name: "create at the max TTL", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: caveats(30 * 24 * time.Hour), status: 201, check: token(f, &atMax)},
		{name: "create, one second past the max TTL", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: caveats(30*24*time.Hour + time.Second), status: 400,
			want: `{"error":{"id":"tokenTimeCaveatRequired","description":"You must specify a time caveat with maximum TTL of 2592000 seconds.","details":{"maxTtl":2592000}}}`},
		{name: "create, year 9999", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok), body: body("253402300799"), status: 400,
			want: `{"error":{"id":"tokenTimeCaveatRequired","description":"You must specify a time caveat with maximum TTL of 2592000 seconds.","details":{"maxTtl":2592000}}}`},
	}
	for _, until := range []string{"9223372036854775807", "9223371974719179008", "253402300800", "9223372036854775808", "-1", "-9223372036854775808", "1e300"} {
		c := `{"type":"time","validUntil":` + until + `}`
		cases = append(cases,
			exchange{name: "create, validUntil " + until, method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
				body: body(until), status: 400, want: badCaveat(c)},
			exchange{name: "create named, validUntil " + until, method: "POST", path: named, hdr: in("X-Auth-Token", tok),
				body: `{"name":"nn","caveats":[` + c + `]}`, status: 400, want: badCaveat(c)})
	}
	run(t, h, cases)
	run(t, h, []exchange{
		{name: "verify reports the TTL", method: "POST", path: verify, hdr: in(), body: `{"token":"` + atMax + `"}`, status: 200,
			want: fmt.Sprintf(`{"subject":{"id":"alice","type":"user"},"ttl":%d}`, 30*24*3600)},
	})
}

// TestServiceForbidden: a service caveat that no route's service
// matches is refused at creation, temporary or named, with Onezone's
// tokenServiceForbidden naming its first entry; one entry that matches
// is enough.
func TestServiceForbidden(t *testing.T) {
	h, f := newHandler(t)
	h.ServiceExists = func(p string) bool { return p == "wiki" || p == "grafana-*" || p == "*" }
	tok := f.Temporary(t, authtest.Alice)
	until := fmt.Sprint(now.Add(10 * time.Minute).Unix())
	body := func(svc string) string {
		return `{"caveats":[{"type":"time","validUntil":` + until + `},{"type":"service","whitelist":` + svc + `}]}`
	}
	forbidden := func(s string) string {
		return `{"error":{"id":"tokenServiceForbidden","description":"The service ` + s + ` is forbidden for this subject.","details":{"service":"` + s + `"}}}`
	}
	// A token with a service caveat passes no token endpoint, which has
	// no service: only its creation is judged.
	created := func(t *testing.T, body []byte) {
		if !strings.Contains(string(body), `"token":"`) {
			t.Errorf("no token in %s", body)
		}
	}
	run(t, h, []exchange{
		{name: "temporary, known service", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: body(`["wiki"]`), status: 201, check: created},
		{name: "temporary, one known entry", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: body(`["gitlab","grafana-*"]`), status: 201, check: created},
		{name: "temporary, unknown service", method: "POST", path: temporary, hdr: in("X-Auth-Token", tok),
			body: body(`["gitlab","jira-*"]`), status: 400, want: forbidden("gitlab")},
		{name: "named, unknown service", method: "POST", path: named, hdr: in("X-Auth-Token", tok),
			body: `{"name":"svc-a","caveats":[{"type":"service","whitelist":["gitlab"]}]}`, status: 400, want: forbidden("gitlab")},
		{name: "named, known service", method: "POST", path: named, hdr: in("X-Auth-Token", tok),
			body: `{"name":"svc-b","caveats":[{"type":"service","whitelist":["*"]}]}`, status: 201, check: created},
	})
}
