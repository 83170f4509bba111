package caddymodule

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// loadKeyFile returns the key kept in Caddy's data directory, generating
// it on first use. Start calls it, never Provision: `caddy validate` must
// not write the file.
func loadKeyFile() (tokens.ServerKey, error) {
	path := filepath.Join(caddy.AppDataDir(), "tokengate", "server.key")
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := tokens.ParseServerKey(string(b))
		if err != nil {
			return tokens.ServerKey{}, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return tokens.ServerKey{}, fmt.Errorf("key file: %w", err)
	}
	k := tokens.NewServerKey()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return tokens.ServerKey{}, err
	}
	// O_EXCL: if another process wrote a key meanwhile, use that one.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadKeyFile()
	}
	if err != nil {
		return tokens.ServerKey{}, fmt.Errorf("key file: %w", err)
	}
	_, err = f.WriteString(k.Encode() + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return k, err
}
