package auth_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// recorder is an audit sink that keeps what it hears.
type recorder struct {
	mu     sync.Mutex
	events []auth.AuditEvent
}

func (r *recorder) audit(_ context.Context, e auth.AuditEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// take returns the events heard since the last take.
func (r *recorder) take() []auth.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// want is what a test expects of one event; RequestID is checked to be
// the request's.
type want struct {
	event, actor, target, user, kind, outcome string
}

func (w want) String() string {
	return fmt.Sprintf("%s actor=%s target=%s user=%s kind=%s outcome=%s", w.event, w.actor, w.target, w.user, w.kind, w.outcome)
}

func got(e auth.AuditEvent) want {
	return want{e.Event, e.Actor.ID, e.Target, e.User, e.Kind, e.Outcome}
}

// remoteStore lets a test announce a change as if another instance
// sharing the store had made it.
type remoteStore struct {
	store.Store
	mu   sync.Mutex
	subs []func(store.Event)
}

func (r *remoteStore) Subscribe(fn func(store.Event)) func() {
	r.mu.Lock()
	r.subs = append(r.subs, fn)
	r.mu.Unlock()
	return r.Store.Subscribe(fn)
}

func (r *remoteStore) hear(e store.Event) {
	r.mu.Lock()
	subs := r.subs
	r.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
}

// TestAuditEveryChange makes every kind of state change, through the
// actors the front doors set, and checks that each is exactly one event
// with the right actor, target and outcome, carrying no secret.
func TestAuditEveryChange(t *testing.T) {
	rec := &recorder{}
	st := &remoteStore{Store: openStore(t)}
	s, err := auth.New(st, tokens.NewServerKey(), auth.WithDummyPasswordHash(string(minCostHash)),
		auth.WithAudit(rec.audit), auth.WithPasswordCost(bcrypt.MinCost), auth.WithBudget(auth.Budget{Max: 2, Window: time.Minute, UserFactor: 10}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	const clientIP, requestID = "192.0.2.7", "9f0c-request"
	reqID := func() string { return requestID }
	asAdmin := func() context.Context {
		return auth.WithActor(ctx, auth.Actor{ID: auth.ActorAdmin, Addr: "127.0.0.1:50000", ClientIP: "127.0.0.1", RequestID: reqID})
	}
	as := func(user string) context.Context {
		return auth.WithActor(ctx, auth.Actor{ID: user, ClientIP: clientIP, RequestID: reqID})
	}
	anonymous := func() context.Context { return as("") }
	asConfig := func() context.Context { return auth.WithActor(ctx, auth.Actor{ID: auth.ActorConfig}) }

	// The secrets each step handles, which no event may contain.
	var secrets []string
	keep := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s)
		return s
	}
	const password, password2 = "Carol-password-1", "Carol-password-2"
	secrets = append(secrets, password, password2, string(minCostHash))
	pw, pw2 := password, password2
	hash := string(minCostHash)
	newName, carolName := "renamed", "Carol"
	yes, no := true, false

	var (
		tempTok, namedID, sessTok, sessID string
		resetTok                          string
	)
	steps := []struct {
		name string
		do   func()
		want []want
	}{
		{"create user", func() {
			_, err := s.CreateUser(asAdmin(), auth.NewUser{ID: "carol", Password: auth.Password{Plain: &pw}})
			keep("", err)
		}, []want{{auth.EventUserCreated, "admin", "carol", "", "", "ok"}}},
		{"create a taken id", func() {
			_, _ = s.CreateUser(asAdmin(), auth.NewUser{ID: "carol"})
		}, []want{{auth.EventUserCreated, "admin", "carol", "", "", "exists"}}},
		{"update profile", func() {
			_, err := s.UpdateUser(asAdmin(), "carol", auth.UserUpdate{Name: &carolName})
			keep("", err)
		}, []want{{auth.EventUserUpdated, "admin", "carol", "", "", "ok"}}},
		{"update password only", func() {
			_, err := s.UpdateUser(asAdmin(), "carol", auth.UserUpdate{Password: auth.Password{Plain: &pw2}})
			keep("", err)
		}, []want{{auth.EventPasswordChanged, "admin", "carol", "", "", "ok"}}},
		{"update password only, too weak", func() {
			weak := "short"
			_, _ = s.UpdateUser(asAdmin(), "carol", auth.UserUpdate{Password: auth.Password{Plain: &weak}})
		}, []want{{auth.EventPasswordChanged, "admin", "carol", "", "", "weak_password"}}},
		{"set password", func() { keep("", s.SetPassword(asAdmin(), "carol", password)) },
			[]want{{auth.EventPasswordChanged, "admin", "carol", "", "", "ok"}}},
		{"set password hash", func() { keep("", s.SetPasswordHash(asAdmin(), "carol", hash)) },
			[]want{{auth.EventPasswordChanged, "admin", "carol", "", "", "ok"}}},
		{"block", func() { _, err := s.SetBlocked(asAdmin(), "carol", true); keep("", err) },
			[]want{{auth.EventUserBlocked, "admin", "carol", "", "", "ok"}}},
		{"unblock", func() { _, err := s.SetBlocked(asAdmin(), "carol", false); keep("", err) },
			[]want{{auth.EventUserUnblocked, "admin", "carol", "", "", "ok"}}},
		{"issue reset token", func() { resetTok = keep(s.IssueReset(asAdmin(), "carol", "admin-api", time.Hour)) },
			[]want{{auth.EventTokenIssued, "admin", "carol", "", "reset", "ok"}}},
		{"reset password by token", func() { keep("", s.Reset(anonymous(), resetTok, password2)) },
			[]want{{auth.EventPasswordReset, "carol", "carol", "", "reset", "ok"}}},
		{"issue temporary", func() { tempTok = keep(s.IssueTemporary(as("alice"), "alice", tokens.Access, hour())) },
			[]want{{auth.EventTokenIssued, "alice", "alice", "", "temporary", "ok"}}},
		{"confine", func() { keep(s.Confine(anonymous(), tempTok, nil)) },
			[]want{{auth.EventTokenIssued, "alice", "*", "alice", "temporary", "ok"}}},
		{"issue named", func() {
			rec, tok, err := s.IssueNamed(as("alice"), "alice", "ci", tokens.Access, nil)
			keep(tok, err)
			namedID = rec.ID
		}, nil}, // its id is known only now: checked below
		{"rename named", func() {
			keep("", s.UpdateNamed(as("alice"), "alice", namedID, store.NamedUpdate{Name: &newName}))
		}, nil},
		{"revoke named", func() {
			keep("", s.UpdateNamed(as("alice"), "alice", namedID, store.NamedUpdate{Revoked: &yes}))
		}, nil},
		{"unrevoke named", func() {
			keep("", s.UpdateNamed(as("alice"), "alice", namedID, store.NamedUpdate{Revoked: &no}))
		}, nil},
		{"delete named", func() { keep("", s.DeleteNamed(as("alice"), "alice", namedID)) }, nil},
		{"delete all named", func() { keep("", s.DeleteAllNamed(as("alice"), "alice")) },
			[]want{{auth.EventNamedTokensDeleted, "alice", "alice", "", "named", "ok"}}},
		{"revoke all temporary", func() { _, err := s.RevokeTemporary(as("alice"), "alice"); keep("", err) },
			[]want{{auth.EventTemporaryTokensRevoked, "alice", "alice", "", "temporary", "ok"}}},
		{"start session", func() { sessTok = keep(s.StartSession(anonymous(), "bob", time.Hour)) }, nil},
		{"end session", func() {
			tok, err := s.Authenticate(ctx, sessTok, tokens.Request{Interface: "rest"})
			keep("", err)
			sessID = tok.ID
			keep("", s.EndSession(anonymous(), tok))
		}, nil},
		{"end session by id", func() {
			tok := keep(s.StartSession(as("bob"), "bob", time.Hour))
			at, err := s.Authenticate(ctx, tok, tokens.Request{Interface: "rest"})
			keep("", err)
			sessID = at.ID
			rec.take() // the start, checked above
			keep("", s.EndSessionOf(as("bob"), "bob", at.ID))
		}, nil},
		{"issue handoff", func() { tok, _, err := s.IssueHandoff(as("bob"), "bob", time.Minute); keep(tok, err) },
			[]want{{auth.EventTokenIssued, "bob", "bob", "", "handoff", "ok"}}},
		{"ban", func() {
			for range 2 {
				_, _ = s.Login(anonymous(), netip.MustParseAddr(clientIP), "bob", "wrong-password")
			}
		}, []want{{auth.EventBanned, "", "ip:" + clientIP, "", "", "ok"}}},
		{"lift ban", func() { _, err := s.LiftBan(asAdmin(), clientIP); keep("", err) },
			[]want{{auth.EventBanLifted, "admin", "ip:" + clientIP, "", "", "ok"}}},
		{"config sync declares", func() {
			_, err := s.SyncUsers(asConfig(), []auth.DeclaredUser{{ID: "dave", PasswordHash: hash}})
			keep("", err)
		}, []want{{auth.EventUserCreated, "config", "dave", "", "", "ok"}, {auth.EventConfigSynced, "config", "", "", "", "ok"}}},
		{"config sync forgets", func() { _, err := s.SyncUsers(asConfig(), nil); keep("", err) },
			[]want{{auth.EventUserOrphaned, "config", "dave", "", "", "ok"}, {auth.EventConfigSynced, "config", "", "", "", "ok"}}},
		{"delete user", func() { keep("", s.DeleteUser(asAdmin(), "dave")) },
			[]want{{auth.EventUserDeleted, "admin", "dave", "", "", "ok"}}},
		{"delete unknown user", func() { _ = s.DeleteUser(asAdmin(), "nobody") },
			[]want{{auth.EventUserDeleted, "admin", "nobody", "", "", "not_found"}}},
		{"heard from another instance", func() {
			st.hear(store.Event{Kind: store.TempRevoked, Subject: "alice", Sent: time.Now(), Origin: "other-instance"})
		}, []want{{auth.EventRemoteChange, "", "alice", "", "temp", "ok"}}},
	}
	// The steps whose target is an id only known as they run.
	late := map[string]func() []want{
		"issue named":       func() []want { return []want{{auth.EventTokenIssued, "alice", namedID, "alice", "named", "ok"}} },
		"rename named":      func() []want { return []want{{auth.EventTokenUpdated, "alice", namedID, "alice", "named", "ok"}} },
		"revoke named":      func() []want { return []want{{auth.EventTokenRevoked, "alice", namedID, "alice", "named", "ok"}} },
		"unrevoke named":    func() []want { return []want{{auth.EventTokenUnrevoked, "alice", namedID, "alice", "named", "ok"}} },
		"delete named":      func() []want { return []want{{auth.EventTokenDeleted, "alice", namedID, "alice", "named", "ok"}} },
		"start session":     func() []want { return []want{{auth.EventSessionStarted, "bob", "*", "bob", "session", "ok"}} },
		"end session":       func() []want { return []want{{auth.EventSessionEnded, "bob", sessID, "bob", "session", "ok"}} },
		"end session by id": func() []want { return []want{{auth.EventSessionEnded, "bob", sessID, "bob", "session", "ok"}} },
	}
	seen := map[string]bool{}
	for _, step := range steps {
		rec.take()
		step.do()
		events := rec.take()
		wants := step.want
		if f, ok := late[step.name]; ok {
			wants = f()
		}
		if len(events) != len(wants) {
			t.Errorf("%s: got %d events %v, want %v", step.name, len(events), events, wants)
			continue
		}
		for i, e := range events {
			g, w := got(e), wants[i]
			if w.target == "*" && g.target != "" { // an id made by the step
				w.target = g.target
			}
			if g != w {
				t.Errorf("%s: got  %v\nwant %v", step.name, g, w)
			}
			seen[e.Event] = true
			if e.Event == auth.EventRemoteChange {
				if e.Origin != "other-instance" {
					t.Errorf("%s: origin %q, want the other instance's", step.name, e.Origin)
				}
				continue
			}
			if e.Origin != "" {
				t.Errorf("%s: a change of this instance has origin %q", step.name, e.Origin)
			}
			if e.Actor.ClientIP == "" && e.Actor.ID != auth.ActorConfig {
				t.Errorf("%s: no client IP in %+v", step.name, e)
			}
			if e.Actor.ID != auth.ActorConfig && (e.Actor.RequestID == nil || e.Actor.RequestID() != requestID) {
				t.Errorf("%s: the request's id is not in %+v", step.name, e)
			}
			if e.Actor.ID == auth.ActorAdmin && e.Actor.Addr == "" {
				t.Errorf("%s: the admin's address is not in %+v", step.name, e)
			}
			text := fmt.Sprintf("%+v", e)
			for _, sec := range secrets {
				if sec != "" && strings.Contains(text, sec) {
					t.Errorf("%s: a secret is in %s", step.name, text)
				}
			}
		}
	}
	for _, ev := range []string{
		auth.EventUserCreated, auth.EventUserUpdated, auth.EventUserDeleted, auth.EventUserBlocked,
		auth.EventUserUnblocked, auth.EventUserOrphaned, auth.EventPasswordChanged, auth.EventPasswordReset,
		auth.EventTokenIssued, auth.EventTokenRevoked, auth.EventTokenUnrevoked, auth.EventTokenUpdated,
		auth.EventTokenDeleted, auth.EventTemporaryTokensRevoked, auth.EventNamedTokensDeleted,
		auth.EventSessionStarted, auth.EventSessionEnded, auth.EventBanned, auth.EventBanLifted,
		auth.EventConfigSynced, auth.EventRemoteChange,
	} {
		if !seen[ev] {
			t.Errorf("no step produced %s", ev)
		}
	}
}

// TestAuditUpdateNamesFields: an update says which fields it changed,
// never their values.
func TestAuditUpdateNamesFields(t *testing.T) {
	rec := &recorder{}
	s, err := auth.New(openStore(t), tokens.NewServerKey(), auth.WithDummyPasswordHash(string(minCostHash)),
		auth.WithAudit(rec.audit), auth.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	email, pw := "new@example.com", "Alice-password-9"
	if _, err := s.UpdateUser(ctx, "alice", auth.UserUpdate{Email: &email, Password: auth.Password{Plain: &pw}}); err != nil {
		t.Fatal(err)
	}
	events := rec.take()
	if len(events) != 2 || events[0].Event != auth.EventPasswordChanged || events[1].Event != auth.EventUserUpdated {
		t.Fatalf("events %+v, want password_changed then user_updated", events)
	}
	if d := events[1].Detail; d != "email" {
		t.Errorf("detail %q, want the changed fields", d)
	}
	if text := fmt.Sprintf("%+v", events); strings.Contains(text, email) || strings.Contains(text, pw) {
		t.Errorf("a value is in %s", text)
	}
}

func TestErrorID(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{auth.ErrNotFound, "not_found"},
		{fmt.Errorf("wrapped: %w", auth.ErrConfigManaged), "config_managed"},
		{&auth.ValueError{Field: "id", Rule: "is bad"}, "bad_value"},
		{&auth.ErrTooManyFailures{Key: "ip:x"}, "too_many_failures"},
		{fmt.Errorf("%w: %w", auth.ErrUnavailable, context.DeadlineExceeded), "unavailable"},
		{tokens.ErrTimeCaveatRequired, "time_caveat_required"},
		{fmt.Errorf("mystery"), "error"},
	} {
		if got := auth.ErrorID(c.err); got != c.want {
			t.Errorf("ErrorID(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
