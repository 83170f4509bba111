package redisstore

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TLS says how to connect with TLS (1.2 or later). In JSON it is true
// (the system's roots, the server's name from its address) or an object
// with the fields below; absent or false is plain TCP.
type TLS struct {
	// A PEM file of the CA certificates that sign the server's
	// certificate; placeholders are expanded. Default: the system roots.
	CA string `json:"ca,omitempty"`

	// A PEM client certificate and its key, for a server with
	// tls-auth-clients; both or neither; placeholders are expanded.
	// Default: none.
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`

	// The name the server's certificate must carry. Default: the host of
	// the address dialled (with Sentinel, of each address it hands out).
	ServerName string `json:"server_name,omitempty"`

	// Accept any server certificate: encryption without authentication,
	// so anyone on the path can read the traffic. For tests only.
	// Default: false.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`

	enabled bool
}

// Enabled reports whether TLS is on.
func (t *TLS) Enabled() bool { return t != nil && t.enabled }

// UnmarshalJSON takes a boolean or an object.
func (t *TLS) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true":
		*t = TLS{enabled: true}
		return nil
	case "false", "null":
		*t = TLS{}
		return nil
	}
	type plain TLS
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("tls: want true or an object: %w", err)
	}
	*t = TLS(p)
	t.enabled = true
	return nil
}

// MarshalJSON writes true when no field is set, else the object.
func (t TLS) MarshalJSON() ([]byte, error) {
	if !t.enabled {
		return []byte("false"), nil
	}
	type plain TLS
	if (t == TLS{enabled: true}) {
		return []byte("true"), nil
	}
	return json.Marshal(plain(t))
}

// unmarshalCaddyfile reads `tls` alone or with a block:
//
//	tls {
//		ca <file>
//		cert <file>
//		key <file>
//		server_name <name>
//		insecure_skip_verify
//	}
func (t *TLS) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	*t = TLS{enabled: true}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "ca", "cert", "key", "server_name":
			dst := map[string]*string{"ca": &t.CA, "cert": &t.Cert, "key": &t.Key, "server_name": &t.ServerName}[d.Val()]
			if !d.AllArgs(dst) {
				return d.ArgErr()
			}
		case "insecure_skip_verify":
			if d.NextArg() {
				return d.ArgErr()
			}
			t.InsecureSkipVerify = true
		default:
			return d.Errf("unrecognized tls option %q", d.Val())
		}
	}
	return nil
}

// config loads the files into a tls.Config; nil if TLS is off. digest
// covers the files' contents, so that a reload after a certificate
// rotation opens a new connection.
func (t *TLS) config(repl *caddy.Replacer) (cfg *tls.Config, digest string, err error) {
	if !t.Enabled() {
		return nil, "", nil
	}
	cfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%t|", t.ServerName, t.InsecureSkipVerify)
	if t.CA != "" {
		pem, err := os.ReadFile(repl.ReplaceAll(t.CA, ""))
		if err != nil {
			return nil, "", fmt.Errorf("tls ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("tls ca %s: no PEM certificate", t.CA)
		}
		h.Write(pem)
	}
	if (t.Cert == "") != (t.Key == "") {
		return nil, "", errors.New("tls: cert and key go together")
	}
	if t.Cert != "" {
		certFile, keyFile := repl.ReplaceAll(t.Cert, ""), repl.ReplaceAll(t.Key, "")
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, "", fmt.Errorf("tls cert/key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
		for _, c := range pair.Certificate {
			h.Write(c)
		}
		fmt.Fprintf(h, "|%s", keyFile) // the key's path, not its bytes
	}
	return cfg, fmt.Sprintf("%x", h.Sum(nil)), nil
}
