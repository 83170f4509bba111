package auth_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/tokengate/tokengate/tokens"
)

// TestVerifyAccessTokenDataCaveats: data-access caveats fail a
// verification that does not allow them and are skipped by one that
// does; every other caveat is checked either way, and Authenticate (the
// gate's and endpoints' check) is unchanged.
func TestVerifyAccessTokenDataCaveats(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	readonly := tokens.Caveat{Type: tokens.CaveatReadonly}
	path := tokens.Caveat{Type: tokens.CaveatPath, Whitelist: []string{"L3NwYWNl"}}
	iface := tokens.Caveat{Type: tokens.CaveatInterface, Interface: "oneclient"}
	for _, tc := range []struct {
		name      string
		caveats   []tokens.Caveat
		allow     bool
		wantError bool
	}{
		{"readonly, disallowed", []tokens.Caveat{readonly}, false, true},
		{"readonly, allowed", []tokens.Caveat{readonly}, true, false},
		{"path, disallowed", []tokens.Caveat{path}, false, true},
		{"path, allowed", []tokens.Caveat{path}, true, false},
		{"interface and data, allowed", []tokens.Caveat{readonly, iface}, true, true},
		{"none", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.IssueTemporary(ctx, "alice", tokens.Access, append(hour(), tc.caveats...))
			if err != nil {
				t.Fatal(err)
			}
			r := tokens.Request{Interface: "rest"}
			_, err = s.VerifyAccessToken(ctx, tok, netip.Addr{}, r, tc.allow)
			if (err != nil) != tc.wantError || (err != nil && !errors.Is(err, tokens.ErrCaveatUnverified)) {
				t.Fatalf("VerifyAccessToken = %v, want error %v", err, tc.wantError)
			}
			_, err = s.Authenticate(ctx, tok, r)
			if want := len(tc.caveats) > 0; (err != nil) != want {
				t.Fatalf("Authenticate = %v, want error %v", err, want)
			}
		})
	}
}
