package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// peerCaddyVersion is the Caddy every peer binary is built at: the one
// tokengate's own Dockerfile builds, so that a peer row and tokengate's
// rows differ by the plugin, not by Caddy.
const peerCaddyVersion = "v2.11.9"

// peer is another project's Caddy plugin, built into a Caddy of its own
// with xcaddy. Its rows' ratios are taken against a bare reverse_proxy
// served by that same binary (config.control), never against tokengate's
// binary: the builds differ in more than the plugin (build flags,
// dependency versions), and only the same binary's control isolates the
// plugin's cost.
type peer struct {
	name string // a configuration's peer field names it
	with string // xcaddy's --with module@version
}

const caddySecurity = "caddy-security"

// peers are the plugins the module proxy serves. ggicci/caddy-jwt is
// not among them: see skippedJWT.
var peers = []peer{
	{name: caddySecurity, with: "github.com/greenpau/caddy-security@v1.1.64"},
}

// skippedJWT is why the ggicci/caddy-jwt row is not measured.
const skippedJWT = "not served by the module proxy on 2026-12-03 (it answers 403)"

// buildPeer builds p into dir with xcaddy at the version go.mod pins, run
// with `go run` from the module root as integration/xcaddy_test.go does,
// so that nothing beyond the module proxy is needed.
func buildPeer(ctx context.Context, modRoot, dir string, p peer) (string, error) {
	bin := filepath.Join(dir, "caddy-"+p.name)
	cmd := exec.CommandContext(ctx, "go", "run", "github.com/caddyserver/xcaddy/cmd/xcaddy",
		"build", peerCaddyVersion, "--with", p.with, "--output", bin)
	cmd.Dir = modRoot
	// xcaddy builds in a temporary module of its own; it must not take
	// this checkout's go.work or GOFLAGS into it.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the %s peer: %w\n%s", p.name, err, out)
	}
	return bin, nil
}

// newSharedSecret is the HS256 key caddy-security's policy verifies with
// (`crypto key verify`) and the harness signs with.
func newSharedSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// peerRole is the role the bench policy allows (allow roles …) and the
// token carries.
const peerRole = "authp/user"

// mintPeerJWT is an HS256 JWT that caddy-security's authorize accepts:
// its user parser needs exp in the future, and the policy's ACL matches
// the roles claim.
func mintPeerJWT(secret string, now time.Time) (string, error) {
	claims := jwt.MapClaims{
		"sub":   benchUser,
		"name":  "Bench User",
		"email": "bench@example.com",
		"roles": []string{peerRole},
		"iat":   now.Unix(),
		"nbf":   now.Add(-time.Minute).Unix(),
		"exp":   now.Add(tokenTTL).Unix(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}
