package auth_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// clock is a controllable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestHandoffExpiresExactly(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	s, err := auth.New(openStore(t), tokens.NewServerKey(), auth.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tok, h, err := s.IssueHandoff(ctx, "alice", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if h.Subject != "alice" || len(tok) != 36 || tok[14] != '4' {
		t.Fatalf("handoff %q %+v: want a UUID v4 for alice", tok, h)
	}
	for _, tc := range []struct {
		advance time.Duration
		want    error
	}{
		{0, nil},
		{59*time.Second + 999*time.Millisecond, nil}, // read many times, not one-time
		{time.Millisecond, store.ErrNotFound},        // exactly created_at + ttl
	} {
		clk.Add(tc.advance)
		if _, err := s.Handoff(ctx, tok); !errors.Is(err, tc.want) {
			t.Fatalf("at +%v: got %v, want %v", clk.Now().Sub(h.CreatedAt), err, tc.want)
		}
	}
	if _, err := s.Handoff(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown handoff: %v", err)
	}
}

func TestSessions(t *testing.T) {
	st := openStore(t)
	s := newService(t, st, tokens.NewServerKey())
	one, err := s.StartSession(ctx, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	two, _ := s.StartSession(ctx, "alice", time.Hour)
	bob, _ := s.StartSession(ctx, "bob", time.Hour)
	tok, err := s.Authenticate(ctx, one, tokens.Request{})
	if err != nil || tok.Kind != tokens.Session || tok.Identity.ID != "alice" {
		t.Fatalf("session token: %v %+v", err, tok)
	}
	s.Wait()

	// Logout ends that session only.
	if err := s.EndSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Onezone's tokenSessionInvalid, not a revocation nor a forgery.
	if err := authenticate(s, one); !errors.Is(err, tokens.ErrSessionInvalid) ||
		errors.Is(err, tokens.ErrRevoked) || errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("ended session: got %v, want only ErrSessionInvalid", err)
	}
	if err := authenticate(s, two); err != nil {
		t.Fatalf("other session after logout: %v", err)
	}
	s.Wait()

	// Revoke-all ends every session of the user, not other users'.
	if _, err := s.RevokeTemporary(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(s, two); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("session after revoke-all: got %v, want ErrRevoked", err)
	}
	if err := authenticate(s, bob); err != nil {
		t.Fatalf("bob's session after alice's revoke-all: %v", err)
	}

	// A blocked user cannot start one, and its sessions stop working.
	u, _ := st.User(ctx, "bob")
	u.Blocked = true
	if err := st.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(s, bob); !errors.Is(err, auth.ErrUserBlocked) {
		t.Fatalf("blocked user's session: got %v", err)
	}
	if _, err := s.StartSession(ctx, "bob", time.Hour); !errors.Is(err, auth.ErrUserBlocked) {
		t.Fatalf("blocked user starting a session: got %v", err)
	}
}

func TestNamedTokens(t *testing.T) {
	st := openStore(t)
	s := newService(t, st, tokens.NewServerKey())
	rec, named, err := s.IssueNamed(ctx, "alice", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.IssueNamed(ctx, "alice", "ci", tokens.Access, nil); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate name: got %v, want ErrExists", err)
	}
	temp := issue(t, s, "alice")
	check := func(step string, wantNamed, wantTemp error) {
		t.Helper()
		if err := authenticate(s, named); !errors.Is(err, wantNamed) {
			t.Fatalf("%s: named token: got %v, want %v", step, err, wantNamed)
		}
		if err := authenticate(s, temp); !errors.Is(err, wantTemp) {
			t.Fatalf("%s: temporary token: got %v, want %v", step, err, wantTemp)
		}
		s.Wait()
	}
	check("fresh", nil, nil)
	yes, no := true, false
	if err := st.UpdateNamed(ctx, "alice", rec.ID, store.NamedUpdate{Revoked: &yes}); err != nil {
		t.Fatal(err)
	}
	check("named revoked", tokens.ErrRevoked, nil)
	if err := st.UpdateNamed(ctx, "alice", rec.ID, store.NamedUpdate{Revoked: &no}); err != nil {
		t.Fatal(err)
	}
	check("named un-revoked", nil, nil)
	if _, err := s.RevokeTemporary(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	check("temporary revoked", nil, tokens.ErrRevoked)
	if err := st.DeleteNamed(ctx, "alice", rec.ID); err != nil {
		t.Fatal(err)
	}
	check("named deleted", tokens.ErrInvalid, tokens.ErrRevoked)
}

// argonHash is `caddy hash-password --plaintext hunter22 --algorithm argon2id`.
const argonHash = "$argon2id$v=19$m=47104,t=1,p=1$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw"

func TestPasswordHashes(t *testing.T) {
	for _, tc := range []struct {
		hash string
		ok   bool
	}{
		{string(minCostHash), true},
		{argonHash, true},
		{"hunter2", false},
		{"$argon2id$v=19$m=1,t=1$salt$key", false},
		{"$argon2id$v=18$m=47104,t=1,p=1$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw", false},
	} {
		if err := auth.CheckHash(tc.hash); (err == nil) != tc.ok {
			t.Errorf("CheckHash(%q) = %v", tc.hash, err)
		}
	}
	st := openStore(t)
	if err := st.PutUser(ctx, store.User{ID: "carol", PasswordHash: argonHash}); err != nil {
		t.Fatal(err)
	}
	s := newService(t, st, tokens.NewServerKey())
	if _, err := s.Login(ctx, testClient, "carol", "hunter22"); err != nil {
		t.Fatalf("argon2id password: %v", err)
	}
	if _, err := s.Login(ctx, testClient, "carol", "hunter23"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("wrong argon2id password: %v", err)
	}
}

// TestSessionList: the list holds the live sessions of the current
// generation only; EndSessionOf ends only the subject's own sessions.
func TestSessionList(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	start := func(id string) *auth.Token {
		t.Helper()
		raw, err := s.StartSession(ctx, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Authenticate(ctx, raw, tokens.Request{})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ids := func() []string {
		t.Helper()
		list, err := s.Sessions(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sess := range list {
			out = append(out, sess.ID)
		}
		slices.Sort(out)
		return out
	}
	one, two, bobs := start("alice"), start("alice"), start("bob")
	want := []string{one.ID, two.ID}
	slices.Sort(want)
	if got := ids(); !slices.Equal(got, want) {
		t.Fatalf("Sessions = %v, want %v", got, want)
	}
	if err := s.EndSessionOf(ctx, "alice", bobs.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ending another user's session: got %v, want ErrNotFound", err)
	}
	if err := s.EndSessionOf(ctx, "alice", two.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []string{one.ID}) {
		t.Fatalf("after ending one: %v, want [%s]", got, one.ID)
	}
	if _, err := s.RevokeTemporary(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := ids(); len(got) != 0 {
		t.Fatalf("after revoke-all: %v, want none", got)
	}
}

func TestCSRFToken(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	other := newService(t, openStore(t), tokens.NewServerKey())
	sess := &auth.Token{Identity: &auth.Identity{ID: "alice"}, Kind: tokens.Session, ID: "s1"}
	good := s.CSRFToken(sess)
	for _, tc := range []struct {
		name string
		tok  *auth.Token
		v    string
		want bool
	}{
		{"its own", sess, good, true},
		{"another session's", &auth.Token{Identity: sess.Identity, ID: "s2"}, good, false},
		{"another user's", &auth.Token{Identity: &auth.Identity{ID: "bob"}, ID: "s1"}, good, false},
		{"another server key's", sess, other.CSRFToken(sess), false},
		{"empty", sess, "", false},
		{"truncated", sess, good[:len(good)-2], false},
		{"not base64", sess, "!!" + good[2:], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.CheckCSRF(tc.tok, tc.v); got != tc.want {
				t.Errorf("CheckCSRF = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNamedMetadataAndByName: UpdateNamed stores custom metadata compact
// and refuses what CheckTokenMetadata refuses, leaving the token as it
// was; NamedTokenByName finds a token by its name, only the subject's.
func TestNamedMetadataAndByName(t *testing.T) {
	s := newService(t, openStore(t), tokens.NewServerKey())
	rec, _, err := s.IssueNamed(ctx, "alice", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, meta, want string // want: the stored metadata after
		err              error
	}{
		{"set", `{ "a": 1 }`, `{"a":1}`, nil},
		{"not an object", `[1]`, `{"a":1}`, auth.ErrBadValue},
		{"null", `null`, `{"a":1}`, auth.ErrBadValue},
		{"too large", `{"k":"` + strings.Repeat("v", auth.MaxTokenMetadata) + `"}`, `{"a":1}`, auth.ErrBadValue},
		{"replace", `{"b":{}}`, `{"b":{}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpdateNamed(ctx, "alice", rec.ID, store.NamedUpdate{Metadata: json.RawMessage(tc.meta)})
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("UpdateNamed: got %v, want %v", err, tc.err)
			}
			got, err := s.NamedTokenByName(ctx, "alice", "ci")
			if err != nil || got.ID != rec.ID || string(got.Metadata) != tc.want || got.Secret != nil {
				t.Fatalf("NamedTokenByName = %+v, %v; want %s with metadata %s, no secret", got, err, rec.ID, tc.want)
			}
		})
	}
	for _, q := range [][2]string{{"alice", "cd"}, {"bob", "ci"}, {"nobody", "ci"}, {"alice", "CI"}} {
		if _, err := s.NamedTokenByName(ctx, q[0], q[1]); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("NamedTokenByName(%s, %s) = %v, want ErrNotFound", q[0], q[1], err)
		}
	}
}
