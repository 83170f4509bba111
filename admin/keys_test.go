package admin_test

import (
	"testing"

	"github.com/tokengate/tokengate/auth"
)

// TestKeyRoutes: rotate adds a store-held key that signs; list shows
// ids and sources, never key material; remove takes a store-held key
// out, refuses a configured one (409) and an unknown one (404).
func TestKeyRoutes(t *testing.T) {
	e := newEnv(t)
	configured, _ := e.svc.KeyRing().Newest()

	kid := decode[struct{ ID string }](t, e.want("POST", "/tokengate/keys", "", 201, "")).ID
	if kid == "" || kid == configured {
		t.Fatalf("rotate answered id %q (configured key %s)", kid, configured)
	}
	keys := decode[[]auth.KeyInfo](t, e.want("GET", "/tokengate/keys", "", 200, ""))
	want := []auth.KeyInfo{{ID: kid, Source: "store", Newest: true}, {ID: configured, Source: "config"}}
	if len(keys) != len(want) || keys[0] != want[0] || keys[1] != want[1] {
		t.Fatalf("keys %+v, want %+v", keys, want)
	}

	for _, tc := range []struct {
		name, id string
		status   int
		msg      string
	}{
		{"configured key", configured, 409, "set in the Caddy config"},
		{"unknown key", "nope", 404, "not found"},
		{"store-held key", kid, 200, ""},
		{"store-held key again", kid, 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.want("DELETE", "/tokengate/keys/"+tc.id, "", tc.status, tc.msg)
		})
	}
	if keys := decode[[]auth.KeyInfo](t, e.want("GET", "/tokengate/keys", "", 200, "")); len(keys) != 1 || keys[0].ID != configured {
		t.Fatalf("after removal: keys %+v, want only the configured key", keys)
	}
	e.want("PUT", "/tokengate/keys", "", 405, "allowed: GET, POST")
}
