package caddymodule

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/tokens"
)

func TestConfiguredKeys(t *testing.T) {
	a, b, c := tokens.NewServerKey(), tokens.NewServerKey(), tokens.NewServerKey()
	dir := t.TempDir()
	for name, k := range map[string]tokens.ServerKey{"2026-01-01.key": c, "2026-06-01.key": b, "2026-12-01.key": a} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(k.Encode()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".hidden"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "k1"), []byte("c2VjcmV0LXRvby1zaG9ydA"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TG_TEST_KEY", b.Encode())
	ids := func(keys ...tokens.ServerKey) []string {
		var out []string
		for _, k := range keys {
			out = append(out, k.KeyID())
		}
		return out
	}

	for _, tc := range []struct {
		name    string
		app     App
		want    []string // key ids, newest first
		wantErr string   // substring; "" for none
	}{
		{"none", App{}, nil, ""},
		{"one key", App{Key: a.Encode()}, ids(a), ""},
		{"list, placeholders expanded", App{Keys: []string{a.Encode(), "{env.TG_TEST_KEY}"}}, ids(a, b), ""},
		{"directory, greatest name first, dotfiles skipped", App{KeyDir: dir}, ids(a, b, c), ""},
		{"bad key in a list names its place", App{Keys: []string{a.Encode(), "short"}}, nil, "keys[1]"},
		{"bad key in a directory names its file", App{KeyDir: bad}, nil, "key_dir k1"},
		{"empty directory", App{KeyDir: t.TempDir()}, nil, tokens.ErrNoKeys.Error()},
		{"key and keys", App{Key: a.Encode(), Keys: []string{b.Encode()}}, nil, ErrKeyConfig.Error()},
		{"keys and key_dir", App{Keys: []string{b.Encode()}, KeyDir: dir}, nil, ErrKeyConfig.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := tc.app.configuredKeys()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "c2VjcmV0") {
					t.Errorf("error %q shows key material", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(keys...); !slices.Equal(got, tc.want) {
				t.Errorf("keys %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := (&App{Key: a.Encode(), KeyDir: dir}).configuredKeys(); !errors.Is(err, ErrKeyConfig) {
		t.Errorf("key and key_dir: err = %v, want ErrKeyConfig", err)
	}
}
