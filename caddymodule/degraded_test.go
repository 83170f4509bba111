package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/caddymodule/stores"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
)

// flakyStore is a bolt-backed store module that does not answer while
// its entry in flakyDown is true, and may start degraded.
type flakyStore struct {
	Path string `json:"path"`
}

var flakyDown sync.Map // path → *atomic.Bool

func init() { caddy.RegisterModule(flakyStore{}) }

func (flakyStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "tokengate.stores.unreliable", New: func() caddy.Module { return new(flakyStore) }}
}
func (*flakyStore) Kind() string        { return "unreliable" }
func (*flakyStore) Shared() bool        { return false }
func (*flakyStore) StartDegraded() bool { return true }
func (s *flakyStore) OpenStore(context.Context) (store.Store, func() error, error) {
	if v, ok := flakyDown.Load(s.Path); ok && v.(*atomic.Bool).Load() {
		return nil, nil, fmt.Errorf("%w: flaky is down", store.ErrUnavailable)
	}
	return stores.Open("unreliable:"+s.Path, func() (stores.Closer, error) { return bolt.Open(s.Path, time.Second) })
}

// TestStartDegraded: with a store that does not answer, Start succeeds,
// the service is missing (errDegraded) until the store answers, then
// appears without a new config; stopping a degraded app ends its retries.
func TestStartDegraded(t *testing.T) {
	for _, comesBack := range []bool{true, false} {
		t.Run(fmt.Sprintf("store comes back %t", comesBack), func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			path := filepath.Join(t.TempDir(), "flaky.db")
			down := new(atomic.Bool)
			down.Store(true)
			flakyDown.Store(path, down)
			app := &App{StoreRaw: json.RawMessage(`{"module":"unreliable","path":` + quote(path) + `}`)}
			if err := app.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			if err := app.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := app.Start(); err != nil {
				t.Fatalf("Start with the store down: %v", err)
			}
			if svc, err := app.started(); svc != nil || !errors.Is(err, errDegraded) {
				t.Fatalf("started() = %v, %v; want nil, errDegraded", svc, err)
			}
			if comesBack {
				down.Store(false)
				for deadline := time.Now().Add(10 * time.Second); app.service() == nil; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("no service 10s after the store came back")
					}
				}
				if _, err := app.service().Users(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			stopped := make(chan error, 1)
			go func() { stopped <- errors.Join(app.Stop(), app.Cleanup()) }()
			select {
			case err := <-stopped:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Stop and Cleanup of a degraded app still running after 10s")
			}
			if !comesBack && app.service() != nil {
				t.Error("a service appeared although the store never answered")
			}
		})
	}
}
