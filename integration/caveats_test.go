package integration

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"
)

// caveatSites are two gated sites of one Caddy, the wiki and grafana-eu
// services, and a third gated site, docs.test, that names no service:
// its service is its host name.
var caveatSites = caddyfile{
	App:   []string{"temporary_max_ttl 1h"},
	Sites: []site{{Gate: []string{"service wiki"}}, {Gate: []string{"service grafana-eu"}}, {Host: "docs.test"}},
}

// TestGateCaveats: the data.readonly, data.path and service caveats, from
// token creation (temporary and named) to the gate's answer.
func TestGateCaveats(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caveatSites)
	wiki, grafana, plain := c.site(0), c.site(1), c.site(2)
	timeCav := map[string]any{"type": "time", "validUntil": time.Now().Unix() + 600}
	temporary := func(cav map[string]any) string {
		return c.mintWith(t, wiki, "alice", alicePassword, map[string]any{"caveats": []any{timeCav, cav}})
	}
	b64 := base64.StdEncoding.EncodeToString

	readonly := map[string]any{"type": "data.readonly"}
	path := map[string]any{"type": "data.path", "whitelist": []string{b64([]byte("/docs")), b64([]byte("/img/public/"))}}
	service := map[string]any{"type": "service", "whitelist": []string{"wiki", "intranet-*"}}
	serviceGlob := map[string]any{"type": "service", "whitelist": []string{"grafana-*"}}
	serviceHost := map[string]any{"type": "service", "whitelist": []string{"docs.test"}}
	// A CI token: POST below /deploy/ on the wiki, GET of one segment's
	// issues on any grafana-*.
	api := map[string]any{"type": "api", "whitelist": []string{"wiki/create/deploy/*", "grafana-*/get/repos/*/issues"}}
	consumer := map[string]any{"type": "consumer", "whitelist": []string{"usr-bob"}}
	bobTok := c.mintWith(t, wiki, "bob", bobPassword, map[string]any{"caveats": []any{timeCav}})
	aliceTok := c.mintWith(t, wiki, "alice", alicePassword, map[string]any{"caveats": []any{timeCav}})
	bobElsewhere := c.mintWith(t, wiki, "bob", bobPassword, map[string]any{"caveats": []any{timeCav, serviceGlob}})

	r := c.do(t, http.MethodPost, wiki+"/api/v3/onezone/user/tokens/named", hdr{"Authorization": basic("alice", alicePassword)},
		map[string]any{"name": "read-only", "caveats": []any{readonly}})
	if r.Status != http.StatusCreated {
		t.Fatalf("creating a read-only named token: got %s, want 201", r)
	}
	named, _ := r.JSON["token"].(string)

	// No route of this Caddy is gitlab or jira-*: such a token could pass
	// nowhere, and is not created.
	for _, path := range []string{tempPath, "/api/v3/onezone/user/tokens/named"} {
		r := c.do(t, http.MethodPost, plain+path, hdr{"Authorization": basic("alice", alicePassword)},
			map[string]any{"name": "nowhere", "caveats": []any{timeCav, map[string]any{"type": "service", "whitelist": []string{"gitlab", "jira-*"}}}})
		wantError(t, r, http.StatusBadRequest, "tokenServiceForbidden")
		if got := errorDetails(r.JSON)["service"]; got != "gitlab" {
			t.Errorf("%s: details.service = %v, want gitlab", path, got)
		}
	}

	const (
		readonlyJSON    = `{"type":"data.readonly"}`
		pathJSON        = `{"type":"data.path","whitelist":["L2RvY3M=","L2ltZy9wdWJsaWMv"]}`
		serviceJSON     = `{"type":"service","whitelist":["wiki","intranet-*"]}`
		serviceGlobJSON = `{"type":"service","whitelist":["grafana-*"]}`
		serviceHostJSON = `{"type":"service","whitelist":["docs.test"]}`
		apiJSON         = `{"type":"api","whitelist":["wiki/create/deploy/*","grafana-*/get/repos/*/issues"]}`
		consumerJSON    = `{"type":"consumer","whitelist":["usr-bob"]}`
	)
	for _, tc := range []struct {
		name, token, method, url string
		caveat                   string // the caveat that refuses the request; "": it passes
		consumer                 string // the x-onedata-consumer-token to send
	}{
		{"temporary read-only GET", temporary(readonly), http.MethodGet, wiki + "/page", "", ""},
		{"temporary read-only HEAD", temporary(readonly), http.MethodHead, wiki + "/page", "", ""},
		{"temporary read-only OPTIONS", temporary(readonly), http.MethodOptions, wiki + "/page", "", ""},
		{"temporary read-only POST", temporary(readonly), http.MethodPost, wiki + "/page", readonlyJSON, ""},
		{"temporary read-only DELETE", temporary(readonly), http.MethodDelete, wiki + "/page", readonlyJSON, ""},
		{"named read-only GET", named, http.MethodGet, wiki + "/page", "", ""},
		{"named read-only PUT", named, http.MethodPut, wiki + "/page", readonlyJSON, ""},

		{"path: the prefix itself", temporary(path), http.MethodGet, wiki + "/docs", "", ""},
		{"path: below", temporary(path), http.MethodPost, wiki + "/docs/a/b.md", "", ""},
		{"path: below the second entry", temporary(path), http.MethodGet, wiki + "/img/public/logo.png", "", ""},
		{"path: shares the prefix, not the segment", temporary(path), http.MethodGet, wiki + "/docsecret", pathJSON, ""},
		{"path: outside", temporary(path), http.MethodGet, wiki + "/admin", pathJSON, ""},
		{"path: parent of an entry", temporary(path), http.MethodGet, wiki + "/img/private", pathJSON, ""},
		{"path: encoded dot-dot out of the prefix", temporary(path), http.MethodGet, wiki + "/docs/%2e%2e/admin", pathJSON, ""},
		{"path: encoded slash and dot-dot", temporary(path), http.MethodGet, wiki + "/docs%2f..%2fadmin", pathJSON, ""},

		{"service on its site", temporary(service), http.MethodGet, wiki + "/page", "", ""},
		{"service on another site", temporary(service), http.MethodGet, grafana + "/d/1", serviceJSON, ""},
		{"service on a site named by its host", temporary(service), http.MethodGet, plain + "/x", serviceJSON, ""},
		{"service: the site's host name", temporary(serviceHost), http.MethodGet, plain + "/x", "", ""},
		{"service: a host name on a named site", temporary(serviceHost), http.MethodGet, wiki + "/page", serviceHostJSON, ""},
		{"service glob matches", temporary(serviceGlob), http.MethodGet, grafana + "/d/1", "", ""},
		{"service glob, other site", temporary(serviceGlob), http.MethodGet, wiki + "/page", serviceGlobJSON, ""},

		{"api: create below the prefix", temporary(api), http.MethodPost, wiki + "/deploy/web/42", "", ""},
		{"api: create is not update", temporary(api), http.MethodPut, wiki + "/deploy/web/42", apiJSON, ""},
		{"api: create is not get", temporary(api), http.MethodGet, wiki + "/deploy/web/42", apiJSON, ""},
		{"api: outside the prefix", temporary(api), http.MethodPost, wiki + "/admin/users", apiJSON, ""},
		{"api: encoded dot-dot out of the prefix", temporary(api), http.MethodPost, wiki + "/deploy/%2e%2e/admin", apiJSON, ""},
		{"api: get on a glob service", temporary(api), http.MethodGet, grafana + "/repos/tg/issues", "", ""},
		{"api: head is get", temporary(api), http.MethodHead, grafana + "/repos/tg/issues", "", ""},
		{"api: one segment only", temporary(api), http.MethodGet, grafana + "/repos/a/b/issues", apiJSON, ""},
		{"api: no entry for the site", temporary(api), http.MethodPost, plain + "/deploy/x", apiJSON, ""},

		{"consumer: with bob's token", temporary(consumer), http.MethodGet, wiki + "/page", "", bobTok},
		{"consumer: without a consumer token", temporary(consumer), http.MethodGet, wiki + "/page", consumerJSON, ""},
		{"consumer: with alice's own token", temporary(consumer), http.MethodGet, wiki + "/page", consumerJSON, aliceTok},
		{"consumer: with a bad consumer token", temporary(consumer), http.MethodGet, wiki + "/page", consumerJSON, bobTok + "x"},
		{"consumer: bob's token fails its own caveat here", temporary(consumer), http.MethodGet, wiki + "/page", consumerJSON, bobElsewhere},
		{"consumer: bob's token passes its own caveat there", temporary(consumer), http.MethodGet, grafana + "/d/1", "", bobElsewhere},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.up.hits.Load()
			h := hdr{"X-Auth-Token": tc.token}
			if tc.consumer != "" {
				h["X-Onedata-Consumer-Token"] = tc.consumer
			}
			r := c.do(t, tc.method, tc.url, h, nil)
			if tc.caveat == "" {
				if (r.Status != http.StatusOK && tc.method != http.MethodHead) || c.up.hits.Load() != before+1 {
					t.Fatalf("got %s, want it passed to the upstream", r)
				}
				if tc.method != http.MethodHead {
					// A credential: the upstream never sees it.
					if vals, _ := upstreamSaw(t, r).header("X-Onedata-Consumer-Token"); len(vals) != 0 {
						t.Errorf("upstream saw the consumer token")
					}
				}
				return
			}
			wantRefused(t, r, "tokenCaveatUnverified")
			a, _ := errorDetails(r.JSON)["authError"].(map[string]any)
			d, _ := a["details"].(map[string]any)
			if !jsonEqual(t, d["caveat"], tc.caveat) {
				t.Errorf("authError.details.caveat = %v, want %s", d["caveat"], tc.caveat)
			}
			if n := c.up.hits.Load(); n != before {
				t.Errorf("upstream saw the refused request")
			}
		})
	}
}
