package caddymodule

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/tokens"
)

// parseKey returns the configured server key, placeholders expanded.
func parseKey(configured string) (tokens.ServerKey, error) {
	k, err := tokens.ParseServerKey(caddy.NewReplacer().ReplaceAll(configured, ""))
	if err != nil {
		// The value itself is never echoed: it is a secret.
		return tokens.ServerKey{}, fmt.Errorf("key: %w", err)
	}
	return k, nil
}

// keySource says where a configured key comes from, for the startup
// log: "env" for an {env.*} placeholder, "placeholder" for another one,
// "config" for a literal.
func keySource(configured string) string {
	switch {
	case strings.Contains(configured, "{env."):
		return "env"
	case strings.Contains(configured, "{"):
		return "placeholder"
	}
	return "config"
}

// keyFilePath is where the key file lives.
func keyFilePath() string { return filepath.Join(caddy.AppDataDir(), "tokengate", "server.key") }

// loadKeyFile returns the key kept in Caddy's data directory, generating
// it on first use (generated says so). Start calls it, never Provision:
// `caddy validate` must not write the file.
func loadKeyFile() (k tokens.ServerKey, generated bool, err error) {
	path := keyFilePath()
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := tokens.ParseServerKey(string(b))
		if err != nil {
			return tokens.ServerKey{}, false, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return tokens.ServerKey{}, false, fmt.Errorf("key file: %w", err)
	}
	k = tokens.NewServerKey()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return tokens.ServerKey{}, false, err
	}
	// O_EXCL: if another process wrote a key meanwhile, use that one.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadKeyFile()
	}
	if err != nil {
		return tokens.ServerKey{}, false, fmt.Errorf("key file: %w", err)
	}
	_, err = f.WriteString(k.Encode() + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return k, true, err
}
