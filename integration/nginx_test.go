package integration

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// verifySite is a forward-auth endpoint for nginx: the original request
// in nginx's usual X-Original-Method and X-Original-URI. The token
// endpoints on it mint the tests' tokens.
var verifySite = caddyfile{
	App: []string{"temporary_max_ttl 1h"},
	Sites: []site{{
		Gate: []string{"verify {\n\tmethod_header X-Original-Method\n\turi_header X-Original-URI\n}"},
		Body: []string{},
	}},
}

// nginxConf is the README's nginx snippet, around the test's ports and
// scratch directory.
const nginxConf = `%s
worker_processes 1;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	server {
		listen 127.0.0.1:%[3]d;
		location / {
			auth_request /_tokengate;
			auth_request_set $user_id $upstream_http_x_auth_user_id;
			auth_request_set $user_email $upstream_http_x_auth_user_email;
			proxy_set_header X-Auth-User-Id $user_id;
			proxy_set_header X-Auth-User-Email $user_email;
			proxy_pass http://%[4]s;
		}
		location = /_tokengate {
			internal;
			proxy_pass http://%[5]s/_tokengate/verify;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_set_header X-Original-URI $request_uri;
			proxy_set_header X-Original-Method $request_method;
		}
	}
}
`

// startNginx runs Debian's nginx in front of the upstream, asking
// verifyAddr (host:port) about every request, and returns its base URL.
func startNginx(t *testing.T, upstream, verifyAddr string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("nginx is not installed (.ci/run installs it)")
			}
			t.Skip("nginx is not installed")
		}
	}
	dir := t.TempDir()
	port := freePorts(t, 1)[0]
	user := ""
	if os.Geteuid() == 0 {
		// As root, nginx runs its worker as nobody, who cannot enter the
		// test's scratch directory.
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, user, dir, port, upstream, verifyAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log stderr;")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("nginx output:\n%s", out.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-done:
			t.Fatalf("nginx exited: %v\n%s", err, out.String())
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening after %s\n%s", startTimeout, out.String())
		}
		time.Sleep(pollEvery)
	}
}

// TestVerifyBehindNginx: nginx's auth_request asks tokengate verify
// about each request; the upstream behind nginx sees the user tokengate
// vouched for, and nothing passes that tokengate refused, a read-only
// token's POST included (the caveat checks the method nginx names).
func TestVerifyBehindNginx(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, verifySite)
	front := startNginx(t, c.up.addr(), "127.0.0.1:"+strconv.Itoa(c.ports[0]))
	base := c.site(0)
	alice := c.mintTemporary(t, base, "alice", alicePassword, 600)
	readonly := c.mintWith(t, base, "alice", alicePassword, map[string]any{"caveats": append(timeCaveats(600),
		map[string]any{"type": "data.readonly"})})
	revoked := c.mintTemporary(t, base, "bob", bobPassword, 600)
	if r := c.do(t, http.MethodDelete, base+tempPath, hdr{"Authorization": basic("bob", bobPassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking bob's tokens: %s", r)
	}

	for _, tc := range []struct {
		name   string
		method string
		h      hdr
	}{
		{"valid token", http.MethodGet, hdr{"X-Auth-Token": alice}},
		{"valid token, POST", http.MethodPost, hdr{"Authorization": "Bearer " + alice}},
		{"read-only token, GET", http.MethodGet, hdr{"X-Auth-Token": readonly}},
		{"valid token, spoofed identity", http.MethodGet, hdr{"X-Auth-Token": alice, "X-Auth-User-Id": "admin", "X_Auth_User_Id": "admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := upstreamSaw(t, c.do(t, tc.method, front+"/app/page?q=1", tc.h, nil))
			if id, keys := s.header("X-Auth-User-Id"); len(id) != 1 || id[0] != "alice" {
				t.Errorf("upstream saw user id %q (as %q), want alice", id, keys)
			}
			if e, _ := s.header("X-Auth-User-Email"); len(e) != 1 || e[0] != "alice@example.com" {
				t.Errorf("upstream saw e-mail %q", e)
			}
			if s.Method != tc.method || s.Path != "/app/page" || s.RawQuery != "q=1" {
				t.Errorf("upstream saw %s %s?%s", s.Method, s.Path, s.RawQuery)
			}
		})
	}

	hits := c.up.hits.Load()
	for _, tc := range []struct {
		name   string
		method string
		h      hdr
	}{
		{"no token", http.MethodGet, nil},
		{"no token, spoofed identity", http.MethodGet, hdr{"X-Auth-User-Id": "admin"}},
		{"bad token", http.MethodGet, hdr{"X-Auth-Token": "garbage"}},
		{"revoked token", http.MethodGet, hdr{"X-Auth-Token": revoked}},
		{"read-only token, POST", http.MethodPost, hdr{"X-Auth-Token": readonly}},
		// nginx replaces the client's X-Original-Method, and the
		// default X-Forwarded-Method is not this endpoint's to read.
		{"read-only token, POST claiming GET", http.MethodPost, hdr{"X-Auth-Token": readonly,
			"X-Original-Method": "GET", "X-Forwarded-Method": "GET"}},
		{"read-only token, DELETE", http.MethodDelete, hdr{"X-Auth-Token": readonly}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := c.do(t, tc.method, front+"/app/page", tc.h, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("got %s, want 401", r)
			}
		})
	}
	if n := c.up.hits.Load() - hits; n != 0 {
		t.Errorf("upstream saw %d requests tokengate refused", n)
	}

	// Asked directly, the endpoint answers in Onezone's envelope.
	r := c.do(t, http.MethodGet, base+"/_tokengate/verify", hdr{"X-Original-Method": "GET", "X-Original-URI": "/app"}, nil)
	wantError(t, r, http.StatusUnauthorized, "unauthorized")
	r = c.do(t, http.MethodGet, base+"/_tokengate/verify", hdr{"X-Auth-Token": alice}, nil)
	wantError(t, r, http.StatusBadRequest, "badData")
}
