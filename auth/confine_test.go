package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// confineCaveats is one caveat of every type the gate enforces, each
// holding for some requests of confineRequests and not for others.
var confineCaveats = map[string]string{
	"time":      `{"type":"time","validUntil":%d}`, // filled with start+30m
	"ip":        `{"type":"ip","whitelist":["10.0.0.0/8"]}`,
	"interface": `{"type":"interface","interface":"rest"}`,
	"readonly":  `{"type":"data.readonly"}`,
	"path":      `{"type":"data.path","whitelist":["L2RvY3M="]}`, // /docs
	"service":   `{"type":"service","whitelist":["wiki"]}`,
	"api":       `{"type":"api","whitelist":["*/get/docs/*","ci/create/deploy/*"]}`,
	"consumer":  `{"type":"consumer","whitelist":["usr-bob"]}`,
}

// confineRequests is every combination of the request fields the
// caveats read, two values each where the caveat holds for one.
func confineRequests(start time.Time, bobTok string) []tokens.Request {
	var out []tokens.Request
	for _, now := range []time.Time{start, start.Add(45 * time.Minute)} {
		for _, ip := range []string{"10.1.2.3", "192.168.0.1"} {
			for _, iface := range []string{"rest", "oneclient"} {
				for _, method := range []string{"GET", "POST"} {
					for _, path := range []string{"/docs/a", "/deploy/x"} {
						for _, svc := range []string{"wiki", "ci"} {
							for _, consumer := range []string{bobTok, ""} {
								out = append(out, tokens.Request{Now: now, ClientIP: netip.MustParseAddr(ip), Interface: iface,
									Method: method, Path: path, Service: svc, ConsumerToken: consumer})
							}
						}
					}
				}
			}
		}
	}
	return out
}

// TestConfineOnlyNarrows: for every parent (no caveat, or one of each
// type) confined by every caveat and every pair of caveats, the confined
// token is accepted on a subset of the requests its parent is accepted
// on, exactly those that also satisfy the new caveats; and a confined
// token of a temporary or named parent dies with the parent's revoke.
func TestConfineOnlyNarrows(t *testing.T) {
	var clock atomic.Int64
	start := time.Now().Truncate(time.Second)
	clock.Store(start.UnixNano())
	st := openStore(t)
	s, err := auth.New(st, tokens.NewServerKey(), auth.WithDummyPasswordHash(string(minCostHash)),
		auth.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	caveat := func(name string) tokens.Caveat {
		raw := confineCaveats[name]
		if name == "time" {
			raw = fmt.Sprintf(raw, start.Add(30*time.Minute).Unix())
		}
		cs, err := tokens.ParseCaveats(json.RawMessage("[" + raw + "]"))
		if err != nil {
			t.Fatal(err)
		}
		return cs[0]
	}
	bobTok, err := s.IssueTemporary(ctx, "bob", tokens.Access, hour())
	if err != nil {
		t.Fatal(err)
	}
	requests := confineRequests(start, bobTok)
	accepted := func(tok string) []bool {
		out := make([]bool, len(requests))
		for i, r := range requests {
			clock.Store(r.Now.UnixNano())
			_, err := s.Authenticate(ctx, tok, r)
			var ce *tokens.CaveatError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("request %+v: %v, want acceptance or a caveat refusal", r, err)
			}
			out[i] = err == nil
		}
		clock.Store(start.UnixNano())
		return out
	}

	names := []string{"time", "ip", "interface", "readonly", "path", "service", "api", "consumer"}
	parents := [][]string{{}}
	var extras [][]string
	for i, a := range names {
		parents = append(parents, []string{a})
		extras = append(extras, []string{a})
		for _, b := range names[i+1:] {
			extras = append(extras, []string{a, b})
		}
	}
	for _, p := range parents {
		// A temporary parent always has a time caveat; an hour's does not
		// limit these requests.
		parentCaveats := hour()
		for _, n := range p {
			parentCaveats = append(parentCaveats, caveat(n))
		}
		parent, err := s.IssueTemporary(ctx, "alice", tokens.Access, parentCaveats)
		if err != nil {
			t.Fatal(err)
		}
		parentOK := accepted(parent)
		for _, e := range extras {
			var extra []tokens.Caveat
			for _, n := range e {
				extra = append(extra, caveat(n))
			}
			confined, err := s.Confine(ctx, parent, extra)
			if err != nil {
				t.Fatalf("confining %v by %v: %v", p, e, err)
			}
			// The new caveats alone, checked the way the gate does.
			var kept, dropped int
			for i, ok := range accepted(confined) {
				if parentOK[i] && ok {
					kept++
				} else if parentOK[i] {
					dropped++
				}
				r := requests[i]
				if r.ConsumerToken != "" {
					r.Consumer = "bob"
				}
				want := parentOK[i] && tokens.Check(extra, &r) == nil
				if ok != want {
					t.Fatalf("parent %v confined by %v: request %+v accepted=%v, want %v (parent %v)", p, e, requests[i], ok, want, parentOK[i])
				}
			}
			// Each caveat holds for some requests and not others: on an
			// unlimited parent, one caveat keeps some and drops some.
			if len(p) == 0 && len(e) == 1 && (kept == 0 || dropped == 0) {
				t.Errorf("confined by %v: kept %d, dropped %d of the parent's requests; want some of each", e, kept, dropped)
			}
		}
	}

	// Confined tokens die with their parents.
	named, namedTok, err := s.IssueNamed(ctx, "alice", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	temp := issue(t, s, "alice")
	ro := []tokens.Caveat{caveat("readonly")}
	get := tokens.Request{Method: "GET", Path: "/docs/a", Service: "wiki", Interface: "rest"}
	for _, tc := range []struct {
		name   string
		parent string
		revoke func() error
	}{
		{"temporary", temp, func() error { _, err := s.RevokeTemporary(ctx, "alice"); return err }},
		{"named", namedTok, func() error {
			return s.UpdateNamed(ctx, "alice", named.ID, store.NamedUpdate{Revoked: new(true)})
		}},
	} {
		t.Run("revoked with its "+tc.name+" parent", func(t *testing.T) {
			confined, err := s.Confine(ctx, tc.parent, ro)
			if err != nil {
				t.Fatal(err)
			}
			twice, err := s.Confine(ctx, confined, []tokens.Caveat{caveat("service")})
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{tc.parent, confined, twice} {
				if _, err := s.Authenticate(ctx, tok, get); err != nil {
					t.Fatalf("before the revoke: %v", err)
				}
			}
			if err := tc.revoke(); err != nil {
				t.Fatal(err)
			}
			for i, tok := range []string{tc.parent, confined, twice} {
				if _, err := s.Authenticate(ctx, tok, get); !errors.Is(err, tokens.ErrRevoked) {
					t.Errorf("token %d after the revoke: %v, want ErrRevoked", i, err)
				}
			}
			// Nor can a revoked token be confined back to life.
			if _, err := s.Confine(ctx, confined, ro); !errors.Is(err, tokens.ErrRevoked) {
				t.Errorf("confining a revoked token: %v, want ErrRevoked", err)
			}
		})
	}
	if _, err := s.Confine(ctx, issue(t, s, "alice")+"x", ro); !errors.Is(err, tokens.ErrInvalid) && !errors.Is(err, tokens.ErrMalformed) {
		t.Errorf("confining a forged token: %v, want invalid", err)
	}
	var ce *tokens.CaveatError
	if _, err := s.Confine(ctx, issue(t, s, "alice"), []tokens.Caveat{{Type: "bogus"}}); !errors.As(err, &ce) || !errors.Is(err, tokens.ErrBadCaveat) {
		t.Errorf("confining with a bad caveat: %v, want ErrBadCaveat", err)
	}
}
