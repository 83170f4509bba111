package caddymodule

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokengate/tokengate/caddymodule/stores"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/bolt"
)

// thirdStore is a backend as a third party would add one: a module in
// its own file that registers itself, here over a bolt file so that it
// needs nothing installed.
type thirdStore struct {
	Path string `json:"path"`
}

func init() { caddy.RegisterModule(thirdStore{}) }

func (thirdStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "tokengate.stores.third", New: func() caddy.Module { return new(thirdStore) }}
}
func (*thirdStore) Kind() string { return "third" }
func (*thirdStore) Shared() bool { return false }
func (s *thirdStore) OpenStore(context.Context) (store.Store, func() error, error) {
	return stores.Open("third:"+s.Path, func() (stores.Closer, error) { return bolt.Open(s.Path, time.Second) })
}

// TestThirdStoreModule: a store module registered from its own file is
// loaded by its name with no change elsewhere, and the metrics label its
// operations with its kind and carry no series for a kind not in use.
func TestThirdStoreModule(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	path := filepath.Join(t.TempDir(), "third.db")
	app := &App{StoreRaw: json.RawMessage(`{"module":"third","path":` + quote(path) + `}`)}
	if err := app.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	if err := app.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	defer app.Stop()
	if _, err := app.service().Users(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(app.reg, "tokengate_store_operation_duration_seconds")
	if err != nil || n == 0 {
		t.Fatalf("store operation series: %d, %v", n, err)
	}
	families, err := app.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "tokengate_store_operation_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "store" && l.GetValue() != "third" {
					t.Fatalf("a series for store kind %q, which this config does not use", l.GetValue())
				}
			}
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestUnknownStoreModule: a JSON config naming a store module this build
// lacks is refused at provisioning, naming the module.
func TestUnknownStoreModule(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	app := &App{StoreRaw: json.RawMessage(`{"module":"mongo"}`)}
	err := app.Provision(ctx)
	if err == nil || !strings.Contains(err.Error(), "tokengate.stores.mongo") {
		t.Fatalf("Provision = %v, want an error naming tokengate.stores.mongo", err)
	}
}
