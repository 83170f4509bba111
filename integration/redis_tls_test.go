package integration

// Redis over TLS with a client certificate, as an ACL user that may run
// only the commands tokengate needs: the line the README documents.

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/redistest"
)

// readmeACL is the ACL line of the README's "Running several instances",
// with PASSWORD for the password.
const readmeACL = "ACL SETUSER tokengate on >PASSWORD resetkeys ~tokengate:* resetchannels &tokengate:events " +
	"-@all +ping +client|setname +select +eval +evalsha +wait +get +set +del +incr +time +scan " +
	"+publish +subscribe +hget +hmget +hgetall +hkeys +hexists +hset +hsetnx +hdel +hincrby " +
	"+zadd +zrange +zrangebyscore +zrem +zremrangebyscore +pttl +pexpire"

func TestRedisTLSAndACL(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), readmeACL) {
		t.Errorf("README does not document the ACL line the test grants:\n%s", readmeACL)
	}

	f := redistest.GenerateTLS(t, t.TempDir())
	rs, tlsAddr := redistest.StartTLS(t, f, "--appendonly", "yes", "--appendfsync", "always")
	const password = "acl-pw-7Qe9"
	if out, err := rs.Do(strings.Fields(strings.Replace(readmeACL, "PASSWORD", password, 1))...); err != nil || out != "+OK" {
		t.Fatalf("%s: %q, %v", readmeACL, out, err)
	}
	cfg := sharedSite(tlsAddr, []string{
		"username tokengate",
		"password {env.REDIS_PASSWORD}",
		"tls {\n\t\tca " + f.CA + "\n\t\tcert " + f.ClientCert + "\n\t\tkey " + f.ClientKey +
			"\n\t\tserver_name " + redistest.ServerName + "\n\t}",
	})
	c := startInstances(t, append(sharedKeyEnv(t), "REDIS_PASSWORD="+password), cfg)[0]
	alice := hdr{"Authorization": basic("alice", alicePassword)}

	tok := c.mintTemporary(t, c.site(0), "alice", alicePassword, 600)
	c.gateAs(t, tok, "alice")
	if r := c.do(t, http.MethodDelete, c.site(0)+tempPath, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %s, want 204", r)
	}
	wantRefused(t, c.gate(t, tok), "tokenRevoked")
	r := c.do(t, http.MethodPost, c.site(0)+namedTokensPath, alice, map[string]any{"name": "deploy"})
	id, _ := r.JSON["tokenId"].(string)
	named, _ := r.JSON["token"].(string)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating a named token: %s", r)
	}
	c.gateAs(t, named, "alice")
	if r := c.do(t, http.MethodDelete, c.site(0)+namedTokensPath+"/"+id, alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("deleting the named token: %s, want 204", r)
	}
	wantRefused(t, c.gate(t, named), "tokenInvalid")

	// tokengate is connected over TLS, as tokengate, and was never refused.
	if out, _ := rs.CLI("ACL", "LOG"); out != "" {
		t.Errorf("ACL LOG:\n%s", out)
	}
	if out, _ := rs.CLI("CLIENT", "LIST"); !strings.Contains(out, "user=tokengate") {
		t.Errorf("no client as user tokengate:\n%s", out)
	}
}
