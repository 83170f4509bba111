package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// documentedLogFilter returns the `format filter { ... }` block of
// Caddyfile.example: that of its tokengate_log_filter snippet, which the
// README tells operators to import in every log.
func documentedLogFilter(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modRoot, "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "format filter {")
	if i < 0 {
		t.Fatal("Caddyfile.example has no `format filter {` block")
	}
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return s[i : j+1]
			}
		}
	}
	t.Fatal("Caddyfile.example: unbalanced `format filter` block")
	return ""
}

// accessLogSite: site 0 takes tokens from headers and a cookie, site 1
// from a query parameter, both logging with filter (the documented one);
// site 2 takes a query token and adds Caddy's query filter.
func accessLogSite(filter string) caddyfile {
	logTo := func(file, filter string) string {
		return "log {\n\toutput file {{.Dir}}/" + file + "\n\t" + strings.ReplaceAll(filter, "\n", "\n\t") + "\n}"
	}
	return caddyfile{Sites: []site{
		{
			Before: []string{logTo("site0.log", filter)},
			Gate:   []string{"token_source header X-Auth-Token", "token_source bearer", "token_source cookie tg_token"},
		},
		{
			Before: []string{logTo("site1.log", filter)},
			Gate:   []string{"token_source query access_token"},
		},
		{
			Before: []string{logTo("site2.log", `format filter {
	request>headers>X-Auth-Token delete
	request>uri query {
		delete access_token
	}
}`)},
			Gate: []string{"token_source query access_token"},
		},
	}}
}

// readLogLines waits until the log file has n lines and returns them.
func readLogLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var lines []string
	eventually(t, 10*time.Second, "access log "+filepath.Base(path)+" to have "+strconv.Itoa(n)+" lines", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		lines = lines[:0]
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) != "" {
				lines = append(lines, sc.Text())
			}
		}
		return len(lines) >= n
	})
	return lines
}

func TestAccessLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, accessLogSite(documentedLogFilter(t)))

	// Site 0: a Basic login, then the token in each header source and
	// the cookie, and a refused token.
	s0 := c.site(0)
	headerTok := c.mintTemporary(t, s0, "alice", alicePassword, 600)
	refused := "this-is-a-bad-token-that-cannot-be-decoded-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	upstreamSaw(t, c.do(t, http.MethodGet, s0+"/h", hdr{"X-Auth-Token": headerTok}, nil))
	upstreamSaw(t, c.do(t, http.MethodGet, s0+"/h", hdr{"x-auth-token": headerTok}, nil))
	upstreamSaw(t, c.do(t, http.MethodGet, s0+"/b", hdr{"Authorization": "Bearer " + headerTok}, nil))
	upstreamSaw(t, c.do(t, http.MethodGet, s0+"/c", hdr{"Cookie": "tg_token=" + headerTok}, nil))
	wantRefused(t, c.do(t, http.MethodGet, s0+"/r", hdr{"X-Auth-Token": refused}, nil), "badToken")
	// The pages' Referrer-Policy (same-origin) sends a reset link's URL, and
	// its token, as the Referer of the requests the reset page makes.
	resetTok := "reset-token-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	upstreamSaw(t, c.do(t, http.MethodGet, s0+"/style.css", hdr{"X-Auth-Token": headerTok,
		"Referer": s0 + "/reset-password?token=" + resetTok + "&x=1"}, nil))
	site0 := readLogLines(t, filepath.Join(c.dir, "site0.log"), 7)

	// Sites 1 and 2: the token in the query.
	queryTok := c.mintTemporary(t, c.site(1), "bob", bobPassword, 600)
	for _, i := range []int{1, 2} {
		upstreamSaw(t, c.do(t, http.MethodGet, c.site(i)+"/q?access_token="+url.QueryEscape(queryTok)+"&a=1", nil, nil))
	}
	site1 := readLogLines(t, filepath.Join(c.dir, "site1.log"), 2)
	site2 := readLogLines(t, filepath.Join(c.dir, "site2.log"), 1)

	secrets := map[string]string{
		"alice's password":             alicePassword,
		"bob's password":               bobPassword,
		"alice's Basic credentials":    strings.TrimPrefix(basic("alice", alicePassword), "Basic "),
		"bob's Basic credentials":      strings.TrimPrefix(basic("bob", bobPassword), "Basic "),
		"the header token":             headerTok,
		"the header token's signature": headerTok[strings.LastIndex(headerTok, ".")+1:],
		"the refused token":            refused,
		"the reset token in a Referer": resetTok,
		"the query token":              queryTok,
		"the query token's signature":  queryTok[strings.LastIndex(queryTok, ".")+1:],
	}
	check := func(t *testing.T, what string, lines []string) {
		t.Helper()
		for _, l := range lines {
			for name, s := range secrets {
				if strings.Contains(l, s) {
					t.Errorf("%s contains %s:\n%s", what, name, l)
				}
			}
		}
	}
	t.Run("header, bearer, cookie and Basic with the documented filter", func(t *testing.T) {
		check(t, "site0.log", site0)
	})
	t.Run("query token with the documented filter", func(t *testing.T) {
		check(t, "site1.log", site1)
	})
	t.Run("query token with a query filter", func(t *testing.T) {
		check(t, "site2.log", site2)
		// The filter keeps the rest of the URI, so the log stays useful.
		var entry struct {
			Request struct {
				URI string `json:"uri"`
			} `json:"request"`
		}
		if err := json.Unmarshal([]byte(site2[0]), &entry); err != nil || entry.Request.URI != "/q?a=1" {
			t.Errorf("site2.log request.uri = %q (%v), want /q?a=1", entry.Request.URI, err)
		}
	})
	t.Run("process output", func(t *testing.T) {
		check(t, "Caddy's own log", strings.Split(c.logs(), "\n"))
	})
}

func TestPersistenceAcrossRestart(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	revoked := c.mintTemporary(t, base, "alice", alicePassword, 600)
	if r := c.do(t, http.MethodDelete, base+tempPath, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %s", r)
	}
	live := c.mintTemporary(t, base, "alice", alicePassword, 600)
	bobTok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	// With the embedded store the key is generated into the data dir and
	// must survive; a shared store's key comes from the config.
	keyPath := filepath.Join(c.dataDir(), "tokengate", "server.key")
	keyBefore, err := os.ReadFile(keyPath)
	if err != nil && storeUnderTest == "" {
		t.Fatalf("server key: %v", err)
	}

	c.restart()

	if r := c.do(t, http.MethodGet, base+tempPath, alice, nil); !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Errorf("generation after restart: %s, want 2", r)
	}
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": revoked}, nil), "tokenRevoked")
	for name, tok := range map[string]string{"alice's post-revoke token": live, "bob's token": bobTok} {
		if r := c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil); r.Status != http.StatusOK {
			t.Errorf("%s after restart: got %s, want 200", name, r)
		}
	}
	if keyAfter, err := os.ReadFile(keyPath); storeUnderTest == "" && (err != nil || !bytes.Equal(keyBefore, keyAfter)) {
		t.Errorf("server key changed across restart (err %v)", err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "tokengate", "tokengate.db")); err != nil && storeUnderTest == "" {
		t.Errorf("bolt store: %v", err)
	}
}

// reloadSite answers /version with version and gates everything.
func reloadSite(version string) caddyfile {
	return caddyfile{Sites: []site{{Body: []string{
		"handle /version {\n\trespond \"" + version + "\"\n}",
		"handle {\n\treverse_proxy {{.Upstream}}\n}",
	}}}}
}

func TestReloadKeepsState(t *testing.T) {
	bothStores(t)
	t.Parallel()
	version := func(v int) caddyfile { return reloadSite("v" + strconv.Itoa(v)) }
	c := newCaddy(t, version(0))
	base := c.site(0)
	first := c.mintTemporary(t, base, "alice", alicePassword, 600)
	toks := []string{first}
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": first}, nil))

	for v := 1; v <= 3; v++ {
		c.reload(version(v))
		if r := c.do(t, http.MethodGet, base+"/version", hdr{"X-Auth-Token": first}, nil); r.Status != 200 || string(r.Body) != "v"+strconv.Itoa(v) {
			t.Fatalf("after reload %d: /version got %s, want 200 v%d", v, r, v)
		}
		for _, tok := range toks {
			upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))
		}
		toks = append(toks, c.mintTemporary(t, base, "alice", alicePassword, 600))
	}

	if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"X-Auth-Token": first}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE after reloads: %s", r)
	}
	for i, tok := range toks {
		r := c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil)
		if authErrorID(r.JSON) != "tokenRevoked" {
			t.Errorf("token %d after revocation: got %s, want tokenRevoked", i, r)
		}
	}
	if r := c.do(t, http.MethodGet, base+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil); !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Errorf("generation: %s, want 2", r)
	}
	for _, l := range strings.Split(c.logs(), "\n") {
		if strings.Contains(l, `"level":"error"`) {
			t.Errorf("error logged across reloads: %s", l)
		}
	}
}

func TestTwoSitesShareState(t *testing.T) {
	bothStores(t)
	t.Parallel()
	c := newCaddy(t, caddyfile{Sites: []site{{}, {}}})
	a, b := c.site(0), c.site(1)
	tok := c.mintTemporary(t, a, "alice", alicePassword, 600)
	for _, base := range []string{a, b} {
		s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))
		if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
			t.Errorf("%s: upstream saw user id %q", base, id)
		}
	}
	if r := c.do(t, http.MethodDelete, b+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE on site B: %s", r)
	}
	for _, base := range []string{a, b} {
		wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
	}
	if r := c.do(t, http.MethodGet, a+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil); !jsonEqual(t, r.JSON, `{"generation":2}`) {
		t.Errorf("generation on site A after revoking on B: %s, want 2", r)
	}
}

func TestBareDirective(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caddyfile{NoApp: true})
	base := c.site(0)
	wantError(t, c.do(t, http.MethodGet, base+"/x", nil, nil), http.StatusUnauthorized, "unauthorized")
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": "garbage"}, nil), "badToken")
	wantError(t, c.do(t, http.MethodPost, base+verifyPath, nil, map[string]any{"token": "garbage"}), http.StatusBadRequest, "badValueToken")

	// The default key is generated once, in the data directory.
	keyPath := filepath.Join(c.dataDir(), "tokengate", "server.key")
	st, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("server key: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("server key mode %v, want 0600", st.Mode().Perm())
	}
	key, _ := os.ReadFile(keyPath)
	if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(string(key)), "=")); err != nil || len(raw) < 32 {
		t.Errorf("server key file holds %d bytes (err %v), want at least 32 random bytes in base64", len(raw), err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "tokengate", "tokengate.db")); err != nil {
		t.Errorf("default bolt store: %v", err)
	}

	// A user made through the admin API can log in and pass the gate, and
	// the token survives a restart: the generated key was kept.
	if r := c.do(t, http.MethodPost, "http://"+c.admin+"/tokengate/users", nil,
		map[string]any{"id": "zoe", "password_hash": aliceHash}); r.Status != http.StatusCreated {
		t.Fatalf("creating a user through the admin API: %s", r)
	}
	tok := c.mintTemporary(t, base, "zoe", alicePassword, 600)
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))
	c.restart()
	if again, _ := os.ReadFile(keyPath); !bytes.Equal(again, key) {
		t.Error("server key changed across restart")
	}
	s := upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))
	if id, _ := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "zoe" {
		t.Errorf("upstream saw user id %q, want zoe", id)
	}
}

// lineOf returns the 1-based numbers of the lines of s containing marker.
func lineOf(s, marker string) []int {
	var out []int
	for i, l := range strings.Split(s, "\n") {
		if strings.Contains(l, marker) {
			out = append(out, i+1)
		}
	}
	return out
}

func TestConfigErrorsAtAdapt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, global, handler string
		marker                string // the offending line contains it
		mention               string // the output names it
	}{
		{"unknown subdirective", "", "bogus_subdirective 1", "bogus_subdirective", "bogus_subdirective"},
		{"unknown token source", "", "token_source magic x", "token_source magic", "magic"},
		{"token source without name", "", "token_source header", "token_source header", "token_source"},
		{"forward_token with argument", "", "forward_token yes", "forward_token yes", "forward_token"},
		{"unknown global option", "frobnicate 1", "", "frobnicate", "frobnicate"},
		{"bad temporary_max_ttl", "temporary_max_ttl forever", "", "temporary_max_ttl", "temporary_max_ttl"},
		{"negative temporary_max_ttl", "temporary_max_ttl -1h", "", "temporary_max_ttl", "temporary_max_ttl"},
		{"zero temporary_max_ttl", "temporary_max_ttl 0s", "", "temporary_max_ttl", "temporary_max_ttl"},
		{"bad cache_size", "cache_size lots", "", "cache_size", "cache_size"},
		{"unknown store", "store redis", "", "store redis", "redis"},
		{"user without password", "user carol {\n\tname Carol\n} # end of carol", "", "carol", "password"},
		{"user with a plaintext password", "user carol {\n\tpassword hunter2hunter2\n} # end of carol", "", "carol", "password"},
		{"unknown user option", "user carol {\n\tpassword {{.AliceHash}}\n\tshoe_size 44\n}", "", "shoe_size", "shoe_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cf := caddyfile{Users: noUsers, App: []string{tc.global}, Sites: []site{{Gate: []string{tc.handler}}}}
			c := prepareCaddy(t, cf)
			cfg := c.writeConfig(cf)
			out, code := c.runCLI("adapt", "--config", c.cfgPath, "--adapter", "caddyfile")
			if code == 0 {
				t.Fatalf("caddy adapt exited 0; output:\n%s", out)
			}
			if !strings.Contains(out, tc.mention) {
				t.Errorf("output does not mention %q:\n%s", tc.mention, out)
			}
			named := false
			for _, n := range lineOf(cfg, tc.marker) {
				named = named || strings.Contains(out, c.cfgPath+":"+strconv.Itoa(n))
			}
			if !named {
				t.Errorf("output does not name %s:<line of %q> (lines %v):\n%s", c.cfgPath, tc.marker, lineOf(cfg, tc.marker), out)
			}
		})
	}
}

// keySite configures the server key key (from the environment for
// {env.TOKENGATE_KEY}).
func keySite(key string) caddyfile { return caddyfile{App: []string{"key " + key}} }

// runFails starts caddy run with cfg and returns its output once it has
// exited, failing the test if it starts serving instead.
func runFails(t *testing.T, cfg caddyfile, env ...string) string {
	t.Helper()
	c := prepareCaddy(t, cfg, env...)
	c.writeConfig(cfg)
	if err := c.spawn("run", "--config", c.cfgPath, "--adapter", "caddyfile"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(startTimeout):
		c.kill()
		t.Fatalf("caddy run did not fail within %s:\n%s", startTimeout, c.logs())
	}
	if c.exitErr() == nil {
		t.Errorf("caddy run exited 0:\n%s", c.logs())
	}
	return c.logs()
}

func TestServerKeyErrors(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	for _, tc := range []struct {
		name, key string
		env       []string
		secret    string // must not appear in the output
	}{
		{"literal too short", "tooshort", nil, "tooshort"},
		{"literal 16 bytes", short, nil, short},
		{"literal not base64", "this*is*not*base64*at*all*but*long*enough*to*be*a*key*", nil, "this*is*not"},
		{"env too short", "{env.TOKENGATE_KEY}", []string{"TOKENGATE_KEY=" + short}, short},
		{"env not base64", "{env.TOKENGATE_KEY}", []string{"TOKENGATE_KEY=%%not-base64%%-but-long-enough-to-be-a-key"}, "not-base64"},
		{"env unset", "{env.TOKENGATE_KEY_UNSET}", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := runFails(t, keySite(tc.key), tc.env...)
			if !strings.Contains(out, "key") {
				t.Errorf("error does not mention key:\n%s", out)
			}
			if tc.secret != "" && strings.Contains(out, tc.secret) {
				t.Errorf("output echoes the key value %q:\n%s", tc.secret, out)
			}
		})
	}
}

func TestServerKeyFromEnvironment(t *testing.T) {
	t.Parallel()
	k1 := base64.StdEncoding.EncodeToString(randomKey(t))
	// URL-safe, unpadded, and longer than the minimum.
	var k2 string
	for !strings.ContainsAny(k2, "-_") {
		b := make([]byte, 48)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		k2 = base64.RawURLEncoding.EncodeToString(b)
	}

	c := newCaddy(t, keySite("{env.TOKENGATE_KEY}"), "TOKENGATE_KEY="+k1)
	base := c.site(0)
	underK1 := c.mintTemporary(t, base, "alice", alicePassword, 600)
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": underK1}, nil))
	if _, err := os.Stat(filepath.Join(c.dataDir(), "tokengate", "server.key")); err == nil {
		t.Error("a server.key was generated although the key is configured")
	}

	c.env = []string{"TOKENGATE_KEY=" + k2}
	c.restart()
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": underK1}, nil), "tokenInvalid")
	if r := c.do(t, http.MethodGet, base+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil); !jsonEqual(t, r.JSON, `{"generation":1}`) {
		t.Errorf("generation under the new key: %s, want 1", r)
	}
	underK2 := c.mintTemporary(t, base, "alice", alicePassword, 600)
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": underK2}, nil))

	// Back to K1: its tokens verify again and K2's do not.
	c.env = []string{"TOKENGATE_KEY=" + k1}
	c.restart()
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": underK1}, nil))
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": underK2}, nil), "tokenInvalid")

	for _, k := range []string{k1, k2} {
		if strings.Contains(c.logs(), k) {
			t.Errorf("Caddy's output contains a server key")
		}
	}
}

// failingReloadSite provisions the tokengate app (opening the shared
// store) and then fails in a later handler, so the failed config is
// cleaned up after it touched the store.
var failingReloadSite = caddyfile{Sites: []site{{Body: []string{`reverse_proxy {{.Upstream}} {
	transport http {
		tls_client_auth {{.Dir}}/missing-cert.pem {{.Dir}}/missing-key.pem
	}
}`}}}}

func TestFailedReloadKeepsServing(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, gatedSite)
	base := c.site(0)
	tok := c.mintTemporary(t, base, "alice", alicePassword, 600)
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))

	for _, tc := range []struct {
		cfg     caddyfile
		mention string
	}{
		{failingReloadSite, "reverse_proxy"},
		{caddyfile{App: append([]string{"key tooshort"}, gatedSite.App...)}, "key"},
	} {
		c.writeConfig(tc.cfg)
		out, code := c.runCLI("reload", "--config", c.cfgPath, "--adapter", "caddyfile", "--address", c.admin)
		if code == 0 {
			t.Fatalf("caddy reload of a failing config exited 0:\n%s", out)
		}
		if !strings.Contains(out, tc.mention) {
			t.Errorf("caddy reload failed, but not in %s:\n%s", tc.mention, out)
		}
		// The running config still has a working store.
		upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))
		fresh := c.mintTemporary(t, base, "bob", bobPassword, 600)
		upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": fresh}, nil))
	}

	// A good reload after the failed ones works, and so does revocation.
	c.reload(reloadSite("VERSION"))
	upstreamSaw(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil))
	if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"X-Auth-Token": tok}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %s", r)
	}
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
	c.restart()
	wantRefused(t, c.do(t, http.MethodGet, base+"/x", hdr{"X-Auth-Token": tok}, nil), "tokenRevoked")
}

// A second Caddy on the same data directory cannot open the bolt store:
// it must fail to start, naming the store, and leave the first serving.
func TestSecondInstanceSameDataDir(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, gatedSite)
	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)

	d := prepareCaddy(t, gatedSite)
	d.xdg = c.xdg
	d.writeConfig(gatedSite)
	if err := d.spawn("run", "--config", d.cfgPath, "--adapter", "caddyfile"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(startTimeout):
		t.Fatalf("second instance still running after %s:\n%s", startTimeout, d.logs())
	}
	if d.exitErr() == nil || !strings.Contains(d.logs(), "tokengate.db") {
		t.Errorf("second instance: exit %v, want a failure naming the store:\n%s", d.exitErr(), d.logs())
	}
	upstreamSaw(t, c.do(t, http.MethodGet, c.site(0)+"/x", hdr{"X-Auth-Token": tok}, nil))
}
