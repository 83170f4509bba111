package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/caddymodule/stores/boltstore"
	"github.com/tokengate/tokengate/tokens"
)

// newTestApp provisions a tokengate app over a bolt file in a temporary
// directory, with one user, alice.
func newTestApp(tb testing.TB) *App {
	tb.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password"), 4)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	tb.Cleanup(cancel)
	app := &App{
		StoreRaw: caddyconfig.JSONModuleObject(boltstore.Module{Path: filepath.Join(tb.TempDir(), "tokengate.db")}, "module", "bolt", nil),
		Key:      "dG9rZW5nYXRlLWJlbmNobWFyay1rZXktb2YtMzItYnl0ZXM",
		Users:    []UserConfig{{ID: "alice", Password: string(hash), Name: "Alice Example", Email: "alice@example.com", Role: "Editor"}},
	}
	if err := app.Provision(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { app.Cleanup() })
	if err := app.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { app.Stop() })
	return app
}

// gateRequest is a request as Caddy hands it to the handler: with a
// replacer and the client IP in the request's vars.
func gateRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/app", nil)
	r.Header.Set("X-Auth-Token", token)
	r.Header.Set("User-Agent", "bench")
	r.Header.Set("Accept", "*/*")
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddyReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "127.0.0.1"})
	return r.WithContext(ctx)
}

// caddyReplacer is a replacer as Caddy's HTTP server hands it on: with
// its request provider added (capacity for a handler's own).
func caddyReplacer() *caddy.Replacer {
	repl := caddy.NewReplacer()
	repl.Map(func(string) (any, bool) { return nil, false })
	return repl
}

var nextOK = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })

// BenchmarkGateHit is the gate's whole cost for a token it has cached:
// finding the token, the cache hit, the caveat check, the identity
// headers and placeholders. The request is reused with its token header
// put back and a fresh replacer, as Caddy's server makes one per request
// (its allocation is not the gate's and is left out of the count). Each
// iteration also strips the identity headers the previous one set, which
// requests that do not forge them never cost.
//
//	go test -run '^$' -bench GateHit -benchmem ./caddymodule/
func BenchmarkGateHit(b *testing.B) {
	app := newTestApp(b)
	h := new(Handler)
	if err := h.setup(app); err != nil {
		b.Fatal(err)
	}
	tok, err := app.service().IssueTemporary(context.Background(), "alice", tokens.Access,
		[]tokens.Caveat{{Type: tokens.CaveatTime, ValidUntil: time.Now().Add(time.Hour).Unix()}})
	if err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := gateRequest(tok)
	tokenVal := r.Header["X-Auth-Token"]
	deadline := time.Now().Add(5 * time.Second)
	for hits := uint64(0); hits == 0; hits = cacheHits(app) {
		r.Header["X-Auth-Token"] = tokenVal
		if err := h.ServeHTTP(w, r, nextOK); err != nil || r.Header.Get(headerID) != "alice" {
			b.Fatalf("warm-up: %v, identity %q", err, r.Header.Get(headerID))
		}
		if time.Now().After(deadline) {
			b.Fatal("the token was never cached")
		}
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	fresh := caddyReplacer()
	b.ReportAllocs()
	for b.Loop() {
		r.Header["X-Auth-Token"] = tokenVal
		*repl = *fresh
		if err := h.ServeHTTP(w, r, nextOK); err != nil {
			b.Fatal(err)
		}
	}
}

func cacheHits(app *App) uint64 {
	toks, _ := app.service().CacheStats()
	return toks.Hits
}
