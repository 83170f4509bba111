package integration

// The assertion: a signed JWT of the caller's identity that the gate adds
// for the upstream, verified here as an upstream would, by an independent
// JWKS client (keyfunc) fetching the keys from Caddy, across key
// rotations and across instances sharing a store.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Rotation in these tests: a key signs for rotation, is published a tenth
// of it before, and an assertion lives assertionTTL (re-minted after
// three quarters of that), so that the gate changes keys within seconds.
const (
	rotation     = 5 * time.Second
	assertionTTL = 2 * time.Second
)

// verdict is what the verifying upstream answers: whether the assertion
// verified, and what it said.
type verdict struct {
	OK      bool     `json:"ok"`
	Err     string   `json:"err,omitempty"`
	Headers int      `json:"headers"` // how many spellings of the header arrived
	Kid     string   `json:"kid"`
	Alg     string   `json:"alg"`
	Sub     string   `json:"sub"`
	Email   string   `json:"email"`
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Aud     []string `json:"aud"`
	Iss     string   `json:"iss"`
	Life    float64  `json:"life"` // exp - iat, seconds
}

// verifier is an upstream that trusts nothing but the assertion: it
// verifies the header against the JWKS its client fetches from Caddy,
// refreshing it every lead (as Cache-Control says), and answers a
// verdict.
type verifier struct {
	srv *httptest.Server
	kf  atomic.Pointer[keyfunc.Keyfunc]
}

func newVerifier(t *testing.T) *verifier {
	t.Helper()
	v := new(verifier)
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, aud := "X-Auth-Assertion", "wiki"
		if strings.HasPrefix(r.URL.Path, "/grafana") {
			header, aud = "X-Grafana-Assertion", "grafana"
		}
		var vals []string
		for k, vs := range r.Header {
			if normHeader(k) == strings.ToLower(header) {
				vals = append(vals, vs...)
			}
		}
		out := verdict{Headers: len(vals)}
		kf := v.kf.Load()
		switch {
		case kf == nil:
			out.Err = "no JWKS client yet"
		case len(vals) != 1:
			out.Err = fmt.Sprintf("%d assertion headers", len(vals))
		default:
			var c struct {
				Email, Name, Role string
				jwt.RegisteredClaims
			}
			tok, err := jwt.ParseWithClaims(vals[0], &c, (*kf).Keyfunc, jwt.WithValidMethods([]string{"EdDSA", "ES256"}),
				jwt.WithAudience(aud), jwt.WithIssuer("tokengate"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			if err != nil {
				out.Err = err.Error()
				break
			}
			out.OK = true
			out.Kid, _ = tok.Header["kid"].(string)
			out.Alg = tok.Method.Alg()
			out.Sub, out.Email, out.Name, out.Role = c.Subject, c.Email, c.Name, c.Role
			out.Aud, out.Iss = c.Audience, c.Issuer
			out.Life = c.ExpiresAt.Sub(c.IssuedAt.Time).Seconds()
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *verifier) addr() string { return strings.TrimPrefix(v.srv.URL, "http://") }

// trust points the verifier's JWKS client at jwksURL.
func (v *verifier) trust(t *testing.T, jwksURL string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{
		RefreshInterval: rotation / 10,
		// As a careful upstream would: an unknown kid does not make it
		// fetch again (a forger could make it fetch for every request).
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Hour), 1),
		HTTPTimeout:       5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	v.kf.Store(&kf)
}

// assertionSites: wiki (EdDSA, default header) and grafana (ES256, its
// own header), both in front of the verifier.
func assertionSites(v *verifier) []site {
	proxy := "reverse_proxy " + v.addr()
	return []site{
		{Gate: []string{"service wiki", "assertion {\n\tttl " + assertionTTL.String() + "\n}"}, Body: []string{proxy}},
		{Gate: []string{"service grafana", "assertion {\n\theader X-Grafana-Assertion\n\talgorithm ES256\n\tttl " +
			assertionTTL.String() + "\n}"}, Body: []string{proxy}},
	}
}

// ask sends a request with tok through site i of c and returns the
// upstream's verdict.
func ask(t *testing.T, c *caddyProc, i int, path, tok string, extra hdr) verdict {
	t.Helper()
	h := hdr{"X-Auth-Token": tok}
	for k, v := range extra {
		h[k] = v
	}
	r := c.do(t, http.MethodGet, c.site(i)+path, h, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %s", path, r)
	}
	var out verdict
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("verdict %s: %v", r.Body, err)
	}
	return out
}

// jwksKids fetches c's JWKS, checks it is public and cacheable, and
// returns its kids.
func jwksKids(t *testing.T, c *caddyProc) []string {
	t.Helper()
	r := c.do(t, http.MethodGet, c.site(0)+"/.well-known/tokengate/jwks.json", nil, nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Cache-Control"), "public, max-age=") {
		t.Fatalf("JWKS: %s (Cache-Control %q)", r, r.Header.Get("Cache-Control"))
	}
	var set struct {
		Keys []struct{ Kid, Kty, Crv, Alg, Use string }
	}
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Use != "sig" || !(k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == "EdDSA" || k.Kty == "EC" && k.Crv == "P-256" && k.Alg == "ES256") {
			t.Fatalf("JWK %+v", k)
		}
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestAssertionVerifiedUpstream(t *testing.T) {
	bothStores(t)
	v := newVerifier(t)
	c := newCaddy(t, caddyfile{App: []string{"temporary_max_ttl 1h", "assertion_key_rotation " + rotation.String()},
		Sites: assertionSites(v)})
	v.trust(t, c.site(0)+"/.well-known/tokengate/jwks.json")
	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 3600)

	// What the upstream sees, whatever the client forged.
	for _, forged := range []hdr{nil, {"X-Auth-Assertion": "forged"}, {"x_auth_assertion": "forged"}} {
		got := ask(t, c, 0, "/wiki", tok, forged)
		if !got.OK || got.Headers != 1 || got.Sub != "alice" || got.Email != "alice@example.com" || got.Name != "Alice Example" ||
			got.Role != "Editor" || !slices.Equal(got.Aud, []string{"wiki"}) || got.Iss != "tokengate" ||
			got.Life != assertionTTL.Seconds() || got.Alg != "EdDSA" {
			t.Fatalf("forged %v: upstream verdict %+v", forged, got)
		}
	}
	es := ask(t, c, 1, "/grafana", tok, hdr{"X-Grafana-Assertion": "forged"})
	if !es.OK || es.Alg != "ES256" || !slices.Equal(es.Aud, []string{"grafana"}) || es.Sub != "alice" {
		t.Fatalf("ES256 route: upstream verdict %+v", es)
	}
	// No token, no assertion: refused before the upstream.
	if r := c.do(t, http.MethodGet, c.site(0)+"/wiki", nil, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %s", r)
	}

	// A change of the user shows in the next assertion, not the cached one.
	c.adminWant(t, http.MethodPost, "/tokengate/users", map[string]any{
		"id": "carol", "password": "carol-pw-91", "name": "Carol", "email": "carol@example.com", "role": "Auditor",
	}, http.StatusCreated)
	carolTok := c.mintTemporary(t, c.site(0), "carol", "carol-pw-91", 3600)
	if got := ask(t, c, 0, "/wiki", carolTok, nil); !got.OK || got.Sub != "carol" || got.Role != "Auditor" {
		t.Fatalf("carol: upstream verdict %+v", got)
	}
	c.adminWant(t, http.MethodPatch, "/tokengate/users/carol", map[string]any{"role": "Owner"}, http.StatusOK)
	if got := ask(t, c, 0, "/wiki", carolTok, nil); !got.OK || got.Role != "Owner" {
		t.Fatalf("after carol's role changed, upstream verdict %+v; want role Owner", got)
	}

	// Across a rotation every request verifies, until the gate signs with
	// a new key; the old one is still published then.
	first := ask(t, c, 0, "/wiki", tok, nil).Kid
	var second string
	eventually(t, 4*rotation, "the gate to sign with a rotated key", func() bool {
		got := ask(t, c, 0, "/wiki", tok, nil)
		if !got.OK {
			t.Fatalf("during the rotation, the upstream refused the assertion: %+v", got)
		}
		second = got.Kid
		return second != first
	})
	if kids := jwksKids(t, c); !slices.Contains(kids, first) || !slices.Contains(kids, second) {
		t.Fatalf("JWKS right after the rotation has %v; want the retired %s and the signing %s", kids, first, second)
	}
	// A period after its retirement, the old key is gone.
	eventually(t, 3*rotation, "the retired key to leave the JWKS", func() bool {
		if got := ask(t, c, 0, "/wiki", tok, nil); !got.OK {
			t.Fatalf("after the rotation, the upstream refused the assertion: %+v", got)
		}
		return !slices.Contains(jwksKids(t, c), first)
	})
}

// TestAssertionSharedAcrossInstances: two instances on one Redis sign
// with the same keys, so an upstream that fetches the JWKS from one of
// them verifies the assertions of both, across rotations.
func TestAssertionSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	v := newVerifier(t)
	cfg := sharedSite(rs.addr(), nil, "assertion_key_rotation "+rotation.String())
	cfg.Sites = assertionSites(v)
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	v.trust(t, cs[0].site(0)+"/.well-known/tokengate/jwks.json")
	tok := cs[0].mintTemporary(t, cs[0].site(0), "alice", alicePassword, 3600)
	kids := map[string]bool{}
	deadline := time.Now().Add(4 * rotation)
	for len(kids) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after %s, the instances signed with %v; want a rotation", 4*rotation, kids)
		}
		for i, c := range cs {
			got := ask(t, c, 0, "/wiki", tok, nil)
			if !got.OK {
				t.Fatalf("instance %d's assertion refused by an upstream that trusts instance 0's JWKS: %+v", i, got)
			}
			kids[got.Kid] = true
		}
		time.Sleep(pollEvery)
	}
}
