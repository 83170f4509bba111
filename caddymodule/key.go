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

// ErrKeyConfig: key, keys and key_dir are alternatives.
var ErrKeyConfig = errors.New("set only one of key, keys and key_dir")

// keysConfigured reports whether the config names server keys (else the
// key file is used).
func (a *App) keysConfigured() bool { return a.Key != "" || len(a.Keys) > 0 || a.KeyDir != "" }

// configuredKeys returns the configured server keys, newest first, or
// none when the config names none. Provision calls it, so `caddy
// validate` checks the keys and a reload reads key_dir again.
func (a *App) configuredKeys() ([]tokens.ServerKey, error) {
	n := 0
	for _, set := range []bool{a.Key != "", len(a.Keys) > 0, a.KeyDir != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, ErrKeyConfig
	case a.Key != "":
		k, err := parseKey(a.Key)
		return []tokens.ServerKey{k}, err
	case a.KeyDir != "":
		return loadKeyDir(caddy.NewReplacer().ReplaceAll(a.KeyDir, ""))
	}
	keys := make([]tokens.ServerKey, 0, len(a.Keys))
	for i, s := range a.Keys {
		k, err := parseKey(s)
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// loadKeyDir reads one key per file of dir, the greatest name first.
func loadKeyDir(dir string) ([]tokens.ServerKey, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("key_dir: %w", err)
	}
	var keys []tokens.ServerKey
	// ReadDir sorts by name; newest is the greatest.
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("key_dir: %w", err)
		}
		k, err := tokens.ParseServerKey(string(b))
		if err != nil {
			// The file's name, never its content.
			return nil, fmt.Errorf("key_dir %s: %w", e.Name(), err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key_dir %s: %w", dir, tokens.ErrNoKeys)
	}
	return keys, nil
}

// keySource says where the configured keys come from, for the startup
// log: "dir" for key_dir, else as keySourceOf says of the first.
func (a *App) keySource() string {
	switch {
	case a.KeyDir != "":
		return "dir"
	case len(a.Keys) > 0:
		return keySourceOf(a.Keys[0])
	}
	return keySourceOf(a.Key)
}

// keySourceOf says where a configured key comes from: "env" for an
// {env.*} placeholder, "placeholder" for another one ({file.*}
// included: "file" is the generated key file), "config" for a literal.
func keySourceOf(configured string) string {
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
