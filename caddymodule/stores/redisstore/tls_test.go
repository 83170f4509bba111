package redisstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/store"
)

// TestTLS connects to a redis-server that listens with TLS and requires a
// client certificate, with the tls options as JSON: only a client that
// trusts the CA, names the server and presents its certificate gets in
// (or one that skips verification, still presenting a certificate).
func TestTLS(t *testing.T) {
	f := redistest.GenerateTLS(t, t.TempDir())
	_, addr := redistest.StartTLS(t, f)
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	full := fmt.Sprintf(`{"ca":%s,"cert":%s,"key":%s,"server_name":%q}`, q(f.CA), q(f.ClientCert), q(f.ClientKey), redistest.ServerName)
	for _, tc := range []struct {
		name, tls string
		ok        bool
	}{
		{"CA, client certificate and server name", full, true},
		{"no server name: the certificate names another host",
			fmt.Sprintf(`{"ca":%s,"cert":%s,"key":%s}`, q(f.CA), q(f.ClientCert), q(f.ClientKey)), false},
		{"no client certificate", fmt.Sprintf(`{"ca":%s,"server_name":%q}`, q(f.CA), redistest.ServerName), false},
		{"the system roots", fmt.Sprintf(`{"cert":%s,"key":%s,"server_name":%q}`, q(f.ClientCert), q(f.ClientKey), redistest.ServerName), false},
		{"insecure_skip_verify", fmt.Sprintf(`{"cert":%s,"key":%s,"insecure_skip_verify":true}`, q(f.ClientCert), q(f.ClientKey)), true},
		{"plain TCP to the TLS port", `false`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Module
			if err := json.Unmarshal([]byte(fmt.Sprintf(`{"addresses":[%q],"tls":%s}`, addr, tc.tls)), &m); err != nil {
				t.Fatal(err)
			}
			if err := m.Provision(caddy.Context{}); err != nil {
				t.Fatal(err)
			}
			s, closeStore, err := m.OpenStore(t.Context())
			if !tc.ok {
				if err == nil {
					closeStore()
					t.Fatal("connected")
				}
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("error %v, want ErrUnavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore()
			if err := s.PutUser(t.Context(), store.User{ID: "alice"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RevokeTemp(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTLSJSON: true and an object both turn TLS on, and each comes back
// as it was written.
func TestTLSJSON(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{`true`, `true`},
		{`false`, `false`},
		{`{"server_name":"r"}`, `{"server_name":"r"}`},
		{`{}`, `true`},
	} {
		var v TLS
		if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if v.Enabled() != (tc.in != "false") {
			t.Errorf("%s: enabled %t", tc.in, v.Enabled())
		}
		if b, _ := json.Marshal(v); string(b) != tc.out {
			t.Errorf("%s: marshals to %s, want %s", tc.in, b, tc.out)
		}
	}
	if err := json.Unmarshal([]byte(`"yes"`), new(TLS)); err == nil {
		t.Error(`"yes" accepted`)
	}
}

// A cert without its key is refused at provisioning.
func TestTLSCertWithoutKey(t *testing.T) {
	m := Module{Addresses: []string{"127.0.0.1:1"}, TLS: &TLS{Cert: "/x.pem", enabled: true}}
	if err := m.Provision(caddy.Context{}); err == nil {
		t.Error("provisioned")
	}
}

// TestGoRedisLogsThroughZap: go-redis's own lines (here: a dial that
// fails certificate verification) reach the zap logger, not stderr.
func TestGoRedisLogsThroughZap(t *testing.T) {
	f := redistest.GenerateTLS(t, t.TempDir())
	_, addr := redistest.StartTLS(t, f)
	var m Module
	if err := json.Unmarshal([]byte(fmt.Sprintf(`{"addresses":[%q],"tls":{"ca":%q}}`, addr, f.CA)), &m); err != nil {
		t.Fatal(err)
	}
	if err := m.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	useLogger(zap.New(core))
	if _, _, err := m.OpenStore(t.Context()); err == nil {
		t.Fatal("connected without a server name")
	}
	var found bool
	for _, e := range logs.All() {
		found = found || e.LoggerName == "go-redis" && e.Level == zap.WarnLevel && strings.Contains(e.Message, "certificate")
	}
	if !found {
		t.Errorf("no go-redis warning about the certificate in %+v", logs.All())
	}
}
